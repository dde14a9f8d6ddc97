// switch-agent's settings, from the environment, refused with a reason when malformed.
export const SwitchEnv = {
  /** A full pass at least this often, ms (a failed sync is retried then). Default 10000. */
  resyncMs: 'SDMI_SWITCH_RESYNC_MS',
  /** Each switch's running config is compared with desired this often, ms. Default 30000. */
  driftMs: 'SDMI_SWITCH_DRIFT_MS',
  /** How long a sync waits for another transaction's candidate lock, ms. Default 20000. */
  lockWaitMs: 'SDMI_SWITCH_LOCK_WAIT_MS',
} as const;

export interface SwitchConfig {
  resyncMs: number;
  driftMs: number;
  lockWaitMs: number;
}

function int(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`${name}="${raw}": expected a whole number from ${min} to ${max}`);
  return n;
}

export function loadSwitchConfig(env: NodeJS.ProcessEnv = process.env): SwitchConfig {
  return {
    // Polls of a netconfd stay at least a second apart: it serves confirm timeouts only when idle.
    resyncMs: int(SwitchEnv.resyncMs, env[SwitchEnv.resyncMs], 10_000, 1000, 3_600_000),
    driftMs: int(SwitchEnv.driftMs, env[SwitchEnv.driftMs], 30_000, 1000, 86_400_000),
    lockWaitMs: int(SwitchEnv.lockWaitMs, env[SwitchEnv.lockWaitMs], 20_000, 0, 600_000),
  };
}
