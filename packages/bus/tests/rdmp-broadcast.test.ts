import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, createPool, RdmpClient, RdmpWorker, type ApplyHandler } from '../src/index';
import { busFixture, type BusFixture } from './fixture';
import type { NatsConnection } from '@nats-io/nats-core';
import type pg from 'pg';

// A broadcast ("bypass") task runs on every endpoint of a service kind, each reporting its own status.
const service = 'agent';
const ENDPOINTS = ['host-1', 'host-2', 'host-3'];

let f: BusFixture;
let client: RdmpClient;
const running: Array<{ worker: RdmpWorker; nc: NatsConnection; pool: pg.Pool }> = [];

const prune: ApplyHandler<{ olderThanDays: number }> = {
  kind: 'prune',
  modes: ['broadcast'],
  payloadSchema: { $id: 'https://sdmi.invalid/schemas/test/prune.schema.json', type: 'object', required: ['olderThanDays'], properties: { olderThanDays: { type: 'integer', minimum: 1 } } },
  async apply({ task, db, endpoint }) {
    await db.query('INSERT INTO pruned (endpoint, task_id) VALUES ($1, $2)', [endpoint, task.id]);
    return { endpoint };
  },
};

beforeAll(async () => {
  f = await busFixture();
  await f.pool.query('CREATE TABLE pruned (endpoint text NOT NULL, task_id uuid NOT NULL)');
  for (const endpoint of ENDPOINTS) {
    // Each endpoint has its own connections, as separate hosts would.
    const nc = await connectNats(`test-${endpoint}`);
    const pool = createPool(f.dbUrl, 4);
    const worker = new RdmpWorker({ nc, pool, dbUrl: f.dbUrl, service, endpoint, names: f.names, handlers: [prune], queued: false, broadcast: true });
    await worker.start();
    worker.serve();
    running.push({ worker, nc, pool });
  }
  client = new RdmpClient(f.nc, { names: f.names });
});
afterAll(async () => {
  for (const r of running) {
    await r.worker.stop();
    await r.nc.close();
    await r.pool.end();
  }
  await f?.dispose();
});

describe('broadcast tasks', () => {
  it('reach every running endpoint, and each reports completion', async () => {
    const receipt = await client.submit(service, { kind: 'prune', key: 'images', payload: { olderThanDays: 7 }, mode: 'broadcast' });
    const outcomes = await client.wait(service, receipt.taskId, { endpoints: ENDPOINTS.length, timeoutMs: 20_000 });
    expect(outcomes.map((o) => [o.endpoint, o.status, o.result]).sort()).toEqual(
      ENDPOINTS.map((e) => [e, 'completed', { endpoint: e }]),
    );
    const status = await client.status(service, receipt.taskId);
    expect(status.records.map((r) => [r.endpoint, r.status])).toEqual(ENDPOINTS.map((e) => [e, 'completed']));
    const rows = (await f.pool.query<{ endpoint: string }>('SELECT endpoint FROM pruned WHERE task_id = $1 ORDER BY endpoint', [receipt.taskId])).rows;
    expect(rows.map((r) => r.endpoint)).toEqual(ENDPOINTS);
  });

  it('a broadcast-only kind sent as queued is refused', async () => {
    const err = await client.submit(service, { kind: 'prune', key: 'images', payload: { olderThanDays: 7 } }).catch((e: unknown) => e);
    expect((err as { info: unknown }).info).toMatchObject({ code: 'SCHEMA_VIOLATION', path: '/mode', rule: 'allowedMode' });
  });
});
