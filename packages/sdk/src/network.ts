import type { ClusterNetwork as ClusterNetworkSpec, ListNetworksReply, TenantNetwork as TenantNetworkSpec } from '@sdmi/contracts';
import { Services, type Cluster } from './cluster';

export type ClusterNetworkStatus = ListNetworksReply['clusterNetworks'][number];
export type TenantNetworkStatus = ListNetworksReply['tenantNetworks'][number];

/** Network commands share one resource key: the network-controller validates them against each other in order. */
const NETWORKS_KEY = 'networks';

/** A cluster-wide network, id `cluster/<name>`. */
export class ClusterNetwork {
  readonly id: string;
  constructor(
    private readonly cluster: Cluster,
    readonly name: string,
  ) {
    this.id = `cluster/${name}`;
  }

  async create(spec: Omit<ClusterNetworkSpec, 'name'>): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'createNetworks', NETWORKS_KEY, { clusterNetworks: [{ ...spec, name: this.name }] });
  }

  /** Replaces the network's spec with this one (the whole spec, as updateNetwork takes it). */
  async update(spec: Omit<ClusterNetworkSpec, 'name'>): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'updateNetwork', NETWORKS_KEY, { clusterNetwork: { ...spec, name: this.name } });
  }

  async delete(): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'deleteNetwork', NETWORKS_KEY, { id: this.id });
  }

  /** Its spec and use, or null when there is no such network. */
  async get(): Promise<ClusterNetworkStatus | null> {
    return (await this.cluster.networks()).clusterNetworks.find((n) => n.id === this.id) ?? null;
  }
}

/** A tenant's network, id `<tenant>/<name>`; its VLAN/VNI come from the tenant's config. */
export class TenantNetwork {
  readonly id: string;
  constructor(
    private readonly cluster: Cluster,
    readonly tenant: string,
    readonly name: string,
  ) {
    this.id = `${tenant}/${name}`;
  }

  async create(spec: Omit<TenantNetworkSpec, 'tenant' | 'name'>): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'createNetworks', NETWORKS_KEY, { tenantNetworks: [{ ...spec, tenant: this.tenant, name: this.name }] });
  }

  async update(spec: Omit<TenantNetworkSpec, 'tenant' | 'name'>): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'updateNetwork', NETWORKS_KEY, { tenantNetwork: { ...spec, tenant: this.tenant, name: this.name } });
  }

  async delete(): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'deleteNetwork', NETWORKS_KEY, { id: this.id });
  }

  async get(): Promise<TenantNetworkStatus | null> {
    return (await this.cluster.networks(this.tenant)).tenantNetworks.find((n) => n.id === this.id) ?? null;
  }
}
