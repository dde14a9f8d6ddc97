// What every command kind acts on, read from its payload. A kind missing here is refused by
// authorize (fail closed): a new command must say what it touches before anyone may send it.
import { tenantOfId as tenantOf } from '@sdmi/contracts';
import { ResourceKinds, type ResourceKind } from './roles';

/** One thing a task changes: its kind, the tenant it belongs to (tenant-scoped kinds) and a name for messages. */
export interface Target {
  readonly resource: ResourceKind;
  readonly tenant?: string;
  readonly name: string;
}

export interface CatalogueContext {
  /** The cluster's DNS domain, to tell a tenant's zone from the cluster's. */
  readonly domain?: string;
}

type Payload = Record<string, unknown>;
type Describe = (payload: Payload, ctx: CatalogueContext) => Target[];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): Payload => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Payload) : {});
const list = (v: unknown): Payload[] => (Array.isArray(v) ? v.map(obj) : []);

const one = (resource: ResourceKind, name: (p: Payload) => string, tenant?: (p: Payload) => string | undefined): Describe => (p) => {
  const t = tenant?.(p);
  return [{ resource, name: name(p), ...(t !== undefined ? { tenant: t } : {}) }];
};
const service = (resource: ResourceKind, id: (p: Payload) => string): Describe => one(resource, (p) => `service ${id(p)}`, (p) => tenantOf(id(p)));
const internal = (what: string): Describe => one(ResourceKinds.Internal, () => what);

function network(p: Payload): Target {
  const tenant = str(p.tenant);
  return tenant ? { resource: ResourceKinds.TenantNetwork, tenant, name: `tenant network ${tenant}/${str(p.name)}` } : { resource: ResourceKinds.ClusterNetwork, name: `cluster network ${str(p.name)}` };
}

function zone(p: Payload, ctx: CatalogueContext): Target {
  const z = str(p.zone).toLowerCase().replace(/\.$/, '');
  const domain = ctx.domain?.toLowerCase().replace(/\.$/, '');
  if (domain && z.endsWith(`.${domain}`)) {
    const label = z.slice(0, -domain.length - 1);
    if (!label.includes('.')) return { resource: ResourceKinds.DnsRecords, tenant: label, name: `zone ${z}` };
  }
  return { resource: ResourceKinds.ClusterDnsRecords, name: `zone ${z}` };
}

export const CATALOGUE: Readonly<Record<string, Describe>> = {
  // network-controller
  createNetworks: (p) => [...list(p.clusterNetworks).map((n) => network({ ...n, tenant: undefined })), ...list(p.tenantNetworks).map(network)],
  updateNetwork: (p) => (p.clusterNetwork ? [network({ ...obj(p.clusterNetwork), tenant: undefined })] : [network(obj(p.tenantNetwork))]),
  deleteNetwork: (p) => {
    const id = str(p.id);
    const t = tenantOf(id);
    return t === 'cluster' || t === undefined ? [{ resource: ResourceKinds.ClusterNetwork, name: `cluster network ${id}` }] : [{ resource: ResourceKinds.TenantNetwork, tenant: t, name: `tenant network ${id}` }];
  },
  putTenantConfig: one(ResourceKinds.TenantConfig, (p) => `tenant config of ${str(p.tenant)}`),
  registerHost: one(ResourceKinds.Host, (p) => `host ${str(p.name)}`),
  unregisterHost: one(ResourceKinds.Host, (p) => `host ${str(p.name)}`),
  attachInterface: internal('an interface of a replica'),
  detachInterface: internal('an interface of a replica'),
  setServiceEndpoints: internal('a service address'),
  releaseServiceAddress: internal('a service address'),
  // scheduler
  deployService: service(ResourceKinds.Service, (p) => `${str(obj(p.spec).tenant)}/${str(obj(p.spec).name)}`),
  updateService: service(ResourceKinds.Service, (p) => `${str(obj(p.spec).tenant)}/${str(obj(p.spec).name)}`),
  removeService: service(ResourceKinds.Service, (p) => str(p.service)),
  scaleService: service(ResourceKinds.ServiceScale, (p) => str(p.service)),
  rolloutUndo: service(ResourceKinds.ServiceScale, (p) => str(p.service)),
  addNode: one(ResourceKinds.Node, (p) => `node ${str(p.name)}`),
  removeNode: one(ResourceKinds.Node, (p) => `node ${str(p.name)}`),
  startReplica: internal('a replica start'),
  stopReplica: internal('a replica stop'),
  // node-agents
  runReplica: internal('a replica container'),
  removeReplica: internal('a replica container'),
  execInReplica: one(ResourceKinds.ReplicaExec, (p) => `replica ${str(p.replicaId)}`, (p) => tenantOf(str(p.replicaId))),
  // dns-manager
  registerReplica: internal('a replica registration'),
  deregisterReplica: internal('a replica registration'),
  putRecords: (p, ctx) => [zone(p, ctx)],
  deleteRecords: (p, ctx) => [zone(p, ctx)],
  // metrics-collector
  setAutoscalePolicy: service(ResourceKinds.Autoscale, (p) => str(obj(p.policy).service)),
  deleteAutoscalePolicy: service(ResourceKinds.Autoscale, (p) => str(p.service)),
  setThreshold: service(ResourceKinds.Autoscale, (p) => str(obj(p.threshold).service)),
  deleteThreshold: service(ResourceKinds.Autoscale, (p) => str(p.service)),
  // switch-agent: the fabric's switches belong to no tenant
  registerSwitch: one(ResourceKinds.Switch, (p) => `switch ${str(obj(p.switch).name)}`),
  removeSwitch: one(ResourceKinds.Switch, (p) => `switch ${str(p.name)}`),
  syncSwitch: one(ResourceKinds.Switch, (p) => `switch ${str(p.name)}`),
  // role bindings themselves
  putRoleBinding: one(ResourceKinds.RoleBinding, (p) => `role binding ${str(obj(p.binding).name)}`),
  deleteRoleBinding: one(ResourceKinds.RoleBinding, (p) => `role binding ${str(p.name)}`),
};

/** What a command of this kind would change, or undefined for a kind nobody described. */
export function targetsOf(kind: string, payload: unknown, ctx: CatalogueContext = {}): Target[] | undefined {
  const describe = Object.hasOwn(CATALOGUE, kind) ? CATALOGUE[kind] : undefined;
  return describe?.(obj(payload), ctx);
}
