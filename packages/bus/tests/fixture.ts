// Shared set-up for the bus tests: a run-unique bus prefix and database on the real NATS and
// PostgreSQL (through the test bed), removed afterwards.
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { createDatabase } from '@sdmi/testbed';
import type pg from 'pg';
import { BusNames, connectNats, createPool, jetstreamManager, removeStreams } from '../src/index';

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
      await removeStreams(await jetstreamManager(nc), names);
      await nc.close();
      await pool.end();
      await db.dispose();
    },
  };
}
