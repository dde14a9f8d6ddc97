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

  /** Takes the host's bridge out of the network-controller's topology (after {@link remove}). */
  async unregister(): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'unregisterHost', 'networks', { name: this.name });
  }

  async replicas(): ReturnType<Cluster['replicas']> {
    return this.cluster.replicas({ node: this.name });
  }
}
