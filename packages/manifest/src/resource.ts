import type { AutoscalePolicy, ClusterNetwork, RoleBinding, ServiceSpec, Switch, TenantConfig, TenantNetwork, Threshold } from '@sdmi/contracts';

/** The manifest format's version; a document naming another is refused. */
export const API_VERSION = 'sdmi/v1';

export const ResourceKinds = {
  TenantConfig: 'TenantConfig',
  ClusterNetwork: 'ClusterNetwork',
  TenantNetwork: 'TenantNetwork',
  Service: 'Service',
  AutoscalePolicy: 'AutoscalePolicy',
  Threshold: 'Threshold',
  RoleBinding: 'RoleBinding',
  Switch: 'Switch',
} as const;
export type ResourceKind = (typeof ResourceKinds)[keyof typeof ResourceKinds];

/** Where a resource was written: for errors and for `plan`'s output. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
}

export type Resource =
  | { readonly kind: 'TenantConfig'; readonly spec: TenantConfig; readonly source?: SourceLocation }
  | { readonly kind: 'ClusterNetwork'; readonly spec: ClusterNetwork; readonly source?: SourceLocation }
  | { readonly kind: 'TenantNetwork'; readonly spec: TenantNetwork; readonly source?: SourceLocation }
  | { readonly kind: 'Service'; readonly spec: ServiceSpec; readonly source?: SourceLocation }
  | { readonly kind: 'AutoscalePolicy'; readonly spec: AutoscalePolicy; readonly source?: SourceLocation }
  | { readonly kind: 'Threshold'; readonly spec: Threshold; readonly source?: SourceLocation }
  | { readonly kind: 'RoleBinding'; readonly spec: RoleBinding; readonly source?: SourceLocation }
  | { readonly kind: 'Switch'; readonly spec: Switch; readonly source?: SourceLocation };

/**
 * The id the bus knows a resource by: `cluster/<name>` for a ClusterNetwork, `<tenant>/<name>` for
 * a TenantNetwork or a Service, the tenant for its TenantConfig, the service for its (one)
 * AutoscalePolicy, `<tenant>/<service>/<name>` for a Threshold, the name for a RoleBinding or a
 * Switch (unique in the cluster). Unique per kind.
 */
export function resourceId(r: Resource): string {
  switch (r.kind) {
    case 'TenantConfig':
      return r.spec.tenant;
    case 'ClusterNetwork':
      return `cluster/${r.spec.name}`;
    case 'TenantNetwork':
    case 'Service':
      return `${r.spec.tenant}/${r.spec.name}`;
    case 'AutoscalePolicy':
      return r.spec.service;
    case 'Threshold':
      return `${r.spec.service}/${r.spec.name}`;
    case 'RoleBinding':
    case 'Switch':
      return r.spec.name;
  }
}

/** `Service shop/app`: how resources are named in messages and in plan output. */
export function resourceLabel(r: Pick<Resource, 'kind'> & { id: string }): string {
  return `${r.kind} ${r.id}`;
}

/** A network reference as a service or network writes it (bare name, tenant/name, cluster/name) resolved to an id. */
export function networkRef(ref: string, tenant: string | null): string {
  return ref.includes('/') ? ref : tenant === null ? `cluster/${ref}` : `${tenant}/${ref}`;
}
