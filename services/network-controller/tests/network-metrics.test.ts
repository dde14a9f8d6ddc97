// A host bridge's NetworkMetrics from port-stats and flow-stats replies: which ports are in it,
// the flows summed per in_port, the replica and network from the topology's interfaces, and the
// switch's 64-bit counters as the contract's JSON numbers.
import { contracts } from '@sdmi/contracts';
import { Port, type FlowStats, type OfpPort, type PortStats } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { counter, networkSample, replicaIdOf, type SampleInput } from '../src/network-metrics';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

const desc = (portNo: number, name: string): OfpPort => ({ portNo, name, hwAddr: '02:00:00:00:00:01', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 });

function stats(portNo: number, n: bigint): PortStats {
  return {
    portNo,
    rxPackets: n,
    txPackets: n + 1n,
    rxBytes: n * 100n,
    txBytes: n * 100n + 1n,
    rxDropped: 0n,
    txDropped: ALL_ONES, // OVS reports drops it does not count this way
    rxErrors: 0n,
    txErrors: 0n,
    rxFrameErr: 0n,
    rxOverErr: 0n,
    rxCrcErr: 0n,
    collisions: 0n,
    durationSec: 1,
    durationNsec: 0,
  };
}

function flow(match: FlowStats['match'], packets: bigint, bytes: bigint): FlowStats {
  return { tableId: 0, durationSec: 1, durationNsec: 0, priority: 100, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 0n, packetCount: packets, byteCount: bytes, match, instructions: [] };
}

const input = (over: Partial<SampleInput> = {}): SampleInput => ({
  node: 'host-a',
  bridge: 'br-sdmi',
  at: new Date('2026-12-02T10:00:00.000Z'),
  ports: new Map([
    [Port.LOCAL, desc(Port.LOCAL, 'br-sdmi')],
    [1, desc(1, 'uplink0')],
    [2, desc(2, 'sv0123456789abc')],
    [3, desc(3, 'svfedcba987654')],
  ]),
  portStats: [stats(3, 30n), stats(Port.LOCAL, 99n), stats(1, 10n), stats(2, 20n)],
  flowStats: [
    flow([{ field: 'IN_PORT', value: 2 }, { field: 'ETH_TYPE', value: 0x0800 }], 5n, 500n),
    flow([{ field: 'IN_PORT', value: 2 }, { field: 'ETH_TYPE', value: 0x0806 }], 1n, 42n),
    flow([{ field: 'IN_PORT', value: 1 }], ALL_ONES, 7n),
    flow([{ field: 'ETH_TYPE', value: 0x0800 }], 1000n, 100000n), // no in_port: nobody's
  ],
  interfaces: [
    { id: 'acme/web-1@rev2/eth0', networkId: 'acme/app', portName: 'sv0123456789abc' },
    { id: 'lb1/eth0', networkId: 'acme/lb', portName: 'svfedcba987654' },
  ],
  ...over,
});

describe('networkSample', () => {
  it('has a named port each, LOCAL left out, ordered by port number, with its flows in summed', () => {
    const s = networkSample(input());
    expect(s).toMatchObject({ version: 1, node: 'host-a', bridge: 'br-sdmi', at: '2026-12-02T10:00:00.000Z' });
    expect(s.interfaces.map((i) => [i.port, i.ofport])).toEqual([
      ['uplink0', 1],
      ['sv0123456789abc', 2],
      ['svfedcba987654', 3],
    ]);
    expect(s.interfaces[1]).toEqual({
      port: 'sv0123456789abc',
      ofport: 2,
      replicaId: 'acme/web-1@rev2',
      network: 'acme/app',
      rxPackets: 20,
      txPackets: 21,
      rxBytes: 2000,
      txBytes: 2001,
      rxDropped: 0,
      txDropped: 0,
      flows: { count: 2, packets: 6, bytes: 542 },
    });
    // A flow's unavailable packet count adds nothing; the flow still counts.
    expect(s.interfaces[0]!.flows).toEqual({ count: 1, packets: 0, bytes: 7 });
    expect(s.interfaces[2]!.flows).toEqual({ count: 0, packets: 0, bytes: 0 });
    expect(contracts().check('NetworkMetrics', s).ok).toBe(true);
  });

  it('names a replica only for interfaces the scheduler named; the network for every known interface; neither for other ports', () => {
    const [uplink, replica, other] = networkSample(input()).interfaces;
    expect(uplink).not.toHaveProperty('replicaId');
    expect(uplink).not.toHaveProperty('network');
    expect(replica).toMatchObject({ replicaId: 'acme/web-1@rev2', network: 'acme/app' });
    expect(other).not.toHaveProperty('replicaId');
    expect(other).toMatchObject({ network: 'acme/lb' });
  });

  it('leaves out ports without a description, without a name, or with a name the contract refuses', () => {
    const ports = new Map([
      [1, desc(1, '')],
      [3, desc(3, 'a-name-longer-than-15')],
    ]);
    const s = networkSample(input({ ports, portStats: [stats(1, 1n), stats(2, 2n), stats(3, 3n)] }));
    expect(s.interfaces).toEqual([]);
    expect(contracts().check('NetworkMetrics', s).ok).toBe(true);
  });

  it('a masked in_port match is no exact in_port: not summed into the port', () => {
    const s = networkSample(input({ flowStats: [flow([{ field: 'IN_PORT', value: 2, mask: 0xff }], 3n, 3n)] }));
    expect(s.interfaces.find((i) => i.ofport === 2)!.flows).toEqual({ count: 0, packets: 0, bytes: 0 });
  });
});

describe('counter', () => {
  it('is the value up to 2^53 − 1, 0 when unavailable (all ones), and wraps at 2^53 past it', () => {
    expect(counter(0n)).toBe(0);
    expect(counter(123456789n)).toBe(123456789);
    expect(counter(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(counter(ALL_ONES)).toBe(0);
    expect(counter(2n ** 53n)).toBe(0);
    expect(counter(2n ** 53n + 5n)).toBe(5);
    expect(counter(ALL_ONES - 1n)).toBe(Number.MAX_SAFE_INTEGER - 1);
    for (const v of [0n, 2n ** 53n + 5n, ALL_ONES - 1n]) expect(contracts().check('NetworkMetrics', networkSample(input({ portStats: [{ ...stats(2, 1n), rxBytes: v }] }))).ok).toBe(true);
  });
});

describe('replicaIdOf', () => {
  it('is the interface id before its last /, when that is a replica id', () => {
    expect(replicaIdOf('acme/web-1@rev2/eth0')).toBe('acme/web-1@rev2');
    expect(replicaIdOf('acme/web-12@rev3#2/net1')).toBe('acme/web-12@rev3#2');
    expect(replicaIdOf('lb1/eth0')).toBeUndefined();
    expect(replicaIdOf('eth0')).toBeUndefined();
    expect(replicaIdOf('/eth0')).toBeUndefined();
  });
});
