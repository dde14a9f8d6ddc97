// Connection failure modes against an ovsdb-server of our own on TCP (127.0.0.1, a free port, a
// throwaway database), so that we can kill or freeze it.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ConnectFailed,
  ConnectionClosed,
  ConnectionLost,
  Op,
  type OvsdbClient,
  PeerUnresponsive,
  connectOvsdb,
  connectTcp,
} from '@sdmi/ovsdb';
import { describeInventory, inventory, run, runId, testName } from '@sdmi/testbed';
import { within } from './fixture';

interface Server {
  proc: ChildProcess;
  port: number;
  dir: string;
  exited: Promise<void>;
}

const servers: Server[] = [];
const clients: OvsdbClient[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function startServer(): Promise<Server> {
  const dir = join('/tmp', testName('o'));
  mkdirSync(dir, { recursive: true });
  const db = join(dir, 'conf.db');
  await run('ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
  const port = await freePort();
  const proc = spawn(
    'ovsdb-server',
    [db, `--remote=ptcp:${port}:127.0.0.1`, `--unixctl=${join(dir, 'ctl')}`, `--log-file=${join(dir, 'log')}`, '--no-chdir'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const server: Server = { proc, port, dir, exited };
  servers.push(server);
  for (let i = 0; ; i++) {
    try {
      const t = await connectTcp('127.0.0.1', port, { connectTimeoutMs: 1000 });
      await t.close();
      return server;
    } catch (e) {
      if (i > 100 || proc.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function stopServer(s: Server): Promise<void> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) {
    s.proc.kill('SIGCONT');
    s.proc.kill('SIGKILL');
    await s.exited;
  }
  rmSync(s.dir, { recursive: true, force: true });
}

async function connect(server: Server, options: Parameters<typeof connectOvsdb>[1] = {}): Promise<OvsdbClient> {
  const c = await connectOvsdb(`tcp:127.0.0.1:${server.port}`, options);
  clients.push(c);
  return c;
}

/** A transact that blocks in the server until its wait times out (a bridge that never appears). */
function blockedTransact(c: OvsdbClient): Promise<unknown> {
  return c.transact('Open_vSwitch', [Op.wait('Bridge', [['name', '==', 'never']], ['name'], '!=', [], 60_000)], {
    timeoutMs: 0,
  });
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await stopServer(s);
});
afterAll(async () => {
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('connection failures', () => {
  it('works over TCP against a fresh database', async () => {
    const server = await startServer();
    const c = await connect(server);
    expect(await c.listDbs()).toContain('Open_vSwitch');
    const [sel] = await c.transact('Open_vSwitch', [Op.select('Bridge', [])]);
    expect(sel?.rows).toEqual([]);
  });

  it('a killed server rejects the request in flight with ConnectionLost naming the method', async () => {
    const server = await startServer();
    const c = await connect(server, { echoIntervalMs: 0 });
    const inFlight = blockedTransact(c).catch((e: unknown) => e);
    await c.echo(); // the transact has reached the server and is blocked there
    expect(c.rpc.inFlight).toBe(1);
    server.proc.kill('SIGKILL');
    const e = await within(inFlight, 10_000, 'the in-flight request to fail');
    expect(e).toBeInstanceOf(ConnectionLost);
    expect(e).toMatchObject({ method: 'transact' });
    expect((e as Error).message).toMatch(new RegExp(`tcp:127.0.0.1:${server.port} lost while "transact" was in flight`));
    expect(c.isOpen).toBe(false);
    await expect(c.listDbs()).rejects.toBeInstanceOf(ConnectionLost);
  });

  it('a frozen server is detected by our echo probes: requests in flight fail with PeerUnresponsive as cause', async () => {
    const server = await startServer();
    const c = await connect(server, { echoIntervalMs: 500 });
    const inFlight = blockedTransact(c).catch((e: unknown) => e);
    await c.echo();
    server.proc.kill('SIGSTOP');
    const e = await within(inFlight, 10_000, 'the dead peer to be detected');
    expect(e).toBeInstanceOf(ConnectionLost);
    expect((e as ConnectionLost).cause).toBeInstanceOf(PeerUnresponsive);
  });

  it('close() rejects requests in flight with ConnectionClosed, and later calls too', async () => {
    const server = await startServer();
    const c = await connect(server);
    const inFlight = blockedTransact(c).catch((e: unknown) => e);
    await c.echo();
    await c.close();
    expect(await inFlight).toBeInstanceOf(ConnectionClosed);
    await expect(c.listDbs()).rejects.toBeInstanceOf(ConnectionClosed);
    await c.close(); // idempotent
  });

  it('a monitor iteration ends with ConnectionLost when the server dies', async () => {
    const server = await startServer();
    const c = await connect(server, { echoIntervalMs: 0 });
    const monitor = await c.monitor('Open_vSwitch', { Open_vSwitch: { columns: ['next_cfg'] } });
    expect(Object.keys(monitor.initial.Open_vSwitch ?? {})).toHaveLength(0);
    const it = monitor[Symbol.asyncIterator]();
    const next = it.next().catch((e: unknown) => e);
    server.proc.kill('SIGKILL');
    expect(await within(next, 10_000, 'the monitor to fail')).toBeInstanceOf(ConnectionLost);
  });

  it('answers the server’s echo probes, so an idle TCP connection survives', async () => {
    const server = await startServer();
    // Our own probes off: only the server's inactivity probe (5 s on TCP) keeps the session alive.
    const c = await connect(server, { echoIntervalMs: 0 });
    await new Promise((r) => setTimeout(r, 12_000));
    expect(c.rpc.echoesAnswered).toBeGreaterThan(0);
    expect(c.isOpen).toBe(true);
    expect(await c.listDbs()).toContain('Open_vSwitch');
  }, 30_000);

  it('refused connections and bad targets fail with ConnectFailed', async () => {
    const port = await freePort();
    await expect(connectOvsdb(`tcp:127.0.0.1:${port}`)).rejects.toBeInstanceOf(ConnectFailed);
    await expect(connectOvsdb(`unix:/tmp/${testName('n')}.sock`)).rejects.toBeInstanceOf(ConnectFailed);
    await expect(connectOvsdb('ssl:1.2.3.4:6640')).rejects.toThrow(/must be unix:<path> or tcp:<host>:<port>/);
  });
});
