// switch-agent's settings, from the environment, refused with a reason when malformed.
import { intSetting } from '@sdmi/service';

export const SwitchEnv = {
  /** A full pass at least this often, ms (a failed sync is retried then). Default 10000. */
  resyncMs: 'SDMI_SWITCH_RESYNC_MS',
  /** Each switch's running config is compared with desired this often, ms. Default 30000. */
  driftMs: 'SDMI_SWITCH_DRIFT_MS',
  /** How long a sync waits for another transaction's candidate lock, ms. Default 20000. */
  lockWaitMs: 'SDMI_SWITCH_LOCK_WAIT_MS',
  /** How long a NETCONF session may take to open and each reply may take, ms. Default 60000. */
  replyTimeoutMs: 'SDMI_SWITCH_REPLY_TIMEOUT_MS',
} as const;

export interface SwitchConfig {
  resyncMs: number;
  driftMs: number;
  lockWaitMs: number;
  replyTimeoutMs: number;
}

export function loadSwitchConfig(env: NodeJS.ProcessEnv = process.env): SwitchConfig {
  return {
    // Polls of a netconfd stay at least a second apart: it serves confirm timeouts only when idle.
    resyncMs: intSetting(SwitchEnv.resyncMs, env[SwitchEnv.resyncMs], 10_000, 1000, 3_600_000),
    driftMs: intSetting(SwitchEnv.driftMs, env[SwitchEnv.driftMs], 30_000, 1000, 86_400_000),
    lockWaitMs: intSetting(SwitchEnv.lockWaitMs, env[SwitchEnv.lockWaitMs], 20_000, 0, 600_000),
    // Generous: a switch's commit can take many seconds, and a reply given up on fails the whole
    // sync. (The 30 s waits once seen were netconfd sitting on a session's first request: the
    // NETCONF client's probe, docs/netconf.md.)
    replyTimeoutMs: intSetting(SwitchEnv.replyTimeoutMs, env[SwitchEnv.replyTimeoutMs], 60_000, 1000, 600_000),
  };
}
