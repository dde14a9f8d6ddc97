// createPool: a pooled session the server ends while it sits idle must not crash the process.
// pg emits such a failure as an 'error' event on the pool, and an EventEmitter without an 'error'
// listener throws it as an uncaught exception (vitest then fails the run with "Errors 1 error"
// although every test passed). It happens when PostgreSQL restarts, and in every test's teardown
// race: pool.end() resolves once it has *asked* its sessions to close, so a test database dropped
// right after (pg_terminate_backend) can hit sessions still closing.
import { createDatabase, pgAdminUrl, type TestDatabase } from '@sdmi/testbed';
import pg from 'pg';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../src/index';

let db: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  db = await createDatabase();
  admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await db?.dispose();
});

function recordingLog(): { log: Logger; warned: unknown[] } {
  const warned: unknown[] = [];
  const log = { warn: (obj: unknown) => void warned.push(obj) } as unknown as Logger;
  return { log, warned };
}

async function terminateSessions(): Promise<number> {
  const r = await admin.query('SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
  return Number(r.rows[0].n);
}

async function fillPool(pool: pg.Pool, n: number): Promise<void> {
  // n sessions at once, so the pool opens n connections and keeps them idle afterwards.
  await Promise.all(Array.from({ length: n }, () => pool.query('SELECT pg_sleep(0.01)')));
}

describe('createPool', () => {
  it('survives the server ending its idle sessions, logs it, and serves the next query on a new session', async () => {
    const { log, warned } = recordingLog();
    const pool = createPool(db.url, 4, log);
    try {
      await fillPool(pool, 4);
      expect(pool.idleCount).toBe(4);
      expect(await terminateSessions()).toBe(4);
      const end = Date.now() + 5_000;
      while (warned.length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      expect(warned).toHaveLength(4);
      expect(warned[0]).toMatchObject({ err: expect.objectContaining({ code: '57P01' }) });
      expect(pool.totalCount).toBe(0);
      const r = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(r.rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('a database dropped right after pool.end() throws nothing at the pool', async () => {
    // What every test's teardown does; without a listener this throws an uncaught 57P01 in most rounds.
    for (let round = 0; round < 10; round++) {
      const pool = createPool(db.url, 8, recordingLog().log);
      await fillPool(pool, 8);
      await pool.end();
      await terminateSessions();
    }
    // Give the terminations time to arrive at the closing sessions.
    await new Promise((r) => setTimeout(r, 300));
  });
});
