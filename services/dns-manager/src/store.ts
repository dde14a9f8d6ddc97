// dns-manager's tables (migrations/). Methods take the caller's client, so a command's writes
// commit with its RDMP task; every write NOTIFYs, so the reconciling instance passes at once.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@sdmi/bus';
import type { CustomRRset } from '@sdmi/dns-records';
import type { RegisteredInterface } from '@sdmi/contracts';
import type pg from 'pg';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');
export const DNS_CHANGED_CHANNEL = 'sdmi_dns_changed';

type Db = Pick<pg.ClientBase, 'query'>;

export interface Registration {
  replicaId: string;
  service: string;
  interfaces: RegisteredInterface[];
}

export interface PassRecord {
  at: Date;
  ok: boolean;
  detail: string;
  changes: number;
}

export class DnsStore {
  async migrate(pool: pg.Pool): Promise<void> {
    await migrate(pool, migrationsDir);
  }

  async #changed(db: Db): Promise<void> {
    await db.query(`SELECT pg_notify('${DNS_CHANGED_CHANNEL}', '')`);
  }

  async register(db: Db, r: Registration): Promise<void> {
    await db.query(
      `INSERT INTO dns.registration (replica_id, service, interfaces) VALUES ($1, $2, $3)
       ON CONFLICT (replica_id) DO UPDATE SET service = EXCLUDED.service, interfaces = EXCLUDED.interfaces, registered_at = now()`,
      [r.replicaId, r.service, JSON.stringify(r.interfaces)],
    );
    await this.#changed(db);
  }

  async deregister(db: Db, replicaId: string): Promise<boolean> {
    const r = await db.query('DELETE FROM dns.registration WHERE replica_id = $1', [replicaId]);
    await this.#changed(db);
    return (r.rowCount ?? 0) > 0;
  }

  async registrations(db: Db): Promise<Registration[]> {
    const r = await db.query<{ replica_id: string; service: string; interfaces: RegisteredInterface[] }>('SELECT replica_id, service, interfaces FROM dns.registration ORDER BY replica_id');
    return r.rows.map((x) => ({ replicaId: x.replica_id, service: x.service, interfaces: x.interfaces }));
  }

  async registration(db: Db, replicaId: string): Promise<Registration | undefined> {
    const r = await db.query<{ service: string; interfaces: RegisteredInterface[] }>('SELECT service, interfaces FROM dns.registration WHERE replica_id = $1', [replicaId]);
    const x = r.rows[0];
    return x ? { replicaId, service: x.service, interfaces: x.interfaces } : undefined;
  }

  /** Registrations of replicas the scheduler no longer has (they vanished while nobody deregistered them). */
  async forget(db: Db, replicaIds: readonly string[]): Promise<void> {
    if (replicaIds.length === 0) return;
    await db.query('DELETE FROM dns.registration WHERE replica_id = ANY($1)', [replicaIds]);
  }

  async putCustom(db: Db, c: CustomRRset): Promise<void> {
    await db.query(
      `INSERT INTO dns.custom (zone, name, type, ttl, records) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (zone, name, type) DO UPDATE SET ttl = EXCLUDED.ttl, records = EXCLUDED.records, updated_at = now()`,
      [c.zone, c.name, c.type, c.ttl, JSON.stringify(c.records)],
    );
    await this.#changed(db);
  }

  async deleteCustom(db: Db, zone: string, name: string, type: string): Promise<boolean> {
    const r = await db.query('DELETE FROM dns.custom WHERE zone = $1 AND name = $2 AND type = $3', [zone, name, type]);
    await this.#changed(db);
    return (r.rowCount ?? 0) > 0;
  }

  /** Types the user has at `name` (for the CNAME rule). */
  async customTypesAt(db: Db, name: string): Promise<string[]> {
    const r = await db.query<{ type: string }>('SELECT type FROM dns.custom WHERE name = $1', [name]);
    return r.rows.map((x) => x.type);
  }

  async custom(db: Db): Promise<CustomRRset[]> {
    const r = await db.query<{ zone: string; name: string; type: string; ttl: number; records: string[] }>('SELECT zone, name, type, ttl, records FROM dns.custom ORDER BY zone, name, type');
    return r.rows;
  }

  /** What a pass put into PowerDNS, replacing the previous pass's record. */
  async recordPass(pool: pg.Pool, pass: PassRecord, published: ReadonlyMap<string, readonly string[]> | undefined): Promise<void> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      if (published) {
        await c.query('DELETE FROM dns.published');
        const ids = [...published.keys()];
        if (ids.length > 0) {
          await c.query('INSERT INTO dns.published (replica_id, names) SELECT * FROM unnest($1::text[], $2::jsonb[])', [ids, ids.map((id) => JSON.stringify(published.get(id)))]);
        }
      }
      await c.query(
        `INSERT INTO dns.pass (id, at, ok, detail, changes) VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, ok = EXCLUDED.ok, detail = EXCLUDED.detail, changes = EXCLUDED.changes`,
        [pass.at, pass.ok, pass.detail.slice(0, 4000), pass.changes],
      );
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async published(db: Db, replicaId: string): Promise<string[] | undefined> {
    const r = await db.query<{ names: string[] }>('SELECT names FROM dns.published WHERE replica_id = $1', [replicaId]);
    return r.rows[0]?.names;
  }

  async lastPass(db: Db): Promise<PassRecord | undefined> {
    const r = await db.query<PassRecord>('SELECT at, ok, detail, changes FROM dns.pass WHERE id = 1');
    return r.rows[0];
  }
}
