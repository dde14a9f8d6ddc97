// The fake flow table itself: it must refuse what a switch refuses and forward the way OpenFlow
// 1.3 says, or every test built on it proves nothing. Small hand-made flows, one rule each.
import { FlowModCommand, Port, type Instruction, type Match } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { EtherType, type FlowSpec } from '../src/index';
import { AmbiguousMatch, FakeFlowTable, FlowModRejected, addMod, arpRequest, deleteByCookieMod, deleteStrictMod, ipv4Packet } from './flow-table';

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
const out = (port: number): Instruction => ({ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port, maxLen: 0 }] });
const spec = (tableId: number, priority: number, match: Match, instructions: Instruction[], c = 1n, idleTimeout = 0, hardTimeout = 0): FlowSpec => ({ tableId, priority, cookie: c, idleTimeout, hardTimeout, match, instructions });
const ipv4 = { field: 'ETH_TYPE', value: EtherType.IPv4 } as const;
const pkt = (inPort = 1, dst = '10.0.0.2') => ipv4Packet(inPort, MAC_A, MAC_B, '10.0.0.1', dst);

function rejection(flows: FlowSpec[]): { code: string; index: number; message: string } | undefined {
  try {
    new FakeFlowTable().install(flows);
    return undefined;
  } catch (err) {
    if (!(err instanceof FlowModRejected)) throw err;
    return { code: err.code, index: err.index, message: err.message };
  }
}

describe('refuses what a switch refuses', () => {
  it.each([
    ['IPV4_DST without ETH_TYPE IPv4', [{ field: 'IPV4_DST', value: '10.0.0.2' }], 'BAD_PREREQ', 'flow mod #0: BAD_PREREQ: IPV4_DST needs ETH_TYPE 0x0800 in the match'],
    ['ARP_SPA with ETH_TYPE IPv4', [ipv4, { field: 'ARP_SPA', value: '10.0.0.1' }], 'BAD_PREREQ', 'flow mod #0: BAD_PREREQ: ARP_SPA needs ETH_TYPE 0x0806 in the match'],
    ['a field twice', [{ field: 'IN_PORT', value: 1 }, { field: 'IN_PORT', value: 2 }], 'DUP_FIELD', 'flow mod #0: DUP_FIELD: IN_PORT appears twice in the match'],
    ['a mask on ETH_TYPE', [{ field: 'ETH_TYPE', value: 0x800, mask: 0xff00 }], 'BAD_WILDCARDS', 'flow mod #0: BAD_WILDCARDS: ETH_TYPE cannot be masked'],
    ['a field the fake does not model', [{ field: 'VLAN_VID', value: 0x1005 }], 'UNSUPPORTED', 'flow mod #0: UNSUPPORTED: match field VLAN_VID is not modelled'],
  ] as [string, Match, string, string][])('%s', (_what, match, code, message) => {
    expect(rejection([spec(0, 1, match, [])])).toEqual({ code, index: 0, message });
  });

  it.each([
    ['GOTO_TABLE backwards', 1, [{ type: 'GOTO_TABLE', tableId: 1 }], 'BAD_TABLE_ID', 'flow mod #0: BAD_TABLE_ID: goto table 1 from table 1'],
    ['DEC_NW_TTL on a flow that does not match IPv4', 0, [{ type: 'APPLY_ACTIONS', actions: [{ type: 'DEC_NW_TTL' }] }], 'MATCH_INCONSISTENT', 'flow mod #0: MATCH_INCONSISTENT: DEC_NW_TTL on a flow that does not match IPv4'],
    ['two APPLY_ACTIONS', 0, [out(1), out(2)], 'DUP_INST', 'flow mod #0: DUP_INST: two APPLY_ACTIONS instructions'],
    ['WRITE_ACTIONS (not modelled)', 0, [{ type: 'WRITE_ACTIONS', actions: [] }], 'UNSUPPORTED', 'flow mod #0: UNSUPPORTED: instruction WRITE_ACTIONS is not modelled'],
    ['OUTPUT to FLOOD (not modelled)', 0, [out(Port.FLOOD)], 'UNSUPPORTED', 'flow mod #0: UNSUPPORTED: output to reserved port 0xfffffffb is not modelled'],
  ] as [string, number, Instruction[], string, string][])('%s', (_what, table, instructions, code, message) => {
    expect(rejection([spec(table, 1, [], instructions)])).toEqual({ code, index: 0, message });
  });

  it('a batch with one bad message changes nothing and names the bad one', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 1, [], [out(2)])]);
    expect(() => t.install([spec(0, 5, [], [out(3)]), spec(0, 6, [{ field: 'IPV4_DST', value: '10.0.0.2' }], [])])).toThrow('flow mod #1: BAD_PREREQ');
    expect(t.size).toBe(1);
    expect(t.process(pkt()).outputs.map((o) => o.port)).toEqual([2]);
  });

  it('MODIFY is not modelled and says so', () => {
    expect(() => new FakeFlowTable().apply([{ ...addMod(spec(0, 1, [], [])), command: FlowModCommand.MODIFY }])).toThrow('flow mod #0: UNSUPPORTED: flow mod command 1 is not modelled');
  });
});

describe('forwards the way OpenFlow 1.3 says', () => {
  it('the highest priority matching flow wins; a miss without a miss flow drops', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 10, [{ field: 'IN_PORT', value: 1 }], [out(2)]), spec(0, 20, [{ field: 'IN_PORT', value: 1 }, ipv4, { field: 'IPV4_DST', value: '10.0.0.3' }], [out(3)])]);
    expect(t.process(pkt(1, '10.0.0.2')).outputs.map((o) => o.port)).toEqual([2]);
    expect(t.process(pkt(1, '10.0.0.3')).outputs.map((o) => o.port)).toEqual([3]);
    const miss = t.process(pkt(7));
    expect({ dropped: miss.dropped, trace: miss.trace }).toEqual({ dropped: true, trace: ['table 0: miss without a miss flow: drop'] });
  });

  it('two matching flows of one priority are undefined behaviour: the fake throws', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 10, [{ field: 'IN_PORT', value: 1 }], [out(2)]), spec(0, 10, [{ field: 'ETH_SRC', value: MAC_A }], [out(3)])]);
    expect(() => t.process(pkt())).toThrow(AmbiguousMatch);
  });

  it('a flow with IPv4 fields never matches ARP (prerequisites)', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 10, [ipv4, { field: 'IPV4_SRC', value: '10.0.0.1' }], [out(2)])]);
    expect(t.process(arpRequest(1, MAC_A, '10.0.0.1', '10.0.0.2')).dropped).toBe(true);
    expect(t.process(pkt()).outputs).toHaveLength(1);
  });

  it('masks: METADATA and IPv4 prefixes compare only the masked bits', () => {
    const t = new FakeFlowTable();
    t.install([
      spec(0, 1, [], [{ type: 'WRITE_METADATA', metadata: 0xab_0007n, metadataMask: 0xffffn }, { type: 'GOTO_TABLE', tableId: 1 }]),
      spec(1, 5, [{ field: 'METADATA', value: 0x7n, mask: 0xffffn }, ipv4, { field: 'IPV4_DST', value: '10.0.0.0', mask: '255.255.255.0' }], [out(2)]),
      spec(1, 4, [{ field: 'METADATA', value: 0x7n }], [out(3)]),
    ]);
    expect(t.process(pkt(1, '10.0.0.200')).outputs.map((o) => o.port)).toEqual([2]);
    // Out of the /24: the exact METADATA match sees 0x7 (the write kept only the masked bits).
    expect(t.process(pkt(1, '10.0.1.1')).outputs.map((o) => o.port)).toEqual([3]);
  });

  it('WRITE_METADATA keeps the bits outside its mask', () => {
    const t = new FakeFlowTable();
    t.install([
      spec(0, 1, [], [{ type: 'WRITE_METADATA', metadata: 0xf0n, metadataMask: 0xf0n }, { type: 'GOTO_TABLE', tableId: 1 }]),
      spec(1, 1, [], [{ type: 'WRITE_METADATA', metadata: 0x0fn, metadataMask: 0x0fn }, { type: 'GOTO_TABLE', tableId: 2 }]),
      spec(2, 1, [{ field: 'METADATA', value: 0xffn }], [out(9)]),
    ]);
    expect(t.process(pkt()).outputs.map((o) => o.port)).toEqual([9]);
  });

  it('instructions run in the spec\'s order (apply, write-metadata, goto) whatever their order in the list; actions run in list order', () => {
    const t = new FakeFlowTable();
    t.install([
      spec(0, 1, [ipv4], [
        { type: 'GOTO_TABLE', tableId: 3 },
        { type: 'WRITE_METADATA', metadata: 5n, metadataMask: 0xffn },
        { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }, { type: 'SET_FIELD', field: { field: 'ETH_DST', value: '02:00:00:00:00:99' } }, { type: 'DEC_NW_TTL' }, { type: 'OUTPUT', port: 3, maxLen: 0 }] },
      ]),
      spec(3, 1, [{ field: 'METADATA', value: 5n }], [out(4)]),
    ]);
    const v = t.process(pkt());
    expect(v.outputs.map((o) => [o.port, o.packet.ethDst, o.packet.ipv4?.ttl])).toEqual([
      [2, MAC_B, 64],
      [3, '02:00:00:00:00:99', 63],
      [4, '02:00:00:00:00:99', 63],
    ]);
  });

  it('OUTPUT to the input port by number is not done; OUTPUT IN_PORT is; CONTROLLER is a controller verdict', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 1, [{ field: 'IN_PORT', value: 1 }], [out(1)]), spec(0, 1, [{ field: 'IN_PORT', value: 2 }], [out(Port.IN_PORT)]), spec(0, 1, [{ field: 'IN_PORT', value: 3 }], [out(Port.CONTROLLER)])]);
    expect(t.process(pkt(1)).dropped).toBe(true);
    expect(t.process(pkt(2)).outputs.map((o) => o.port)).toEqual([2]);
    expect(t.process(pkt(3))).toMatchObject({ toController: true, outputs: [], dropped: false });
  });

  it('a flow without instructions drops', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 1, [], [])]);
    expect(t.process(pkt()).dropped).toBe(true);
  });
});

describe('changes: ADD, DELETE_STRICT, DELETE by cookie, timeouts', () => {
  it('ADD of the same table, priority and match replaces it, whatever the field order and MAC case; counters carry over', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 1, [{ field: 'IN_PORT', value: 1 }, { field: 'ETH_SRC', value: MAC_A }], [out(2)])]);
    t.process(pkt());
    const r = t.install([spec(0, 1, [{ field: 'ETH_SRC', value: MAC_A.toUpperCase() }, { field: 'IN_PORT', value: 1 }], [out(3)])]);
    expect(r).toEqual({ added: 0, replaced: 1, removed: 0 });
    expect(t.size).toBe(1);
    expect(t.dump()[0]!.packetCount).toBe(1n);
    expect(t.process(pkt()).outputs.map((o) => o.port)).toEqual([3]);
  });

  it('the same match at another priority is another flow', () => {
    const t = new FakeFlowTable();
    expect(t.install([spec(0, 1, [], [out(2)]), spec(0, 2, [], [out(3)])])).toEqual({ added: 2, replaced: 0, removed: 0 });
  });

  it('DELETE_STRICT removes exactly the flow with that priority and match, and only if the cookie agrees', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 1, [{ field: 'IN_PORT', value: 1 }], [out(2)], 7n), spec(0, 2, [{ field: 'IN_PORT', value: 1 }], [out(3)], 7n)]);
    const [low, high] = t.dump().sort((a, b) => a.priority - b.priority);
    expect(t.apply([{ ...deleteStrictMod(high!), cookie: 8n }])).toEqual({ added: 0, replaced: 0, removed: 0 });
    expect(t.apply([deleteStrictMod(high!)])).toEqual({ added: 0, replaced: 0, removed: 1 });
    expect(t.dump().map((f) => f.priority)).toEqual([low!.priority]);
  });

  it('non-strict DELETE removes every flow whose cookie agrees under the mask and whose match is as specific', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 1, [{ field: 'IN_PORT', value: 1 }], [out(2)], 0xab01n), spec(1, 1, [], [out(2)], 0xab02n), spec(0, 2, [], [out(2)], 0xcd01n)]);
    expect(t.apply([deleteByCookieMod(0xab00n, 0xff00n)])).toEqual({ added: 0, replaced: 0, removed: 2 });
    expect(t.dump().map((f) => f.cookie)).toEqual([0xcd01n]);
    t.install([spec(0, 1, [{ field: 'IN_PORT', value: 1 }], [out(2)], 1n), spec(0, 1, [{ field: 'IN_PORT', value: 2 }], [out(2)], 1n)]);
    expect(t.apply([{ ...deleteByCookieMod(0n, 0n, 0), match: [{ field: 'IN_PORT', value: 2 }] }])).toEqual({ added: 0, replaced: 0, removed: 1 });
    expect(t.dump().map((f) => f.match)).toContainEqual([{ field: 'IN_PORT', value: 1 }]);
  });

  it('idle timeout counts from the last packet, hard timeout from the ADD', () => {
    const t = new FakeFlowTable();
    t.install([spec(0, 5, [{ field: 'IN_PORT', value: 1 }], [out(2)], 1n, 10), spec(0, 5, [{ field: 'IN_PORT', value: 3 }], [out(2)], 2n, 0, 20)]);
    t.advance(8);
    t.process(pkt(1));
    t.process(pkt(3));
    expect(t.advance(8).map((f) => f.cookie)).toEqual([]);
    expect(t.process(pkt(1)).outputs).toHaveLength(1);
    expect(t.advance(10).map((f) => f.cookie).sort()).toEqual([1n, 2n]);
    expect(t.size).toBe(0);
  });
});
