import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, pgAdminUrl } from '../src/index';
import { expectNothingLeft } from './leak-check';

async function databaseExists(name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: pgAdminUrl() });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return r.rowCount === 1;
  } finally {
    await c.end();
  }
}

describe('PostgreSQL database fixture', () => {
  afterAll(expectNothingLeft);

  it('creates an empty database that can be used, and drops it on dispose even with a client still connected', async () => {
    const db = await createDatabase();
    expect(db.name).toMatch(/^sdmi_test_t[0-9a-z]{4}_[0-9a-z]+$/);
    expect(new URL(db.url).pathname).toBe(`/${db.name}`);
    expect(await databaseExists(db.name)).toBe(true);

    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => {}); // the drop terminates this session
    await client.connect();
    await client.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
    await client.query("INSERT INTO t VALUES (1, 'one')");
    const r = await client.query<{ v: string }>('SELECT v FROM t WHERE id = 1');
    expect(r.rows[0]?.v).toBe('one');
    expect((await client.query('SELECT current_database() AS d')).rows[0].d).toBe(db.name);

    await db.dispose(); // client deliberately left open
    expect(await databaseExists(db.name)).toBe(false);
    await client.end().catch(() => {});
  });

  it('each database is distinct', async () => {
    await using a = await createDatabase();
    await using b = await createDatabase();
    expect(a.name).not.toBe(b.name);
  });
});
