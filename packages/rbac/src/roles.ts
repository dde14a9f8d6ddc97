// The roles and what each allows, as data: the decision (authorize.ts) only reads this table, so
// that a reader checks the policy here and nowhere else.
import type { RoleBinding } from '@sdmi/contracts';

export type Role = RoleBinding['role'];

export const Roles = {
  ClusterAdmin: 'cluster-admin',
  NetworkAdmin: 'network-admin',
  TenantAdmin: 'tenant-admin',
  TenantUser: 'tenant-user',
  Viewer: 'viewer',
  System: 'system',
} as const satisfies Record<string, Role>;

/**
 * What a command acts on. `tenant` resources belong to one tenant (the task's payload says which);
 * `cluster` ones to none; `internal` ones are the services' own steps of a transaction.
 */
export const ResourceKinds = {
  ClusterNetwork: 'cluster-network',
  TenantConfig: 'tenant-config',
  Host: 'host',
  Node: 'node',
  TenantNetwork: 'tenant-network',
  Service: 'service',
  ServiceScale: 'service-scale',
  Autoscale: 'autoscale',
  DnsRecords: 'dns-records',
  ClusterDnsRecords: 'cluster-dns-records',
  ReplicaExec: 'replica-exec',
  RoleBinding: 'role-binding',
  /** A fabric switch or host bridge the switch-agent keeps carrying the networks' VLANs. */
  Switch: 'switch',
  Internal: 'internal',
} as const;
export type ResourceKind = (typeof ResourceKinds)[keyof typeof ResourceKinds];

/** Resources that belong to a tenant: a tenant-scoped binding acts only on its own tenant's. */
export const TENANT_SCOPED: ReadonlySet<ResourceKind> = new Set<ResourceKind>(['tenant-network', 'service', 'service-scale', 'autoscale', 'dns-records', 'replica-exec']);

/** Which resources each role may change; reading is separate (canRead). */
export const ROLE_WRITES: Readonly<Record<Role, ReadonlySet<ResourceKind>>> = {
  'cluster-admin': new Set<ResourceKind>(Object.values(ResourceKinds).filter((k) => k !== 'internal')),
  'network-admin': new Set<ResourceKind>(['cluster-network', 'tenant-config', 'host', 'tenant-network', 'switch']),
  'tenant-admin': new Set<ResourceKind>(['tenant-network', 'service', 'service-scale', 'autoscale', 'dns-records', 'replica-exec']),
  'tenant-user': new Set<ResourceKind>(['service-scale']),
  viewer: new Set<ResourceKind>(),
  system: new Set<ResourceKind>(['internal', 'service-scale']),
};

/** Roles whose binding names a tenant and acts only within it (a viewer's may, or may not). */
export function isTenantScoped(binding: Pick<RoleBinding, 'role' | 'tenant'>): boolean {
  return binding.tenant !== undefined;
}

/** A binding the schema accepts but that means nothing sensible; `path` and `rule` as the contracts report. */
export class InvalidRoleBinding extends Error {
  override name = 'InvalidRoleBinding';
  readonly code = 'INVALID_ROLE_BINDING';
  constructor(
    message: string,
    readonly path: string,
    readonly rule: string,
  ) {
    super(message);
  }
}

/** Refuses what the schema cannot say: which roles take a tenant, and that system is for services. */
export function checkBinding(b: RoleBinding): void {
  if ((b.role === 'tenant-admin' || b.role === 'tenant-user') && b.tenant === undefined) {
    throw new InvalidRoleBinding(`/tenant: role ${b.role} acts within one tenant; name it`, '/tenant', 'tenant-required');
  }
  if ((b.role === 'cluster-admin' || b.role === 'network-admin' || b.role === 'system') && b.tenant !== undefined) {
    throw new InvalidRoleBinding(`/tenant: role ${b.role} is cluster-wide and takes no tenant (use tenant-admin of ${b.tenant} for one tenant)`, '/tenant', 'tenant-forbidden');
  }
  if (b.role === 'system' && !b.principal.startsWith('service:')) {
    throw new InvalidRoleBinding(`/principal: role system is for the services' own principals (service:<name>), not ${b.principal}`, '/principal', 'system-services-only');
  }
}
