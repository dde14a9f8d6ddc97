// The metrics-collector's settings, from the environment.
export const MetricsEnv = {
  /** How long raw samples (and refusals) are kept before they are rolled up, in ms (default 3600000, one hour). */
  rawMs: 'SDMI_METRICS_RAW_MS',
  /** Width of a rollup's time bucket, in ms (default 60000). */
  rollupBucketMs: 'SDMI_METRICS_ROLLUP_BUCKET_MS',
  /** How long rollups are kept, in ms (default 604800000, seven days; at least the raw window). */
  retentionMs: 'SDMI_METRICS_RETENTION_MS',
  /** host:port of the Prometheus endpoint (GET /metrics); unset: none. Port 0 takes a free one. */
  prometheusListen: 'SDMI_METRICS_PROMETHEUS_LISTEN',
  /** Samples taken but not yet stored past which new ones are dropped (and counted); default 1000. */
  maxInflight: 'SDMI_METRICS_MAX_INFLIGHT',
  /** The node-agents' sampling interval, in ms (default 5000): top's default window is three of them. */
  intervalMs: 'SDMI_METRICS_INTERVAL_MS',
  /** How often the autoscaler evaluates every policy and threshold, in ms (default 5000). */
  autoscaleIntervalMs: 'SDMI_AUTOSCALE_INTERVAL_MS',
} as const;

export interface MetricsConfig {
  retentionMs: number;
  intervalMs: number;
  rawMs: number;
  rollupBucketMs: number;
  prometheus: Listen | null;
  maxInflight: number;
  autoscaleIntervalMs: number;
}

export interface Listen {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port`, port 0 to 65535; what the Prometheus endpoint binds. */
export function parseListen(name: string, raw: string): Listen {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) throw new Error(`${name}="${raw}": host:port (or [ipv6]:port), port 0 to 65535`);
  return { host: (m[1] ?? m[2])!, port };
}

function ms(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number, unit = 'milliseconds'): number {
  const raw = env[name] || String(dflt);
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new Error(`${name}="${raw}": whole ${unit} from ${min} to ${max}`);
  return Number(raw);
}

export function loadMetricsConfig(env: NodeJS.ProcessEnv = process.env): MetricsConfig {
  const day = 86_400_000;
  const rawMs = ms(env, MetricsEnv.rawMs, 3_600_000, 1_000, 30 * day);
  const retentionMs = ms(env, MetricsEnv.retentionMs, 7 * day, 1_000, 3_660 * day);
  // A rollup is written when its raw samples leave the raw window: kept for less, it would go at once.
  if (retentionMs < rawMs) throw new Error(`${MetricsEnv.retentionMs}=${retentionMs} is shorter than ${MetricsEnv.rawMs}=${rawMs}: rollups are kept after the raw window`);
  const listen = env[MetricsEnv.prometheusListen];
  return {
    retentionMs,
    intervalMs: ms(env, MetricsEnv.intervalMs, 5_000, 100, 3_600_000),
    rawMs,
    rollupBucketMs: ms(env, MetricsEnv.rollupBucketMs, 60_000, 1_000, day),
    prometheus: listen ? parseListen(MetricsEnv.prometheusListen, listen) : null,
    maxInflight: ms(env, MetricsEnv.maxInflight, 1_000, 1, 1_000_000, 'samples'),
    autoscaleIntervalMs: ms(env, MetricsEnv.autoscaleIntervalMs, 5_000, 100, 3_600_000),
  };
}
