// Access control of one process, composed for the RDMP gateway and the query servers: who sent a
// request (authenticate), whether its bindings allow the task (authorize), what it may read
// (readScope), and the record of every admission decision (audit). Off unless the environment
// names the cluster's principals file: then everything is allowed and nothing recorded, as before.
import type { Audit, Authenticate, Authorize, ReadScope } from '@sdmi/bus';
import type { ErrorInfo, RoleBinding, Task } from '@sdmi/contracts';
import { authorize, readableTenants, targetsOf } from '@sdmi/rbac';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { authenticator } from './authenticate';
import { PrincipalDirectory } from './directory';
import { AccessStore } from './store';

/** Environment variables read here. */
export const AccessEnv = {
  /** principals.json of the cluster (`sdmi auth init` / bus-auth writes it): turns authentication, RBAC and audit on. */
  principalsFile: 'SDMI_PRINCIPALS_FILE',
  /** The cluster's DNS domain: a zone `<tenant>.<domain>` is that tenant's. */
  domain: 'SDMI_DNS_DOMAIN',
} as const;

export class AccessControl {
  readonly store: AccessStore;
  readonly authenticate: Authenticate;

  constructor(
    readonly directory: PrincipalDirectory,
    pool: Pool,
    private readonly opts: { domain?: string; log?: Logger } = {},
  ) {
    this.store = new AccessStore(pool);
    this.authenticate = authenticator(directory);
  }

  /** Undefined when SDMI_PRINCIPALS_FILE is unset; a file that cannot be used throws PrincipalsFileError. */
  static fromEnv(pool: Pool, env: Readonly<Record<string, string | undefined>> = process.env, log?: Logger): AccessControl | undefined {
    const file = env[AccessEnv.principalsFile];
    if (!file) return undefined;
    const domain = env[AccessEnv.domain];
    return new AccessControl(PrincipalDirectory.load(file), pool, { ...(domain ? { domain } : {}), ...(log ? { log } : {}) });
  }

  async start(): Promise<this> {
    await this.store.migrate();
    return this;
  }

  /** A principal's bindings: those its credential gives and the stored ones. */
  async bindingsOf(principal: string): Promise<RoleBinding[]> {
    return [...this.directory.builtinBindings().filter((b) => b.principal === principal), ...(await this.store.bindings(principal))];
  }

  readonly authorize: Authorize = async (task) => {
    const decision = authorize(task.principal.id, await this.bindingsOf(task.principal.id), task.kind, task.payload, this.ctx);
    if (decision.allowed) return undefined;
    const info: ErrorInfo = {
      code: decision.code,
      message: decision.message,
      path: '/payload',
      rule: 'rbac',
      details: { principal: task.principal.id, kind: task.kind, reason: decision.code, ...(decision.target ? { target: { ...decision.target } } : {}) },
    };
    return info;
  };

  /** The tenants a task is about (empty: the cluster's own), for the event feed. */
  readonly scopeOf = (task: Task): string[] => [...new Set((targetsOf(task.kind, task.payload, this.ctx) ?? []).flatMap((t) => (t.tenant ? [t.tenant] : [])))];

  readonly audit: Audit = async ({ task, accepted, error }) => {
    await this.store.recordAdmission({ taskId: task.id, service: task.service, kind: task.kind, key: task.key, principal: task.principal.id, tenants: this.scopeOf(task), accepted, ...(error ? { error } : {}) });
  };

  /** The tenants a principal may read: 'all' or a list. */
  async readable(principal: string): Promise<'all' | string[]> {
    const t = readableTenants(principal, await this.bindingsOf(principal));
    return t === 'all' ? 'all' : [...t];
  }

  readonly readScope: ReadScope = async (principal) => {
    const t = await this.readable(principal.id);
    return (tenant) => t === 'all' || (tenant !== undefined && t.includes(tenant));
  };

  private get ctx(): { domain?: string } {
    return this.opts.domain ? { domain: this.opts.domain } : {};
  }
}
