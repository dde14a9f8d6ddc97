// The access tables (migrations/): role bindings, written in the task's transaction by their
// commands and read by every gateway per submit (no cache: a binding removed a moment ago must
// not still let a task through), and the append-only audit log.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@sdmi/bus';
import type { AuditQuery, AuditRecord, ErrorInfo, RoleBinding } from '@sdmi/contracts';
import type { Pool, PoolClient } from 'pg';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');

type Db = Pool | PoolClient;

interface BindingRow {
  name: string;
  principal: string;
  role: RoleBinding['role'];
  tenant: string | null;
}

const toBinding = (r: BindingRow): RoleBinding => ({ version: 1, name: r.name, principal: r.principal, role: r.role, ...(r.tenant !== null ? { tenant: r.tenant } : {}) });

export class AccessStore {
  constructor(private readonly pool: Pool) {}

  async migrate(): Promise<void> {
    await migrate(this.pool, migrationsDir);
  }

  async putBinding(db: Db, b: RoleBinding): Promise<{ created: boolean }> {
    const r = await db.query<{ created: boolean }>(
      `INSERT INTO access.role_binding (name, principal, role, tenant) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET principal = EXCLUDED.principal, role = EXCLUDED.role, tenant = EXCLUDED.tenant, updated_at = now()
       RETURNING (xmax = 0) AS created`,
      [b.name, b.principal, b.role, b.tenant ?? null],
    );
    return { created: r.rows[0]!.created };
  }

  async deleteBinding(db: Db, name: string): Promise<boolean> {
    const r = await db.query('DELETE FROM access.role_binding WHERE name = $1', [name]);
    return (r.rowCount ?? 0) > 0;
  }

  async bindings(principal?: string): Promise<RoleBinding[]> {
    const r = principal === undefined
      ? await this.pool.query<BindingRow>('SELECT name, principal, role, tenant FROM access.role_binding ORDER BY name')
      : await this.pool.query<BindingRow>('SELECT name, principal, role, tenant FROM access.role_binding WHERE principal = $1 ORDER BY name', [principal]);
    return r.rows.map(toBinding);
  }

  async recordAdmission(e: { taskId: string; service: string; kind: string; key: string; principal: string; tenants: readonly string[]; accepted: boolean; error?: ErrorInfo }): Promise<void> {
    await this.pool.query('INSERT INTO access.audit (task_id, service, kind, key, principal, tenants, accepted, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      e.taskId,
      e.service,
      e.kind,
      e.key,
      e.principal,
      [...e.tenants],
      e.accepted,
      e.error ? JSON.stringify(e.error) : null,
    ]);
  }

  /**
   * Records newest first. `tenants` limits them to records that act on one of these tenants
   * ('all': no limit): a tenant-scoped reader sees nothing cluster-wide or of other tenants.
   */
  async audit(q: AuditQuery, tenants: 'all' | readonly string[]): Promise<AuditRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown): string => {
      args.push(v);
      return `$${args.length}`;
    };
    if (q.principal !== undefined) where.push(`a.principal = ${arg(q.principal)}`);
    if (q.service !== undefined) where.push(`a.service = ${arg(q.service)}`);
    if (q.outcome !== undefined) where.push(`a.accepted = ${arg(q.outcome === 'accepted')}`);
    if (q.taskId !== undefined) where.push(`a.task_id = ${arg(q.taskId)}`);
    if (q.since !== undefined) where.push(`a.at >= ${arg(q.since)}`);
    if (q.tenant !== undefined) where.push(`${arg(q.tenant)} = ANY(a.tenants)`);
    if (tenants !== 'all') where.push(`a.tenants && ${arg([...tenants])}::text[]`);
    const r = await this.pool.query<{ seq: string; at: Date; task_id: string; service: string; kind: string; key: string; principal: string; tenants: string[]; accepted: boolean; error: ErrorInfo | null; status: AuditRecord['status'] | null }>(
      `SELECT a.seq, a.at, a.task_id, a.service, a.kind, a.key, a.principal, a.tenants, a.accepted, a.error, t.status
         FROM access.audit a
         LEFT JOIN rdmp.task t ON a.accepted AND t.id = a.task_id AND t.endpoint = ''
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY a.seq DESC LIMIT ${arg(q.limit ?? 100)}`,
      args,
    );
    return r.rows.map((x) => ({
      seq: Number(x.seq),
      at: x.at.toISOString(),
      taskId: x.task_id,
      service: x.service,
      kind: x.kind,
      key: x.key,
      principal: x.principal,
      outcome: x.accepted ? 'accepted' : 'refused',
      tenants: x.tenants,
      ...(x.error ? { error: x.error } : {}),
      ...(x.status ? { status: x.status } : {}),
    }));
  }
}
