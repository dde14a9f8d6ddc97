// The Prometheus endpoint: GET /metrics in the text exposition format 0.0.4, for Grafana users'
// Prometheus to scrape. Gauges from the latest fresh sample of every node and replica, counters
// from the latest network samples' interfaces and the collector's own counters. Rendering is pure
// (families in, text out); PrometheusEndpoint is the node:http adapter around it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ContainerMetrics, NetworkMetrics, NodeMetrics } from '@sdmi/contracts';
import type { Logger } from 'pino';
import type { Listen } from './config';
import type { MetricsStore } from './store';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'gauge' | 'counter';

export interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: { labels: Record<string, string>; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the format wants it between double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped (a double quote stays as it is there). */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: Go's float syntax, with the format's spellings of the non-finite ones. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/**
 * The exposition text of some families: each with its HELP and TYPE lines, then its samples, labels
 * sorted by name (so that equal input gives equal text). A family without samples is left out; an
 * invalid metric or label name is a programming error and throws.
 */
export function render(families: readonly Family[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${JSON.stringify(f.name)}`);
    if (seen.has(f.name)) throw new Error(`metric ${f.name} twice`);
    seen.add(f.name);
    if (f.samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const names = Object.keys(s.labels).sort();
      for (const n of names) if (!LABEL.test(n) || n.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(n)} of ${f.name}`);
      const labels = names.length ? `{${names.map((n) => `${n}="${escapeLabelValue(s.labels[n]!)}"`).join(',')}}` : '';
      out.push(`${f.name}${labels} ${formatValue(s.value)}`);
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export interface CollectorCounters {
  stored: number;
  refused: number;
  dropped: number;
  failed: number;
  inflight: number;
}

export interface LatestSamples {
  nodes: readonly NodeMetrics[];
  replicas: readonly ContainerMetrics[];
  networks: readonly NetworkMetrics[];
}

/** `<tenant>/<service>` of a replica id `<tenant>/<service>-<slot>@rev<n>[#<k>]`. */
export function serviceOfReplica(replicaId: string): string {
  return replicaId.replace(/-[0-9]{1,6}@rev[0-9]{1,9}(#[0-9]{1,6})?$/, '');
}

/** The families of what the collector knows now: pure, so that tests need neither database nor socket. */
export function families(latest: LatestSamples, c: CollectorCounters): Family[] {
  const g = (name: string, help: string, samples: Family['samples']): Family => ({ name, help, type: 'gauge', samples });
  const k = (name: string, help: string, samples: Family['samples']): Family => ({ name, help, type: 'counter', samples });
  const node = (f: (n: NodeMetrics) => number) => latest.nodes.map((n) => ({ labels: { node: n.node }, value: f(n) }));
  const rep = (f: (r: ContainerMetrics) => number) => latest.replicas.map((r) => ({ labels: { node: r.node, service: r.service, replica: r.replicaId }, value: f(r) }));
  const ifaces = latest.networks.flatMap((n) =>
    n.interfaces.map((i) => ({
      labels: { node: n.node, bridge: n.bridge, port: i.port, replica: i.replicaId ?? '', service: i.replicaId ? serviceOfReplica(i.replicaId) : '', network: i.network ?? '' },
      i,
    })),
  );
  const iface = (f: (i: NetworkMetrics['interfaces'][number]) => number) => ifaces.map((x) => ({ labels: x.labels, value: f(x.i) }));
  const one = (value: number) => [{ labels: {}, value }];
  return [
    g('sdmi_node_cpu_usage_ratio', "Busy share of all the node's cores over the last sampling interval (0 to 1).", node((n) => n.cpu.usageRatio)),
    g('sdmi_node_cpu_cores', 'Online CPUs of the node.', node((n) => n.cpu.cores)),
    g('sdmi_node_cpu_used_cores', 'CPU the node used over the last sampling interval, in cores.', node((n) => n.cpu.usageRatio * n.cpu.cores)),
    g('sdmi_node_load1', 'Load average over 1 minute.', node((n) => n.load.one)),
    g('sdmi_node_load5', 'Load average over 5 minutes.', node((n) => n.load.five)),
    g('sdmi_node_load15', 'Load average over 15 minutes.', node((n) => n.load.fifteen)),
    g('sdmi_node_memory_used_bytes', 'Memory used on the node (total minus available), in bytes.', node((n) => n.memory.usedBytes)),
    g('sdmi_node_memory_total_bytes', 'Physical memory of the node, in bytes.', node((n) => n.memory.totalBytes)),
    g('sdmi_container_cpu_used_cores', "CPU the replica's container used over the last sampling interval, in cores.", rep((r) => r.cpu.usedCores)),
    g('sdmi_container_cpu_limit_cores', "The container's CPU limit in cores (the node's CPUs when it has none).", rep((r) => r.cpu.limitCores)),
    g('sdmi_container_cpu_utilization_ratio', 'CPU used over the limit (may exceed 1 in a burst).', rep((r) => r.cpu.usedCores / r.cpu.limitCores)),
    g('sdmi_container_memory_used_bytes', "Memory the replica's container uses (usage minus inactive file cache), in bytes.", rep((r) => r.memory.usedBytes)),
    g('sdmi_container_memory_limit_bytes', "The container's memory limit in bytes (the node's memory when it has none).", rep((r) => r.memory.limitBytes)),
    g('sdmi_container_memory_utilization_ratio', 'Memory used over the limit.', rep((r) => r.memory.usedBytes / r.memory.limitBytes)),
    k('sdmi_container_network_receive_bytes_total', "Bytes received on all of the container's interfaces since it started.", rep((r) => r.network.rxBytes)),
    k('sdmi_container_network_transmit_bytes_total', "Bytes sent on all of the container's interfaces since it started.", rep((r) => r.network.txBytes)),
    k('sdmi_interface_receive_bytes_total', 'Bytes the OVS bridge received on the port.', iface((i) => i.rxBytes)),
    k('sdmi_interface_transmit_bytes_total', 'Bytes the OVS bridge sent out of the port.', iface((i) => i.txBytes)),
    k('sdmi_interface_receive_packets_total', 'Packets the OVS bridge received on the port.', iface((i) => i.rxPackets)),
    k('sdmi_interface_transmit_packets_total', 'Packets the OVS bridge sent out of the port.', iface((i) => i.txPackets)),
    k('sdmi_interface_receive_dropped_total', 'Received packets dropped on the port.', iface((i) => i.rxDropped)),
    k('sdmi_interface_transmit_dropped_total', 'Packets dropped on sending out of the port.', iface((i) => i.txDropped)),
    k('sdmi_metrics_collector_samples_stored_total', 'Samples this collector stored since it started.', one(c.stored)),
    k('sdmi_metrics_collector_samples_refused_total', 'Samples this collector refused (broken contract or subject) since it started.', one(c.refused)),
    k('sdmi_metrics_collector_samples_dropped_total', 'Samples this collector dropped since it started because too many were in flight.', one(c.dropped)),
    k('sdmi_metrics_collector_samples_failed_total', 'Valid samples whose insert failed since this collector started.', one(c.failed)),
    g('sdmi_metrics_collector_samples_inflight', 'Samples taken and not yet stored.', one(c.inflight)),
  ];
}

export interface PrometheusEndpointOptions {
  listen: Listen;
  /** The text to answer a scrape with; a rejection is answered 500. */
  scrape: () => Promise<string>;
  log: Logger;
}

/** GET (or HEAD) /metrics answers the scrape; another path 404, another method 405. */
export class PrometheusEndpoint {
  #server?: Server;
  url = '';

  constructor(private readonly o: PrometheusEndpointOptions) {}

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.#serve(req, res));
    // A scrape answers within seconds or is given up: keep-alive sockets of a gone scraper do not pile up.
    server.keepAliveTimeout = 5_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.listen.port, this.o.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    const a = server.address() as AddressInfo;
    this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
    this.o.log.info({ url: this.url }, `Prometheus endpoint on ${this.url}`);
    return this;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    try {
      const body = await this.o.scrape();
      res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.o.log.warn({ err }, 'Prometheus scrape failed');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`scrape failed: ${(err as Error).message}\n`);
    }
  }

  async stop(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** The endpoint of a running collector: the latest samples newer than `staleAfterMs` and its counters. */
export function startPrometheus(o: {
  listen: Listen;
  store: Pick<MetricsStore, 'latest'>;
  collector: CollectorCounters;
  staleAfterMs: number;
  log: Logger;
}): Promise<PrometheusEndpoint> {
  return new PrometheusEndpoint({
    listen: o.listen,
    log: o.log,
    scrape: async () => {
      const since = new Date(Date.now() - o.staleAfterMs);
      const [nodes, replicas, networks] = await Promise.all([
        o.store.latest<NodeMetrics>('node', since),
        o.store.latest<ContainerMetrics>('container', since),
        o.store.latest<NetworkMetrics>('network', since),
      ]);
      const c = o.collector;
      return render(families({ nodes, replicas, networks }, { stored: c.stored, refused: c.refused, dropped: c.dropped, failed: c.failed, inflight: c.inflight }));
    },
  }).start();
}
