// Property tests over random small topologies: networks with random dependsOn DAGs (some nested in
// a parent's address space), interfaces on 1–3 hosts (some without an address). For each one, the
// fake tables built from proactiveFlows and pairFlows must deliver exactly what the policy allows,
// never let a wrong source through, and reconcile idempotently and reversibly.
//
import fc from 'fast-check';
import type { FlowStats } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { DataplaneApp, Topology, pairFlows, planReconcile, proactiveFlows, type FlowSpec, type InterfaceView, type NetworkView, type TopologySnapshot } from '../src/index';
import { FakeFabric, FakeFlowTable, FakeHosts, FakeSwitch, addMod, arpRequest, deleteStrictMod, ipv4Packet, type SimPacket } from './flow-table';

const HOSTS = ['h0', 'h1', 'h2'];
const UPLINK = 100;
const uplinkOf = (h: string) => ({ ofport: UPLINK, mac: `02:aa:00:00:00:0${HOSTS.indexOf(h)}` });
const portOf = (i: InterfaceView) => i.num;
const hex2 = (n: number) => n.toString(16).padStart(2, '0');

interface Shape {
  nets: { deps: number[]; parent: number | null }[];
  ifaces: { net: number; host: number; addressed: boolean }[];
}

/** Networks 0..n-1; network i depends only on networks before it (a DAG) and may nest in one of them. */
const shape: fc.Arbitrary<Shape> = fc.integer({ min: 1, max: 5 }).chain((n) =>
  fc.record({
    nets: fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({
          deps: i === 0 ? fc.constant<number[]>([]) : fc.uniqueArray(fc.integer({ min: 0, max: i - 1 }), { maxLength: i }),
          parent: i === 0 ? fc.constant(null) : fc.option(fc.integer({ min: 0, max: i - 1 }), { freq: 3 }),
        }),
      ),
    ),
    ifaces: fc.array(fc.record({ net: fc.integer({ min: 0, max: n - 1 }), host: fc.integer({ min: 0, max: 2 }), addressed: fc.integer({ min: 0, max: 4 }).map((k) => k > 0) }), { minLength: 1, maxLength: 10 }),
  }),
);

function build(s: Shape): TopologySnapshot {
  // A nested network takes a /28 of its parent's /24 above .128; every address is unique.
  const base = (i: number): [string, number] => {
    const p = s.nets[i]!.parent;
    return p === null ? [`10.80.${i + 1}`, 0] : [`10.80.${p + 1}`, 128 + 16 * i];
  };
  const networks: NetworkView[] = s.nets.map((n, i) => {
    const [prefix, off] = base(i);
    return {
      id: `t/n${i}`, num: i + 1, cidr: `${prefix}.${off}/${n.parent === null ? 24 : 28}`, gateway: `${prefix}.${off + 1}`, gatewayMac: `02:5d:00:00:01:${hex2(i + 1)}`,
      dependsOn: n.deps.map((d) => `t/n${d}`), parent: n.parent === null ? null : `t/n${n.parent}`,
    };
  });
  const count = new Map<number, number>();
  const interfaces: InterfaceView[] = s.ifaces.map((f, k) => {
    const nth = count.get(f.net) ?? 0;
    count.set(f.net, nth + 1);
    const [prefix, off] = base(f.net);
    return { id: `t/n${f.net}/if${k + 1}`, num: k + 1, networkId: `t/n${f.net}`, host: HOSTS[f.host]!, portName: `veth${k + 1}`, mac: `02:5e:00:00:01:${hex2(k + 1)}`, ip: f.addressed ? `${prefix}.${off + 2 + nth}` : null };
  });
  return { revision: 1, networks, interfaces, hosts: HOSTS.map((name, h) => ({ name, dpid: `00000000005d000${h}`, uplinkPort: 'uplink' })) };
}

function portsOn(topo: Topology, host: string) {
  return { byName: new Map([...topo.interfacesOn(host).map((i) => [i.portName, portOf(i)] as const), ['uplink', UPLINK] as const]) };
}

/** Every host's bridge with its proactive flows, plus (optionally) the pair of every reachable cross-host ordered pair. */
function fabricOf(topo: Topology, withPairs: boolean): FakeFabric {
  const f = new FakeFabric();
  for (const h of HOSTS) f.add(h, uplinkOf(h)).table.install(proactiveFlows(topo, h, portsOn(topo, h)));
  if (withPairs) {
    for (const [a, b] of pairs(topo)) {
      if (a.host === b.host || !topo.reachable(a.networkId, b.networkId)) continue;
      const p = pairFlows(topo, a, b, uplinkOf(a.host), uplinkOf(b.host), portOf(b), { idle: 30 });
      f.hosts.get(b.host)!.table.install([p.in]);
      f.hosts.get(a.host)!.table.install([p.out]);
    }
  }
  return f;
}

function pairs(topo: Topology): [InterfaceView, InterfaceView][] {
  const all = HOSTS.flatMap((h) => topo.interfacesOn(h)).filter((i) => i.ip !== null);
  return all.flatMap((a) => all.filter((b) => b !== a).map((b) => [a, b] as [InterfaceView, InterfaceView]));
}

function packet(topo: Topology, a: InterfaceView, b: InterfaceView): SimPacket {
  return ipv4Packet(portOf(a), a.mac, a.networkId === b.networkId ? b.mac : topo.network(a.networkId).gatewayMac, a.ip!, b.ip!);
}

/** What the receiver must see: its own MAC, the sender's MAC or its gateway's, TTL 63 when routed. */
function expectedArrival(topo: Topology, a: InterfaceView, b: InterfaceView) {
  const routed = a.networkId !== b.networkId;
  return { host: b.host, port: portOf(b), ethSrc: routed ? topo.network(b.networkId).gatewayMac : a.mac, ethDst: b.mac, src: a.ip, dst: b.ip, ttl: routed ? 63 : 64 };
}

const RUNS = { numRuns: 150 };

describe('random topologies: delivery equals the policy', () => {
  it('every ordered pair of interfaces on the same host is delivered iff topo.reachable, with the MACs and TTL the receiver expects', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const topo = new Topology(build(s));
        const f = fabricOf(topo, false);
        for (const [a, b] of pairs(topo).filter(([x, y]) => x.host === y.host)) {
          const j = f.send(a.host, packet(topo, a, b));
          const got = j.delivered.map((d) => ({ host: d.host, port: d.port, ethSrc: d.packet.ethSrc, ethDst: d.packet.ethDst, src: d.packet.ipv4?.src, dst: d.packet.ipv4?.dst, ttl: d.packet.ipv4?.ttl }));
          expect({ pair: `${a.id} → ${b.id}`, got }).toEqual({ pair: `${a.id} → ${b.id}`, got: topo.reachable(a.networkId, b.networkId) ? [expectedArrival(topo, a, b)] : [] });
          // Refused locally means asked about, never silently lost: the controller installs the deny.
          if (!topo.reachable(a.networkId, b.networkId)) expect(j.toController).toEqual([a.host]);
        }
      }),
      RUNS,
    );
  });

  it('with the pair of every allowed cross-host route installed, every ordered pair (any hosts) is delivered iff reachable, exactly once', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const topo = new Topology(build(s));
        const f = fabricOf(topo, true);
        for (const [a, b] of pairs(topo)) {
          const j = f.send(a.host, packet(topo, a, b));
          const got = j.delivered.map((d) => ({ host: d.host, port: d.port, ethSrc: d.packet.ethSrc, ethDst: d.packet.ethDst, src: d.packet.ipv4?.src, dst: d.packet.ipv4?.dst, ttl: d.packet.ipv4?.ttl }));
          expect({ pair: `${a.id} → ${b.id}`, got }).toEqual({ pair: `${a.id} → ${b.id}`, got: topo.reachable(a.networkId, b.networkId) ? [expectedArrival(topo, a, b)] : [] });
        }
      }),
      RUNS,
    );
  });

  it('the nested and the isolated: a network reaches exactly itself and its declared neighbours, never a neighbour\'s neighbour', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const snap = build(s);
        const topo = new Topology(snap);
        for (const n of snap.networks) {
          for (const m of snap.networks) {
            const declared = n.id === m.id || n.dependsOn.includes(m.id) || m.dependsOn.includes(n.id);
            expect(topo.reachable(n.id, m.id)).toBe(declared);
          }
        }
      }),
      RUNS,
    );
  });
});

describe('random topologies: DataplaneApp end to end on fake switches', () => {
  it('the first packet of every ordered pair (any hosts) is delivered iff reachable, through the controller when it must be; the second never asks the controller', async () => {
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const snap = build(s);
        const topo = new Topology(snap);
        const hosts = new FakeHosts(new DataplaneApp(snap, { pairIdleTimeout: 30 }));
        for (const h of HOSTS) {
          const sw = new FakeSwitch(snap.hosts.find((x) => x.name === h)!.dpid, [...topo.interfacesOn(h).map((i) => ({ portNo: portOf(i), name: i.portName })), { portNo: UPLINK, name: 'uplink', hwAddr: uplinkOf(h).mac }]);
          await hosts.connect(h, sw, uplinkOf(h));
        }
        for (const [a, b] of pairs(topo)) {
          for (const attempt of ['first', 'second']) {
            const j = await hosts.send(a.host, packet(topo, a, b));
            const got = j.delivered.map((d) => ({ host: d.host, port: d.port, ethSrc: d.packet.ethSrc, ethDst: d.packet.ethDst, src: d.packet.ipv4?.src, dst: d.packet.ipv4?.dst, ttl: d.packet.ipv4?.ttl }));
            const want = topo.reachable(a.networkId, b.networkId) ? [expectedArrival(topo, a, b)] : [];
            expect({ pair: `${a.id} → ${b.id}`, attempt, got }).toEqual({ pair: `${a.id} → ${b.id}`, attempt, got: want });
            if (attempt === 'second') expect({ pair: `${a.id} → ${b.id}`, toController: j.toController }).toEqual({ pair: `${a.id} → ${b.id}`, toController: [] });
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('random topologies: anti-spoofing', () => {
  const spoof = (topo: Topology) => {
    const local = HOSTS.flatMap((h) => topo.interfacesOn(h));
    const macs = [...local.map((i) => i.mac), '02:5e:00:00:ff:ff', ...HOSTS.map((h) => uplinkOf(h).mac)];
    const ips = [...local.flatMap((i) => (i.ip ? [i.ip] : [])), '10.80.1.250', '0.0.0.0'];
    return fc.record({ from: fc.constantFrom(...local), mac: fc.constantFrom(...macs), ip: fc.constantFrom(...ips), dst: fc.constantFrom(...ips), arp: fc.boolean() });
  };

  it('a packet whose source MAC or IP is not the port\'s own interface\'s never gets past table 0, not even to the controller', () => {
    fc.assert(
      fc.property(
        shape.chain((s) => {
          const topo = new Topology(build(s));
          return fc.tuple(fc.constant(topo), fc.array(spoof(topo), { minLength: 1, maxLength: 20 }));
        }),
        ([topo, attempts]) => {
          const f = fabricOf(topo, true);
          for (const x of attempts) {
            const own = x.from.ip !== null && x.mac === x.from.mac && x.ip === x.from.ip;
            const p = x.arp ? arpRequest(portOf(x.from), x.mac, x.ip, x.dst) : ipv4Packet(portOf(x.from), x.mac, '02:5d:00:00:01:01', x.ip, x.dst);
            const j = f.send(x.from.host, p);
            if (!own) {
              expect({ attempt: x, delivered: j.delivered, toController: j.toController, tables: j.trace.filter((l) => / table \d/.test(l)).length }).toEqual({ attempt: x, delivered: [], toController: [], tables: 1 });
            } else if (x.arp || x.dst !== x.from.ip) {
              // The genuine sender gets service: ARP to the controller, IPv4 delivered or asked about
              // (to itself it is not sent back: output to the input port is not done).
              expect(j.delivered.length > 0 || j.toController.length > 0).toBe(true);
            }
          }
        },
      ),
      RUNS,
    );
  });
});

describe('random topologies: reconciliation', () => {
  function reconcile(t: FakeFlowTable, desired: readonly FlowSpec[]) {
    const plan = planReconcile(desired, t.dump(), () => false);
    t.apply([...plan.remove.map(deleteStrictMod), ...plan.add.map(addMod)]);
    return plan;
  }
  const content = (t: FakeFlowTable) =>
    t
      .dump()
      .map(({ packetCount: _p, byteCount: _b, durationSec: _d, durationNsec: _n, ...rest }: FlowStats) => rest)
      .sort((a, b) => JSON.stringify(a, big).localeCompare(JSON.stringify(b, big)));
  const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v);

  it('for any A and B on any host: reconciling A twice plans nothing the second time; A → B → A gives back A\'s table', () => {
    fc.assert(
      fc.property(shape, shape, fc.constantFrom(...HOSTS), (sa, sb, host) => {
        const ta = new Topology(build(sa));
        const tb = new Topology(build(sb));
        const a = proactiveFlows(ta, host, portsOn(ta, host));
        const b = proactiveFlows(tb, host, portsOn(tb, host));
        const t = new FakeFlowTable();
        reconcile(t, a);
        const first = content(t);
        const again = reconcile(t, a);
        expect({ add: again.add.length, remove: again.remove.length, kept: again.kept }).toEqual({ add: 0, remove: 0, kept: a.length });
        reconcile(t, b);
        const fresh = new FakeFlowTable();
        fresh.install(b);
        expect(content(t)).toEqual(content(fresh));
        reconcile(t, a);
        expect(content(t)).toEqual(first);
      }),
      RUNS,
    );
  });
});
