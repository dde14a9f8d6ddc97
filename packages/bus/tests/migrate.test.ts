// migrate() is every service's first contact with its database: a server that refuses sessions for
// a while (full, starting) is waited for, within a bound, instead of the service exiting at start.
// The refusal is real: a role of this run's own with CONNECTION LIMIT 0 gets PostgreSQL's 53300.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, pgAdminUrl, runId, type TestDatabase } from '@sdmi/testbed';
import pg from 'pg';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, isTransientConnectError, migrate } from '../src/index';

const role = `sdmi_migrate_${runId()}`;
let db: TestDatabase;
let admin: pg.Client;
let dir: string;
let asRole: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
  db = await createDatabase();
  await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`);
  await admin.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
  const url = new URL(db.url);
  url.username = role;
  asRole = url.toString();
  dir = mkdtempSync(join(tmpdir(), `sdmi-${runId()}-migrate-`));
  writeFileSync(join(dir, '0001_thing.sql'), 'CREATE TABLE thing (id int PRIMARY KEY)');
});

afterAll(async () => {
  await db?.dispose();
  await admin?.query(`DROP ROLE IF EXISTS ${role}`);
  await admin?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function recordingLog(): { log: Logger; warned: Record<string, unknown>[] } {
  const warned: Record<string, unknown>[] = [];
  const log = { warn: (obj: Record<string, unknown>) => void warned.push(obj) } as unknown as Logger;
  return { log, warned };
}

async function inDb<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('migrate waits for a database that refuses sessions for a while', () => {
  it('refused for longer than it waits: fails naming the wait and the server\'s reason; nothing is created', async () => {
    const pool = createPool(asRole, 2);
    const { log, warned } = recordingLog();
    try {
      const e = await migrate(pool, dir, { waitMs: 1200, log }).then(() => undefined, (x: unknown) => x as Error);
      expect(e?.message).toMatch(/^PostgreSQL refused a session for 1200 ms: too many connections for role/);
      expect(isTransientConnectError((e as { cause?: unknown }).cause)).toBe(true);
      expect(warned.length).toBeGreaterThanOrEqual(2);
      expect(warned[0]).toMatchObject({ code: '53300', retryInMs: 250 });
      expect(await inDb(async (c) => (await c.query(`SELECT to_regclass('public.thing')::text AS t`)).rows[0].t)).toBeNull();
    } finally {
      await pool.end();
    }
  });

  it('refused, then let in: the migrations are applied once the server takes the session', async () => {
    const pool = createPool(asRole, 2);
    const { log, warned } = recordingLog();
    try {
      const done = migrate(pool, dir, { waitMs: 20_000, log });
      while (warned.length === 0) await new Promise((r) => setTimeout(r, 50));
      await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
      expect(await done).toEqual(['0001_thing.sql']);
      expect(warned[0]).toMatchObject({ code: '53300' });
      expect(await inDb(async (c) => (await c.query('SELECT name FROM public.sdmi_migration')).rows.map((r: { name: string }) => r.name))).toEqual(['0001_thing.sql']);
      expect(await migrate(pool, dir, { log })).toEqual([]);
    } finally {
      await pool.end();
      await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT 0`);
    }
  });

  it('an error that is not a passing refusal (no such database) fails at once, without waiting', async () => {
    const url = new URL(db.url);
    url.pathname = `/${db.name}_missing`;
    const pool = createPool(url.toString(), 1);
    const { log, warned } = recordingLog();
    try {
      const e = await migrate(pool, dir, { waitMs: 20_000, log }).then(() => undefined, (x: unknown) => x as { code?: string; message: string });
      expect(e).toMatchObject({ code: '3D000' });
      expect(warned).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
