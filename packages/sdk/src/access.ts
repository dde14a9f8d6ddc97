import { ACCESS_SERVICE, AccessCommandKinds, AccessQueries, contracts as sharedContracts, roleBindingKey, type AuditQuery, type AuditRecord, type ErrorInfo, type ListedRoleBinding, type RoleBinding } from '@sdmi/contracts';
import { InvalidRoleBinding, checkBinding } from '@sdmi/rbac';
import type { Cluster } from './cluster';
import { isBoolean, isString, resultField } from './results';

export type Role = RoleBinding['role'];

/** The roles a binding may give, in the order help text lists them. */
export const BindingRoles = ['cluster-admin', 'network-admin', 'tenant-admin', 'tenant-user', 'viewer', 'system'] as const satisfies readonly Role[];
// Fails to compile when the schema gains a role this list does not have.
const coversAllRoles: Exclude<Role, (typeof BindingRoles)[number]> extends never ? true : never = true;
void coversAllRoles;

export function isRole(r: string): r is Role {
  return (BindingRoles as readonly string[]).includes(r);
}

export const AccessErrorCodes = {
  /** The binding's role and tenant (or principal, or name) do not go together; with the path. */
  InvalidRoleBinding: 'INVALID_ROLE_BINDING' satisfies InvalidRoleBinding['code'],
} as const;

/** A binding to put; `version` is the contract's current one when left out. */
export type RoleBindingSpec = Omit<RoleBinding, 'version'> & { version?: RoleBinding['version'] };

export interface PutRoleBindingResult {
  name: string;
  /** false when a binding of that name was replaced. */
  created: boolean;
}

export interface DeleteRoleBindingResult {
  name: string;
  /** false when there was no such binding (deleting is idempotent). */
  removed: boolean;
}

/**
 * What the network-controller would refuse in a binding, found before anything is sent: the
 * contract (name, principal `user:<name>` or `service:<name>`, role, tenant) and the rules it
 * cannot say (@sdmi/rbac checkBinding: which roles take a tenant, `system` for services only, no
 * `builtin-` names). Paths are relative to the binding. Empty: the binding may be put.
 */
export function roleBindingProblems(b: unknown): ErrorInfo[] {
  const checked = sharedContracts().check('RoleBinding', b);
  if (!checked.ok) return [checked.error];
  const binding = checked.value;
  try {
    checkBinding(binding);
  } catch (e) {
    if (e instanceof InvalidRoleBinding) return [{ code: e.code, message: e.message, path: e.path, rule: e.rule }];
    throw e;
  }
  // The same rule and words as the network-controller's handler, which refuses it too.
  if (binding.name.startsWith('builtin-')) return [{ code: AccessErrorCodes.InvalidRoleBinding, message: `/name: names starting with builtin- are the credentials' own bindings`, path: '/name', rule: 'reserved-name' }];
  return [];
}

/**
 * Who may do what (role bindings) and what was asked of the cluster (the audit log), kept by the
 * network-controller (ACCESS_SERVICE). Changes are tasks with key `rolebinding/<name>`, awaited to
 * their outcome; a refusal is thrown as the bus's error class with its code: FORBIDDEN when the
 * sender's bindings do not allow it (only cluster-admins change bindings), UNAUTHENTICATED when the
 * connection has no credentials the cluster knows, INVALID_ROLE_BINDING (with the path) when role
 * and tenant do not go together. Reads are scoped like every read: a tenant-scoped principal sees
 * its tenants' bindings and records only.
 */
export class Access {
  constructor(private readonly cluster: Cluster) {}

  /** Stored bindings and those the cluster's credentials bring (`source: 'builtin'`), by name. */
  async roleBindings(filter: { principal?: string } = {}): Promise<ListedRoleBinding[]> {
    return (await this.cluster.client.query(ACCESS_SERVICE, AccessQueries.listRoleBindings, filter.principal !== undefined ? { principal: filter.principal } : {})).bindings;
  }

  /** Creates the binding or replaces the one of its name. */
  async putRoleBinding(spec: RoleBindingSpec): Promise<PutRoleBindingResult> {
    const binding: RoleBinding = { ...spec, version: spec.version ?? 1 };
    const outcome = await this.cluster.run(ACCESS_SERVICE, AccessCommandKinds.PutRoleBinding, roleBindingKey(binding.name), { binding });
    return { name: field(outcome.result, 'name', isString), created: field(outcome.result, 'created', isBoolean) };
  }

  /** Takes effect on the next submit of its principal: gateways read bindings on every submit. */
  async deleteRoleBinding(name: string): Promise<DeleteRoleBindingResult> {
    const outcome = await this.cluster.run(ACCESS_SERVICE, AccessCommandKinds.DeleteRoleBinding, roleBindingKey(name), { name });
    return { name: field(outcome.result, 'name', isString), removed: field(outcome.result, 'removed', isBoolean) };
  }

  /** Admission records of every service's gateway, newest first (at most `limit`, default 100). */
  async audit(query: AuditQuery = {}): Promise<AuditRecord[]> {
    return (await this.cluster.client.query(ACCESS_SERVICE, AccessQueries.audit, query)).records;
  }
}

const field = <T>(r: Record<string, unknown> | undefined, k: string, ok: (v: unknown) => v is T): T => resultField(ACCESS_SERVICE, r, k, ok);
