import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmpClient } from '../src/index';
import { WorkerProcess } from './child';
import { busFixture, type BusFixture } from './fixture';

// 1,000 tasks over 50 keys, executed by two worker processes sharing one service: the leader
// loses 5 % of its acks (as if it crashed between commit and ack) and is SIGKILLed a third of
// the way through; the standby takes over. JetStream redelivers; PostgreSQL must dedupe.
const KEYS = 50;
const PER_KEY = 20;
const service = 'recorder';

let f: BusFixture;
let client: RdmpClient;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  f = await busFixture();
  await f.pool.query(`CREATE TABLE effect (
    id bigserial PRIMARY KEY, key text NOT NULL, n int NOT NULL, task_id uuid NOT NULL, pid int NOT NULL,
    started_at timestamptz NOT NULL, finished_at timestamptz)`);
  client = new RdmpClient(f.nc, { names: f.names, retries: 12, requestTimeoutMs: 3_000 });
});
afterAll(async () => {
  for (const w of workers) {
    w.kill('SIGTERM');
    await w.exited;
  }
  await f?.dispose();
});

async function count(sql: string): Promise<number> {
  return Number((await f.pool.query(sql)).rows[0].count);
}

describe('1,000 tasks over 50 keys', () => {
  it('apply in publish order per key, in parallel across keys, each exactly once', async () => {
    const cfg = (endpoint: string) => ({ prefix: f.tag, dbUrl: f.dbUrl, service, endpoint, ackWaitMs: 1_500, loseAckRatio: 0.05, concurrency: 16 });
    const a = new WorkerProcess(cfg('a'));
    workers.push(a);
    await a.until(() => a.role === 'leader', 'leadership');
    const b = new WorkerProcess(cfg('b'));
    workers.push(b);
    await b.until(() => b.role === 'standby', 'standby role');

    // Each key's tasks are submitted one after another (that is the publish order); keys in parallel.
    const submitted = new Map<string, string[]>();
    const submitting = Promise.all(
      Array.from({ length: KEYS }, async (_, k) => {
        const key = `k${k}`;
        const ids: string[] = [];
        submitted.set(key, ids);
        for (let n = 0; n < PER_KEY; n++) {
          const r = await client.submit(service, { kind: 'record', key, payload: { n } });
          ids.push(r.taskId);
        }
      }),
    );
    // Kill the leader once a third of the effects are in.
    for (let t = 0; (await count('SELECT count(*) FROM effect')) < (KEYS * PER_KEY) / 3; t++) {
      expect(t, 'effects stalled before the kill').toBeLessThan(600);
      await new Promise((r) => setTimeout(r, 50));
    }
    a.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    await b.until(() => b.role === 'leader', 'take-over', 30_000);
    await submitting;

    for (let t = 0; (await count(`SELECT count(*) FROM rdmp.task WHERE status = 'completed'`)) < KEYS * PER_KEY; t++) {
      expect(t, 'tasks did not all complete').toBeLessThan(1200);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Let JetStream redeliver the messages whose acks were lost, and see them recognised as duplicates.
    await b.until(() => (b.stats.redelivered ?? 0) > 0 && (b.stats.duplicates ?? 0) > 0, 'redeliveries recognised as duplicates', 30_000);

    // No effect twice.
    expect(await count('SELECT count(*) FROM effect')).toBe(KEYS * PER_KEY);
    expect(await count('SELECT count(DISTINCT task_id) FROM effect')).toBe(KEYS * PER_KEY);
    // Per key, effects in publish order.
    const rows = (await f.pool.query<{ key: string; task_id: string; n: number }>('SELECT key, task_id, n FROM effect ORDER BY id')).rows;
    for (const [key, ids] of submitted) {
      const mine = rows.filter((r) => r.key === key);
      expect(mine.map((r) => r.task_id), key).toEqual(ids);
      expect(mine.map((r) => r.n), key).toEqual(Array.from({ length: PER_KEY }, (_, i) => i));
    }
    // Different keys ran concurrently: some effects of different keys overlapped in time.
    const overlaps = await count(`SELECT count(*) FROM effect e1 JOIN effect e2
      ON e1.key < e2.key AND e1.started_at < e2.finished_at AND e2.started_at < e1.finished_at`);
    expect(overlaps).toBeGreaterThan(0);
    // Both processes did part of the work, and the forced redeliveries really happened.
    const pids = (await f.pool.query<{ pid: number }>('SELECT DISTINCT pid FROM effect')).rows.map((r) => r.pid);
    expect(pids.sort()).toEqual([a.child.pid, b.child.pid].sort());
    console.log(`ordering test: overlaps=${overlaps} survivor stats=${JSON.stringify(b.stats)}`);
  });

  it('a leader stopped with SIGTERM hands its queued tasks to the standby, in order, each once', async () => {
    await f.pool.query('TRUNCATE effect');
    const cfg = (endpoint: string) => ({ prefix: f.tag, dbUrl: f.dbUrl, service: 'handover', endpoint, ackWaitMs: 30_000, concurrency: 4 });
    const a = new WorkerProcess(cfg('ha'));
    workers.push(a);
    await a.until(() => a.role === 'leader', 'leadership');
    const b = new WorkerProcess(cfg('hb'));
    workers.push(b);
    await b.until(() => b.role === 'standby', 'standby role');
    const ids: string[] = [];
    for (let n = 0; n < 60; n++) ids.push((await client.submit('handover', { kind: 'record', key: 'one', payload: { n } })).taskId);
    a.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    await b.until(() => b.role === 'leader', 'take-over', 30_000);
    for (let t = 0; (await count(`SELECT count(*) FROM effect`)) < 60; t++) {
      expect(t, 'tasks did not all complete').toBeLessThan(600);
      await new Promise((r) => setTimeout(r, 50));
    }
    const rows = (await f.pool.query<{ task_id: string; pid: number }>('SELECT task_id, pid FROM effect ORDER BY id')).rows;
    expect(rows.map((r) => r.task_id)).toEqual(ids);
    // The ack wait is long, so whatever b did came from a's hand-over, not from a timeout.
    expect(new Set(rows.map((r) => r.pid)).has(b.child.pid!)).toBe(true);
  });
});
