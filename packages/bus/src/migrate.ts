import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { fallbackLog } from './connect';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');
// Any constant shared by every SDMI process: serialises concurrent start-ups on one database.
const MIGRATION_LOCK = 0x5d_41_0001;

/**
 * PostgreSQL refusing a session for a while: too many sessions (server-wide, of a role or of a
 * database; 53300), starting up or shutting down (57P03), or not listening yet.
 */
export function isTransientConnectError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '53300' || code === '57P03' || code === 'ECONNREFUSED' || code === 'ECONNRESET';
}

export interface MigrateOptions {
  /**
   * How long the first session may wait for a server that refuses it for a while
   * ({@link isTransientConnectError}); default 30 s. Migrating is every service's first contact
   * with its database, so this is what lets a service start while PostgreSQL is full or restarting.
   */
  waitMs?: number;
  /** Where each retry is said (default: the pools' warn-level logger). */
  log?: Logger;
}

async function firstSession(pool: Pool, o: MigrateOptions): Promise<PoolClient> {
  const waitMs = o.waitMs ?? 30_000;
  const end = Date.now() + waitMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await pool.connect();
    } catch (err) {
      if (!isTransientConnectError(err)) throw err;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`PostgreSQL refused a session for ${waitMs} ms: ${(err as Error).message}`, { cause: err });
      const wait = Math.min(delay, left);
      (o.log ?? fallbackLog()).warn({ code: (err as { code?: string }).code, error: (err as Error).message, retryInMs: wait }, 'PostgreSQL refused a session; waiting for it');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * Applies the SQL files of migrations/ that this database has not seen, in name order, each in
 * its own transaction, under an advisory lock so that services starting together do not race.
 * Returns the names applied now.
 */
export async function migrate(pool: Pool, dir: string = migrationsDir, options: MigrateOptions = {}): Promise<string[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const client = await firstSession(pool, options);
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS public.sdmi_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM public.sdmi_migration')).rows.map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      await client.query('BEGIN');
      try {
        await client.query(readFileSync(join(dir, file), 'utf8'));
        await client.query('INSERT INTO public.sdmi_migration (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
        applied.push(file);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
