// Topology: the snapshot rules it enforces (each with its exact code and message), the lookups the
// flows are computed from, and the rules the flows rely on for isolation (network numbers unique
// and within the 16-bit metadata, addresses well-formed).
import { describe, expect, it } from 'vitest';
import { InvalidTopology, MalformedPacket, Topology, ipv4ToNumber, proactiveFlows, type InterfaceView, type NetworkView, type TopologySnapshot } from '../src/index';
import { FakeFlowTable, hostViews, ifaces, networks, portOf, portsOf, sendTo, snapshot } from './flow-table';

function refusal(snap: TopologySnapshot): { name: string; code: string; message: string } | undefined {
  try {
    new Topology(snap);
    return undefined;
  } catch (err) {
    if (!(err instanceof InvalidTopology) && !(err instanceof MalformedPacket)) throw err;
    return { name: err.name, code: err.code, message: err.message };
  }
}

describe('snapshot rules Topology enforces', () => {
  it('a dependency on a network that is not in the snapshot', () => {
    const nets = Object.values(networks).map((n) => (n.id === networks.lb.id ? { ...n, dependsOn: ['acme/gone'] } : n));
    expect(refusal(snapshot({ networks: nets }))).toEqual({ name: 'InvalidTopology', code: 'INVALID_TOPOLOGY', message: 'network acme/lb depends on acme/gone, which is not in the snapshot' });
  });

  it('an interface on a network that is not in the snapshot', () => {
    const stray: InterfaceView = { ...ifaces.lb1, id: 'acme/gone/if99', num: 99, networkId: 'acme/gone', ip: '10.61.7.7' };
    expect(refusal(snapshot({ interfaces: [...Object.values(ifaces), stray] }))).toEqual({
      name: 'InvalidTopology', code: 'INVALID_TOPOLOGY', message: 'interface acme/gone/if99 is on network acme/gone, which is not in the snapshot',
    });
  });

  it('two interfaces holding one address', () => {
    const twin: InterfaceView = { ...ifaces.lb3, ip: ifaces.lb1.ip };
    expect(refusal(snapshot({ interfaces: Object.values(ifaces).map((i) => (i === ifaces.lb3 ? twin : i)) }))).toEqual({
      name: 'InvalidTopology', code: 'INVALID_TOPOLOGY', message: 'interfaces acme/lb/if1 and acme/lb/if3 both hold 10.61.1.11',
    });
  });

  it('interfaces without an address do not clash with each other', () => {
    const second: InterfaceView = { ...ifaces.raw, id: 'acme/mgmt/if9', num: 9, portName: 'veth9', mac: '02:5e:00:00:00:09' };
    expect(refusal(snapshot({ interfaces: [...Object.values(ifaces), second] }))).toBeUndefined();
  });

  it('asking for a network that does not exist', () => {
    const topo = new Topology(snapshot());
    expect(() => topo.network('acme/gone')).toThrow(InvalidTopology);
    expect(() => topo.network('acme/gone')).toThrow('no network acme/gone');
  });
});

describe('lookups', () => {
  const topo = new Topology(snapshot());

  it('reachable: itself, the declared edges both ways, never transitive', () => {
    expect(topo.reachable(networks.lb.id, networks.lb.id)).toBe(true);
    expect(topo.reachable(networks.lb.id, networks.app.id)).toBe(true);
    expect(topo.reachable(networks.app.id, networks.lb.id)).toBe(true);
    expect(topo.reachable(networks.lb.id, networks.db.id)).toBe(false);
    expect(topo.reachable(networks.ops.id, networks.db.id)).toBe(false);
    expect(topo.reachable(networks.mgmt.id, networks.app.id)).toBe(false);
  });

  it('reachersOf lists the network itself first, then the others by number', () => {
    expect(topo.reachersOf(networks.app.id).map((n) => n.id)).toEqual([networks.app.id, networks.lb.id, networks.db.id, networks.ops.id]);
    expect(topo.reachersOf(networks.mgmt.id).map((n) => n.id)).toEqual([networks.mgmt.id]);
  });

  it('hosts by datapath id in any letter case, interfaces by host and by address, networks by gateway', () => {
    expect(topo.hostOfDpid('00000000005D0002')?.name).toBe('host-b');
    expect(topo.hostOfDpid('00000000005d0009')).toBeUndefined();
    expect(topo.interfacesOn('host-b').map((i) => i.id)).toEqual([ifaces.lb2.id, ifaces.app2.id, ifaces.db2.id, ifaces.ops2.id]);
    expect(topo.interfacesOn('host-z')).toEqual([]);
    expect(topo.interfaceWithIp(ipv4ToNumber('10.61.2.201'))?.id).toBe(ifaces.ops1.id);
    expect(topo.networkWithGateway(ipv4ToNumber('10.61.2.193'))?.id).toBe(networks.ops.id);
  });
});

describe('rules the flows rely on that Topology does not enforce yet', () => {
  /** Refused as INVALID_TOPOLOGY, or else the two networks must stay isolated on the bridge. */
  function refusedOrIsolated(x: NetworkView, y: NetworkView): void {
    const a: InterfaceView = { id: `${x.id}/if31`, num: 31, networkId: x.id, host: 'host-a', portName: 'veth31', mac: '02:5e:00:00:00:1f', ip: '10.62.1.11' };
    const b: InterfaceView = { id: `${y.id}/if32`, num: 32, networkId: y.id, host: 'host-a', portName: 'veth32', mac: '02:5e:00:00:00:20', ip: '10.62.2.11' };
    const snap = snapshot({ networks: [x, y], interfaces: [a, b], hosts: hostViews });
    let topo: Topology;
    try {
      topo = new Topology(snap);
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidTopology);
      return;
    }
    const t = new FakeFlowTable();
    t.install(proactiveFlows(topo, 'host-a', portsOf(topo, 'host-a')));
    expect(t.process(sendTo(topo, a, b)).outputs.map((o) => o.port)).not.toContain(portOf(b));
  }
  const x: NetworkView = { id: 't/x', num: 21, cidr: '10.62.1.0/24', gateway: '10.62.1.1', gatewayMac: '02:5d:00:00:00:21', dependsOn: [] };
  const y: NetworkView = { id: 't/y', num: 22, cidr: '10.62.2.0/24', gateway: '10.62.2.1', gatewayMac: '02:5d:00:00:00:22', dependsOn: [] };

  it('two unrelated networks with their own numbers are isolated (the control case for the two below)', () => {
    refusedOrIsolated(x, y);
  });

  // Two networks sharing a number would tag their packets with the same metadata, and each
  // network's delivery flows would accept the other's packets: refused.
  it('two networks sharing a number are refused (or at least stay isolated)', () => {
    refusedOrIsolated(x, { ...y, num: x.num });
  });

  // 65536 + n would fold onto network n under the 16-bit metadata mask: refused.
  it('a network number above 65535 is refused (or at least does not alias a smaller one)', () => {
    refusedOrIsolated(x, { ...y, num: x.num + 0x10000 });
  });

  // A malformed address is a topology error naming the interface, not a packet error.
  it('an interface with a malformed address is refused as INVALID_TOPOLOGY naming the interface', () => {
    const bad: InterfaceView = { ...ifaces.lb1, ip: '10.61.1' };
    expect(refusal(snapshot({ interfaces: [bad] }))).toEqual({ name: 'InvalidTopology', code: 'INVALID_TOPOLOGY', message: expect.stringContaining('acme/lb/if1') });
  });
});
