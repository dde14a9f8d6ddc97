// Inter-host routes (DaoliNet style): host A's and host B's tables, each with its proactive flows
// and its half of a pair, joined by a fabric that knows only the hosts' uplink MACs. A packet from
// a container on A must arrive at the right port on B looking exactly as the receiver expects.
import { describe, expect, it } from 'vitest';
import { FlowKind, Tables, Topology, pairFlows, parseCookie, proactiveFlows, type InterfaceView } from '../src/index';
import { FakeFabric, ifaces, ipv4Packet, networks, portOf, portsOf, sendTo, snapshot, uplinks } from './flow-table';

const topo = new Topology(snapshot());
const IDLE = 30;
const { lb1, app1, db1, lb2, app2, db2 } = ifaces;

function fabric(): FakeFabric {
  const f = new FakeFabric();
  for (const host of ['host-a', 'host-b'] as const) {
    f.add(host, uplinks[host]).table.install(proactiveFlows(topo, host, portsOf(topo, host)));
  }
  return f;
}

/** Installs both halves of the pair src → dst the way the app does (destination half first). */
function installPair(f: FakeFabric, src: InterfaceView, dst: InterfaceView): void {
  const pair = pairFlows(topo, src, dst, f.hosts.get(src.host)!.uplink, f.hosts.get(dst.host)!.uplink, portOf(dst), { idle: IDLE });
  f.hosts.get(dst.host)!.table.install([pair.in]);
  f.hosts.get(src.host)!.table.install([pair.out]);
}

describe('pairFlows across two hosts', () => {
  it('same network: arrives at the destination port with the sender\'s own MAC as source, TTL unchanged', () => {
    const f = fabric();
    installPair(f, app1, app2);
    const j = f.send('host-a', sendTo(topo, app1, app2));
    expect(j.delivered).toEqual([{ host: 'host-b', port: portOf(app2), packet: { ethSrc: app1.mac, ethDst: app2.mac, ethType: 0x0800, ipv4: { src: app1.ip, dst: app2.ip, ttl: 64, proto: 1 } } }]);
    expect(j.toController).toEqual([]);
  });

  it('routed (lb → app): arrives from the app gateway MAC, TTL decremented once across both hosts', () => {
    const f = fabric();
    installPair(f, lb1, app2);
    const j = f.send('host-a', sendTo(topo, lb1, app2));
    expect(j.delivered).toEqual([{ host: 'host-b', port: portOf(app2), packet: { ethSrc: networks.app.gatewayMac, ethDst: app2.mac, ethType: 0x0800, ipv4: { src: lb1.ip, dst: app2.ip, ttl: 63, proto: 1 } } }]);
  });

  it('on the fabric the packet carries only host MACs and its own IP header (no encapsulation)', () => {
    const f = fabric();
    installPair(f, lb1, app2);
    const v = f.hosts.get('host-a')!.table.process(sendTo(topo, lb1, app2));
    expect(v.outputs).toEqual([{ port: uplinks['host-a'].ofport, packet: { ethSrc: uplinks['host-a'].mac, ethDst: uplinks['host-b'].mac, ethType: 0x0800, ipv4: { src: lb1.ip, dst: app2.ip, ttl: 63, proto: 1 } } }]);
  });

  it('the reply needs its own pair: without it, B asks the controller; with it, it arrives routed from the lb gateway', () => {
    const f = fabric();
    installPair(f, lb1, app2);
    const before = f.send('host-b', sendTo(topo, app2, lb1));
    expect({ delivered: before.delivered, toController: before.toController }).toEqual({ delivered: [], toController: ['host-b'] });
    installPair(f, app2, lb1);
    expect(f.send('host-b', sendTo(topo, app2, lb1)).delivered).toEqual([
      { host: 'host-a', port: portOf(lb1), packet: expect.objectContaining({ ethSrc: networks.lb.gatewayMac, ethDst: lb1.mac, ipv4: expect.objectContaining({ ttl: 63 }) }) },
    ]);
  });

  it('a pair serves only its own source and destination: another container towards the same destination still asks the controller', () => {
    const f = fabric();
    installPair(f, app1, db2);
    expect(f.send('host-a', sendTo(topo, db1, db2))).toMatchObject({ delivered: [], toController: ['host-a'] });
    expect(f.send('host-a', sendTo(topo, app1, db2)).delivered.map((d) => [d.host, d.port])).toEqual([['host-b', portOf(db2)]]);
  });

  it('a pair does not open the way for a spoofer: a wrong source on A stops at A\'s table 0', () => {
    const f = fabric();
    installPair(f, app1, app2);
    const j = f.send('host-a', ipv4Packet(portOf(lb1), lb1.mac, networks.lb.gatewayMac, app1.ip!, app2.ip!));
    expect(j).toMatchObject({ delivered: [], toController: [] });
  });

  it('on B, the in-half takes only the fabric traffic of the source host (source uplink MAC) on the uplink port', () => {
    const f = fabric();
    installPair(f, app1, app2);
    const b = f.hosts.get('host-b')!.table;
    const fromA = ipv4Packet(uplinks['host-b'].ofport, uplinks['host-a'].mac, uplinks['host-b'].mac, app1.ip!, app2.ip!);
    expect(b.process(fromA).outputs.map((o) => o.port)).toEqual([portOf(app2)]);
    // Same addresses from another host's MAC: table 2 misses and the controller decides.
    expect(b.process({ ...fromA, ethSrc: '02:aa:00:00:00:09' })).toMatchObject({ outputs: [], toController: true });
    // Same frame from a container port: it is not the fabric, table 0 drops it.
    expect(b.process({ ...fromA, inPort: portOf(lb2) }).dropped).toBe(true);
  });

  it('when B lost its in-half (restart, idle out alone), the packet reaches B\'s table 2 and goes to B\'s controller', () => {
    const f = fabric();
    const pair = pairFlows(topo, app1, app2, uplinks['host-a'], uplinks['host-b'], portOf(app2), { idle: IDLE });
    f.hosts.get('host-a')!.table.install([pair.out]);
    const j = f.send('host-a', sendTo(topo, app1, app2));
    expect({ delivered: j.delivered, toController: j.toController }).toEqual({ delivered: [], toController: ['host-b'] });
    expect(j.trace.filter((l) => l.startsWith('host-b: table')).map((l) => l.split(':')[1]!.trim())).toEqual([`table ${Tables.Classify}`, `table ${Tables.FabricIn}`]);
  });

  it('both halves idle out after the idle timeout without traffic, and the next packet asks the controller again', () => {
    const f = fabric();
    installPair(f, app1, app2);
    const a = f.hosts.get('host-a')!.table;
    const b = f.hosts.get('host-b')!.table;
    a.advance(IDLE - 1);
    b.advance(IDLE - 1);
    // Traffic keeps both halves alive.
    expect(f.send('host-a', sendTo(topo, app1, app2)).delivered).toHaveLength(1);
    expect([a.advance(IDLE - 1), b.advance(IDLE - 1)].flat()).toEqual([]);
    expect([a.advance(1), b.advance(1)].flat().map((x) => x.tableId).sort()).toEqual([Tables.Forward, Tables.FabricIn]);
    expect(f.send('host-a', sendTo(topo, app1, app2))).toMatchObject({ delivered: [], toController: ['host-a'] });
  });

  it('the pair halves carry the destination interface in their cookie and the idle timeout asked for', () => {
    const pair = pairFlows(topo, lb1, app2, uplinks['host-a'], uplinks['host-b'], portOf(app2), { idle: IDLE });
    expect([parseCookie(pair.out.cookie), parseCookie(pair.in.cookie)]).toEqual([
      { kind: FlowKind.PairOut, network: networks.app.num, iface: app2.num },
      { kind: FlowKind.PairIn, network: networks.app.num, iface: app2.num },
    ]);
    expect([pair.out.idleTimeout, pair.in.idleTimeout, pair.out.hardTimeout]).toEqual([IDLE, IDLE, 0]);
  });
});
