// DataplaneApp itself, on fake switches backed by the fake flow table: what a user of the data plane
// would check — ARP answered with the right MAC or not at all, the first packet between hosts
// arrives and sets up the route, a refused destination is remembered, a lost half is repaired, a
// restarted controller keeps what is right, a topology change takes effect. The same scenarios run
// on real Open vSwitch in dataplane.test.ts; these run in milliseconds and name the flow that failed.
import { describe, expect, it } from 'vitest';
import { DataplaneApp, FlowKind, Topology, parseCookie, type TopologySnapshot } from '../src/index';
import { FakeHosts, FakeSwitch, arpRequest, deleteStrictMod, hostViews, ifaces, networks, portOf, sendTo, snapshot, uplinks } from './flow-table';

const { lb1, lb3, app1, db1, ops1, lb2, app2, db2 } = ifaces;
const IDLE = 30;

function switchOf(snap: TopologySnapshot, host: 'host-a' | 'host-b'): FakeSwitch {
  const topo = new Topology(snap);
  return new FakeSwitch(hostViews.find((h) => h.name === host)!.dpid, [
    ...topo.interfacesOn(host).map((i) => ({ portNo: portOf(i), name: i.portName })),
    { portNo: uplinks[host].ofport, name: 'uplink', hwAddr: uplinks[host].mac },
  ]);
}

async function twoHosts(snap = snapshot()): Promise<{ app: DataplaneApp; hosts: FakeHosts; a: FakeSwitch; b: FakeSwitch }> {
  const app = new DataplaneApp(snap, { pairIdleTimeout: IDLE });
  const hosts = new FakeHosts(app);
  const a = switchOf(snap, 'host-a');
  const b = switchOf(snap, 'host-b');
  await hosts.connect('host-a', a, uplinks['host-a']);
  await hosts.connect('host-b', b, uplinks['host-b']);
  return { app, hosts, a, b };
}

const topo = new Topology(snapshot());
const kinds = (sw: FakeSwitch) => sw.table.dump().map((f) => parseCookie(f.cookie)?.kind);

describe('DataplaneApp on fake switches', () => {
  it('a bridge that connects gets exactly the desired flows, in one bundle; reconciling again sends nothing', async () => {
    const { app, a } = await twoHosts();
    expect(a.batches).toHaveLength(1);
    expect((await app.audit('host-a'))).toEqual({ missing: [], unexpected: [] });
    expect(await app.reconcile('host-a')).toEqual({ host: 'host-a', added: 0, removed: 0, kept: app.desiredFlows('host-a').length });
    expect(a.batches).toHaveLength(1);
  });

  describe('ARP is answered by the controller', () => {
    const ask = async (from: typeof lb1, tpa: string) => {
      const { hosts } = await twoHosts();
      const j = await hosts.send(from.host, arpRequest(portOf(from), from.mac, from.ip!, tpa));
      return j.replies.map((r) => ({ port: r.port, ethDst: r.packet.ethDst, op: r.packet.arp?.op, isAt: r.packet.arp?.sha, ip: r.packet.arp?.spa, to: r.packet.arp?.tpa }));
    };

    it('the gateway: its gateway MAC, sent back to the asking port only', async () => {
      expect(await ask(lb1, networks.lb.gateway)).toEqual([{ port: portOf(lb1), ethDst: lb1.mac, op: 2, isAt: networks.lb.gatewayMac, ip: networks.lb.gateway, to: lb1.ip }]);
    });

    it('an interface of the same network, on this host or another: its own MAC', async () => {
      expect((await ask(lb1, lb3.ip!)).map((r) => r.isAt)).toEqual([lb3.mac]);
      expect((await ask(lb1, lb2.ip!)).map((r) => r.isAt)).toEqual([lb2.mac]);
    });

    it('a nested network\'s address inside the asker\'s range, when reachable: the asker\'s gateway MAC, so it is routed', async () => {
      expect((await ask(app1, ops1.ip!)).map((r) => r.isAt)).toEqual([networks.app.gatewayMac]);
    });

    it('an address the asker may not reach, or nobody holds: no answer at all', async () => {
      expect(await ask(lb1, db1.ip!)).toEqual([]);
      expect(await ask(lb1, '10.61.1.99')).toEqual([]);
    });
  });

  it('the first packet between hosts reaches the controller once, which sets up both halves and re-injects it: it arrives routed, TTL one less', async () => {
    const { hosts, a, b } = await twoHosts();
    const first = await hosts.send('host-a', sendTo(topo, lb1, app2));
    expect(first.toController).toEqual(['host-a']);
    expect(first.delivered).toEqual([{ host: 'host-b', port: portOf(app2), packet: expect.objectContaining({ ethSrc: networks.app.gatewayMac, ethDst: app2.mac, ipv4: expect.objectContaining({ src: lb1.ip, dst: app2.ip, ttl: 63 }) }) }]);
    expect(kinds(a)).toContain(FlowKind.PairOut);
    expect(kinds(b)).toContain(FlowKind.PairIn);
    const second = await hosts.send('host-a', sendTo(topo, lb1, app2));
    expect({ toController: second.toController, delivered: second.delivered.map((d) => [d.host, d.port]) }).toEqual({ toController: [], delivered: [['host-b', portOf(app2)]] });
    // The reply direction is a pair of its own, set up the same way from host-b.
    const reply = await hosts.send('host-b', sendTo(topo, app2, lb1));
    expect({ toController: reply.toController, delivered: reply.delivered.map((d) => [d.host, d.port, d.packet.ethSrc]) }).toEqual({ toController: ['host-b'], delivered: [['host-a', portOf(lb1), networks.lb.gatewayMac]] });
  });

  it('a refused destination on another host is never delivered, and after the first packet it no longer reaches the controller', async () => {
    const { hosts, app, a } = await twoHosts();
    const first = await hosts.send('host-a', sendTo(topo, lb1, db2));
    expect({ delivered: first.delivered, toController: first.toController }).toEqual({ delivered: [], toController: ['host-a'] });
    expect(app.stats.denied).toBe(1);
    expect(kinds(a)).toContain(FlowKind.Deny);
    const again = await hosts.send('host-a', sendTo(topo, lb3, db2));
    expect({ delivered: again.delivered, toController: again.toController }).toEqual({ delivered: [], toController: [] });
    // The deny is per source network: app still reaches db2.
    expect((await hosts.send('host-a', sendTo(topo, app1, db2))).delivered.map((d) => [d.host, d.port])).toEqual([['host-b', portOf(db2)]]);
  });

  it('when the destination half is lost, the packet reaches the destination host\'s controller, which puts it back and delivers', async () => {
    const { hosts, b } = await twoHosts();
    await hosts.send('host-a', sendTo(topo, app1, app2));
    const pairIn = b.table.dump().filter((f) => parseCookie(f.cookie)?.kind === FlowKind.PairIn);
    expect(pairIn).toHaveLength(1);
    b.table.apply(pairIn.map(deleteStrictMod));
    const j = await hosts.send('host-a', sendTo(topo, app1, app2));
    expect({ toController: j.toController, delivered: j.delivered.map((d) => [d.host, d.port, d.packet.ethSrc]) }).toEqual({ toController: ['host-b'], delivered: [['host-b', portOf(app2), app1.mac]] });
    expect(b.table.dump().filter((f) => parseCookie(f.cookie)?.kind === FlowKind.PairIn)).toHaveLength(1);
  });

  it('a new controller (after a crash) keeps the established pairs and every right flow, touching nothing', async () => {
    const { a, b, hosts } = await twoHosts();
    await hosts.send('host-a', sendTo(topo, lb1, app2));
    await hosts.send('host-a', sendTo(topo, lb1, db2));
    const idsA = a.table.installIds();
    const idsB = b.table.installIds();
    const fresh = new DataplaneApp(snapshot(), { pairIdleTimeout: IDLE });
    hosts.app = fresh;
    // The new controller learns host-a's uplink first; host-a's pair towards host-b is kept even so.
    await hosts.connect('host-a', a, uplinks['host-a']);
    await hosts.connect('host-b', b, uplinks['host-b']);
    expect([await fresh.audit('host-a'), await fresh.audit('host-b')]).toEqual([{ missing: [], unexpected: [] }, { missing: [], unexpected: [] }]);
    expect(a.table.installIds()).toEqual(idsA);
    expect(b.table.installIds()).toEqual(idsB);
    const j = await hosts.send('host-a', sendTo(topo, lb1, app2));
    expect({ toController: j.toController, delivered: j.delivered.map((d) => d.port) }).toEqual({ toController: [], delivered: [portOf(app2)] });
  });

  it('a topology update takes effect on every bridge: a removed dependency cuts local and inter-host traffic, and removes the pairs it allowed', async () => {
    const { app, hosts, a, b } = await twoHosts();
    await hosts.send('host-a', sendTo(topo, lb1, app2));
    const cut = snapshot({ revision: 2, networks: Object.values(networks).map((n) => (n.id === networks.lb.id ? { ...n, dependsOn: [] } : n)) });
    const results = await app.update(cut);
    expect(results.every((r) => r.removed > 0)).toBe(true);
    expect(kinds(a)).not.toContain(FlowKind.PairOut);
    expect(kinds(b)).not.toContain(FlowKind.PairIn);
    const after = new Topology(cut);
    expect((await hosts.send('host-a', sendTo(after, lb1, app1))).delivered).toEqual([]);
    expect((await hosts.send('host-a', sendTo(after, lb1, app2))).delivered).toEqual([]);
    // What the change did not touch still works.
    expect((await hosts.send('host-a', sendTo(after, app1, db2))).delivered.map((d) => [d.host, d.port])).toEqual([['host-b', portOf(db2)]]);
  });

  it('a container that moves to the sender\'s host: the stale pair goes and local delivery takes over', async () => {
    const { app, hosts, a, b } = await twoHosts();
    await hosts.send('host-a', sendTo(topo, lb1, app2));
    expect(kinds(a)).toContain(FlowKind.PairOut);
    const moved = snapshot({ revision: 2, interfaces: Object.values(ifaces).map((i) => (i === app2 ? { ...i, host: 'host-a' } : i)) });
    b.ports.delete(portOf(app2));
    a.addPort({ portNo: portOf(app2), name: app2.portName });
    await app.update(moved);
    expect(kinds(a)).not.toContain(FlowKind.PairOut);
    expect(kinds(b)).not.toContain(FlowKind.PairIn);
    const j = await hosts.send('host-a', sendTo(new Topology(moved), lb1, { ...app2, host: 'host-a' }));
    expect({ toController: j.toController, delivered: j.delivered.map((d) => [d.host, d.port, d.packet.ethSrc, d.packet.ipv4?.ttl]) }).toEqual({ toController: [], delivered: [['host-a', portOf(app2), networks.app.gatewayMac, 63]] });
  });

  it('an update that makes a denied destination reachable removes the deny: the next packet is delivered', async () => {
    const { app, hosts, a } = await twoHosts();
    await hosts.send('host-a', sendTo(topo, lb1, db2));
    expect(kinds(a)).toContain(FlowKind.Deny);
    const open = snapshot({ revision: 2, networks: Object.values(networks).map((n) => (n.id === networks.lb.id ? { ...n, dependsOn: [networks.app.id, networks.db.id] } : n)) });
    await app.update(open);
    expect(kinds(a)).not.toContain(FlowKind.Deny);
    expect((await hosts.send('host-a', sendTo(new Topology(open), lb1, db2))).delivered.map((d) => [d.host, d.port])).toEqual([['host-b', portOf(db2)]]);
  });

  it('an update with an inconsistent snapshot is refused and the bridges keep the old flows', async () => {
    const { app, a } = await twoHosts();
    const before = a.table.installIds();
    const bad = snapshot({ revision: 2, networks: Object.values(networks).map((n) => (n.id === networks.lb.id ? { ...n, dependsOn: ['acme/gone'] } : n)) });
    await expect(app.update(bad)).rejects.toThrow('network acme/lb depends on acme/gone, which is not in the snapshot');
    expect(a.table.installIds()).toEqual(before);
    expect(app.topology.revision).toBe(1);
  });
});
