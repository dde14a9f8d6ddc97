// The network command handlers behind a real RDMP worker: real NATS and PostgreSQL, run-unique
// bus prefix and a throw-away database.
import { randomBytes } from 'node:crypto';
import { BadMessage, BusNames, RdmpClient, RdmpWorker, TaskFailed, connectNats, errorFromInfo, createPool, jetstreamManager, removeStreams } from '@sdmi/bus';
import { createDatabase, type TestDatabase } from '@sdmi/testbed';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkCommandKinds, NetworkStore, networkHandlers } from '../src/index';

const service = 'network-controller';
let db: TestDatabase;
let pool: pg.Pool;
let nc: Awaited<ReturnType<typeof connectNats>>;
let names: BusNames;
let worker: RdmpWorker;
let client: RdmpClient;
const store = new NetworkStore();

beforeAll(async () => {
  names = new BusNames(`t${randomBytes(4).toString('hex')}`);
  db = await createDatabase();
  pool = createPool(db.url, 10);
  nc = await connectNats(`test-networks-${names.prefix}`);
  await store.migrate(pool);
  worker = new RdmpWorker({ nc, pool, dbUrl: db.url, service, names, handlers: networkHandlers(store) });
  await worker.start();
  worker.serve();
  client = new RdmpClient(nc, { names });
});

afterAll(async () => {
  await worker?.stop();
  if (nc) {
    await removeStreams(await jetstreamManager(nc), names);
    await nc.close();
  }
  await pool?.end();
  await db?.dispose();
});

async function netRows(): Promise<unknown[]> {
  return (await pool.query('SELECT id, num FROM net.network ORDER BY num')).rows;
}

describe('network commands over RDMP', () => {
  it('the worker knows every network command kind', () => {
    expect(worker.kinds.sort()).toEqual(Object.values(NetworkCommandKinds).sort());
  });

  it('createNetworks of the Milestone-1 networks completes, created in dependency order', async () => {
    const out = await client.run(service, {
      kind: 'createNetworks',
      key: 'networks',
      payload: {
        clusterNetworks: [
          { name: 'lb', cidr: '10.10.0.0/24', dependsOn: ['app'] },
          { name: 'app', cidr: '10.20.0.0/24', dependsOn: ['db'] },
          { name: 'db', cidr: '10.30.0.0/24' },
        ],
      },
    });
    expect(out.status).toBe('completed');
    expect(out.result?.order).toEqual(['cluster/db', 'cluster/app', 'cluster/lb']);
    expect(await netRows()).toEqual([
      { id: 'cluster/db', num: 1 },
      { id: 'cluster/app', num: 2 },
      { id: 'cluster/lb', num: 3 },
    ]);
  });

  it('an invalid createNetworks fails with the specific error and writes nothing', async () => {
    const before = await netRows();
    const revision = await store.revision(pool);
    const receipt = await client.submit(service, {
      kind: 'createNetworks',
      key: 'networks',
      payload: { clusterNetworks: [{ name: 'cache', cidr: '10.40.0.0/24' }, { name: 'queue', cidr: '10.20.0.128/25', dependsOn: ['cache'] }] },
    });
    const [outcome] = await client.wait(service, receipt.taskId);
    expect(outcome!.status).toBe('failed');
    const err = errorFromInfo(outcome!.error!);
    expect(err).toBeInstanceOf(TaskFailed);
    expect((err as TaskFailed).info).toEqual({
      code: 'CIDR_OVERLAP',
      path: '/payload/clusterNetworks/1/cidr',
      rule: 'cidrs-disjoint',
      message: '/payload/clusterNetworks/1/cidr: 10.20.0.128/25 of cluster/queue overlaps 10.20.0.0/24 of cluster/app; addresses are unique cluster wide, so only a network nested in another (parent) may share its addresses',
      details: { network: 'cluster/queue', cidr: '10.20.0.128/25', other: 'cluster/app', otherCidr: '10.20.0.0/24' },
    });
    expect(await netRows()).toEqual(before);
    expect(await store.revision(pool)).toBe(revision);
    const ipam = await pool.query("SELECT count(*)::int AS n FROM ipam.network WHERE id IN ('cluster/cache', 'cluster/queue')");
    expect(ipam.rows[0].n).toBe(0);
    // The failure is the task's recorded outcome, also when asked later.
    const st = await client.status(service, receipt.taskId);
    expect(st.records).toEqual([expect.objectContaining({ status: 'failed', error: expect.objectContaining({ code: 'CIDR_OVERLAP', path: '/payload/clusterNetworks/1/cidr' }) })]);
  });

  it('a tenant setting a physical attribute fails with that error, at its payload path', async () => {
    const err = await client.run(service, { kind: 'createNetworks', key: 'networks', payload: { tenantNetworks: [{ tenant: 'acme', name: 'web', cidr: '10.50.0.0/24', vlan: 7 }] } }).catch((e: unknown) => e);
    expect((err as TaskFailed).info).toMatchObject({
      code: 'TENANT_PHYSICAL_ATTRIBUTE',
      path: '/payload/tenantNetworks/0/vlan',
      message: "/payload/tenantNetworks/0/vlan: a TenantNetwork may not set vlan; VLAN, VNI and host device are assigned from tenant acme's TenantConfig",
    });
  });

  it('a payload off its schema is refused at submit, before it becomes a task', async () => {
    const err = await client.submit(service, { kind: 'createNetworks', key: 'networks', payload: { clusterNetworks: [{ name: 'x' }] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadMessage);
    expect((err as BadMessage).info).toMatchObject({ code: 'SCHEMA_VIOLATION', path: '/payload/clusterNetworks/0/cidr', rule: 'required' });
  });

  it('tenant config, host, attach and detach run as commands; detach releases the address', async () => {
    await client.run(service, { kind: 'putTenantConfig', key: 'networks', payload: { tenant: 'acme', hostDevices: [{ name: 'eth1', vniType: 'vlan', vniRange: '700-710' }] } });
    const t = await client.run(service, { kind: 'createNetworks', key: 'networks', payload: { tenantNetworks: [{ tenant: 'acme', name: 'web', cidr: '10.50.0.0/24', dependsOn: ['cluster/app'] }] }, principal: { id: 'alice', tenant: 'acme' } });
    expect((t.result?.created as { vlan: number; hostDevice: string }[])[0]).toMatchObject({ vlan: 700, hostDevice: 'eth1' });
    await client.run(service, { kind: 'registerHost', key: 'networks', payload: { name: 'host-a', dpid: '00000000000000a1', uplinkPort: 'fab-a' } });
    const a = await client.run(service, { kind: 'attachInterface', key: 'networks', payload: { interfaceId: 'c1/eth0', networkId: 'acme/web', host: 'host-a', portName: 'veth-c1', ip: { mode: 'dynamic' } } });
    expect(a.result).toMatchObject({ id: 'c1/eth0', ip: '10.50.0.2', networkId: 'acme/web' });
    const del = await client.run(service, { kind: 'deleteNetwork', key: 'networks', payload: { id: 'acme/web' } }).catch((e: unknown) => e);
    expect((del as TaskFailed).info).toMatchObject({
      code: 'NETWORK_HAS_INTERFACES',
      path: '/payload/id',
      message: '/payload/id: network acme/web cannot be deleted: 1 interface(s) are attached (c1/eth0); detach them first',
    });
    await client.run(service, { kind: 'detachInterface', key: 'networks', payload: { interfaceId: 'c1/eth0' } });
    expect(await store.ipam.allocations(pool, 'acme/web')).toEqual([]);
    await client.run(service, { kind: 'deleteNetwork', key: 'networks', payload: { id: 'acme/web' } });
    await client.run(service, { kind: 'unregisterHost', key: 'networks', payload: { name: 'host-a' } });
    const snap = await store.snapshot(pool);
    expect([snap.networks.map((n) => n.id), snap.interfaces, snap.hosts]).toEqual([['cluster/db', 'cluster/app', 'cluster/lb'], [], []]);
    const up = await client.run(service, { kind: 'updateNetwork', key: 'networks', payload: { clusterNetwork: { name: 'lb', cidr: '10.10.0.0/24', dependsOn: ['app'], routes: [{ dst: '192.0.2.0/24', via: '10.10.0.254' }] } } });
    expect(up.result?.revision).toBe(snap.revision + 1);
  });
});
