// What `plan` shows and `apply`/`delete` do: the declared resources against what the cluster holds,
// as an ordered list of changes. Pure: the caller fetches the cluster's state and runs the changes.
import type { AutoscalePolicy, ClusterNetwork, RoleBinding, ServiceSpec, Switch, TenantConfig, TenantNetwork, Threshold } from '@sdmi/contracts';
import { networkRef, resourceId, type Resource, type ResourceKind } from './resource';

/** What the cluster holds, as the specs it was given. */
export interface ClusterState {
  tenantConfigs: readonly TenantConfig[];
  clusterNetworks: readonly ClusterNetwork[];
  tenantNetworks: readonly TenantNetwork[];
  /**
   * The scheduler's services; only read when the manifests declare some, so that planning
   * switches or networks does not depend on a scheduler running (a switch-agent's host may have none).
   */
  services?: readonly ServiceSpec[];
  /**
   * The metrics-collector's policies and thresholds; only needed (and only read) when the manifests
   * declare some, so that planning networks and services does not depend on a collector running.
   */
  autoscalePolicies?: readonly AutoscalePolicy[];
  thresholds?: readonly Threshold[];
  /**
   * The bindings stored on the bus (not the builtin ones the credentials bring: those cannot be
   * declared); likewise only read when the manifests declare some.
   */
  roleBindings?: readonly RoleBinding[];
  /** The switch-agent's switches (their specs as registered); likewise only read when declared. */
  switches?: readonly Switch[];
}

export const ChangeActions = {
  Create: 'create',
  /** A new spec: for a service, a new revision rolled out by its update policy. */
  Update: 'update',
  /** A service whose only change is its replica count: no replica restarts. */
  Scale: 'scale',
  Delete: 'delete',
  Unchanged: 'unchanged',
  /** Declared for deletion but has no delete command (a TenantConfig): left as it is. */
  Keep: 'keep',
} as const;
export type ChangeAction = (typeof ChangeActions)[keyof typeof ChangeActions];

export interface FieldChange {
  /** JSON pointer inside the spec. */
  path: string;
  from?: unknown;
  to?: unknown;
}

export interface Change {
  action: ChangeAction;
  kind: ResourceKind;
  id: string;
  /** The declared resource (absent for a delete of something only the cluster has). */
  resource?: Resource;
  fields: FieldChange[];
}

export interface Plan {
  changes: Change[];
}

/** Whether running the plan would change anything. */
export function planIsEmpty(plan: Plan): boolean {
  return plan.changes.every((c) => c.action === ChangeActions.Unchanged || c.action === ChangeActions.Keep);
}

// Policies and thresholds after services: the metrics-collector refuses them for a service that
// does not exist. Bindings first: who may act on a tenant's resources is settled before they exist.
// Switches after networks: a switch may carry networks by id, and the agent's first sync after
// registerSwitch then finds them and puts their VLANs on at once (registered before, it would find
// them missing and carry them only on a later pass). Before services: a replica on a VLAN network
// is reachable across the fabric from the start.
const KIND_ORDER: Record<ResourceKind, number> = { RoleBinding: -1, TenantConfig: 0, ClusterNetwork: 1, TenantNetwork: 2, Switch: 2.5, Service: 3, AutoscalePolicy: 4, Threshold: 4 };

function currentOf(state: ClusterState, r: Resource): object | undefined {
  const id = resourceId(r);
  switch (r.kind) {
    case 'TenantConfig':
      return state.tenantConfigs.find((t) => t.tenant === id);
    case 'ClusterNetwork':
      return state.clusterNetworks.find((n) => `cluster/${n.name}` === id);
    case 'TenantNetwork':
      return state.tenantNetworks.find((n) => `${n.tenant}/${n.name}` === id);
    case 'Service':
      return state.services?.find((s) => `${s.tenant}/${s.name}` === id);
    case 'AutoscalePolicy':
      return state.autoscalePolicies?.find((p) => p.service === id);
    case 'Threshold':
      return state.thresholds?.find((t) => `${t.service}/${t.name}` === id);
    case 'RoleBinding':
      return state.roleBindings?.find((b) => b.name === id);
    case 'Switch':
      return state.switches?.find((s) => s.name === id);
  }
}

/**
 * The changes that make the cluster hold the declared resources: role bindings, tenant configs,
 * then networks, switches, then services (what a later kind refers to exists first). Networks, being created together in
 * one transaction, need no order among themselves. Nothing the manifest does not declare is touched.
 */
export function planApply(declared: readonly Resource[], state: ClusterState): Plan {
  const changes: Change[] = [];
  for (const r of [...declared].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind])) {
    const id = resourceId(r);
    const current = currentOf(state, r);
    if (current === undefined) {
      changes.push({ action: ChangeActions.Create, kind: r.kind, id, resource: r, fields: [] });
      continue;
    }
    const fields = diff(current, r.spec);
    let action: ChangeAction = fields.length === 0 ? ChangeActions.Unchanged : ChangeActions.Update;
    if (r.kind === 'Service' && fields.length > 0 && fields.every((f) => f.path === '/replicas')) action = ChangeActions.Scale;
    changes.push({ action, kind: r.kind, id, resource: r, fields });
  }
  return { changes };
}

/**
 * The changes that remove the declared resources the cluster holds: autoscale policies and
 * thresholds first (a policy would scale a service being removed), then services (their
 * interfaces are on the networks), then switches, before the networks, the reverse of apply: the
 * outcome does not hang on a race. removeSwitch leaves the switch's configuration as it is, so the
 * VLANs of networks deleted after it stay on the switch, always; removed after its networks, the
 * switch would lose them or not depending on whether the agent's pass after deleteNetwork ran
 * before the removeSwitch. (To have them taken off, delete the networks in a run of their own
 * while the switch is still kept.) Then networks, each after every network being deleted that
 * depends on it or nests in it, and role bindings last (a delete that stops half-way leaves the
 * remaining resources with the people who administer them). TenantConfigs have no delete command
 * and are kept.
 */
export function planDelete(declared: readonly Resource[], state: ClusterState): Plan {
  const present = declared.filter((r) => currentOf(state, r) !== undefined);
  const autoscale = present.filter((r) => r.kind === 'AutoscalePolicy' || r.kind === 'Threshold');
  const services = present.filter((r) => r.kind === 'Service');
  const switches = present.filter((r) => r.kind === 'Switch');
  const networks = present.filter((r): r is Extract<Resource, { kind: 'ClusterNetwork' | 'TenantNetwork' }> => r.kind === 'ClusterNetwork' || r.kind === 'TenantNetwork');
  const configs = present.filter((r) => r.kind === 'TenantConfig');
  const bindings = present.filter((r) => r.kind === 'RoleBinding');
  const change = (r: Resource, action: ChangeAction): Change => ({ action, kind: r.kind, id: resourceId(r), resource: r, fields: [] });
  return {
    changes: [
      ...autoscale.map((r) => change(r, ChangeActions.Delete)),
      ...services.map((r) => change(r, ChangeActions.Delete)),
      ...switches.map((r) => change(r, ChangeActions.Delete)),
      ...deletionOrder(networks).map((r) => change(r, ChangeActions.Delete)),
      ...configs.map((r) => change(r, ChangeActions.Keep)),
      ...bindings.map((r) => change(r, ChangeActions.Delete)),
    ],
  };
}

/** Networks ordered so that each comes before the ones it refers to (dependsOn, parent). */
function deletionOrder<T extends Extract<Resource, { kind: 'ClusterNetwork' | 'TenantNetwork' }>>(networks: readonly T[]): T[] {
  const byId = new Map(networks.map((n) => [resourceId(n), n]));
  const refs = (n: T): string[] => {
    const tenant = n.kind === 'TenantNetwork' ? n.spec.tenant : null;
    return [...(n.spec.dependsOn ?? []), ...(n.spec.parent !== undefined ? [n.spec.parent] : [])].map((ref) => networkRef(ref, tenant));
  };
  // Referred-to count among the networks being deleted: those nobody refers to go first.
  const referredBy = new Map<string, number>([...byId.keys()].map((id) => [id, 0]));
  for (const n of networks) for (const r of refs(n)) if (referredBy.has(r)) referredBy.set(r, referredBy.get(r)! + 1);
  const out: T[] = [];
  const ready = [...byId.keys()].filter((id) => referredBy.get(id) === 0).sort();
  while (ready.length > 0) {
    const id = ready.shift()!;
    const n = byId.get(id)!;
    out.push(n);
    for (const r of refs(n)) {
      if (!referredBy.has(r)) continue;
      const left = referredBy.get(r)! - 1;
      referredBy.set(r, left);
      if (left === 0) ready.push(r);
    }
  }
  // dependsOn is symmetric in effect and may be written both ways: whatever is left (a cycle of
  // references) can go in any order, since a deleteNetwork only fails on references that remain.
  for (const id of [...byId.keys()].sort()) if (!out.includes(byId.get(id)!)) out.push(byId.get(id)!);
  return out;
}

/** Field-level differences between two JSON values, as JSON pointers; arrays compare as wholes. */
export function diff(from: unknown, to: unknown, path = ''): FieldChange[] {
  if (isPlainObject(from) && isPlainObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    return keys.flatMap((k) => {
      const p = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (!(k in to)) return [{ path: p, from: from[k] }];
      if (!(k in from)) return [{ path: p, to: to[k] }];
      return diff(from[k], to[k], p);
    });
  }
  return canonical(from) === canonical(to) ? [] : [{ path: path || '/', from, to }];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
