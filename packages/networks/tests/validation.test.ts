// Every semantic rule that needs no database, with its exact code, path and message.
import { describe, expect, it } from 'vitest';
import {
  ClusterNetwork,
  TenantConfig,
  TenantNetwork,
  validateNetwork,
  validatePhysical,
  validateTenantConfig,
  validateTopology,
  withPath,
  type ClusterNetworkSpec,
  type ErrorWithInfo,
  type Network,
  type TenantConfigSpec,
} from '../src/index';

const info = (errors: readonly ErrorWithInfo[]) => errors.map((e) => ({ code: e.info.code, path: e.info.path, message: e.message }));
const one = (errors: readonly ErrorWithInfo[]) => {
  expect(errors).toHaveLength(1);
  return info(errors)[0];
};
const cfg = (...hostDevices: TenantConfigSpec['hostDevices']): TenantConfigSpec => ({ tenant: 'acme', hostDevices });
const cluster = (spec: ClusterNetworkSpec) => new ClusterNetwork(spec);

describe('TenantConfig', () => {
  it('accepts ids, ranges and the same ids on another device or type', () => {
    expect(validateTenantConfig(cfg({ name: 'eth1', vniType: 'vlan', vniRange: '700-710, 720' }, { name: 'eth2', vniType: 'vlan', vniRange: '700-710' }, { name: 'eth1', vniType: 'vxlan', vniRange: '700' }))).toEqual([]);
  });

  it.each([
    ['700-7x0', '"700-7x0" is neither an id nor a range lo-hi'],
    ['700,,720', 'an item is empty'],
    ['710-700', 'range 710-700 runs backwards'],
  ])('refuses the malformed range %s', (text, reason) => {
    expect(one(validateTenantConfig(cfg({ name: 'eth1', vniType: 'vlan', vniRange: text })))).toEqual({
      code: 'ID_RANGE_SYNTAX',
      path: '/hostDevices/0/vniRange',
      message: `/hostDevices/0/vniRange: "${text}" is not a list of ids and ranges such as 700-710,720: ${reason}`,
    });
  });

  it('refuses VLAN ids outside 1..4094', () => {
    for (const [text, bad] of [['4000-4095', 4095], ['0', 0]] as const) {
      expect(one(validateTenantConfig(cfg({ name: 'eth1', vniType: 'vlan', vniRange: text })))).toEqual({
        code: 'VLAN_OUT_OF_RANGE',
        path: '/hostDevices/0/vniRange',
        message: `/hostDevices/0/vniRange: VLAN id ${bad} is outside 1..4094 (0 and 4095 are reserved by 802.1Q)`,
      });
    }
  });

  it('refuses VNIs outside 1..16777215', () => {
    expect(one(validateTenantConfig(cfg({ name: 'vx0', vniType: 'vxlan', vniRange: '16777000-16777216' })))).toEqual({
      code: 'VNI_OUT_OF_RANGE',
      path: '/hostDevices/0/vniRange',
      message: '/hostDevices/0/vniRange: VNI 16777216 is outside 1..16777215',
    });
  });

  it('refuses overlapping ranges of one device and type, across entries and within one', () => {
    expect(one(validateTenantConfig(cfg({ name: 'eth1', vniType: 'vlan', vniRange: '700-710' }, { name: 'eth1', vniType: 'vlan', vniRange: '705-720' })))).toEqual({
      code: 'ID_RANGES_OVERLAP',
      path: '/hostDevices/1/vniRange',
      message: '/hostDevices/1/vniRange: vlan ids 705-720 of device eth1 overlap 700-710 given at /hostDevices/0/vniRange',
    });
    expect(one(validateTenantConfig(cfg({ name: 'eth1', vniType: 'vlan', vniRange: '700-710,705' })))).toEqual({
      code: 'ID_RANGES_OVERLAP',
      path: '/hostDevices/0/vniRange',
      message: '/hostDevices/0/vniRange: vlan ids 705 of device eth1 overlap 700-710 given at /hostDevices/0/vniRange',
    });
  });

  it('refuses "cluster" as a tenant name', () => {
    expect(one(validateTenantConfig({ tenant: 'cluster', hostDevices: [{ name: 'eth1', vniType: 'vlan', vniRange: '1' }] }))).toEqual({
      code: 'RESERVED_TENANT_NAME',
      path: '/tenant',
      message: '/tenant: "cluster" is reserved for cluster networks (ids cluster/<name>) and cannot name a tenant',
    });
  });

  it('assigns the lowest free id of the first device that has one', () => {
    const c = TenantConfig.parse(cfg({ name: 'eth1', vniType: 'vlan', vniRange: '720,700-701' }, { name: 'vx0', vniType: 'vxlan', vniRange: '5000' }));
    const taken = new Set<string>();
    const got = [];
    for (;;) {
      const a = c.assign((d, t, id) => taken.has(`${d}/${t}/${id}`));
      if (!a) break;
      got.push(a);
      taken.add(`${a.hostDevice}/${a.vlan !== null ? 'vlan' : 'vxlan'}/${a.vlan ?? a.vni}`);
    }
    expect(got).toEqual([
      { hostDevice: 'eth1', vlan: 700, vni: null },
      { hostDevice: 'eth1', vlan: 701, vni: null },
      { hostDevice: 'eth1', vlan: 720, vni: null },
      { hostDevice: 'vx0', vlan: null, vni: 5000 },
    ]);
    expect(() => TenantConfig.parse(cfg({ name: 'eth1', vniType: 'vlan', vniRange: 'x' }))).toThrow('/hostDevices/0/vniRange: "x" is not a list');
  });
});

describe('one network', () => {
  it('applies the defaults: gateway is the first host address, the pool the whole CIDR', () => {
    const n = cluster({ name: 'db', cidr: '10.30.0.0/24' });
    expect([n.id, n.gateway, n.pools]).toEqual(['cluster/db', '10.30.0.1', [{ start: '10.30.0.1', end: '10.30.0.254' }]]);
    expect(validateNetwork(n)).toEqual([]);
    const t = new TenantNetwork({ tenant: 'acme', name: 'web', cidr: '10.40.0.0/24', parent: 'base', dependsOn: ['cluster/db', 'cache'] });
    expect([t.id, t.parent, t.dependsOn]).toEqual(['acme/web', 'acme/base', ['cluster/db', 'acme/cache']]);
  });

  it.each(['vlan', 'vni', 'hostDevice'])('refuses a tenant setting %s', (key) => {
    const spec = { tenant: 'acme', name: 'web', cidr: '10.40.0.0/24', [key]: key === 'hostDevice' ? 'eth1' : 5 };
    expect(one(validateNetwork(new TenantNetwork(spec)))).toEqual({
      code: 'TENANT_PHYSICAL_ATTRIBUTE',
      path: `/${key}`,
      message: `/${key}: a TenantNetwork may not set ${key}; VLAN, VNI and host device are assigned from tenant acme's TenantConfig`,
    });
  });

  it('refuses a tenant network of the tenant "cluster"', () => {
    expect(one(validateNetwork(new TenantNetwork({ tenant: 'cluster', name: 'web', cidr: '10.40.0.0/24' })))).toMatchObject({ code: 'RESERVED_TENANT_NAME', path: '/tenant' });
  });

  it('refuses a VLAN id outside 1..4094 and a VNI outside 1..16777215', () => {
    expect(one(validateNetwork(cluster({ name: 'a', cidr: '10.1.0.0/24', vlan: 4095 })))).toEqual({ code: 'VLAN_OUT_OF_RANGE', path: '/vlan', message: '/vlan: VLAN id 4095 is outside 1..4094 (0 and 4095 are reserved by 802.1Q)' });
    expect(one(validateNetwork(cluster({ name: 'a', cidr: '10.1.0.0/24', vlan: 0 })))).toEqual({ code: 'VLAN_OUT_OF_RANGE', path: '/vlan', message: '/vlan: VLAN id 0 is outside 1..4094 (0 and 4095 are reserved by 802.1Q)' });
    expect(one(validateNetwork(cluster({ name: 'a', cidr: '10.1.0.0/24', vni: 0 })))).toEqual({ code: 'VNI_OUT_OF_RANGE', path: '/vni', message: '/vni: VNI 0 is outside 1..16777215' });
    expect(validateNetwork(cluster({ name: 'a', cidr: '10.1.0.0/24', vlan: 4094 }))).toEqual([]);
  });

  it('delegates pools inside the CIDR and disjoint to IPAM', () => {
    expect(one(validateNetwork(cluster({ name: 'app', cidr: '10.20.0.0/24', pools: [{ start: '10.20.1.1', end: '10.20.1.9' }] })))).toEqual({
      code: 'POOL_OUTSIDE_CIDR',
      path: '/pools/0',
      message: "/pools/0: pool 10.20.1.1-10.20.1.9 is not inside the network's CIDR 10.20.0.0/24",
    });
    const overlap = validateNetwork(cluster({ name: 'app', cidr: '10.20.0.0/24', pools: [{ start: '10.20.0.10', end: '10.20.0.50' }, { start: '10.20.0.40', end: '10.20.0.60' }] }));
    expect(one(overlap)).toEqual({ code: 'POOLS_OVERLAP', path: '/pools/1', message: '/pools/1: pool 10.20.0.40-10.20.0.60 overlaps pool 0 (10.20.0.10-10.20.0.50)' });
    // Placed in a command, the path and the message name where the network was.
    const placed = withPath(overlap[0]!, '/clusterNetworks/2');
    expect([placed.info.path, placed.message, placed.constructor.name]).toEqual([
      '/clusterNetworks/2/pools/1',
      '/clusterNetworks/2/pools/1: pool 10.20.0.40-10.20.0.60 overlaps pool 0 (10.20.0.10-10.20.0.50)',
      overlap[0]!.constructor.name,
    ]);
    expect(one(validateNetwork(cluster({ name: 'app', cidr: '10.20.0.0/24', gateway: '10.21.0.1' })))).toMatchObject({ code: 'GATEWAY_OUTSIDE_CIDR', path: '/gateway' });
  });

  it('refuses a route whose next hop is off the network', () => {
    expect(one(validateNetwork(cluster({ name: 'app', cidr: '10.20.0.0/24', routes: [{ dst: '192.0.2.0/24', via: '10.9.0.1' }] })))).toEqual({
      code: 'ROUTE_VIA_OUTSIDE_CIDR',
      path: '/routes/0/via',
      message: "/routes/0/via: next hop 10.9.0.1 is not inside the network's CIDR 10.20.0.0/24",
    });
  });

  it("refuses a tenant network referencing another tenant's network", () => {
    expect(one(validateNetwork(new TenantNetwork({ tenant: 'acme', name: 'web', cidr: '10.40.0.0/24', dependsOn: ['cluster/db', 'other/db'] })))).toEqual({
      code: 'CROSS_TENANT_REFERENCE',
      path: '/dependsOn/1',
      message: "/dependsOn/1: network acme/web may not reference other/db: a tenant network may only reference its own tenant's networks and cluster networks",
    });
  });

  it('refuses a cluster network depending on or nesting in a tenant network', () => {
    expect(one(validateNetwork(cluster({ name: 'app', cidr: '10.20.0.0/24', parent: 'acme/web' })))).toEqual({
      code: 'CLUSTER_REFERENCES_TENANT',
      path: '/parent',
      message: '/parent: cluster network cluster/app may not nest in tenant network acme/web: cluster networks may only reference cluster networks',
    });
    expect(one(validateNetwork(cluster({ name: 'app', cidr: '10.20.0.0/24', dependsOn: ['acme/web'] })))).toEqual({
      code: 'CLUSTER_REFERENCES_TENANT',
      path: '/dependsOn/0',
      message: '/dependsOn/0: cluster network cluster/app may not depend on tenant network acme/web: cluster networks may only reference cluster networks',
    });
  });
});

describe('networks together', () => {
  const at = (...pairs: [Network, string][]) => new Map(pairs.map(([n, p]) => [n.id, p]));

  it('refuses a reference to a network that neither exists nor is in the command', () => {
    const lb = cluster({ name: 'lb', cidr: '10.10.0.0/24', dependsOn: ['ghost'] });
    expect(one(validateTopology([lb], at([lb, '/clusterNetworks/0'])))).toEqual({
      code: 'UNKNOWN_NETWORK_REFERENCE',
      path: '/clusterNetworks/0/dependsOn/0',
      message: '/clusterNetworks/0/dependsOn/0: network cluster/lb depends on cluster/ghost, which neither exists nor is created by this command',
    });
  });

  it('refuses a dependency cycle and names it', () => {
    const a = cluster({ name: 'a', cidr: '10.1.0.0/24', dependsOn: ['b'] });
    const b = cluster({ name: 'b', cidr: '10.2.0.0/24', dependsOn: ['c'] });
    const c = cluster({ name: 'c', cidr: '10.3.0.0/24', dependsOn: ['a'] });
    expect(one(validateTopology([c, b, a], at([b, '/clusterNetworks/0'], [c, '/clusterNetworks/1'], [a, '/clusterNetworks/2'])))).toEqual({
      code: 'DEPENDENCY_CYCLE',
      path: '/clusterNetworks/2/dependsOn/0',
      message: '/clusterNetworks/2/dependsOn/0: dependency cycle: cluster/a -> cluster/b -> cluster/c -> cluster/a',
    });
    const self = cluster({ name: 's', cidr: '10.4.0.0/24', dependsOn: ['s'] });
    expect(one(validateTopology([self], at([self, '/clusterNetworks/0'])))).toMatchObject({ code: 'DEPENDENCY_CYCLE', message: '/clusterNetworks/0/dependsOn/0: dependency cycle: cluster/s -> cluster/s' });
  });

  const parent = cluster({ name: 'p', cidr: '10.50.0.0/24', pools: [{ start: '10.50.0.2', end: '10.50.0.100' }] });

  it('accepts a child inside its parent, outside the parent pools', () => {
    const c = cluster({ name: 'c', cidr: '10.50.0.128/25', parent: 'p' });
    expect(validateTopology([parent, c], at([parent, '/clusterNetworks/0'], [c, '/clusterNetworks/1']))).toEqual([]);
  });

  it('refuses a child outside its parent', () => {
    const c = cluster({ name: 'c', cidr: '10.60.0.0/25', parent: 'p' });
    expect(one(validateTopology([parent, c], at([c, '/clusterNetworks/1'])))).toEqual({
      code: 'CHILD_OUTSIDE_PARENT',
      path: '/clusterNetworks/1/cidr',
      message: '/clusterNetworks/1/cidr: 10.60.0.0/25 of cluster/c is not inside 10.50.0.0/24 of its parent cluster/p',
    });
  });

  it("refuses a parent whose pools cover a child's CIDR", () => {
    const p = cluster({ name: 'p', cidr: '10.50.0.0/24' });
    const c = cluster({ name: 'c', cidr: '10.50.0.128/25', parent: 'p' });
    expect(one(validateTopology([p, c], at([c, '/clusterNetworks/1'])))).toEqual({
      code: 'PARENT_POOL_OVERLAPS_CHILD',
      path: '/clusterNetworks/1/cidr',
      message:
        "/clusterNetworks/1/cidr: pool 0 (10.50.0.1-10.50.0.254) of cluster/p overlaps 10.50.0.128/25 of its child cluster/c: IPAM could hand out one address on both networks; the parent's pools must leave the child's CIDR out",
    });
    // An update of an existing parent that would widen its pools is blamed on the parent's pool.
    expect(info(validateTopology([p, c], at([p, '/clusterNetwork'])))[0]).toMatchObject({ path: '/clusterNetwork/pools/0' });
  });

  it("refuses a parent whose gateway is inside a child's CIDR", () => {
    const p = cluster({ name: 'p', cidr: '10.50.0.0/24', gateway: '10.50.0.129', pools: [{ start: '10.50.0.2', end: '10.50.0.100' }] });
    const c = cluster({ name: 'c', cidr: '10.50.0.128/25', parent: 'p' });
    expect(one(validateTopology([p, c], at([c, '/clusterNetworks/1'])))).toEqual({
      code: 'PARENT_GATEWAY_IN_CHILD',
      path: '/clusterNetworks/1/cidr',
      message: "/clusterNetworks/1/cidr: gateway 10.50.0.129 of cluster/p is inside 10.50.0.128/25 of its child cluster/c; a parent's gateway must lie outside its children",
    });
  });

  it('refuses overlapping top-level networks and overlapping siblings, tenant or cluster', () => {
    const a = cluster({ name: 'a', cidr: '10.20.0.0/24' });
    const b = cluster({ name: 'b', cidr: '10.20.0.0/16' });
    expect(one(validateTopology([a, b], at([b, '/clusterNetworks/0'])))).toEqual({
      code: 'CIDR_OVERLAP',
      path: '/clusterNetworks/0/cidr',
      message: '/clusterNetworks/0/cidr: 10.20.0.0/16 of cluster/b overlaps 10.20.0.0/24 of cluster/a; addresses are unique cluster wide, so only a network nested in another (parent) may share its addresses',
    });
    const t = new TenantNetwork({ tenant: 'acme', name: 'web', cidr: '10.20.0.128/25' });
    expect(one(validateTopology([a, t], at([t, '/tenantNetworks/0'])))).toMatchObject({ code: 'CIDR_OVERLAP', path: '/tenantNetworks/0/cidr' });
    const s1 = cluster({ name: 's1', cidr: '10.50.0.128/25', parent: 'p' });
    const s2 = cluster({ name: 's2', cidr: '10.50.0.192/26', parent: 'p' });
    expect(one(validateTopology([parent, s1, s2], at([s1, '/clusterNetworks/0'], [s2, '/clusterNetworks/1'])))).toEqual({
      code: 'CIDR_OVERLAP',
      path: '/clusterNetworks/1/cidr',
      message: '/clusterNetworks/1/cidr: 10.50.0.192/26 of cluster/s2 overlaps 10.50.0.128/25 of cluster/s1; addresses are unique cluster wide, so only a network nested in another (parent) may share its addresses',
    });
    // Existing networks that overlap each other are not the command's fault.
    expect(validateTopology([a, b], new Map())).toEqual([]);
  });

  it('refuses a VLAN id another network already has on the same device', () => {
    const a = cluster({ name: 'a', cidr: '10.1.0.0/24', vlan: 100, hostDevice: 'eth1' });
    const b = cluster({ name: 'b', cidr: '10.2.0.0/24', vlan: 100, hostDevice: 'eth1' });
    const c = cluster({ name: 'c', cidr: '10.3.0.0/24', vlan: 100, hostDevice: 'eth2' });
    expect(one(validatePhysical([a, b, c], at([b, '/clusterNetworks/0'], [c, '/clusterNetworks/1'])))).toEqual({
      code: 'PHYSICAL_ID_TAKEN',
      path: '/clusterNetworks/0/vlan',
      message: '/clusterNetworks/0/vlan: VLAN 100 on device eth1 is already used by network cluster/a',
    });
  });
});
