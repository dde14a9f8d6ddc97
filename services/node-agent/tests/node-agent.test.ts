// Containers on two real Docker hosts (the machine's dockerd and one more of our own), each host
// with its own OVS bridge and node-agent, all on one fabric, programmed by the network-controller:
// everything a user runs, in processes of their own, driven only over the bus. The addresses come
// from IPAM (attachInterface), the containers from runReplica on the host's agent; who reaches
// whom is the policy lb → app → db; removing a replica leaves no container, port or address; a
// container restarted by hand gets its interfaces back.
import { createPool, type Outcome } from '@sdmi/bus';
import { hostIfNameFor } from '@sdmi/container-net';
import { describeInventory, docker, inventory, mainDocker, run, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const cluster = new LocalCluster('na');
const tag = cluster.tag;
const names = cluster.names;
const hosts = cluster.hosts;
const until = cluster.until.bind(cluster);
const netCmd = cluster.netCmd.bind(cluster);
const nodeCmd = (host: string, kind: string, replicaId: string, payload: Record<string, unknown>): Promise<Outcome> =>
  cluster.client.run(`node-${host}`, { kind, key: `replica/${replicaId}`, payload }, { timeoutMs: 90_000 });

interface Replica {
  id: string;
  host: string;
  ip: string;
  containerId: string;
}

/** What the scheduler does for one replica: an address per network, then the container on its host. */
async function deploy(host: string, replicaId: string, networkId: string): Promise<Replica> {
  const interfaceId = `${replicaId}/eth0`;
  const a = (await netCmd('attachInterface', { interfaceId, networkId, host, portName: hostIfNameFor(interfaceId), ip: { mode: 'dynamic' } })).result as { ip: string; mac: string; prefixLength: number; gateway: string };
  const out = await nodeCmd(host, 'runReplica', replicaId, {
    replicaId,
    service: replicaId.replace(/-\d+@rev\d+$/, ''),
    revision: 1,
    container: { image: 'sdmi/base:busybox', command: ['sleep', '3600'] },
    interfaces: [{ interfaceId, networkId, ifname: 'eth0', mac: a.mac, address: `${a.ip}/${a.prefixLength}`, gateway: a.gateway }],
  });
  return { id: replicaId, host, ip: a.ip, containerId: (out.result as { containerId: string }).containerId };
}

const pings = (from: Replica, to: Replica, wait = 3): Promise<boolean> => cluster.pings(from.host, from.containerId, to.ip, wait);

beforeAll(async () => {
  await cluster.start();
  await netCmd('createNetworks', {
    clusterNetworks: [
      { name: 'lb', cidr: '10.63.1.0/24', dependsOn: ['app'] },
      { name: 'app', cidr: '10.63.2.0/24', dependsOn: ['db'] },
      { name: 'db', cidr: '10.63.3.0/24' },
    ],
  });
});

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('node-agent on two Docker hosts', () => {
  // Replica ids carry the run tag, so a concurrent run's containers on the shared dockerd are never ours.
  const rid = (service: string, n: number) => `${tag}/${service}-${n}@rev1`;
  let app1: Replica, app2: Replica, lb1: Replica, db1: Replica;

  it('runs replicas as containers without Docker networking, wired into their host bridges, reachable by policy across hosts', async () => {
    app1 = await deploy('host-a', rid('app', 1), 'cluster/app');
    app2 = await deploy('host-b', rid('app', 2), 'cluster/app');
    lb1 = await deploy('host-b', rid('lb', 1), 'cluster/lb');
    db1 = await deploy('host-a', rid('db', 1), 'cluster/db');
    for (const r of [app1, app2, lb1, db1]) {
      const h = hosts.get(r.host)!;
      expect(await docker(h.endpoint, ['inspect', '-f', '{{.State.Running}} {{.HostConfig.NetworkMode}}', r.containerId])).toBe('true none\n');
      // The host end is a port of that host's bridge, named for the interface.
      expect(await run('ovs-vsctl', ['port-to-br', hostIfNameFor(`${r.id}/eth0`)])).toBe(`${h.bridge.name}\n`);
    }
    // The bridges follow the network-controller's next snapshot, a moment after the ports appeared.
    for (const r of [app1, app2, lb1, db1]) {
      await until(async () => (await hosts.get(r.host)!.bridge.dumpFlows()).some((f) => f.includes(`=${r.ip},`)), `admission flow of ${r.id}`);
    }
    expect(await pings(app1, app2)).toBe(true); // same network, across hosts
    expect(await pings(lb1, app1)).toBe(true); // lb → app, across hosts
    expect(await pings(app2, db1)).toBe(true); // app → db, across hosts
    expect(await pings(lb1, db1, 2)).toBe(false); // lb ↛ db
    expect(await pings(db1, lb1, 2)).toBe(false);
  });

  it('announces each node with its capacity and the replicas it runs', async () => {
    const sub = cluster.nc.subscribe(`${names.prefix}.evt.node.host-b.status`, { max: 1 });
    let status: { capacity: { cpus: number }; replicas: { replicaId: string; state: string }[]; bridge: string } | undefined;
    for await (const m of sub) status = m.json();
    expect(status!.bridge).toBe(hosts.get('host-b')!.bridge.name);
    expect(status!.capacity.cpus).toBeGreaterThan(0);
    expect(status!.replicas.map((r) => [r.replicaId, r.state]).sort()).toEqual([
      [app2.id, 'running'],
      [lb1.id, 'running'],
    ]);
  });

  it('a container restarted by hand gets its interfaces back from the agent, and its events reach the bus', async () => {
    const events: { action: string; replicaId?: string; exitCode?: number }[] = [];
    const sub = cluster.nc.subscribe(`${names.prefix}.evt.node.host-a.container`);
    void (async () => {
      for await (const m of sub) events.push(m.json());
    })();
    await docker(hosts.get('host-a')!.endpoint, ['restart', '-t', '1', db1.containerId]);
    await until(() => pings(app2, db1, 1), 'db1 reachable again after its restart');
    await until(async () => events.some((e) => e.action === 'start'), 'the start event');
    sub.unsubscribe();
    const mine = events.filter((e) => e.replicaId === db1.id).map((e) => e.action);
    // sleep ignores SIGTERM as PID 1: the restart kills it after the timeout, then starts it again.
    expect(mine.indexOf('die')).toBeGreaterThanOrEqual(0);
    expect(mine.indexOf('start')).toBeGreaterThan(mine.indexOf('die'));
    expect(events.find((e) => e.action === 'die')?.exitCode).toBe(137);
  });

  it('removing a replica leaves no container and no port; detaching releases the address', async () => {
    await nodeCmd('host-b', 'removeReplica', app2.id, { replicaId: app2.id, timeoutSec: 1 });
    expect((await docker(hosts.get('host-b')!.endpoint, ['ps', '-aq', '--filter', `label=sdmi.replica=${app2.id}`])).trim()).toBe('');
    expect((await run('ovs-vsctl', ['list-ports', hosts.get('host-b')!.bridge.name])).split('\n')).not.toContain(hostIfNameFor(`${app2.id}/eth0`));
    // Removing what is already gone succeeds: the command is safe to repeat.
    await nodeCmd('host-b', 'removeReplica', app2.id, { replicaId: app2.id, timeoutSec: 1 });
    await netCmd('detachInterface', { interfaceId: `${app2.id}/eth0` });
    const pool = createPool(cluster.db.url, 2);
    try {
      expect((await pool.query('SELECT 1 FROM ipam.allocation WHERE interface_id = $1', [`${app2.id}/eth0`])).rowCount).toBe(0);
      expect((await pool.query('SELECT 1 FROM node_agent.replica WHERE replica_id = $1', [app2.id])).rowCount).toBe(0);
    } finally {
      await pool.end();
    }
    expect(await pings(app1, app2, 1)).toBe(false);
  });

  it('refuses a malformed runReplica with the field and the rule, and creates nothing', async () => {
    const err = await nodeCmd('host-a', 'runReplica', rid('app', 9), { replicaId: rid('app', 9), service: `${tag}/app`, revision: 1, container: { image: 'sdmi/base:busybox' }, interfaces: [{ interfaceId: 'x', networkId: 'cluster/app', ifname: 'eth0', mac: '02:5e:00:00:00:99', address: '10.63.2.99' }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ info: { code: 'SCHEMA_VIOLATION', path: '/payload/interfaces/0/address' } });
    expect((await docker(mainDocker, ['ps', '-aq', '--filter', `label=sdmi.replica=${rid('app', 9)}`])).trim()).toBe('');
  });
});
