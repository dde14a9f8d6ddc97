// The metrics-collector's settings, from the environment.
export const MetricsEnv = {
  /** How long raw samples (and refusals) are kept, in ms (default 3600000, one hour). */
  retentionMs: 'SDMI_METRICS_RETENTION_MS',
  /** The node-agents' sampling interval, in ms (default 5000): top's default window is three of them. */
  intervalMs: 'SDMI_METRICS_INTERVAL_MS',
} as const;

export interface MetricsConfig {
  retentionMs: number;
  intervalMs: number;
}

function ms(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name] || String(dflt);
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new Error(`${name}="${raw}": whole milliseconds from ${min} to ${max}`);
  return Number(raw);
}

export function loadMetricsConfig(env: NodeJS.ProcessEnv = process.env): MetricsConfig {
  return { retentionMs: ms(env, MetricsEnv.retentionMs, 3_600_000, 1_000, 30 * 86_400_000), intervalMs: ms(env, MetricsEnv.intervalMs, 5_000, 100, 3_600_000) };
}
