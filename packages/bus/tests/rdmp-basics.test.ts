import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadMessage, Forbidden, RdmpClient, RdmpWorker, RevisionConflict, TaskError, TaskFailed, UnknownKind, type ApplyHandler } from '../src/index';
import { busFixture, type BusFixture } from './fixture';

const counterSchema = {
  $id: 'https://sdmi.invalid/schemas/test/counter-add.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['by'],
  properties: { by: { type: 'integer', minimum: 1, maximum: 100 } },
};

let f: BusFixture;
let worker: RdmpWorker;
let client: RdmpClient;
const service = 'counter';

beforeAll(async () => {
  f = await busFixture();
  await f.pool.query('CREATE TABLE counter (key text PRIMARY KEY, value int NOT NULL)');
  const add: ApplyHandler<{ by: number }> = {
    kind: 'add',
    payloadSchema: counterSchema,
    async apply({ task, db }) {
      if (task.key === 'explode') throw new TaskError('COUNTER_BROKEN', 'the counter "explode" refuses to count', { key: task.key });
      const r = await db.query<{ value: number }>(
        `INSERT INTO counter VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = counter.value + $2 RETURNING value`,
        [task.key, task.payload.by],
      );
      return { value: r.rows[0]!.value };
    },
  };
  worker = new RdmpWorker({
    nc: f.nc,
    pool: f.pool,
    dbUrl: f.dbUrl,
    service,
    names: f.names,
    handlers: [add],
    authorize: (task) => (task.principal.id === 'mallory' ? { code: 'FORBIDDEN', message: `principal "mallory" may not run "${task.kind}" on "${task.key}"` } : undefined),
  });
  await worker.start();
  worker.serve();
  client = new RdmpClient(f.nc, { names: f.names });
});

afterAll(async () => {
  await worker?.stop();
  await f?.dispose();
});

async function counter(key: string): Promise<number | undefined> {
  const r = await f.pool.query<{ value: number }>('SELECT value FROM counter WHERE key = $1', [key]);
  return r.rows[0]?.value;
}
/** Sequence of the last message ever put in the task streams: unchanged means nothing was persisted. */
async function lastSeqs(): Promise<number[]> {
  const jsm = await jetstreamManager(f.nc);
  return Promise.all([f.names.tasksStream, f.names.broadcastStream].map(async (s) => (await jsm.streams.info(s)).state.last_seq));
}
async function taskRows(): Promise<number> {
  return Number((await f.pool.query('SELECT count(*) FROM rdmp.task')).rows[0].count);
}

describe('RDMP on real NATS and PostgreSQL', () => {
  it('runs a task to completion and reports its revision and result', async () => {
    const out = await client.run(service, { kind: 'add', key: 'a', payload: { by: 2 } });
    expect(out).toMatchObject({ status: 'completed', revision: 1, result: { value: 2 } });
    const out2 = await client.run(service, { kind: 'add', key: 'a', payload: { by: 3 } });
    expect(out2).toMatchObject({ status: 'completed', revision: 2, result: { value: 5 } });
    const st = await client.status(service, out2.taskId);
    expect(st.records).toEqual([expect.objectContaining({ status: 'completed', revision: 2, endpoint: '' })]);
  });

  it('a resubmitted task id is applied once', async () => {
    const id = randomUUID();
    const r1 = await client.submit(service, { id, kind: 'add', key: 'dup', payload: { by: 1 } });
    const r2 = await client.submit(service, { id, kind: 'add', key: 'dup', payload: { by: 1 } });
    expect(r2).toMatchObject({ taskId: id, seq: r1.seq, duplicate: true });
    await client.wait(service, id);
    // Resending a finished task neither runs it nor announces it as pending again.
    const seen: string[] = [];
    const sub = f.nc.subscribe(f.names.taskEvents(service, id), { callback: (_e, m) => void seen.push(m.json<{ status: string }>().status) });
    const r3 = await client.submit(service, { id, kind: 'add', key: 'dup', payload: { by: 1 } });
    expect(r3.duplicate).toBe(true);
    await f.nc.flush(); // the gateway would have published before it replied, on this connection
    sub.unsubscribe();
    expect(seen).toEqual([]);
    const again = await client.run(service, { kind: 'add', key: 'dup', payload: { by: 10 } });
    expect(again.result).toEqual({ value: 11 });
  });

  it('a stale expected revision is rejected and changes nothing', async () => {
    await client.run(service, { kind: 'add', key: 'rev', payload: { by: 1 } });
    const err = await client.run(service, { kind: 'add', key: 'rev', payload: { by: 1 }, expectedRevision: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RevisionConflict);
    expect((err as RevisionConflict).message).toBe('task expected revision 0 of "rev" but it is at revision 1; read it again and resubmit');
    expect(await counter('rev')).toBe(1);
    const ok = await client.run(service, { kind: 'add', key: 'rev', payload: { by: 1 }, expectedRevision: 1 });
    expect(ok.revision).toBe(2);
  });

  it('a handler error fails the task with its code, and rolls back its writes', async () => {
    const err = await client.run(service, { kind: 'add', key: 'explode', payload: { by: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailed);
    expect((err as TaskFailed).info).toMatchObject({ code: 'COUNTER_BROKEN', details: { key: 'explode' } });
    expect(await counter('explode')).toBeUndefined();
  });

  describe('bad input is refused with a specific error and changes nothing', () => {
    const cases: Array<[string, () => Promise<unknown>, new (...a: never[]) => Error, Record<string, unknown>]> = [
      ['not JSON', () => client.submitRaw(service, '{"kind": add'), BadMessage, { code: 'NOT_JSON', path: '/', rule: 'json' }],
      ['oversized', () => client.submitRaw(service, JSON.stringify({ id: randomUUID(), kind: 'add', key: 'big', payload: { by: 1, pad: 'x'.repeat(300_000) } })), BadMessage, { code: 'PAYLOAD_TOO_LARGE', rule: 'maxBytes' }],
      ['envelope off its schema', () => client.submitRaw(service, JSON.stringify({ id: randomUUID(), kind: 'add', key: 'has space', payload: {} })), BadMessage, { code: 'SCHEMA_VIOLATION', path: '/key', rule: 'pattern' }],
      ['missing field', () => client.submitRaw(service, JSON.stringify({ id: randomUUID(), kind: 'add', payload: {} })), BadMessage, { code: 'SCHEMA_VIOLATION', path: '/key', rule: 'required' }],
      ['unknown kind', () => client.submit(service, { kind: 'multiply', key: 'a', payload: { by: 2 } }), UnknownKind, { code: 'UNKNOWN_KIND', path: '/kind', rule: 'knownKind' }],
      ['payload off its schema', () => client.submit(service, { kind: 'add', key: 'a', payload: { by: 0 } }), BadMessage, { code: 'SCHEMA_VIOLATION', path: '/payload/by', rule: 'minimum', message: '/payload/by must be >= 1' }],
      ['payload with an unknown field', () => client.submit(service, { kind: 'add', key: 'a', payload: { by: 1, times: 2 } }), BadMessage, { code: 'SCHEMA_VIOLATION', path: '/payload/times', rule: 'additionalProperties' }],
      ['broadcast of a queued-only kind', () => client.submit(service, { kind: 'add', key: 'a', payload: { by: 1 }, mode: 'broadcast' }), BadMessage, { code: 'SCHEMA_VIOLATION', path: '/mode', rule: 'allowedMode' }],
      ['not authorized', () => client.submit(service, { kind: 'add', key: 'a', payload: { by: 1 }, principal: { id: 'mallory' } }), Forbidden, { code: 'FORBIDDEN' }],
    ];
    it.each(cases)('%s', async (_name, send, cls, info) => {
      const before = { rows: await taskRows(), a: await counter('a'), seqs: await lastSeqs() };
      const err = await send().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect((err as BadMessage).info).toMatchObject(info);
      expect((err as Error).message.length).toBeGreaterThan(10);
      expect({ rows: await taskRows(), a: await counter('a'), seqs: await lastSeqs() }).toEqual(before);
    });

    it('garbage put straight into the task stream is reported and dropped, recording nothing', async () => {
      const sub = f.nc.subscribe(f.names.rejected(service), { max: 1 });
      const before = await taskRows();
      const js = jetstream(f.nc);
      await js.publish(f.names.queued(service), '{"not": "a task"}');
      for await (const m of sub) {
        expect(m.json()).toMatchObject({ error: { code: 'SCHEMA_VIOLATION', path: '/id', rule: 'required' } });
      }
      expect(await taskRows()).toBe(before);
    });

    it('a well-formed task of an unknown kind put straight into the stream is recorded failed', async () => {
      const id = randomUUID();
      const js = jetstream(f.nc);
      const task = { id, service, kind: 'divide', key: 'a', payload: {}, principal: { id: 'bypasser' }, mode: 'queued', submittedAt: new Date().toISOString() };
      await js.publish(f.names.queued(service), JSON.stringify(task), { msgID: id });
      const [outcome] = await client.wait(service, id, { timeoutMs: 10_000 });
      expect(outcome).toMatchObject({ status: 'failed', error: { code: 'UNKNOWN_KIND', path: '/kind' } });
    });

    it('the client refuses a malformed command before sending it', async () => {
      const err = await client.submit(service, { kind: 'add', key: 'a b', payload: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadMessage);
      expect((err as BadMessage).info).toMatchObject({ path: '/key', rule: 'pattern' });
    });
  });
});
