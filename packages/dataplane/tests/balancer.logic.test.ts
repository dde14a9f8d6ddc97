// The balancer's pure parts: the snapshot rules for service addresses, which hosts get a
// balancer (only those with clients allowed to use it), its select group, and the un-NAT flow per
// service network. Behaviour on the wire is in balancer.test.ts, on a real Open vSwitch.
import { describe, expect, it } from 'vitest';
import { CT_ZONE, InvalidTopology, Topology, balancerFlows, balancerGroups, unNatFlows, type ServiceAddressView } from '../src/index';
import { ifaces, networks, portsOf, snapshot } from './flow-table';

const web = (over: Partial<ServiceAddressView> = {}): ServiceAddressView => ({
  service: 'acme/web', networkId: networks.app.id, num: 500, ip: '10.61.2.100', mac: '02:5e:00:00:01:f4', backends: [ifaces.app2.id, ifaces.app1.id], ...over,
});

function refusal(services: ServiceAddressView[]): string | undefined {
  try {
    new Topology(snapshot({ services }));
    return undefined;
  } catch (err) {
    if (!(err instanceof InvalidTopology)) throw err;
    return err.message;
  }
}

describe('service addresses in the topology', () => {
  it('refuses an address held twice, a backend of another network, and one that does not exist', () => {
    expect(refusal([web({ ip: ifaces.app1.ip! })])).toBe(`service acme/web on acme/app and interface ${ifaces.app1.id} both hold 10.61.2.11`);
    expect(refusal([web(), web({ service: 'acme/api', num: 501 })])).toBe('service acme/api on acme/app and service acme/web both hold 10.61.2.100');
    expect(refusal([web({ backends: [ifaces.db1.id] })])).toBe(`service acme/web on acme/app names backend ${ifaces.db1.id}, which is not an addressed interface of that network`);
    expect(refusal([web({ backends: ['nope'] })])).toBe('service acme/web on acme/app names backend nope, which is not an addressed interface of that network');
    expect(refusal([web({ networkId: 'acme/gone' })])).toBe('service acme/web has an address on network acme/gone, which is not in the snapshot');
    expect(refusal([web()])).toBeUndefined();
  });

  it('a host gets the balancer for the networks of its clients only; its group has one bucket per backend, by address', () => {
    const topo = new Topology(snapshot({ services: [web()] }));
    const flows = balancerFlows(topo, 'host-a', portsOf(topo, 'host-a'));
    // Everything with an edge to app (edges are symmetric: db, which app depends on, too); not mgmt.
    const from = [...new Set(flows.map((f) => Number(f.match.find((m) => m.field === 'METADATA')!.value)))].sort((a, b) => a - b);
    expect(from).toEqual([networks.lb.num, networks.app.num, networks.db.num, networks.ops.num]);
    expect(flows).toHaveLength(12);
    const [group] = balancerGroups(topo, 'host-a', portsOf(topo, 'host-a'));
    expect(group!.groupId).toBe(500);
    expect(group!.buckets.map((b) => b.actions)).toEqual([ifaces.app1.ip, ifaces.app2.ip].map((ip) => [
      { type: 'NX_CT', commit: true, force: false, zone: CT_ZONE, recircTable: 1, alg: 0, actions: [{ type: 'NX_NAT', direction: 'dst', persistent: false, protoHash: false, protoRandom: false, range: { ipv4Min: ip } }] },
    ]));
    expect(unNatFlows(topo, 'host-a', portsOf(topo, 'host-a')).map((f) => f.match.find((m) => m.field === 'IPV4_SRC'))).toEqual([{ field: 'IPV4_SRC', value: '10.61.2.0', mask: '255.255.255.0' }]);
  });

  it('a host without clients of the service gets nothing of it', () => {
    const only = snapshot({ services: [web({ backends: [ifaces.app2.id] })], interfaces: [ifaces.mgmt1, ifaces.app2] });
    const topo = new Topology(only);
    expect(balancerFlows(topo, 'host-a', portsOf(topo, 'host-a'))).toEqual([]);
    expect(balancerGroups(topo, 'host-a', portsOf(topo, 'host-a'))).toEqual([]);
    expect(unNatFlows(topo, 'host-a', portsOf(topo, 'host-a'))).toEqual([]);
  });
});
