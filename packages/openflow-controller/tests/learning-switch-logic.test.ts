import { describe, expect, it } from 'vitest';
import { LearningSwitch, SwitchConnection } from '../src/index';
import { handshake, ManualClock, Peer } from './peer';

// The learning logic against a scripted switch: what it answers to each PACKET_IN.
const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const frame = (dst: string, src: string) =>
  Buffer.concat([Buffer.from(dst.split(':').map((h) => parseInt(h, 16))), Buffer.from(src.split(':').map((h) => parseInt(h, 16))), Buffer.from([0x08, 0x00]), Buffer.alloc(50)]);

async function setup() {
  const peer = new Peer();
  const app = new LearningSwitch();
  const sw = new SwitchConnection(peer, { onReady: () => undefined, onMessage: () => undefined, onClose: () => undefined }, { clock: new ManualClock() });
  await handshake(peer);
  const packetIn = (inPort: number, data: Buffer) =>
    app.onPacketIn(sw, { type: 'PACKET_IN', xid: 0, bufferId: 0xffffffff, totalLen: data.length, reason: 0, tableId: 0, cookie: 0n, match: [{ field: 'IN_PORT', value: inPort }], data });
  return { peer, app, sw, packetIn };
}

describe('LearningSwitch logic', () => {
  it('floods an unknown destination, then installs a flow and forwards once it is known', async () => {
    const { peer, app, sw, packetIn } = await setup();
    packetIn(1, frame(B, A));
    expect(peer.last('PACKET_OUT').actions).toEqual([{ type: 'OUTPUT', port: 0xfffffffb, maxLen: 0 }]);
    packetIn(2, frame(A, B));
    const fm = peer.last('FLOW_MOD');
    expect(fm.match).toEqual([{ field: 'IN_PORT', value: 2 }, { field: 'ETH_SRC', value: B }, { field: 'ETH_DST', value: A }]);
    expect(fm.instructions).toEqual([{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 1, maxLen: 0 }] }]);
    expect(peer.last('PACKET_OUT').actions).toEqual([{ type: 'OUTPUT', port: 1, maxLen: 0 }]);
    expect(app.portOf(sw.dpid, B)).toBe(2);
  });

  it('drops traffic whose destination lives behind its own input port, with a drop flow and no flood', async () => {
    const { peer, packetIn } = await setup();
    packetIn(1, frame(B, A));
    packetIn(1, frame(A, B)); // both learned on port 1
    const outs = peer.sent.filter((m) => m.type === 'PACKET_OUT').length;
    packetIn(1, frame(B, A));
    expect(peer.sent.filter((m) => m.type === 'PACKET_OUT').length).toBe(outs);
    const fm = peer.last('FLOW_MOD');
    expect(fm.match).toEqual([{ field: 'IN_PORT', value: 1 }, { field: 'ETH_SRC', value: A }, { field: 'ETH_DST', value: B }]);
    expect(fm.instructions).toEqual([]);
  });

  it('does not learn a multicast source', async () => {
    const { app, sw, packetIn } = await setup();
    packetIn(3, frame(A, '03:00:00:00:00:01'));
    expect(app.portOf(sw.dpid, '03:00:00:00:00:01')).toBeUndefined();
  });
});
