// One host's proactive flows, judged by where packets go in the fake flow table: local delivery
// along dependsOn (and nothing else), anti-spoofing at table 0, ARP and unknown destinations to
// the controller, fabric traffic to table 2, refused destinations remembered by a deny flow.
import { describe, expect, it } from 'vitest';
import { EtherType, Tables, Topology, denyFlow, proactiveFlows, type InterfaceView } from '../src/index';
import { FakeFlowTable, arpRequest, ifaces, ipv4Packet, networks, portOf, portsOf, sendTo, snapshot, uplinks, type Verdict } from './flow-table';

const topo = new Topology(snapshot());

function hostA(): FakeFlowTable {
  const t = new FakeFlowTable();
  t.install(proactiveFlows(topo, 'host-a', portsOf(topo, 'host-a')));
  return t;
}

/** The tables a verdict visited, in order, read from its trace. */
const tables = (v: Verdict) => v.trace.filter((l) => l.startsWith('table')).map((l) => Number(/^table (\d+)/.exec(l)![1]));

const { lb1, lb3, app1, db1, ops1, mgmt1, raw, app2 } = ifaces;

describe('local delivery on one host', () => {
  it('same network: delivered to the destination port, source MAC kept, TTL unchanged', () => {
    const v = hostA().process(sendTo(topo, lb1, lb3));
    expect(v.outputs).toEqual([{ port: portOf(lb3), packet: { ethSrc: lb1.mac, ethDst: lb3.mac, ethType: EtherType.IPv4, ipv4: { src: lb1.ip, dst: lb3.ip, ttl: 64, proto: 1 } } }]);
    expect(v.toController).toBe(false);
  });

  it('lb → app (dependsOn): routed, arrives from the app gateway MAC with TTL one less', () => {
    const v = hostA().process(sendTo(topo, lb1, app1));
    expect(v.outputs).toEqual([{ port: portOf(app1), packet: { ethSrc: networks.app.gatewayMac, ethDst: app1.mac, ethType: EtherType.IPv4, ipv4: { src: lb1.ip, dst: app1.ip, ttl: 63, proto: 1 } } }]);
  });

  it('app → lb (the reply direction of lb → app): routed from the lb gateway MAC', () => {
    const v = hostA().process(sendTo(topo, app1, lb1, 10));
    expect(v.outputs).toEqual([{ port: portOf(lb1), packet: expect.objectContaining({ ethSrc: networks.lb.gatewayMac, ethDst: lb1.mac, ipv4: expect.objectContaining({ ttl: 9 }) }) }]);
  });

  it('app → db is delivered; lb → db and db → lb are not (dependsOn is not transitive)', () => {
    const t = hostA();
    expect(t.process(sendTo(topo, app1, db1)).outputs.map((o) => o.port)).toEqual([portOf(db1)]);
    const lbToDb = t.process(sendTo(topo, lb1, db1));
    expect(lbToDb.outputs).toEqual([]);
    // Not dropped silently: the controller hears of it and installs a deny flow (see below).
    expect(lbToDb.toController).toBe(true);
    expect(t.process(sendTo(topo, db1, lb1)).outputs).toEqual([]);
  });

  it('every ordered pair of addressed interfaces on the host: delivered exactly when the policy allows it', () => {
    const t = hostA();
    const local = topo.interfacesOn('host-a').filter((i) => i.ip !== null);
    const allowed: Record<string, string[]> = {
      // The policy written out by hand: dependsOn edges both ways, plus each network with itself.
      'acme/lb': ['acme/lb', 'acme/app'],
      'acme/app': ['acme/app', 'acme/lb', 'acme/db', 'acme/app/ops'],
      'acme/db': ['acme/db', 'acme/app'],
      'acme/app/ops': ['acme/app/ops', 'acme/app'],
      'acme/mgmt': ['acme/mgmt'],
    };
    const wrong: string[] = [];
    let delivered = 0;
    for (const a of local) {
      for (const b of local) {
        if (a === b) continue;
        const v = t.process(sendTo(topo, a, b));
        const expected = allowed[a.networkId]!.includes(b.networkId);
        const got = v.outputs.length === 1 && v.outputs[0]!.port === portOf(b);
        if (got) delivered++;
        if (got !== expected || v.outputs.length > 1) wrong.push(`${a.id} → ${b.id}: expected ${expected}, outputs ${JSON.stringify(v.outputs.map((o) => o.port))}`);
      }
    }
    expect(wrong).toEqual([]);
    // lb1,lb3 ↔ app1 (4) + lb1 ↔ lb3 (2) + app1 ↔ db1 (2) + app1 ↔ ops1 (2)
    expect(delivered).toBe(10);
  });

  it('the nested network reaches its parent and back, routed through its own gateway MAC, but not the parent\'s dependencies', () => {
    const t = hostA();
    expect(t.process(sendTo(topo, ops1, app1)).outputs).toEqual([
      { port: portOf(app1), packet: expect.objectContaining({ ethSrc: networks.app.gatewayMac, ethDst: app1.mac, ipv4: expect.objectContaining({ ttl: 63 }) }) },
    ]);
    // app1 thinks ops1 is on-link (10.61.2.201 is inside 10.61.2.0/24), but ARP answers with the app gateway.
    expect(t.process(ipv4Packet(portOf(app1), app1.mac, networks.app.gatewayMac, app1.ip!, ops1.ip!)).outputs).toEqual([
      { port: portOf(ops1), packet: expect.objectContaining({ ethSrc: networks.ops.gatewayMac, ethDst: ops1.mac, ipv4: expect.objectContaining({ ttl: 63 }) }) },
    ]);
    expect(t.process(sendTo(topo, ops1, db1)).outputs).toEqual([]);
  });

  it('a routed packet with TTL 1 is dropped; on the same network TTL 1 is delivered', () => {
    const t = hostA();
    const routed = t.process(sendTo(topo, lb1, app1, 1));
    expect(routed.dropped).toBe(true);
    expect(routed.trace.at(-1)).toContain('ttl 1 expires');
    expect(t.process(sendTo(topo, lb1, lb3, 1)).outputs.map((o) => o.packet.ipv4?.ttl)).toEqual([1]);
  });

  it('the destination MAC the sender used does not decide delivery: the IP and the policy do', () => {
    // A sender that skips ARP and uses the destination's own MAC across networks is still routed and rewritten.
    const v = hostA().process(ipv4Packet(portOf(lb1), lb1.mac, app1.mac, lb1.ip!, app1.ip!));
    expect(v.outputs).toEqual([{ port: portOf(app1), packet: expect.objectContaining({ ethSrc: networks.app.gatewayMac, ethDst: app1.mac }) }]);
  });
});

describe('anti-spoofing at table 0', () => {
  const spoofs: [string, (i: InterfaceView) => ReturnType<typeof ipv4Packet>][] = [
    ['a foreign source MAC', (i) => ipv4Packet(portOf(i), '02:5e:00:00:ff:01', networks.lb.gatewayMac, i.ip!, app1.ip!)],
    ['another interface\'s MAC', (i) => ipv4Packet(portOf(i), lb3.mac, networks.lb.gatewayMac, i.ip!, app1.ip!)],
    ['a foreign source IP', (i) => ipv4Packet(portOf(i), i.mac, networks.lb.gatewayMac, '10.61.1.99', app1.ip!)],
    ['another interface\'s IP', (i) => ipv4Packet(portOf(i), i.mac, networks.lb.gatewayMac, lb3.ip!, app1.ip!)],
    ['another interface\'s MAC and IP together (right pair, wrong port)', (i) => ipv4Packet(portOf(i), lb3.mac, networks.lb.gatewayMac, lb3.ip!, app1.ip!)],
  ];
  it.each(spoofs)('IPv4 with %s is dropped at table 0, not even reaching the controller', (_what, make) => {
    const v = hostA().process(make(lb1));
    expect({ dropped: v.dropped, tables: tables(v) }).toEqual({ dropped: true, tables: [Tables.Classify] });
  });

  it('ARP with a foreign sender IP or MAC is dropped; ARP whose Ethernet source differs from the ARP sender is dropped', () => {
    const t = hostA();
    const cases = [
      arpRequest(portOf(lb1), lb1.mac, '10.61.1.99', networks.lb.gateway),
      arpRequest(portOf(lb1), '02:5e:00:00:ff:01', lb1.ip!, networks.lb.gateway),
      { ...arpRequest(portOf(lb1), lb1.mac, lb1.ip!, networks.lb.gateway), ethSrc: lb3.mac },
      { ...arpRequest(portOf(lb1), lb1.mac, lb1.ip!, networks.lb.gateway), arp: { op: 1, sha: lb3.mac, spa: lb1.ip!, tha: '00:00:00:00:00:00', tpa: networks.lb.gateway } },
    ];
    expect(cases.map((p) => t.process(p).dropped)).toEqual([true, true, true, true]);
  });

  it('an interface without an address (IP policy none) can send nothing, ARP included', () => {
    const t = hostA();
    const port = portOf(raw);
    expect(t.process(ipv4Packet(port, raw.mac, networks.mgmt.gatewayMac, '10.61.9.50', mgmt1.ip!)).dropped).toBe(true);
    expect(t.process(ipv4Packet(port, raw.mac, mgmt1.mac, '0.0.0.0', '255.255.255.255')).dropped).toBe(true);
    expect(t.process(arpRequest(port, raw.mac, '10.61.9.50', mgmt1.ip!)).dropped).toBe(true);
    // …and it cannot be addressed: no flow of the bridge outputs to its port.
    const outs = t.dump().flatMap((f) => f.instructions.flatMap((i) => (i.type === 'APPLY_ACTIONS' ? i.actions : [])));
    expect(outs.filter((a) => a.type === 'OUTPUT' && a.port === port)).toEqual([]);
  });

  it('other ethertypes (IPv6, LLDP) from an admitted interface are dropped', () => {
    const t = hostA();
    expect(t.process({ inPort: portOf(lb1), ethSrc: lb1.mac, ethDst: '33:33:00:00:00:01', ethType: 0x86dd }).dropped).toBe(true);
    expect(t.process({ inPort: portOf(lb1), ethSrc: lb1.mac, ethDst: '01:80:c2:00:00:0e', ethType: 0x88cc }).dropped).toBe(true);
  });

  it('a port the bridge does not know as an interface (not yet in the topology) is dropped', () => {
    expect(hostA().process(ipv4Packet(42, '02:5e:00:00:00:2a', networks.lb.gatewayMac, '10.61.1.42', app1.ip!)).dropped).toBe(true);
  });
});

describe('what goes to the controller', () => {
  it('ARP from an admitted port goes to the controller and nowhere else', () => {
    const v = hostA().process(arpRequest(portOf(lb1), lb1.mac, lb1.ip!, networks.lb.gateway));
    expect({ toController: v.toController, outputs: v.outputs, tables: tables(v) }).toEqual({ toController: true, outputs: [], tables: [Tables.Classify] });
  });

  it('IPv4 to an interface on another host goes to the controller from table 1 (it installs the pair)', () => {
    const v = hostA().process(sendTo(topo, lb1, app2));
    expect({ toController: v.toController, outputs: v.outputs, tables: tables(v) }).toEqual({ toController: true, outputs: [], tables: [Tables.Classify, Tables.Forward] });
  });

  it('IPv4 to an unknown address or to the gateway itself goes to the controller', () => {
    const t = hostA();
    expect(t.process(ipv4Packet(portOf(lb1), lb1.mac, networks.lb.gatewayMac, lb1.ip!, '192.0.2.7')).toController).toBe(true);
    expect(t.process(ipv4Packet(portOf(lb1), lb1.mac, networks.lb.gatewayMac, lb1.ip!, networks.lb.gateway)).toController).toBe(true);
  });

  it('IPv4 from the uplink goes to table 2, and without a pair flow there to the controller', () => {
    const v = hostA().process(ipv4Packet(uplinks['host-a'].ofport, uplinks['host-b'].mac, uplinks['host-a'].mac, app2.ip!, app1.ip!));
    expect({ toController: v.toController, outputs: v.outputs, tables: tables(v) }).toEqual({ toController: true, outputs: [], tables: [Tables.Classify, Tables.FabricIn] });
  });

  it('ARP from the uplink is dropped (hosts never ARP for each other\'s containers)', () => {
    expect(hostA().process(arpRequest(uplinks['host-a'].ofport, uplinks['host-b'].mac, '10.0.0.2', app1.ip!)).dropped).toBe(true);
  });

  it('a deny flow for a refused destination drops it without the controller, for that source network only', () => {
    const t = hostA();
    t.install([denyFlow(networks.lb, db1.ip!, { idle: 10, hard: 60 })]);
    const v = t.process(sendTo(topo, lb1, db1));
    expect({ dropped: v.dropped, tables: tables(v) }).toEqual({ dropped: true, tables: [Tables.Classify, Tables.Forward] });
    expect(t.process(sendTo(topo, lb3, db1)).dropped).toBe(true);
    expect(t.process(sendTo(topo, app1, db1)).outputs.map((o) => o.port)).toEqual([portOf(db1)]);
    // After its idle timeout the controller is asked again.
    t.advance(10);
    expect(t.process(sendTo(topo, lb1, db1)).toController).toBe(true);
  });

  it('a deny flow never hides an allowed local destination (local delivery has the higher priority)', () => {
    const t = hostA();
    t.install([denyFlow(networks.lb, app1.ip!, { idle: 10, hard: 60 })]);
    expect(t.process(sendTo(topo, lb1, app1)).outputs.map((o) => o.port)).toEqual([portOf(app1)]);
  });
});

describe('ports that are not on the bridge yet', () => {
  it('an interface whose port is missing gets no flows; it is delivered once the port appears', () => {
    const ports = portsOf(topo, 'host-a');
    const without = new Map(ports.byName);
    without.delete(app1.portName);
    const t = new FakeFlowTable();
    t.install(proactiveFlows(topo, 'host-a', { byName: without }));
    // Not delivered (nothing outputs to a port that is not there): asks the controller instead.
    expect(t.process(sendTo(topo, lb1, app1))).toMatchObject({ outputs: [], toController: true });
    expect(t.process(sendTo(topo, app1, lb1)).dropped).toBe(true);
    t.install(proactiveFlows(topo, 'host-a', ports));
    expect(t.process(sendTo(topo, lb1, app1)).outputs.map((o) => o.port)).toEqual([portOf(app1)]);
  });

  it('without an uplink port, fabric traffic is dropped at table 0', () => {
    const ports = new Map(portsOf(topo, 'host-a').byName);
    ports.delete('uplink');
    const t = new FakeFlowTable();
    t.install(proactiveFlows(topo, 'host-a', { byName: ports }));
    expect(t.process(ipv4Packet(uplinks['host-a'].ofport, uplinks['host-b'].mac, uplinks['host-a'].mac, app2.ip!, app1.ip!)).dropped).toBe(true);
  });

  it('a host the topology does not know gets only the table defaults: everything is dropped', () => {
    const t = new FakeFlowTable();
    t.install(proactiveFlows(topo, 'host-z', portsOf(topo, 'host-a')));
    expect(t.size).toBe(4);
    expect(t.process(sendTo(topo, lb1, app1)).dropped).toBe(true);
  });
});
