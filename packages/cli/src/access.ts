// sdmi rolebinding and sdmi audit: who may do what, and what was asked of the cluster, through
// the SDK's cluster.access (the network-controller over the bus). A binding is checked here
// against its contract and the rules of @sdmi/rbac before anything is sent; a refusal by the
// cluster (FORBIDDEN, UNAUTHENTICATED) is printed with its code and ends non-zero.
import { contracts as sharedContracts, type AuditQuery, type AuditRecord, type ErrorInfo, type ListedRoleBinding } from '@sdmi/contracts';
import { BindingRoles, isRole, roleBindingProblems, type RoleBindingSpec } from '@sdmi/sdk';
import { parse, withCluster, type Io } from './commands';
import { CliError, ExitCodes, UsageError } from './exit';
import { age, outputFormat, render, table } from './format';

export const ROLEBINDING_USAGE = `sdmi rolebinding list [--principal user:NAME|service:NAME] [-o table|json|yaml]
       sdmi rolebinding put <name> --role ROLE --principal user:NAME|service:NAME [--tenant T]
       sdmi rolebinding delete <name>`;

export const AUDIT_USAGE = `sdmi audit [--principal P] [--service S] [--tenant T] [--outcome accepted|refused] [--task ID]
                  [--since 10m|2026-12-03T08:00:00Z] [--limit N] [-o table|json|yaml]`;

const ROLEBINDING_HELP = `usage: ${ROLEBINDING_USAGE}

  A role binding gives one principal (user:<name> or service:<name>, as the cluster's credentials
  name them) one role. ROLE is one of ${BindingRoles.join(', ')}.
  tenant-admin and tenant-user act within one tenant and need --tenant; a viewer may have one (it
  then reads only that tenant's things); cluster-admin, network-admin and system take none; system
  is for services only. A principal's rights are the union of its bindings. put creates the
  binding or replaces the one of that name; a deleted binding allows nothing from the next command
  on. Bindings whose source is "builtin" come with the credentials (admin, viewer, the services)
  and cannot be changed on the bus. Only a cluster-admin changes bindings.
  Exit 64 on a missing flag, 65 on a bad value or a binding the cluster refuses
  (INVALID_ROLE_BINDING, with the field), 1 when your bindings do not allow it (FORBIDDEN) or the
  cluster does not know your credential (UNAUTHENTICATED).`;

const AUDIT_HELP = `usage: ${AUDIT_USAGE}

  Every command sent to the cluster, accepted or refused, newest first: who sent it, to which
  service, what kind and key, the gateway's decision and, for an accepted task, where it is now.
  --principal is as the records name it (user:alice, service:scheduler, unauthenticated);
  --tenant keeps the tasks that act on that tenant's resources;
  --since is a duration back from now (30s, 10m, 2h, 1d) or an RFC 3339 time; --limit defaults
  to 100, at most 1000. A tenant-scoped principal sees only the records of its tenants' resources.`;

/** JSON pointers of the binding's fields, as the flags that set them. */
const FLAG_OF: Record<string, string> = { '/name': '<name>', '/principal': '--principal', '/role': '--role', '/tenant': '--tenant', '/version': '<version>' };

/** What each field must look like, in words (the schema's patterns are for programs). */
const SHAPE: Record<string, string> = {
  '/name': 'lower-case letters, digits and "-", starting with a letter, at most 63 characters',
  '/principal': 'user:<name> or service:<name>, the name lower case (letters, digits, ".", "_", "@", "-")',
  '/tenant': 'a tenant name: lower-case letters, digits and "-", starting with a letter, at most 63 characters',
};

function str(values: Record<string, unknown>, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === 'string' ? v : undefined;
}

/** A problem of the binding, said as the flag that set the field and what it must be. */
function bindingError(p: ErrorInfo, spec: RoleBindingSpec): CliError {
  const path = p.path && p.path !== '/' ? p.path : '/';
  const flag = FLAG_OF[path] ?? path;
  const given = path === '/' ? undefined : (spec as unknown as Record<string, unknown>)[path.slice(1)];
  const rule = p.rule ?? 'schema';
  const why = (rule === 'pattern' || rule === 'maxLength' || rule === 'minLength') && SHAPE[path] ? `must be ${SHAPE[path]}, got ${JSON.stringify(given)}` : p.message.replace(/^\/[a-z]+:?\s*/, '');
  return new CliError(`${flag}: ${why} (${p.code === 'SCHEMA_VIOLATION' ? 'rule' : p.code}: ${rule})`, ExitCodes.DataErr);
}

function bindingName(raw: string): string {
  const shape = sharedContracts().check('DeleteRoleBindingPayload', { name: raw });
  if (!shape.ok) throw new CliError(`<name>: must be ${SHAPE['/name']}, got ${JSON.stringify(raw)}`, ExitCodes.DataErr);
  if (raw.startsWith('builtin-')) throw new CliError(`<name>: ${raw} is a builtin binding: it comes with the cluster's credentials (principals.json) and cannot be changed on the bus`, ExitCodes.DataErr);
  return raw;
}

export async function rolebinding(args: readonly string[], io: Io): Promise<number> {
  if (args.length === 0 || ['help', '--help', '-h'].includes(args[0]!)) {
    io.out(ROLEBINDING_HELP);
    return args.length === 0 ? ExitCodes.Usage : ExitCodes.Ok;
  }
  const { values, positionals } = parse(
    args,
    { output: { type: 'string', short: 'o' }, role: { type: 'string' }, principal: { type: 'string' }, tenant: { type: 'string', short: 't' } },
    { min: 1, max: 2, usage: ROLEBINDING_USAGE },
  );
  const [sub, ...rest] = positionals as [string, ...string[]];
  const only = (allowed: readonly string[]): void => {
    const extra = ['output', 'role', 'principal', 'tenant'].filter((f) => values[f] !== undefined && !allowed.includes(f));
    if (extra.length > 0) throw new UsageError(`rolebinding ${sub} takes no ${extra.map((f) => (f === 'output' ? '-o' : `--${f}`)).join(', ')}\nusage: ${ROLEBINDING_USAGE}`);
  };
  switch (sub) {
    case 'list':
    case 'ls': {
      if (rest.length > 0) throw new UsageError(`rolebinding list takes no arguments, got ${rest.join(' ')}\nusage: ${ROLEBINDING_USAGE}`);
      only(['output', 'principal']);
      const format = outputFormat(str(values, 'output'));
      const principal = str(values, 'principal');
      if (principal !== undefined && !sharedContracts().check('ListRoleBindingsQuery', { principal }).ok) throw new CliError(`--principal: must be ${SHAPE['/principal']}, got ${JSON.stringify(principal)}`, ExitCodes.DataErr);
      return withCluster(values, async (c) => {
        const bindings = await c.access.roleBindings(principal !== undefined ? { principal } : {});
        io.out(render(format, bindings, () => bindingsTable(bindings)));
        return ExitCodes.Ok;
      });
    }
    case 'put': {
      if (rest.length !== 1) throw new UsageError(`rolebinding put needs the binding's name, got ${rest.length} argument(s)\nusage: ${ROLEBINDING_USAGE}`);
      only(['role', 'principal', 'tenant']);
      const role = str(values, 'role');
      const principal = str(values, 'principal');
      const tenant = str(values, 'tenant');
      if (role === undefined) throw new UsageError(`rolebinding put: --role is required (one of ${BindingRoles.join(', ')})\nusage: ${ROLEBINDING_USAGE}`);
      if (principal === undefined) throw new UsageError(`rolebinding put: --principal is required (user:<name> or service:<name>)\nusage: ${ROLEBINDING_USAGE}`);
      if (!isRole(role)) throw new CliError(`--role: "${role}" is not a role: one of ${BindingRoles.join(', ')}`, ExitCodes.DataErr);
      const spec: RoleBindingSpec = { name: rest[0]!, principal, role, ...(tenant !== undefined ? { tenant } : {}) };
      const [problem] = roleBindingProblems({ version: 1, ...spec });
      if (problem) throw bindingError(problem, spec);
      return withCluster(values, async (c) => {
        const r = await c.access.putRoleBinding(spec);
        io.out(`rolebinding ${r.name}: ${r.created ? 'created' : 'replaced'} (${spec.principal} is ${spec.role}${spec.tenant !== undefined ? ` of ${spec.tenant}` : ''})`);
        return ExitCodes.Ok;
      });
    }
    case 'delete':
    case 'rm': {
      if (rest.length !== 1) throw new UsageError(`rolebinding delete needs the binding's name, got ${rest.length} argument(s)\nusage: ${ROLEBINDING_USAGE}`);
      only([]);
      const name = bindingName(rest[0]!);
      return withCluster(values, async (c) => {
        const r = await c.access.deleteRoleBinding(name);
        io.out(r.removed ? `rolebinding ${r.name}: deleted` : `rolebinding ${r.name}: there is no such binding (see: sdmi rolebinding list)`);
        return ExitCodes.Ok;
      });
    }
    default:
      throw new UsageError(`unknown rolebinding command "${sub}"\nusage: ${ROLEBINDING_USAGE}`);
  }
}

const DURATION_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const AUDIT_FLAG: Record<string, string> = { '/principal': '--principal', '/service': '--service', '/tenant': '--tenant', '/outcome': '--outcome', '/taskId': '--task', '/since': '--since', '/limit': '--limit' };

/** --since as the query's time: a duration back from `now`, or a time as it is (the schema checks its format). */
function since(raw: string, now: number): string {
  const m = /^(\d+)(s|m|h|d)$/.exec(raw);
  return m ? new Date(now - Number(m[1]) * DURATION_MS[m[2]!]!).toISOString() : raw;
}

export function auditQuery(values: Record<string, unknown>, now = Date.now()): AuditQuery {
  const limit = str(values, 'limit');
  if (limit !== undefined && !/^\d+$/.test(limit)) throw new CliError(`--limit: must be a whole number from 1 to 1000, got "${limit}"`, ExitCodes.DataErr);
  const outcome = str(values, 'outcome');
  const q: Record<string, unknown> = {};
  for (const [flag, field] of [['principal', 'principal'], ['service', 'service'], ['tenant', 'tenant'], ['outcome', 'outcome'], ['task', 'taskId']] as const) {
    const v = str(values, flag);
    if (v !== undefined) q[field] = v;
  }
  const s = str(values, 'since');
  if (s !== undefined) q.since = since(s, now);
  if (limit !== undefined) q.limit = Number(limit);
  const checked = sharedContracts().check('AuditQuery', q);
  if (checked.ok) return checked.value;
  const e = checked.error;
  const flag = AUDIT_FLAG[e.path ?? ''] ?? e.path ?? '/';
  const why: Record<string, string> = {
    '--outcome': `must be accepted or refused, got "${outcome}"`,
    '--task': `must be a task id (a UUID), got "${str(values, 'task')}"`,
    '--since': `must be a duration back from now (30s, 10m, 2h, 1d) or an RFC 3339 time (2026-12-03T08:00:00Z), got "${s}"`,
    '--limit': `must be a whole number from 1 to 1000, got "${limit}"`,
    '--service': `must be a service name (lower-case letters, digits and "-"), got "${str(values, 'service')}"`,
    '--tenant': `must be a tenant name (lower-case letters, digits and "-", starting with a letter), got "${str(values, 'tenant')}"`,
  };
  throw new CliError(`${flag}: ${why[flag] ?? e.message}`, ExitCodes.DataErr);
}

export async function audit(args: readonly string[], io: Io): Promise<number> {
  if (args[0] === 'help' || args[0] === '--help' || args[0] === '-h') {
    io.out(AUDIT_HELP);
    return ExitCodes.Ok;
  }
  const { values } = parse(
    args,
    { output: { type: 'string', short: 'o' }, principal: { type: 'string' }, service: { type: 'string' }, tenant: { type: 'string' }, outcome: { type: 'string' }, task: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } },
    { min: 0, max: 0, usage: AUDIT_USAGE },
  );
  const format = outputFormat(str(values, 'output'));
  const query = auditQuery(values);
  return withCluster(values, async (c) => {
    const records = await c.access.audit(query);
    io.out(render(format, records, () => auditTable(records)));
    return ExitCodes.Ok;
  });
}

function bindingsTable(bindings: readonly ListedRoleBinding[]): string {
  if (bindings.length === 0) return 'no role bindings you may see';
  return table(
    ['NAME', 'PRINCIPAL', 'ROLE', 'TENANT', 'SOURCE'],
    bindings.map(({ binding: b, source }) => [b.name, b.principal, b.role, b.tenant ?? '-', source]),
  );
}

function auditTable(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'no audit records match';
  return table(
    ['AGE', 'PRINCIPAL', 'SERVICE', 'KIND', 'KEY', 'OUTCOME', 'TASK', 'REASON'],
    records.map((r) => [
      age(r.at),
      r.principal,
      r.service,
      r.kind,
      r.key,
      r.outcome === 'accepted' ? `accepted${r.status ? ` (${r.status})` : ''}` : `refused ${r.error?.code ?? ''}`.trimEnd(),
      r.taskId,
      r.error ? r.error.message : '',
    ]),
  );
}
