// switch-agent's table (migrations/). Command writes take the task's client, so they commit with
// the task, and NOTIFY, so the reconciling instance passes at once; the reconciler's own records
// (managed VLANs, sync and drift results) go through the pool.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@sdmi/bus';
import type { Switch, SwitchDrift, SwitchSync } from '@sdmi/contracts';
import type pg from 'pg';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');
export const SWITCH_CHANGED_CHANNEL = 'sdmi_switch_changed';

type Db = Pick<pg.ClientBase, 'query'>;

export interface SwitchRow {
  spec: Switch;
  managed: number[];
  /** Fingerprint of what the last successful sync brought about; undefined before one. */
  applied: string | undefined;
  lastSync: SwitchSync | null;
  drift: SwitchDrift | null;
}

interface Raw {
  spec: Switch;
  managed: number[];
  applied: string | null;
  last_sync: SwitchSync | null;
  drift: SwitchDrift | null;
}

const row = (r: Raw): SwitchRow => ({ spec: r.spec, managed: [...r.managed].sort((a, b) => a - b), applied: r.applied ?? undefined, lastSync: r.last_sync, drift: r.drift });

export class SwitchStore {
  async migrate(pool: pg.Pool): Promise<void> {
    await migrate(pool, migrationsDir);
  }

  /** Registers or replaces a switch's spec; what the agent manages on it stays. True if new. */
  async put(db: Db, spec: Switch): Promise<boolean> {
    const r = await db.query<{ created: boolean }>(
      `INSERT INTO switch_agent.switch (name, spec) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()
       RETURNING (xmax = 0) AS created`,
      [spec.name, JSON.stringify(spec)],
    );
    await db.query(`SELECT pg_notify('${SWITCH_CHANGED_CHANNEL}', $1)`, [spec.name]);
    return r.rows[0]!.created;
  }

  async remove(db: Db, name: string): Promise<boolean> {
    const r = await db.query('DELETE FROM switch_agent.switch WHERE name = $1', [name]);
    return (r.rowCount ?? 0) > 0;
  }

  async get(db: Db, name: string): Promise<SwitchRow | undefined> {
    const r = await db.query<Raw>('SELECT spec, managed, applied, last_sync, drift FROM switch_agent.switch WHERE name = $1', [name]);
    return r.rows[0] ? row(r.rows[0]) : undefined;
  }

  async list(db: Db): Promise<SwitchRow[]> {
    const r = await db.query<Raw>('SELECT spec, managed, applied, last_sync, drift FROM switch_agent.switch ORDER BY name COLLATE "C"');
    return r.rows.map(row);
  }

  /**
   * Widens the managed set before a change is sent: if the agent dies after the switch took it,
   * the VLANs are still known as ours and a later sync can remove them.
   */
  async addManaged(db: Db, name: string, vlans: readonly number[]): Promise<void> {
    await db.query(
      `UPDATE switch_agent.switch SET managed = ARRAY(SELECT DISTINCT unnest(managed || $2::int[]) ORDER BY 1) WHERE name = $1`,
      [name, [...vlans]],
    );
  }

  /** After a sync that landed: exactly these VLANs are ours, and `applied` is what was brought about. */
  async synced(db: Db, name: string, managed: readonly number[], applied: string, sync: SwitchSync): Promise<void> {
    await db.query('UPDATE switch_agent.switch SET managed = $2, applied = $3, last_sync = $4 WHERE name = $1', [name, [...managed], applied, JSON.stringify(sync)]);
  }

  async syncFailed(db: Db, name: string, sync: SwitchSync): Promise<void> {
    await db.query('UPDATE switch_agent.switch SET last_sync = $2 WHERE name = $1', [name, JSON.stringify(sync)]);
  }

  async recordDrift(db: Db, name: string, drift: SwitchDrift): Promise<void> {
    await db.query('UPDATE switch_agent.switch SET drift = $2 WHERE name = $1', [name, JSON.stringify(drift)]);
  }
}
