// Shared set-up for the bus tests: a run-unique bus prefix and database on the real NATS and
// PostgreSQL, removed afterwards.
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import pg from 'pg';
import { BusNames, connectNats, createPool } from '../src/index';

const adminUrl = process.env.SDMI_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BusFixture {
  tag: string;
  names: BusNames;
  nc: NatsConnection;
  pool: pg.Pool;
  dbUrl: string;
  dispose(): Promise<void>;
}

export async function busFixture(): Promise<BusFixture> {
  const tag = `t${randomBytes(4).toString('hex')}`;
  const names = new BusNames(tag);
  const dbName = `sdmi_test_${tag}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const pool = createPool(dbUrl, 20);
  const nc = await connectNats(`test-${tag}`);
  return {
    tag,
    names,
    nc,
    pool,
    dbUrl,
    async dispose() {
      const jsm = await jetstreamManager(nc);
      for (const s of [names.tasksStream, names.broadcastStream, names.eventsStream]) {
        await jsm.streams.delete(s).catch(() => undefined);
      }
      await nc.close();
      await pool.end();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await a.end();
    },
  };
}
