// NetworkStore on a real PostgreSQL (a throw-away database), with IPAM in the same transactions.
import { createPool } from '@sdmi/bus';
import { createDatabase, type TestDatabase } from '@sdmi/testbed';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NET_CHANGED_CHANNEL, NetworkStore, withTransaction, type Db } from '../src/index';

let db: TestDatabase;
let pool: pg.Pool;
const store = new NetworkStore();
const tx = <T>(fn: (c: Db) => Promise<T>) => withTransaction(pool, fn);

async function fails(p: Promise<unknown>, expected: { code: string; path?: string; message: string }): Promise<void> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { info?: unknown } | undefined;
  expect(err, 'expected a refusal').toBeDefined();
  expect(err!.info).toMatchObject(expected);
}

/** Everything the store and IPAM hold, to show that a refusal changed nothing. */
async function tables(): Promise<unknown> {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    state: await q('SELECT * FROM net.state'),
    networks: await q('SELECT id, spec, vlan, vni, host_device, num FROM net.network ORDER BY id'),
    deps: await q('SELECT * FROM net.dependency ORDER BY 1, 2'),
    interfaces: await q('SELECT id, network_id, ip::text, mac::text FROM net.interface ORDER BY id'),
    hosts: await q('SELECT name, dpid FROM net.host ORDER BY name'),
    configs: await q('SELECT tenant, spec FROM net.tenant_config ORDER BY tenant'),
    ipamNetworks: await q('SELECT id, cidr::text FROM ipam.network ORDER BY id'),
    ipamAllocations: await q('SELECT network_id, address, interface_id FROM ipam.allocation ORDER BY 1, 2'),
    serviceAddresses: await q('SELECT service, network_id, ip::text, mac::text, num FROM net.service_address ORDER BY 1, 2'),
    serviceBackends: await q('SELECT * FROM net.service_backend ORDER BY 1, 2, 3'),
  };
}

async function unchangedBy(p: () => Promise<unknown>, expected: { code: string; path?: string; message: string }): Promise<void> {
  const before = await tables();
  await fails(p(), expected);
  expect(await tables()).toEqual(before);
}

beforeAll(async () => {
  db = await createDatabase();
  // createPool, not a bare pg.Pool: a session still closing after end() that the database's
  // dispose terminates is an 'error' on the pool, uncaught without its listener (seen in a suite run).
  pool = createPool(db.url, 5);
  const applied = await store.migrate(pool);
  expect(applied).toContain('net_001_schema.sql');
  expect(await store.migrate(pool)).toEqual([]);
});

afterAll(async () => {
  await pool?.end();
  await db?.dispose();
});

describe('createNetworks', () => {
  it('creates the Milestone-1 networks given in the wrong order in dependency order, in one transaction', async () => {
    const out = await tx((c) =>
      store.createNetworks(c, {
        clusterNetworks: [
          { name: 'lb', cidr: '10.10.0.0/24', dependsOn: ['app'] },
          { name: 'app', cidr: '10.20.0.0/24', dependsOn: ['db'] },
          { name: 'db', cidr: '10.30.0.0/24' },
        ],
      }),
    );
    expect(out.order).toEqual(['cluster/db', 'cluster/app', 'cluster/lb']);
    expect(out.revision).toBe(1);
    // Numbers follow creation order, so the row order in the table shows the order of creation.
    const rows = (await pool.query<{ id: string; num: number; gateway_mac: string; gateway: string }>('SELECT id, num, gateway_mac::text, host(gateway) AS gateway FROM net.network ORDER BY num')).rows;
    expect(rows).toEqual([
      { id: 'cluster/db', num: 1, gateway_mac: '02:5d:00:00:00:01', gateway: '10.30.0.1' },
      { id: 'cluster/app', num: 2, gateway_mac: '02:5d:00:00:00:02', gateway: '10.20.0.1' },
      { id: 'cluster/lb', num: 3, gateway_mac: '02:5d:00:00:00:03', gateway: '10.10.0.1' },
    ]);
    const ipam = (await pool.query('SELECT id, cidr::text, host(gateway) AS gateway FROM ipam.network ORDER BY id')).rows;
    expect(ipam).toEqual([
      { id: 'cluster/app', cidr: '10.20.0.0/24', gateway: '10.20.0.1' },
      { id: 'cluster/db', cidr: '10.30.0.0/24', gateway: '10.30.0.1' },
      { id: 'cluster/lb', cidr: '10.10.0.0/24', gateway: '10.10.0.1' },
    ]);
    const g = await tx((c) => store.graph(c));
    expect([g.reachable('cluster/lb', 'cluster/app'), g.reachable('cluster/app', 'cluster/db'), g.reachable('cluster/lb', 'cluster/db')]).toEqual([true, true, false]);
    const snap = await store.snapshot(pool);
    expect(snap.revision).toBe(1);
    expect(snap.networks).toEqual([
      { id: 'cluster/db', num: 1, cidr: '10.30.0.0/24', gateway: '10.30.0.1', gatewayMac: '02:5d:00:00:00:01', dependsOn: [], parent: null, vlan: null, vni: null },
      { id: 'cluster/app', num: 2, cidr: '10.20.0.0/24', gateway: '10.20.0.1', gatewayMac: '02:5d:00:00:00:02', dependsOn: ['cluster/db'], parent: null, vlan: null, vni: null },
      { id: 'cluster/lb', num: 3, cidr: '10.10.0.0/24', gateway: '10.10.0.1', gatewayMac: '02:5d:00:00:00:03', dependsOn: ['cluster/app'], parent: null, vlan: null, vni: null },
    ]);
  });

  it('a set with one invalid network creates none of them', async () => {
    await unchangedBy(
      () =>
        tx((c) =>
          store.createNetworks(c, {
            clusterNetworks: [
              { name: 'ok1', cidr: '10.60.0.0/24' },
              { name: 'ok2', cidr: '10.61.0.0/24', dependsOn: ['ok1'] },
              { name: 'bad', cidr: '10.60.0.0/25', dependsOn: ['ok2'] },
            ],
          }),
        ),
      {
        code: 'CIDR_OVERLAP',
        path: '/clusterNetworks/2/cidr',
        message: '/clusterNetworks/2/cidr: 10.60.0.0/25 of cluster/bad overlaps 10.60.0.0/24 of cluster/ok1; addresses are unique cluster wide, so only a network nested in another (parent) may share its addresses',
      },
    );
    const left = await pool.query("SELECT count(*)::int AS n FROM net.network WHERE id IN ('cluster/ok1', 'cluster/ok2', 'cluster/bad')");
    expect(left.rows[0].n).toBe(0);
  });

  it('refuses a reference to a network that neither exists nor is in the command', async () => {
    await unchangedBy(() => tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'x', cidr: '10.62.0.0/24', dependsOn: ['db', 'nowhere'] }] })), {
      code: 'UNKNOWN_NETWORK_REFERENCE',
      path: '/clusterNetworks/0/dependsOn/1',
      message: '/clusterNetworks/0/dependsOn/1: network cluster/x depends on cluster/nowhere, which neither exists nor is created by this command',
    });
  });

  it('refuses an existing network and the same network twice', async () => {
    await unchangedBy(() => tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'db', cidr: '10.63.0.0/24' }] })), {
      code: 'NETWORK_EXISTS',
      path: '/clusterNetworks/0/name',
      message: '/clusterNetworks/0/name: network cluster/db already exists',
    });
    await unchangedBy(() => tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'twin', cidr: '10.63.0.0/24' }, { name: 'twin', cidr: '10.64.0.0/24' }] })), {
      code: 'DUPLICATE_NETWORK',
      path: '/clusterNetworks/1/name',
      message: '/clusterNetworks/1/name: network cluster/twin appears twice in this command (first at /clusterNetworks/0)',
    });
  });

  it('refuses a semantic fault of one network at its place in the command', async () => {
    await unchangedBy(() => tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'v', cidr: '10.65.0.0/24', vlan: 5000 }] })), {
      code: 'VLAN_OUT_OF_RANGE',
      path: '/clusterNetworks/0/vlan',
      message: '/clusterNetworks/0/vlan: VLAN id 5000 is outside 1..4094 (0 and 4095 are reserved by 802.1Q)',
    });
  });

  it('concurrent commands with clashing CIDRs on separate connections: exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: `race${i}`, cidr: '10.67.0.0/24' }] }))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as { info: { code: string } }).info.code);
    expect(refused).toEqual(Array(7).fill('CIDR_OVERLAP'));
    const rows = await pool.query("SELECT id FROM net.network WHERE cidr = '10.67.0.0/24'");
    expect(rows.rowCount).toBe(1);
    await tx((c) => store.deleteNetwork(c, rows.rows[0].id));
  });

  it('refuses a principal of a tenant creating a cluster network', async () => {
    await unchangedBy(() => tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'mine', cidr: '10.66.0.0/24' }] }, { id: 'alice', tenant: 'acme' })), {
      code: 'TENANT_FORBIDDEN',
      path: '/clusterNetworks/0',
      message: '/clusterNetworks/0: principal alice of tenant acme may not manage network cluster/mine: it is not a network of tenant acme',
    });
  });
});

describe('tenant networks and TenantConfig', () => {
  it('refuses a tenant network while the tenant has no TenantConfig', async () => {
    await unchangedBy(() => tx((c) => store.createNetworks(c, { tenantNetworks: [{ tenant: 'acme', name: 'a', cidr: '10.70.0.0/24' }] })), {
      code: 'TENANT_CONFIG_MISSING',
      path: '/tenantNetworks/0/tenant',
      message: '/tenantNetworks/0/tenant: tenant acme has no TenantConfig, so network acme/a cannot be given a VLAN or VNI; a cluster admin must put one first',
    });
  });

  it('refuses a tenant setting a physical attribute', async () => {
    await unchangedBy(() => tx((c) => store.createNetworks(c, { tenantNetworks: [{ tenant: 'acme', name: 'a', cidr: '10.70.0.0/24', hostDevice: 'eth1' }] })), {
      code: 'TENANT_PHYSICAL_ATTRIBUTE',
      path: '/tenantNetworks/0/hostDevice',
      message: "/tenantNetworks/0/hostDevice: a TenantNetwork may not set hostDevice; VLAN, VNI and host device are assigned from tenant acme's TenantConfig",
    });
  });

  it('assigns VLANs from the TenantConfig, skipping ids other networks have, until it is exhausted', async () => {
    await tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'v700', cidr: '10.69.0.0/24', vlan: 700, hostDevice: 'eth1' }] }));
    await tx((c) => store.putTenantConfig(c, { tenant: 'acme', hostDevices: [{ name: 'eth1', vniType: 'vlan', vniRange: '700-702' }] }));
    const out = await tx((c) =>
      store.createNetworks(c, { tenantNetworks: [{ tenant: 'acme', name: 'b', cidr: '10.71.0.0/24', dependsOn: ['a'] }, { tenant: 'acme', name: 'a', cidr: '10.70.0.0/24', dependsOn: ['cluster/db'] }] }, { id: 'alice', tenant: 'acme' }),
    );
    expect(out.created.map((n) => [n.id, n.hostDevice, n.vlan, n.vni])).toEqual([
      ['acme/a', 'eth1', 701, null],
      ['acme/b', 'eth1', 702, null],
    ]);
    await unchangedBy(() => tx((c) => store.createNetworks(c, { tenantNetworks: [{ tenant: 'acme', name: 'c', cidr: '10.72.0.0/24' }] })), {
      code: 'TENANT_CONFIG_EXHAUSTED',
      path: '/tenantNetworks/0/tenant',
      message: "/tenantNetworks/0/tenant: tenant acme's TenantConfig is exhausted: every id it offers (eth1 vlan 700-702) is in use, so network acme/c cannot be given one",
    });
    await unchangedBy(() => tx((c) => store.putTenantConfig(c, { tenant: 'acme', hostDevices: [{ name: 'eth1', vniType: 'vlan', vniRange: '700-701' }] })), {
      code: 'TENANT_CONFIG_IN_USE',
      path: '/hostDevices',
      message: '/hostDevices: the new TenantConfig of acme no longer offers ids that its networks use: acme/b (eth1 vlan 702); delete those networks first',
    });
    await unchangedBy(() => tx((c) => store.createNetworks(c, { tenantNetworks: [{ tenant: 'acme', name: 'c', cidr: '10.72.0.0/24', dependsOn: ['other/x'] }] })), {
      code: 'CROSS_TENANT_REFERENCE',
      path: '/tenantNetworks/0/dependsOn/0',
      message: "/tenantNetworks/0/dependsOn/0: network acme/c may not reference other/x: a tenant network may only reference its own tenant's networks and cluster networks",
    });
  });
});

describe('interfaces and hosts', () => {
  it('attach allocates through IPAM and detach releases in the same transaction', async () => {
    await tx((c) => store.registerHost(c, { name: 'host-a', dpid: '00000000000000a1', uplinkPort: 'fab-a' }));
    const a = await tx((c) => store.attachInterface(c, { interfaceId: 'c1/eth0', networkId: 'cluster/app', host: 'host-a', portName: 'veth-c1', ip: { mode: 'dynamic' } }));
    expect(a).toMatchObject({ id: 'c1/eth0', ip: '10.20.0.2', mac: `02:5e:00:00:00:${a.num.toString(16).padStart(2, '0')}` });
    const s = await tx((c) => store.attachInterface(c, { interfaceId: 'c2/eth0', networkId: 'cluster/app', host: 'host-a', portName: 'veth-c2', mac: '02:00:00:00:00:0a', ip: { mode: 'static', address: '10.20.0.77' } }));
    expect([s.ip, s.mac, s.num]).toEqual(['10.20.0.77', '02:00:00:00:00:0a', a.num + 1]);
    const n = await tx((c) => store.attachInterface(c, { interfaceId: 'c3/eth0', networkId: 'cluster/db', host: 'host-a', portName: 'veth-c3', ip: { mode: 'none' } }));
    expect(n.ip).toBeNull();
    expect((await tx((c) => store.ipam.allocations(c, 'cluster/app'))).map((x) => [x.interfaceId, x.address])).toEqual([
      ['c1/eth0', '10.20.0.2'],
      ['c2/eth0', '10.20.0.77'],
    ]);
    const snap = await store.snapshot(pool);
    expect(snap.interfaces.find((i) => i.id === 'c2/eth0')).toEqual({ id: 'c2/eth0', num: s.num, networkId: 'cluster/app', host: 'host-a', portName: 'veth-c2', mac: '02:00:00:00:00:0a', ip: '10.20.0.77' });
    expect(snap.hosts).toEqual([{ name: 'host-a', dpid: '00000000000000a1', uplinkPort: 'fab-a', l2Domain: 'default', vtep: null }]);

    for (const id of ['c1/eth0', 'c2/eth0', 'c3/eth0']) await tx((c) => store.detachInterface(c, id));
    expect(await tx((c) => store.ipam.allocations(c, 'cluster/app'))).toEqual([]);
    expect((await pool.query('SELECT count(*)::int AS n FROM net.interface')).rows[0].n).toBe(0);
    // Numbers are never reused: the next interface gets a new one.
    const again = await tx((c) => store.attachInterface(c, { interfaceId: 'c1/eth0', networkId: 'cluster/app', host: 'host-a', portName: 'veth-c1', ip: { mode: 'dynamic' } }));
    expect([again.num, again.ip]).toEqual([n.num + 1, '10.20.0.2']);
  });

  it('refuses bad attachments with a specific error and changes nothing', async () => {
    const base = { interfaceId: 'c9/eth0', networkId: 'cluster/app', host: 'host-a', portName: 'veth-c9', ip: { mode: 'dynamic' as const } };
    const cases: [Parameters<NetworkStore['attachInterface']>[1], { code: string; path: string; message: string }][] = [
      [{ ...base, networkId: 'cluster/nope' }, { code: 'NETWORK_NOT_FOUND', path: '/networkId', message: '/networkId: network cluster/nope does not exist' }],
      [{ ...base, host: 'host-z' }, { code: 'HOST_NOT_FOUND', path: '/host', message: '/host: host host-z is not registered; register it first' }],
      [{ ...base, interfaceId: 'c1/eth0' }, { code: 'INTERFACE_EXISTS', path: '/interfaceId', message: '/interfaceId: interface c1/eth0 is already attached to network cluster/app on host host-a' }],
      [{ ...base, portName: 'veth-c1' }, { code: 'PORT_TAKEN', path: '/portName', message: '/portName: port veth-c1 on host host-a already carries interface c1/eth0' }],
      [{ ...base, mac: '01:00:5e:00:00:01' }, { code: 'MAC_NOT_USABLE', path: '/mac', message: '/mac: MAC 01:00:5e:00:00:01 cannot be used: it is a multicast address (the lowest bit of the first octet is set)' }],
      [{ ...base, mac: '02:5d:00:00:00:01' }, { code: 'MAC_NOT_USABLE', path: '/mac', message: "/mac: MAC 02:5d:00:00:00:01 cannot be used: the block 02:5d:00:00:00:00/32 holds the networks' gateway MACs" }],
      [{ ...base, ip: { mode: 'static', address: '10.20.0.2' } }, { code: 'ADDRESS_TAKEN', path: '/ip/address', message: '/ip/address: 10.20.0.2 on network cluster/app is already held by interface c1/eth0' }],
    ];
    for (const [req, expected] of cases) await unchangedBy(() => tx((c) => store.attachInterface(c, req)), expected);
    await tx((c) => store.attachInterface(c, { interfaceId: 'c5/eth0', networkId: 'cluster/db', host: 'host-a', portName: 'veth-c5', mac: '02:00:00:00:00:0b', ip: { mode: 'none' } }));
    await unchangedBy(() => tx((c) => store.attachInterface(c, { ...base, mac: '02:00:00:00:00:0B' })), {
      code: 'MAC_TAKEN',
      path: '/mac',
      message: '/mac: MAC 02:00:00:00:00:0b is already used by interface c5/eth0',
    });
    await tx((c) => store.detachInterface(c, 'c5/eth0'));
    await unchangedBy(() => tx((c) => store.detachInterface(c, 'ghost')), { code: 'INTERFACE_NOT_FOUND', path: '/interfaceId', message: '/interfaceId: interface ghost is not attached to any network' });
  });

  it('hosts: dpid unique, not removable while interfaces are attached', async () => {
    await unchangedBy(() => tx((c) => store.registerHost(c, { name: 'host-b', dpid: '00000000000000a1', uplinkPort: 'fab-b' })), {
      code: 'DPID_TAKEN',
      path: '/dpid',
      message: '/dpid: datapath id 00000000000000a1 is already registered for host host-a',
    });
    await unchangedBy(() => tx((c) => store.unregisterHost(c, 'host-a')), {
      code: 'HOST_HAS_INTERFACES',
      path: '/name',
      message: '/name: host host-a cannot be unregistered: 1 interface(s) are attached on it (c1/eth0); detach them first',
    });
    await unchangedBy(() => tx((c) => store.unregisterHost(c, 'host-q')), { code: 'HOST_NOT_FOUND', path: '/name', message: '/name: host host-q is not registered; register it first' });
    await tx((c) => store.registerHost(c, { name: 'host-b', dpid: '00000000000000b1', uplinkPort: 'fab-b' }));
    await tx((c) => store.unregisterHost(c, 'host-b'));
    expect((await store.snapshot(pool)).hosts.map((h) => h.name)).toEqual(['host-a']);
  });

  it('hosts: a VTEP (VXLAN only, no uplink) or both, in their own L2 domain; each VTEP address belongs to one host', async () => {
    await tx((c) => store.registerHost(c, { name: 'host-v', dpid: '00000000000000c1', vtep: { ip: '10.99.0.1', port: 'vx0' } }));
    await tx((c) => store.registerHost(c, { name: 'host-w', dpid: '00000000000000c2', uplinkPort: 'fab-w', l2Domain: 'rack-2', vtep: { ip: '10.99.0.2', port: 'vx0' } }));
    const hosts = (await store.snapshot(pool)).hosts.filter((h) => h.name !== 'host-a');
    expect(hosts).toEqual([
      { name: 'host-v', dpid: '00000000000000c1', uplinkPort: null, l2Domain: 'default', vtep: { ip: '10.99.0.1', port: 'vx0' } },
      { name: 'host-w', dpid: '00000000000000c2', uplinkPort: 'fab-w', l2Domain: 'rack-2', vtep: { ip: '10.99.0.2', port: 'vx0' } },
    ]);
    await unchangedBy(() => tx((c) => store.registerHost(c, { name: 'host-x', dpid: '00000000000000c3', vtep: { ip: '10.99.0.1', port: 'vx0' } })), {
      code: 'VTEP_TAKEN',
      path: '/vtep/ip',
      message: '/vtep/ip: tunnel endpoint 10.99.0.1 is already the VTEP of host host-v; each host needs its own',
    });
    await unchangedBy(() => tx((c) => store.registerHost(c, { name: 'host-x', dpid: '00000000000000c3', vtep: { ip: '10.99.0.300', port: 'vx0' } })), {
      code: 'INVALID_ADDRESS',
      path: '/vtep/ip',
      message: '/vtep/ip: "10.99.0.300" is not a valid IPv4 address: octet 4 is 300, above 255',
    });
    await tx((c) => store.unregisterHost(c, 'host-v'));
    await tx((c) => store.unregisterHost(c, 'host-w'));
  });
});

describe('update and delete', () => {
  it('refuses deleting a network that has interfaces or that others depend on or nest in', async () => {
    await unchangedBy(() => tx((c) => store.deleteNetwork(c, 'cluster/app')), {
      code: 'NETWORK_HAS_INTERFACES',
      path: '/id',
      message: '/id: network cluster/app cannot be deleted: 1 interface(s) are attached (c1/eth0); detach them first',
    });
    await unchangedBy(() => tx((c) => store.deleteNetwork(c, 'cluster/db')), {
      code: 'NETWORK_DEPENDED_UPON',
      path: '/id',
      message: '/id: network cluster/db cannot be deleted: acme/a, cluster/app depend(s) on it',
    });
    await tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'outer', cidr: '10.80.0.0/16', pools: [{ start: '10.80.0.2', end: '10.80.0.200' }] }, { name: 'inner', cidr: '10.80.128.0/17', parent: 'outer' }] }));
    await unchangedBy(() => tx((c) => store.deleteNetwork(c, 'cluster/outer')), {
      code: 'NETWORK_DEPENDED_UPON',
      path: '/id',
      message: '/id: network cluster/outer cannot be deleted: cluster/inner nest(s) in it',
    });
    await unchangedBy(() => tx((c) => store.deleteNetwork(c, 'cluster/none')), { code: 'NETWORK_NOT_FOUND', path: '/id', message: '/id: network cluster/none does not exist' });
    await tx((c) => store.deleteNetwork(c, 'cluster/inner'));
    await tx((c) => store.deleteNetwork(c, 'cluster/outer'));
    const left = await pool.query("SELECT (SELECT count(*)::int FROM net.network WHERE id LIKE 'cluster/%er') AS net, (SELECT count(*)::int FROM ipam.network WHERE id LIKE 'cluster/%er') AS ipam");
    expect(left.rows[0]).toEqual({ net: 0, ipam: 0 });
  });

  it('refuses a change that would re-address running interfaces, or move them to another parent', async () => {
    await unchangedBy(() => tx((c) => store.updateNetwork(c, { clusterNetwork: { name: 'app', cidr: '10.20.0.0/24', dependsOn: ['db'], pools: [{ start: '10.20.0.100', end: '10.20.0.200' }] } })), {
      code: 'NETWORK_IN_USE',
      path: '/clusterNetwork',
      message: '/clusterNetwork: network cluster/app cannot be changed this way: 1 existing allocation(s) would have to be re-addressed: c1/eth0 holds 10.20.0.2 (dynamic, outside the new pools); release them first',
    });
    await unchangedBy(() => tx((c) => store.updateNetwork(c, { clusterNetwork: { name: 'app', cidr: '10.20.0.0/24', dependsOn: ['db'], parent: 'lb' } })), {
      code: 'CHANGE_WHILE_IN_USE',
      path: '/clusterNetwork/parent',
      message: '/clusterNetwork/parent: parent of network cluster/app cannot change from none to cluster/lb while 1 interface(s) are attached (c1/eth0); detach them first',
    });
    const before = await store.revision(pool);
    const up = await tx((c) => store.updateNetwork(c, { clusterNetwork: { name: 'app', cidr: '10.20.0.0/24', dependsOn: ['db'], routes: [{ dst: '192.0.2.0/24', via: '10.20.0.254' }] } }));
    expect(up.revision).toBe(before + 1);
    await unchangedBy(() => tx((c) => store.updateNetwork(c, { clusterNetwork: { name: 'gone', cidr: '10.90.0.0/24' } })), {
      code: 'NETWORK_NOT_FOUND',
      path: '/clusterNetwork/name',
      message: '/clusterNetwork/name: network cluster/gone does not exist',
    });
  });

  it('announces every committed change with its revision on sdmi_net_changed', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const got: string[] = [];
      listener.on('notification', (m) => {
        if (m.channel === NET_CHANGED_CHANNEL) got.push(m.payload ?? '');
      });
      await listener.query(`LISTEN ${NET_CHANGED_CHANNEL}`);
      const r = await tx((c) => store.registerHost(c, { name: 'host-n', dpid: '00000000000000c1', uplinkPort: 'fab-n' }));
      // A refused change rolls back, and so does its notification.
      await tx((c) => store.unregisterHost(c, 'host-zz')).catch(() => undefined);
      await listener.query('SELECT 1');
      await new Promise((res) => setTimeout(res, 100));
      expect(got).toEqual([String(r.revision)]);
    } finally {
      await listener.end();
    }
  });

  it('refuses when the never-reused network numbers run out', async () => {
    const saved = (await pool.query('SELECT next_network_num FROM net.state')).rows[0].next_network_num as number;
    await pool.query('UPDATE net.state SET next_network_num = 65535');
    try {
      await unchangedBy(() => tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'n1', cidr: '10.91.0.0/24' }, { name: 'n2', cidr: '10.92.0.0/24' }] })), {
        code: 'NUMBERS_EXHAUSTED',
        message: 'every network number 1..65535 has been given out once, and numbers are never reused',
      });
    } finally {
      await pool.query('UPDATE net.state SET next_network_num = $1', [saved]);
    }
  });
});

describe('service addresses', () => {
  const attach = (id: string, networkId: string, port: string, mode: 'dynamic' | 'none' = 'dynamic') =>
    tx((c) => store.attachInterface(c, { interfaceId: id, networkId, host: 'host-s', portName: port, ip: { mode } }));

  beforeAll(async () => {
    await tx((c) => store.createNetworks(c, { clusterNetworks: [{ name: 'svc', cidr: '10.93.0.0/24' }, { name: 'svc-other', cidr: '10.94.0.0/24' }] }));
    await tx((c) => store.registerHost(c, { name: 'host-s', dpid: '00000000000000d1', uplinkPort: 'fab-s' }));
    await attach('s1/eth0', 'cluster/svc', 'veth-s1');
    await attach('s2/eth0', 'cluster/svc', 'veth-s2');
    await attach('s3/eth0', 'cluster/svc-other', 'veth-s3');
    await attach('s4/eth0', 'cluster/svc', 'veth-s4', 'none');
  });

  it('allocates the address from the network on first use, keeps it, and replaces the backends level-triggered', async () => {
    const first = await tx((c) => store.setServiceEndpoints(c, { service: 'shop/web', networkId: 'cluster/svc', backends: ['s2/eth0', 's1/eth0'] }));
    expect(first).toMatchObject({ service: 'shop/web', networkId: 'cluster/svc', backends: ['s1/eth0', 's2/eth0'], changed: true });
    expect(first.ip).toMatch(/^10\.93\.0\.\d+$/);
    const held = (await pool.query('SELECT interface_id FROM ipam.allocation')).rows.map((r) => r.interface_id as string);
    expect(held).toContain('svc:shop/web@cluster/svc');
    const same = await tx((c) => store.setServiceEndpoints(c, { service: 'shop/web', networkId: 'cluster/svc', backends: ['s1/eth0', 's2/eth0'] }));
    expect(same).toMatchObject({ ip: first.ip, changed: false, revision: first.revision });
    const fewer = await tx((c) => store.setServiceEndpoints(c, { service: 'shop/web', networkId: 'cluster/svc', backends: ['s2/eth0'] }));
    expect(fewer).toMatchObject({ ip: first.ip, num: first.num, backends: ['s2/eth0'], changed: true });
    expect(fewer.revision).toBeGreaterThan(first.revision);
    const snap = await store.snapshot(pool);
    expect(snap.services).toEqual([{ service: 'shop/web', networkId: 'cluster/svc', num: first.num, ip: first.ip, mac: first.mac, backends: ['s2/eth0'] }]);
  });

  it('a detached backend leaves the service in the same transaction', async () => {
    await attach('s5/eth0', 'cluster/svc', 'veth-s5');
    await tx((c) => store.setServiceEndpoints(c, { service: 'shop/api', networkId: 'cluster/svc', backends: ['s5/eth0', 's1/eth0'] }));
    await tx((c) => store.detachInterface(c, 's5/eth0'));
    expect((await store.serviceAddresses(pool, 'shop/api'))[0]!.backends).toEqual(['s1/eth0']);
  });

  it('refuses backends that are not interfaces with an address on the network, and a moved address, changing nothing', async () => {
    await unchangedBy(() => tx((c) => store.setServiceEndpoints(c, { service: 'shop/web', networkId: 'cluster/svc', backends: ['s1/eth0', 's3/eth0'] })), {
      code: 'BACKEND_NOT_USABLE',
      path: '/backends/1',
      message: '/backends/1: interface s3/eth0 cannot serve shop/web on cluster/svc: it is on network cluster/svc-other',
    });
    await unchangedBy(() => tx((c) => store.setServiceEndpoints(c, { service: 'shop/web', networkId: 'cluster/svc', backends: ['nope/eth0'] })), {
      code: 'BACKEND_NOT_USABLE',
      message: '/backends/0: interface nope/eth0 cannot serve shop/web on cluster/svc: no interface of that id is attached',
    });
    await unchangedBy(() => tx((c) => store.setServiceEndpoints(c, { service: 'shop/web', networkId: 'cluster/svc', backends: ['s4/eth0'] })), {
      code: 'BACKEND_NOT_USABLE',
      message: '/backends/0: interface s4/eth0 cannot serve shop/web on cluster/svc: it has no address (IP policy none)',
    });
    await unchangedBy(() => tx((c) => store.setServiceEndpoints(c, { service: 'shop/new', networkId: 'cluster/nope', backends: [] })), {
      code: 'NETWORK_NOT_FOUND',
      path: '/networkId',
      message: '/networkId: network cluster/nope does not exist',
    });
    const [web] = await store.serviceAddresses(pool, 'shop/web');
    await unchangedBy(() => tx((c) => store.setServiceEndpoints(c, { service: 'shop/web', networkId: 'cluster/svc', address: '10.93.0.250', backends: [] })), {
      code: 'SERVICE_ADDRESS_FIXED',
      path: '/address',
      message: `/address: shop/web already holds ${web!.ip} on cluster/svc; its address cannot change to 10.93.0.250 (release it first, or leave address out)`,
    });
  });

  it('takes a static address, refuses one outside the network, and a network holding service addresses is not deleted', async () => {
    const s = await tx((c) => store.setServiceEndpoints(c, { service: 'shop/db', networkId: 'cluster/svc-other', address: '10.94.0.53', backends: ['s3/eth0'] }));
    expect(s.ip).toBe('10.94.0.53');
    const err = (await tx((c) => store.setServiceEndpoints(c, { service: 'shop/db2', networkId: 'cluster/svc-other', address: '10.1.2.3', backends: [] })).catch((e: unknown) => e)) as { info: { path: string } };
    expect(err.info.path).toMatch(/^\/address/);
    await tx((c) => store.detachInterface(c, 's3/eth0'));
    await unchangedBy(() => tx((c) => store.deleteNetwork(c, 'cluster/svc-other')), {
      code: 'NETWORK_HAS_SERVICE_ADDRESSES',
      message: '/id: network cluster/svc-other cannot be deleted: 1 service address(es) are held on it (shop/db); release them first (releaseServiceAddress)',
    });
  });

  it('releases the address to IPAM, and releasing again is not an error', async () => {
    const r = await tx((c) => store.releaseServiceAddress(c, 'shop/db', 'cluster/svc-other'));
    expect(r.released).toBe('10.94.0.53');
    const held = await pool.query(`SELECT 1 FROM ipam.allocation WHERE interface_id = 'svc:shop/db@cluster/svc-other'`);
    expect(held.rowCount).toBe(0);
    expect((await tx((c) => store.releaseServiceAddress(c, 'shop/db', 'cluster/svc-other'))).released).toBeNull();
    await tx((c) => store.deleteNetwork(c, 'cluster/svc-other'));
  });
});
