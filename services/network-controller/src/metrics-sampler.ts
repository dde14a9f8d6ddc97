// Every interval, a NetworkMetrics sample per registered host whose bridge is connected: the
// switch's port and flow counters over OpenFlow (two multipart requests, whose MORE-flagged parts
// the session reassembles), published on core NATS like the node-agents' samples (no stream: a
// lost sample is replaced by the next).
import type { BusNames } from '@sdmi/bus';
import { contracts, type NetworkMetrics } from '@sdmi/contracts';
import { Group, Port, Table } from '@sdmi/openflow';
import type { Controller, SwitchConnection } from '@sdmi/openflow-controller';
import type { Logger } from 'pino';
import { networkSample } from './network-metrics';

/** What the sampler reads of the topology (the dataplane's Topology has it). */
export interface SampledTopology {
  readonly hosts: ReadonlyMap<string, { readonly name: string; readonly dpid: string }>;
  interfacesOn(host: string): readonly { id: string; networkId: string; portName: string }[];
}

export interface NetworkSamplerOptions {
  controller: Controller;
  /** The topology of the moment (it is replaced on every store change). */
  topology: () => SampledTopology;
  publish: (subject: string, payload: string) => void;
  names: BusNames;
  intervalMs: number;
  log: Logger;
  now?: () => Date;
}

export class NetworkMetricsSampler {
  #timer?: NodeJS.Timeout;
  /** Hosts whose sample is being taken: a slow or hung switch holds up its own host only. */
  readonly #inflight = new Map<string, Promise<void>>();
  /** Per host, the trouble last logged: a host failing every interval is reported once, and again when it recovers. */
  readonly #trouble = new Map<string, string>();

  constructor(private readonly o: NetworkSamplerOptions) {}

  start(): this {
    this.#timer = setInterval(() => this.round(), this.o.intervalMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#inflight.values());
  }

  /** Starts a sample of every host not still busy with the previous one. */
  round(): void {
    for (const host of this.o.topology().hosts.values()) {
      if (this.#inflight.has(host.name)) continue;
      const p = this.#sampleHost(host).finally(() => this.#inflight.delete(host.name));
      this.#inflight.set(host.name, p);
    }
  }

  async #sampleHost(host: { name: string; dpid: string }): Promise<void> {
    const sw = this.o.controller.switches.get(host.dpid.toLowerCase());
    // Info, not a warning: every start-up sees it until the switches have connected.
    if (!sw) return this.#troubled(host.name, 'not connected', {}, `metrics: bridge of host ${host.name} is not connected; no network samples until it is`, 'info');
    try {
      const sample = await this.sample(host.name, sw);
      const checked = contracts().check('NetworkMetrics', sample);
      if (!checked.ok) {
        const { path, rule } = checked.error;
        return this.#troubled(host.name, `contract ${path ?? '/'} ${rule ?? ''}`, { err: checked.error, sample }, `metrics: network sample of host ${host.name} breaks its contract; not published`);
      }
      this.o.publish(this.o.names.metrics('network', host.name), JSON.stringify(sample));
      if (this.#trouble.delete(host.name)) this.o.log.info({ host: host.name }, 'metrics: network samples of the host published again');
    } catch (err) {
      // A timeout, a closed connection, an ERROR reply: skip this round, try the next.
      this.#troubled(host.name, (err as Error).name, { err }, `metrics: no network sample of host ${host.name}`);
    }
  }

  /** Asks the switch for its port and flow counters and builds the host's sample. */
  async sample(node: string, sw: SwitchConnection): Promise<NetworkMetrics> {
    const [portBodies, flowBodies] = await Promise.all([
      sw.multipart({ kind: 'PORT_STATS', portNo: Port.ANY }),
      sw.multipart({ kind: 'FLOW', tableId: Table.ALL, outPort: Port.ANY, outGroup: Group.ANY, cookie: 0n, cookieMask: 0n, match: [] }),
    ]);
    // The bridge's own (LOCAL) port bears the bridge's name.
    const bridge = sw.ports.get(Port.LOCAL)?.name;
    if (bridge === undefined) throw new Error(`switch ${sw.dpid} described no LOCAL port, so its bridge has no name`);
    return networkSample({
      node,
      bridge,
      at: (this.o.now ?? (() => new Date()))(),
      ports: sw.ports,
      portStats: portBodies.flatMap((b) => (b.kind === 'PORT_STATS' ? b.stats : [])),
      flowStats: flowBodies.flatMap((b) => (b.kind === 'FLOW' ? b.stats : [])),
      interfaces: this.o.topology().interfacesOn(node),
    });
  }

  #troubled(host: string, key: string, fields: Record<string, unknown>, msg: string, level: 'warn' | 'info' = 'warn'): void {
    if (this.#trouble.get(host) === key) return;
    this.#trouble.set(host, key);
    this.o.log[level]({ host, ...fields }, `${msg} (reported once)`);
  }
}
