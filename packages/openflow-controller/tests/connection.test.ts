import { ErrorType, MultipartFlags } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { ConnectionClosed, RequestTimeout, SwitchConnection, type ConnectionEvents } from '../src/index';
import { handshake, ManualClock, Peer } from './peer';

// The fast tier: the session logic against a scripted peer and a clock moved by hand. The real
// tier (controller.test.ts) runs the same code against ovs-vswitchd.

const flush = () => new Promise((r) => setImmediate(r));

function setup() {
  const clock = new ManualClock();
  const peer = new Peer();
  const seen: string[] = [];
  const events: ConnectionEvents = {
    onReady: () => void seen.push('ready'),
    onMessage: (_c, m) => void seen.push(m.type),
    onClose: (_c, reason) => void seen.push(`closed: ${reason}`),
  };
  const conn = new SwitchConnection(peer, events, { clock, echoIntervalMs: 1_000, echoTimeoutMs: 3_000, requestTimeoutMs: 2_000, handshakeTimeoutMs: 5_000 });
  return { clock, peer, seen, conn };
}

describe('SwitchConnection', () => {
  it('says HELLO with a 1.3 version bitmap, then learns features and reassembled port descriptions', async () => {
    const { peer, seen, conn } = setup();
    expect(peer.sent[0]).toMatchObject({ type: 'HELLO', version: 4, elements: [{ type: 'VERSIONBITMAP', bitmaps: [16] }] });
    await handshake(peer);
    expect(seen).toEqual(['ready']);
    expect(conn.dpid).toBe('00000000000000a1');
    expect([...conn.ports.keys()]).toEqual([1, 2]);
    expect(peer.last('SET_CONFIG')).toMatchObject({ missSendLen: 0xffff });
  });

  it('refuses a switch without OpenFlow 1.3, telling it why', async () => {
    const { peer, seen, conn } = setup();
    peer.deliver({ type: 'HELLO', xid: 9, version: 4, elements: [{ type: 'VERSIONBITMAP', bitmaps: [0b110] }] });
    await flush();
    expect(peer.last('ERROR')).toMatchObject({ xid: 9, errorType: ErrorType.HELLO_FAILED, code: 0 });
    expect(peer.closed).toBe(true);
    expect(conn.state).toBe('closed');
    expect(seen[0]).toMatch(/^closed: switch offers no OpenFlow 1.3/);
  });

  it('answers echo requests and declares a silent peer dead', async () => {
    const { clock, peer, seen, conn } = setup();
    await handshake(peer);
    peer.deliver({ type: 'ECHO_REQUEST', xid: 77, data: Buffer.from('hi') });
    expect(peer.last('ECHO_REPLY')).toMatchObject({ xid: 77, data: Buffer.from('hi') });
    clock.advance(1_500);
    expect(peer.sent.filter((m) => m.type === 'ECHO_REQUEST').length).toBeGreaterThan(0);
    expect(conn.state).toBe('ready');
    clock.advance(2_000);
    expect(conn.state).toBe('closed');
    expect(peer.closed).toBe(true);
    expect(seen.at(-1)).toMatch(/^closed: dead peer/);
  });

  it('a request without an answer times out, and the session stays up', async () => {
    const { clock, peer, conn } = setup();
    await handshake(peer);
    const pending = conn.request({ type: 'BARRIER_REQUEST' });
    clock.advance(2_000);
    await expect(pending).rejects.toBeInstanceOf(RequestTimeout);
    expect(conn.state).toBe('ready');
  });

  it('closes a session whose byte stream can no longer be framed', async () => {
    const { peer, seen, conn } = setup();
    await handshake(peer);
    peer.raw(Buffer.from([0x04, 0x02, 0x00, 0x03, 0, 0, 0, 1])); // ECHO_REQUEST claiming 3 bytes
    expect(conn.state).toBe('closed');
    expect(seen.at(-1)).toMatch(/^closed: unframeable stream/);
  });

  it('rejects open requests when the connection drops', async () => {
    const { peer, conn } = setup();
    await handshake(peer);
    const pending = conn.request({ type: 'BARRIER_REQUEST' });
    peer.hangUp();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosed);
  });

  it('a handshake that never completes closes the connection', async () => {
    const { clock, peer, seen } = setup();
    peer.deliver({ type: 'HELLO', xid: 1, version: 4, elements: [] });
    await flush();
    clock.advance(5_000);
    expect(seen.at(-1)).toMatch(/^closed: (no handshake|handshake)/);
    expect(peer.closed).toBe(true);
  });

  it('collects the errors of a batch by index, and resolves only at the barrier reply', async () => {
    const { peer, conn } = setup();
    await handshake(peer);
    const flow = { type: 'TABLE_MOD', tableId: 0, config: 0 } as const;
    const done = conn.barrier([flow, flow, flow]);
    await flush();
    const mods = peer.sent.filter((m) => m.type === 'TABLE_MOD');
    const barrier = peer.last('BARRIER_REQUEST');
    peer.deliver(
      { type: 'ERROR', xid: mods[2]!.xid, errorType: ErrorType.TABLE_MOD_FAILED, code: 0, data: Buffer.alloc(0) },
      { type: 'BARRIER_REPLY', xid: barrier.xid },
    );
    const err = await done.catch((e: unknown) => e);
    expect((err as { errors: Array<{ index: number }> }).errors.map((e) => e.index)).toEqual([2]);
  });
});
