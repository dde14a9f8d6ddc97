// Shared set-up for the bus tests: a run-unique bus prefix and database on the real NATS and
// PostgreSQL (through the test bed), removed afterwards.
import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { createDatabase } from '@sdmi/testbed';
import type pg from 'pg';
import { BusNames, connectNats, createPool } from '../src/index';

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
  const db = await createDatabase();
  const pool = createPool(db.url, 20);
  const nc = await connectNats(`test-${tag}`);
  return {
    tag,
    names,
    nc,
    pool,
    dbUrl: db.url,
    async dispose() {
      const jsm = await jetstreamManager(nc);
      for (const s of [names.tasksStream, names.broadcastStream, names.eventsStream]) {
        await jsm.streams.delete(s).catch(() => undefined);
      }
      await nc.close();
      await pool.end();
      await db.dispose();
    },
  };
}
