// JsonRpcConnection over an in-memory Transport: protocol mechanics that a real server does not let
// us provoke at will (split/coalesced replies, late replies, unknown requests). The capability
// tests against ovsdb-server are in client/switch/connection.test.ts.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConnectionLost,
  JsonRpcConnection,
  ProtocolError,
  RequestTimeout,
  RpcError,
  type Transport,
  type TransportHandlers,
} from '@sdmi/ovsdb';

class MemoryTransport implements Transport {
  readonly target = 'memory:test';
  readonly sent: unknown[] = [];
  handlers: TransportHandlers | undefined;
  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }
  write(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  async close(): Promise<void> {
    this.handlers?.closed();
  }
  destroy(error?: Error): void {
    this.handlers?.closed(error);
  }
  /** Delivers text from the "server". */
  deliver(text: string): void {
    this.handlers?.data(new TextEncoder().encode(text));
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('JsonRpcConnection', () => {
  it('correlates coalesced and split replies with their requests by id', async () => {
    const t = new MemoryTransport();
    const rpc = new JsonRpcConnection(t, { echoIntervalMs: 0 });
    const a = rpc.request('list_dbs', []);
    const b = rpc.request('get_schema', ['X']);
    expect(t.sent).toEqual([
      { method: 'list_dbs', params: [], id: 1 },
      { method: 'get_schema', params: ['X'], id: 2 },
    ]);
    const text = '{"id":2,"result":{"name":"X"},"error":null}{"id":1,"result":["A"],"error":null}';
    t.deliver(text.slice(0, 7));
    t.deliver(text.slice(7, 50));
    t.deliver(text.slice(50));
    expect(await a).toEqual(['A']);
    expect(await b).toEqual({ name: 'X' });
    expect(rpc.inFlight).toBe(0);
    await rpc.close();
  });

  it('answers the server’s echo request with its params and refuses unknown requests', async () => {
    const t = new MemoryTransport();
    const rpc = new JsonRpcConnection(t, { echoIntervalMs: 0 });
    t.deliver('{"method":"echo","params":["x",1],"id":"echo"}{"method":"frobnicate","params":[],"id":7}');
    expect(t.sent).toEqual([
      { result: ['x', 1], error: null, id: 'echo' },
      { result: null, error: 'unknown method', id: 7 },
    ]);
    expect(rpc.echoesAnswered).toBe(1);
    await rpc.close();
  });

  it('times out, and ignores the late reply', async () => {
    const t = new MemoryTransport();
    const rpc = new JsonRpcConnection(t, { echoIntervalMs: 0 });
    await expect(rpc.request('transact', ['db'], { timeoutMs: 20 })).rejects.toBeInstanceOf(RequestTimeout);
    t.deliver('{"id":1,"result":[],"error":null}');
    expect(rpc.isOpen).toBe(true);
    await rpc.close();
  });

  it('abort sends cancel; the server reply "canceled" rejects the request as confirmed', async () => {
    const t = new MemoryTransport();
    const rpc = new JsonRpcConnection(t, { echoIntervalMs: 0 });
    const ac = new AbortController();
    const p = rpc.request('transact', ['db'], { signal: ac.signal }).catch((e: unknown) => e);
    ac.abort();
    expect(t.sent.slice(-2)).toEqual([
      { method: 'cancel', params: [1], id: null },
      { method: 'echo', params: ['sdmi-cancel-barrier'], id: 2 },
    ]);
    t.deliver('{"id":1,"result":null,"error":"canceled"}{"id":2,"result":["sdmi-cancel-barrier"],"error":null}');
    expect(await p).toMatchObject({ name: 'RequestCanceled', confirmed: true });
    // A server that drops the request silently (ovsdb-server 3.1): the echo barrier settles it.
    const ac2 = new AbortController();
    const q = rpc.request('transact', ['db'], { signal: ac2.signal }).catch((e: unknown) => e);
    ac2.abort();
    expect(t.sent.at(-1)).toEqual({ method: 'echo', params: ['sdmi-cancel-barrier'], id: 4 });
    expect(rpc.inFlight).toBe(2); // the transact and its barrier
    t.deliver('{"id":4,"result":["sdmi-cancel-barrier"],"error":null}');
    expect(await q).toMatchObject({ name: 'RequestCanceled', confirmed: false });
    expect(rpc.inFlight).toBe(0);
    const already = await rpc.request('transact', [], { signal: ac.signal }).catch((e: unknown) => e);
    expect(already).toMatchObject({ name: 'RequestCanceled', confirmed: false });
    await rpc.close();
  });

  it('turns error replies into RpcError with details', async () => {
    const t = new MemoryTransport();
    const rpc = new JsonRpcConnection(t, { echoIntervalMs: 0 });
    const p = rpc.request('get_schema', ['nope']).catch((e: unknown) => e);
    t.deliver('{"id":1,"result":null,"error":{"error":"unknown database","details":"get_schema asked for nope"}}');
    const e = await p;
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ method: 'get_schema', details: 'get_schema asked for nope' });
    expect((e as Error).message).toBe('OVSDB "get_schema" failed: unknown database (get_schema asked for nope)');
    const q = rpc.request('x', []).catch((x: unknown) => x);
    t.deliver('{"id":2}');
    expect(((await q) as RpcError).error).toBeInstanceOf(ProtocolError);
    await rpc.close();
  });

  it('drops the connection on a non-JSON stream and fails what is in flight with ConnectionLost', async () => {
    const t = new MemoryTransport();
    const rpc = new JsonRpcConnection(t, { echoIntervalMs: 0 });
    const p = rpc.request('list_dbs', []).catch((e: unknown) => e);
    t.deliver('HTTP/1.1 400 Bad Request\r\n');
    await tick();
    const e = await p;
    expect(e).toBeInstanceOf(ConnectionLost);
    expect((e as Error).message).toMatch(/unexpected "H" between JSON values/);
    expect(rpc.isOpen).toBe(false);
  });

  it('only unix.ts and tcp.ts import node:net (the protocol core is transport-agnostic)', () => {
    const src = join(import.meta.dirname, '..', 'src');
    const importers = readdirSync(src).filter((f) => /from ['"](node:)?net['"]/.test(readFileSync(join(src, f), 'utf8')));
    expect(importers.sort()).toEqual(['tcp.ts', 'unix.ts']);
  });
});
