import type { TenantConfig } from '@sdmi/contracts';
import { Services, type Cluster } from './cluster';
import { TenantNetwork } from './network';
import { Service } from './service';

/** A tenant: the scope of its networks and services. */
export class Tenant {
  constructor(
    readonly cluster: Cluster,
    readonly name: string,
  ) {}

  network(name: string): TenantNetwork {
    return new TenantNetwork(this.cluster, this.name, name);
  }

  /**
   * A handle on one of the tenant's services. Pass a Service subclass to have its lifecycle hooks
   * (onAddNode, onRemoveNode, health) run by {@link Service.watch}.
   */
  service(name: string): Service;
  service<S extends Service>(name: string, kind: new (tenant: Tenant, name: string) => S): S;
  service(name: string, kind: new (tenant: Tenant, name: string) => Service = Service): Service {
    return new kind(this, name);
  }

  /** Which host devices and VLAN/VNI ranges the tenant's networks may be given (cluster admin). */
  async putConfig(hostDevices: TenantConfig['hostDevices']): Promise<void> {
    await this.cluster.run(Services.NetworkController, 'putTenantConfig', 'networks', { tenant: this.name, hostDevices });
  }

  async config(): Promise<TenantConfig | null> {
    return (await this.cluster.networks(this.name)).tenantConfigs.find((t) => t.tenant === this.name) ?? null;
  }
}
