// Whether a principal's role bindings allow a task, and what it may read. Pure: the bindings are
// passed in (the services load them), and the principal is whoever the bus authenticated — never
// a field the sender filled in.
import type { RoleBinding } from '@sdmi/contracts';
import { targetsOf, type CatalogueContext, type Target } from './catalogue';
import { ROLE_WRITES, TENANT_SCOPED, isTenantScoped, type Role } from './roles';

export const RbacErrorCodes = {
  /** The principal's bindings do not allow this command on this resource. */
  Forbidden: 'FORBIDDEN',
  /** The command kind says nothing of what it touches: refused until it does (fail closed). */
  UnknownCommand: 'UNKNOWN_COMMAND_KIND',
} as const;

export type Decision =
  | { readonly allowed: true; readonly by: readonly { readonly target: Target; readonly binding: RoleBinding }[] }
  | { readonly allowed: false; readonly code: (typeof RbacErrorCodes)[keyof typeof RbacErrorCodes]; readonly message: string; readonly target?: Target };

function grants(binding: RoleBinding, target: Target): boolean {
  if (!ROLE_WRITES[binding.role].has(target.resource)) return false;
  // A tenant's binding acts only on that tenant's resources; a tenant-scoped resource without a
  // tenant (a malformed id) is nobody's, so only an unscoped binding may touch it.
  if (isTenantScoped(binding)) return TENANT_SCOPED.has(target.resource) && target.tenant === binding.tenant;
  return true;
}

function describeBindings(principal: string, bindings: readonly RoleBinding[]): string {
  if (bindings.length === 0) return `${principal} (no role bindings)`;
  return `${principal} (${bindings.map((b) => (b.tenant ? `${b.role} of ${b.tenant}` : b.role)).join(', ')})`;
}

/** Which roles could do it, for the message: what the user should ask for. */
function whoMay(target: Target): string {
  const roles = (Object.keys(ROLE_WRITES) as Role[]).filter((r) => ROLE_WRITES[r].has(target.resource) && r !== 'system');
  if (roles.length === 0) return 'only the services themselves (role system)';
  return roles.map((r) => (TENANT_SCOPED.has(target.resource) && (r === 'tenant-admin' || r === 'tenant-user') ? `${r} of ${target.tenant ?? '<its tenant>'}` : r)).join(' or ');
}

/**
 * May `principal`, with these bindings (only its own are looked at), submit `kind` with `payload`?
 * Every target of the command must be allowed by some binding.
 */
export function authorize(principal: string, bindings: readonly RoleBinding[], kind: string, payload: unknown, ctx: CatalogueContext = {}): Decision {
  const mine = bindings.filter((b) => b.principal === principal);
  const targets = targetsOf(kind, payload, ctx);
  if (targets === undefined) {
    return { allowed: false, code: RbacErrorCodes.UnknownCommand, message: `${kind}: no access rule says what this command changes, so nobody may send it` };
  }
  const by: { target: Target; binding: RoleBinding }[] = [];
  for (const target of targets) {
    const binding = mine.find((b) => grants(b, target));
    if (!binding) {
      return {
        allowed: false,
        code: RbacErrorCodes.Forbidden,
        message: `${describeBindings(principal, mine)} may not ${kind} ${target.name}: that needs ${whoMay(target)}`,
        target,
      };
    }
    by.push({ target, binding });
  }
  return { allowed: true, by };
}

/** The tenants whose resources, events and metrics the principal may read: 'all', or a set (maybe empty). */
export function readableTenants(principal: string, bindings: readonly RoleBinding[]): 'all' | ReadonlySet<string> {
  const mine = bindings.filter((b) => b.principal === principal);
  if (mine.some((b) => !isTenantScoped(b))) return 'all';
  return new Set(mine.map((b) => b.tenant!));
}

/** Whether the principal may read something of `tenant` (undefined: a cluster-wide thing). */
export function canRead(principal: string, bindings: readonly RoleBinding[], tenant: string | undefined): boolean {
  const t = readableTenants(principal, bindings);
  if (t === 'all') return true;
  return tenant !== undefined && t.has(tenant);
}
