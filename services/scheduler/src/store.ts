// The scheduler's state in PostgreSQL: services (desired, with their revision history) and the
// replicas it has placed. Methods take the caller's client so they run in the RDMP task's
// transaction.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@sdmi/bus';
import type { ReplicaAddress } from '@sdmi/contracts';
import { Replica, Service, type ReplicaState, type Resources, type ServiceRecord } from '@sdmi/scheduling';
import type pg from 'pg';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');

type Db = Pick<pg.ClientBase, 'query'>;

interface ReplicaRow {
  id: string;
  service: string;
  slot: number;
  revision: number;
  node: string;
  state: ReplicaState;
  since: Date;
  created_at: Date;
  resources: Resources;
}

/** A placed replica with what the model does not plan with but queries report. */
export interface ReplicaRecordView {
  replica: Replica;
  reason: string | null;
  addresses: ReplicaAddress[];
}

export interface ReplicaFilter {
  service?: string;
  node?: string;
}

/** An admitted node as the admin left it: ready, or draining (removeNode), forced or not. */
export interface AdmittedNode {
  state: 'ready' | 'draining';
  force: boolean;
  admittedAt: number;
}

export class SchedulerStore {
  async migrate(pool: pg.Pool): Promise<string[]> {
    return migrate(pool, migrationsDir);
  }

  async service(db: Db, id: string, lock = false): Promise<Service | null> {
    const r = await db.query<{ record: ServiceRecord }>(`SELECT record FROM sched.service WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return r.rows[0] ? Service.restore(r.rows[0].record) : null;
  }

  async services(db: Db): Promise<Service[]> {
    return (await db.query<{ record: ServiceRecord }>('SELECT record FROM sched.service ORDER BY id')).rows.map((r) => Service.restore(r.record));
  }

  async saveService(db: Db, id: string, service: Service | null): Promise<void> {
    if (service) {
      await db.query(
        `INSERT INTO sched.service (id, record) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, updated_at = now()`,
        [id, JSON.stringify(service.toRecord())],
      );
    } else {
      await db.query('DELETE FROM sched.service WHERE id = $1', [id]);
    }
  }

  async replicas(db: Db, filter: ReplicaFilter = {}): Promise<Replica[]> {
    return (await this.replicaRecords(db, filter)).map((r) => r.replica);
  }

  /** The replicas with the reason recorded for their state and their addresses (what queries report), of a service and/or on a node. */
  async replicaRecords(db: Db, filter: ReplicaFilter = {}): Promise<ReplicaRecordView[]> {
    const rows = (
      await db.query<ReplicaRow & { reason: string | null; addresses: ReplicaAddress[] }>(
        `SELECT id, service, slot, revision, node, state, since, created_at, resources, reason, addresses FROM sched.replica
         WHERE ($1::text IS NULL OR service = $1) AND ($2::text IS NULL OR node = $2) ORDER BY id`,
        [filter.service ?? null, filter.node ?? null],
      )
    ).rows;
    return rows.map((r) => ({
      replica: new Replica({ id: r.id, service: r.service, slot: r.slot, revision: r.revision, node: r.node, state: r.state, since: r.since.getTime(), createdAt: r.created_at.getTime(), resources: r.resources }),
      reason: r.reason,
      addresses: r.addresses,
    }));
  }

  /** A replica a plan has placed: it counts from now on, so no later plan places it again. Returns its incarnation. */
  async addReplica(db: Db, r: { id: string; service: string; slot: number; revision: number; node: string; resources: Resources }): Promise<string> {
    const res = await db.query<{ incarnation: string }>(
      `INSERT INTO sched.replica (id, service, slot, revision, node, state, resources) VALUES ($1, $2, $3, $4, $5, 'pending', $6)
       ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING incarnation`,
      [r.id, r.service, r.slot, r.revision, r.node, JSON.stringify(r.resources)],
    );
    return res.rows[0]!.incarnation;
  }

  /** The incarnation of a placed replica (its calls' task ids carry it). */
  async incarnation(db: Db, id: string): Promise<string | undefined> {
    return (await db.query<{ incarnation: string }>('SELECT incarnation FROM sched.replica WHERE id = $1', [id])).rows[0]?.incarnation;
  }

  async setState(db: Db, id: string, state: ReplicaState, reason: string | null = null): Promise<void> {
    await db.query(`UPDATE sched.replica SET state = $2, reason = $3, since = now() WHERE id = $1 AND state <> $2`, [id, state, reason]);
  }

  /** Admitted nodes and their admin state (with whether a drain was forced). */
  async nodes(db: Db): Promise<Map<string, AdmittedNode>> {
    const rows = (await db.query<{ name: string; state: 'ready' | 'draining'; force: boolean; admitted_at: Date }>('SELECT name, state, force, admitted_at FROM sched.node ORDER BY name')).rows;
    return new Map(rows.map((r) => [r.name, { state: r.state, force: r.force, admittedAt: r.admitted_at.getTime() }]));
  }

  async setNode(db: Db, name: string, state: 'ready' | 'draining', force = false): Promise<void> {
    await db.query(`INSERT INTO sched.node (name, state, force) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, force = EXCLUDED.force`, [name, state, force]);
  }

  async deleteNode(db: Db, name: string): Promise<void> {
    await db.query('DELETE FROM sched.node WHERE name = $1', [name]);
  }

  async removeReplica(db: Db, id: string): Promise<void> {
    await db.query('DELETE FROM sched.replica WHERE id = $1', [id]);
  }
}
