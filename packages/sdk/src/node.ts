import { contracts, type NodeStatusEvent, type RegisterHostPayload } from '@sdmi/contracts';
import { Services, type Cluster } from './cluster';

/** A Docker host as the scheduler knows it, by the name its node-agent announces. */
export class Node {
  constructor(
    private readonly cluster: Cluster,
    readonly name: string,
  ) {}

  /** Admits the host: replicas may be placed on it. `force` re-admits a draining one. */
  async add(opts: { force?: boolean } = {}): Promise<void> {
    await this.cluster.run(Services.Scheduler, 'addNode', `node/${this.name}`, { name: this.name, ...(opts.force ? { force: true } : {}) });
  }

  /**
   * Drains the host onto the others and forgets it. Refused when the others cannot take its
   * replicas, unless `force` (then what does not fit is stopped).
   */
  async remove(opts: { force?: boolean } = {}): Promise<void> {
    await this.cluster.run(Services.Scheduler, 'removeNode', `node/${this.name}`, { name: this.name, ...(opts.force ? { force: true } : {}) });
  }

  /**
   * Makes the host's bridge part of the network-controller's topology (its datapath id, and the
   * uplink port towards the other hosts when there are any). Hosts are registered before they are added.
   */
  async register(host: Omit<RegisterHostPayload, 'name'>): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'registerHost', 'networks', { ...host, name: this.name });
  }

  /** The node-agent's next announcement of this host (bridge, capacity, replicas), or null when none comes in time. */
  async announcement(timeoutMs = 15_000): Promise<NodeStatusEvent | null> {
    const sub = this.cluster.nc.subscribe(this.cluster.names.nodeEvents(this.name, 'status'), { max: 1, timeout: timeoutMs });
    try {
      for await (const m of sub) {
        const ev = contracts().check('NodeStatusEvent', m.json());
        if (ev.ok) return ev.value;
      }
    } catch {
      return null;
    }
    return null;
  }

  /** Takes the host's bridge out of the network-controller's topology (after {@link remove}). */
  async unregister(): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'unregisterHost', 'networks', { name: this.name });
  }

  async replicas(): ReturnType<Cluster['replicas']> {
    return this.cluster.replicas({ node: this.name });
  }
}
