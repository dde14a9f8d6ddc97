// stop() must leave nothing running that uses the pool or the NATS connection afterwards: the
// caller closes both right after it (as every test's teardown and a service's stop do).
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsumerLease } from '../src/lease';
import { connectNats, RdmpWorker, type ApplyHandler } from '../src/index';
import { busFixture, type BusFixture } from './fixture';

const schema = {
  $id: 'https://sdmi.invalid/schemas/test/stop-noop.schema.json',
  type: 'object',
  additionalProperties: false,
  properties: {},
};
const noop: ApplyHandler<Record<string, never>> = { kind: 'noop', payloadSchema: schema, apply: async () => ({}) };
const silent = pino({ level: 'silent' });

let f: BusFixture | undefined;
afterEach(async () => {
  await f?.dispose();
  f = undefined;
});

async function leaseSessions(fx: BusFixture, name: string): Promise<number> {
  const r = await fx.pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [`sdmi-lease:${name}`]);
  return r.rows[0].n as number;
}

describe('stop() leaves nothing behind', () => {
  it('waits for a submit being answered, so the reply is not sent on a closed connection', async () => {
    f = await busFixture();
    let entered!: () => void;
    const inAuthorize = new Promise<void>((r) => (entered = r));
    // The worker's own connection, closed right after stop(); the request comes over the fixture's.
    const nc = await connectNats(`test-${f.tag}-worker`);
    const worker = new RdmpWorker({
      nc,
      pool: f.pool,
      dbUrl: f.dbUrl,
      service: 'stopper',
      names: f.names,
      handlers: [noop],
      // Slow enough that stop() begins while the gateway is still working on the request.
      authorize: async () => {
        entered();
        await new Promise((r) => setTimeout(r, 300));
      },
    });
    await worker.start();
    worker.serve();
    // The gateway's subscription must be at the server before the request comes over another
    // connection; otherwise, on a loaded machine, the request meets no responder and the test
    // waits for an authorize that never comes (seen once in a fresh-clone run: 120 s timeout).
    await nc.flush();
    const request = f.nc.request(f.names.submit('stopper'), JSON.stringify({ id: randomUUID(), kind: 'noop', key: 'k', payload: {} }), { timeout: 5_000 });
    // Fails at once (not after the test's timeout) if the request ends before reaching authorize.
    const first = await Promise.race([inAuthorize.then(() => 'authorize'), request.then(() => 'answered', (e: Error) => `failed: ${e.message}`)]);
    expect(first).toBe('authorize');
    await worker.stop();
    // The reply went out before stop() resolved: closing the connection now loses nothing.
    await nc.close();
    const reply = await request;
    expect(reply.json()).toMatchObject({ ok: true });
  });

  it('a lease released while an attempt is connecting leaves no session (and no lock) behind', async () => {
    f = await busFixture();
    const name = `stop-test-${f.tag}`;
    const lease = new ConsumerLease(f.dbUrl, name, silent);
    const attempt = lease.tryAcquire();
    await lease.release();
    expect(await attempt).toBe(false);
    expect(await leaseSessions(f, name)).toBe(0);
    const other = new ConsumerLease(f.dbUrl, name, silent);
    try {
      expect(await other.tryAcquire()).toBe(true);
    } finally {
      await other.release();
    }
  });

  it('a standby stopped while it polls for the lease keeps no poll or session', async () => {
    f = await busFixture();
    const name = `stop-poll-${f.tag}`;
    const holder = new ConsumerLease(f.dbUrl, name, silent);
    expect(await holder.tryAcquire()).toBe(true);
    const standby = new ConsumerLease(f.dbUrl, name, silent, 20);
    let acquired = false;
    standby.waitFor(async () => void (acquired = true));
    // Release at several points of the poll cycle; the last release must end it for good.
    await new Promise((r) => setTimeout(r, 75));
    await standby.release();
    await holder.release();
    await new Promise((r) => setTimeout(r, 200));
    expect(acquired).toBe(false);
    expect(await leaseSessions(f, name)).toBe(0);
  });
});
