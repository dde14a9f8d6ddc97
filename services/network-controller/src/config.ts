// The network-controller's own settings, from the environment, refused with a reason when malformed.
export const OpenflowEnv = {
  /** host:port where switches connect (default 127.0.0.1:6653, OpenFlow's port). */
  listen: 'SDMI_OPENFLOW_LISTEN',
  /** Seconds an inter-host pair flow lives without traffic (default 30). */
  pairIdleTimeout: 'SDMI_PAIR_IDLE_TIMEOUT',
  /** How often each host bridge's NetworkMetrics is sampled and published, in ms (default 5000, as the node-agents'). */
  metricsInterval: 'SDMI_METRICS_INTERVAL_MS',
} as const;

export function parseListen(raw: string | undefined): { host: string; port: number } {
  if (raw === undefined || raw === '') return { host: '127.0.0.1', port: 6653 };
  const m = /^(.+):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`${OpenflowEnv.listen}="${raw}": expected host:port, e.g. 127.0.0.1:6653`);
  return { host: m[1]!, port };
}

export function parseIdleTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535) throw new Error(`${OpenflowEnv.pairIdleTimeout}="${raw}": expected whole seconds from 1 to 65535`);
  return n;
}

export function parseMetricsInterval(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 5_000;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 100 || n > 3_600_000) throw new Error(`${OpenflowEnv.metricsInterval}="${raw}": whole milliseconds from 100 to 3600000`);
  return n;
}
