// The scheduler on a real cluster of two Docker hosts: a service with two networks is deployed and
// scaled through the bus; every replica is a container on one of the hosts with both interfaces
// and IPAM addresses, reaching what the policy allows; a container killed by hand is replaced; and
// after scaling to 0 nothing of it is left: no container, address, OVS port or flow. What the
// scheduler's queries say runs where, with which addresses, is checked against the containers, and
// what listNodes says of the hosts against their Docker Engines and the replicas placed on them.
// An update that drops a network gives its service address back once no replica is on it.
import { createPool } from '@sdmi/bus';
import type { ServiceAddress } from '@sdmi/contracts';
import { SchedulerQueries } from '@sdmi/scheduling';
import { describeInventory, docker, inventory, run, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const cluster = new LocalCluster('sc');
const tenant = cluster.tag;

const cmd = (kind: string, key: string, payload: Record<string, unknown>) => cluster.client.run('scheduler', { kind, key, payload });

interface Inventory {
  containers: { host: string; id: string; replica: string; running: boolean }[];
  allocations: { interface_id: string; address: string }[];
  replicaRows: number;
  /** Replicas whose start transaction has completed. */
  started: number;
  ports: string[];
  flows: string[];
}

/** Everything of the service that exists now, counted per kind. */
async function inventoryOf(service: string): Promise<Inventory> {
  const containers = [];
  for (const h of cluster.hosts.keys()) for (const c of await cluster.containers(h)) if (c.replica.startsWith(`${service}-`)) containers.push({ host: h, ...c });
  const pool = createPool(cluster.db.url, 2);
  try {
    const allocations = (await pool.query<{ interface_id: string; address: string }>(`SELECT interface_id, host('0.0.0.0'::inet + address) AS address FROM ipam.allocation WHERE interface_id LIKE $1`, [`${service}-%`])).rows;
    const replicaRows = (await pool.query('SELECT 1 FROM sched.replica WHERE service = $1', [service])).rowCount ?? 0;
    const started = (await pool.query(`SELECT 1 FROM sched.replica WHERE service = $1 AND state IN ('running', 'healthy')`, [service])).rowCount ?? 0;
    const ports: string[] = [];
    const flows: string[] = [];
    for (const h of cluster.hosts.values()) {
      const out = await run('ovs-vsctl', ['--timeout=10', '--format=csv', '--no-headings', '--columns=name,external_ids', 'find', 'Interface', `external_ids:sdmi-container-id!=""`]);
      for (const line of out.split('\n').filter((l) => l.includes(service))) ports.push(line);
      for (const f of await h.bridge.dumpFlows()) if (containersIps.some((ip) => f.includes(`=${ip},`) || f.endsWith(`=${ip}`) || f.includes(`=${ip} `))) flows.push(f);
    }
    return { containers, allocations, replicaRows, started, ports: [...new Set(ports)], flows };
  } finally {
    await pool.end();
  }
}
let containersIps: string[] = [];

async function interfacesOf(host: string, containerId: string): Promise<{ ifname: string; address: string }[]> {
  const out = await docker(cluster.hosts.get(host)!.endpoint, ['exec', containerId, 'ip', '-o', '-4', 'addr', 'show']);
  return out
    .split('\n')
    .map((l) => /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== 'lo')
    .map((m) => ({ ifname: m[1]!, address: m[2]! }));
}

async function macOf(host: string, containerId: string, ifname: string): Promise<string> {
  return (await docker(cluster.hosts.get(host)!.endpoint, ['exec', containerId, 'cat', `/sys/class/net/${ifname}/address`])).trim();
}

const listReplicas = async (service?: string) => (await cluster.client.query('scheduler', SchedulerQueries.listReplicas, service !== undefined ? { service } : {})).replicas;
const listNodes = async (node?: string) => (await cluster.client.query('scheduler', SchedulerQueries.listNodes, node !== undefined ? { node } : {})).nodes;
const MiB = 2 ** 20;
/** When beforeAll admitted the hosts, give or take a second of clock between the database and us. */
let admittedFrom = 0;
let admittedTo = 0;
const getService = async (service: string) => (await cluster.client.query('scheduler', SchedulerQueries.getService, { service })).service;
/** The service's addresses as getService first reported them: they stay while it exists. */
let addresses: ServiceAddress[] = [];

/**
 * listReplicas names every container of the service, on its host, with each interface's network,
 * name, address and MAC in the service's network order, as the container itself has them and
 * IPAM holds them.
 */
async function expectListedAsRunning(service: string, inv: Inventory): Promise<void> {
  const listed = (await listReplicas(service)).filter((r) => r.state !== 'stopped');
  expect(listed.map((r) => `${r.id} ${r.node}`).sort()).toEqual(inv.containers.map((c) => `${c.replica} ${c.host}`).sort());
  for (const r of listed) {
    const c = inv.containers.find((x) => x.replica === r.id)!;
    const inside = await interfacesOf(c.host, c.id);
    const want = [];
    for (const [network, ifname] of [['cluster/web', 'eth0'], ['cluster/mgmt', 'eth1']] as const) {
      const ip = inside.find((i) => i.ifname === ifname)!.address.split('/')[0]!;
      expect(inv.allocations.find((a) => a.interface_id === `${r.id}/${ifname}`)?.address).toBe(ip);
      want.push({ network, ifname, ip, mac: await macOf(c.host, c.id, ifname) });
    }
    expect(r.interfaces).toEqual(want);
  }
}

beforeAll(async () => {
  await cluster.start({ scheduler: true });
  await cluster.netCmd('createNetworks', {
    clusterNetworks: [
      { name: 'front', cidr: '10.64.1.0/24', dependsOn: ['web'] },
      { name: 'web', cidr: '10.64.2.0/24' },
      { name: 'mgmt', cidr: '10.64.9.0/24' },
    ],
  });
  // The hosts' agents announce themselves; the admin admits them.
  admittedFrom = Date.now() - 1_000;
  for (const host of cluster.hosts.keys()) {
    await cluster.until(async () => (await cmd('addNode', `node/${host}`, { name: host }), true), `${host} admitted`);
  }
  admittedTo = Date.now() + 1_000;
});

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('scheduler', () => {
  const service = `${tenant}/web`;

  it('deploys a service with two networks: every replica runs with both interfaces and IPAM addresses, spread over both hosts', async () => {
    await cmd('deployService', service, {
      spec: { tenant, name: 'web', image: 'sdmi/base:busybox', command: ['sleep', '3600'], replicas: 4, networks: [{ network: 'cluster/web', ip: { mode: 'dynamic' } }, { network: 'cluster/mgmt', ip: { mode: 'dynamic' } }] },
    });
    await cluster.until(async () => {
      const inv = await inventoryOf(service);
      return inv.started === 4 && inv.containers.filter((c) => c.running).length === 4;
    }, '4 replicas started and running', 60_000);
    const inv = await inventoryOf(service);
    expect(new Set(inv.containers.map((c) => c.host))).toEqual(new Set(['host-a', 'host-b']));
    expect(inv.allocations).toHaveLength(8);
    for (const c of inv.containers) {
      const ifs = await interfacesOf(c.host, c.id);
      expect(ifs.map((i) => i.ifname).sort()).toEqual(['eth0', 'eth1']);
      const mine = inv.allocations.filter((a) => a.interface_id.startsWith(`${c.replica}/`)).map((a) => a.address);
      expect(ifs.map((i) => i.address.split('/')[0]).sort()).toEqual(mine.sort());
    }
    containersIps = inv.allocations.map((a) => a.address);
    await expectListedAsRunning(service, inv);
    // The service's virtual address per network, once the loop has set its backends: the one the
    // network-controller holds, in the network's range, none of the replicas'.
    await cluster.until(async () => {
      const a = (await getService(service)).addresses;
      return a.length === 2 && a.every((x) => x.address !== null && x.backends === 4);
    }, 'a service address with 4 backends on each network');
    addresses = (await getService(service)).addresses;
    expect(addresses.map((a) => a.network)).toEqual(['cluster/web', 'cluster/mgmt']);
    expect(addresses[0]!.address).toMatch(/^10\.64\.2\.\d+$/);
    expect(addresses[1]!.address).toMatch(/^10\.64\.9\.\d+$/);
    expect(addresses.some((a) => containersIps.includes(a.address!))).toBe(false);
    const pool = createPool(cluster.db.url, 1);
    try {
      const held = (await pool.query<{ network_id: string; ip: string }>('SELECT network_id, host(ip) AS ip FROM net.service_address WHERE service = $1', [service])).rows;
      expect(addresses.map((a) => `${a.network} ${a.address}`).sort()).toEqual(held.map((h) => `${h.network_id} ${h.ip}`).sort());
    } finally {
      await pool.end();
    }
    const listed = await cluster.client.query('scheduler', SchedulerQueries.listServices, { tenant });
    expect(listed.services.find((x) => x.id === service)?.addresses).toEqual(addresses);
    // The inventory sees what exists (so that its zeros below mean something).
    const seen = await inventoryOf(service);
    expect(seen.ports).toHaveLength(8);
    // The bridges follow the network-controller's next snapshot, a moment after the ports appeared.
    await cluster.until(async () => {
      const flows = (await inventoryOf(service)).flows;
      return containersIps.every((ip) => flows.some((f) => f.includes(`=${ip},`)));
    }, 'admission flows for every replica address');
  });

  it('replicas reach each other across hosts on both of their networks', async () => {
    const inv = await inventoryOf(service);
    const a = inv.containers.find((c) => c.host === 'host-a')!;
    const b = inv.containers.find((c) => c.host === 'host-b')!;
    const webIp = (replica: string) => inv.allocations.find((x) => x.interface_id === `${replica}/eth0`)!.address;
    const mgmtIp = (replica: string) => inv.allocations.find((x) => x.interface_id === `${replica}/eth1`)!.address;
    expect(await cluster.pings('host-a', a.id, webIp(b.replica))).toBe(true);
    expect(await cluster.pings('host-b', b.id, mgmtIp(a.replica))).toBe(true);
    expect(await cluster.pings('host-b', b.id, webIp(a.replica))).toBe(true);
  });

  it('a container killed by hand is replaced by a new replica', async () => {
    const before = await inventoryOf(service);
    const victim = before.containers[0]!;
    await docker(cluster.hosts.get(victim.host)!.endpoint, ['kill', victim.id]);
    await cluster.until(
      async () => {
        const now = await inventoryOf(service);
        return now.started === 4 && now.containers.filter((c) => c.running).length === 4 && !now.containers.some((c) => c.replica === victim.replica);
      },
      'the killed replica replaced and removed',
      60_000,
    );
    containersIps = [...new Set([...containersIps, ...(await inventoryOf(service)).allocations.map((a) => a.address)])];
  });

  const spec = (revisionEnv: string, image = 'sdmi/base:busybox') => ({
    tenant,
    name: 'web',
    image,
    command: ['sleep', '3600'],
    env: { REVISION: revisionEnv },
    replicas: 4,
    networks: [{ network: 'cluster/web', ip: { mode: 'dynamic' } }, { network: 'cluster/mgmt', ip: { mode: 'dynamic' } }],
    update: { parallelism: 2, delayMs: 0, monitorMs: 1000, order: 'start-first', failureAction: 'rollback' },
  });
  const revisionOf = (replica: string) => Number(/@rev(\d+)/.exec(replica)![1]);
  async function rollout(): Promise<{ revision: number; rollout: { state: string; reason: string | null } | null }> {
    const pool = createPool(cluster.db.url, 2);
    try {
      return (await pool.query<{ record: { revision: number; rollout: { state: string; reason: string | null } | null } }>('SELECT record FROM sched.service WHERE id = $1', [service])).rows[0]!.record;
    } finally {
      await pool.end();
    }
  }

  it('a rolling update replaces every replica with the new revision, start-first, never fewer than 4 running', async () => {
    await cmd('updateService', service, { spec: spec('2') });
    let fewest = 4;
    await cluster.until(
      async () => {
        const inv = await inventoryOf(service);
        fewest = Math.min(fewest, inv.containers.filter((c) => c.running).length);
        const r = await rollout();
        return inv.containers.length === 4 && inv.started === 4 && inv.containers.every((c) => c.running && revisionOf(c.replica) === 2) && r.rollout?.state === 'complete';
      },
      'all replicas at revision 2, rollout complete',
      90_000,
    );
    expect(fewest).toBeGreaterThanOrEqual(4);
    const updated = await inventoryOf(service);
    containersIps = [...new Set([...containersIps, ...updated.allocations.map((a) => a.address)])];
    // The new revision's replicas report their own addresses; the service keeps its address.
    await cluster.until(async () => (await listReplicas(service)).length === 4, 'the old replicas gone from the records');
    await expectListedAsRunning(service, updated);
    await cluster.until(async () => JSON.stringify((await getService(service)).addresses) === JSON.stringify(addresses), `the service addresses still ${JSON.stringify(addresses)}, each with the 4 new replicas`);
  });

  it('an update to an image that cannot start rolls back by itself, saying why, and the old replicas keep running', async () => {
    await cmd('updateService', service, { spec: spec('3', 'sdmi/missing:none') });
    let fewest = 4;
    await cluster.until(
      async () => {
        const inv = await inventoryOf(service);
        fewest = Math.min(fewest, inv.containers.filter((c) => c.running && revisionOf(c.replica) === 2).length);
        const r = await rollout();
        return r.revision === 2 && inv.started === 4 && inv.containers.length === 4 && inv.containers.every((c) => c.running && revisionOf(c.replica) === 2);
      },
      'rolled back to revision 2',
      90_000,
    );
    // Start-first: no replica of revision 2 was stopped for a successor that never came up.
    expect(fewest).toBe(4);
    const r = await rollout();
    expect(r.rollout?.reason).toMatch(/rev ?3|revision 3|sdmi\/missing/i);
    containersIps = [...new Set([...containersIps, ...(await inventoryOf(service)).allocations.map((a) => a.address)])];
  });

  const drop = `${tenant}/drop`;
  const dropResources = { cpus: 0.25, memoryBytes: 64 * MiB };
  const dropSpec = (networks: string[]) => ({
    tenant,
    name: 'drop',
    image: 'sdmi/base:busybox',
    command: ['sleep', '3600'],
    replicas: 2,
    resources: dropResources,
    networks: networks.map((network) => ({ network, ip: { mode: 'dynamic' } })),
    // One slot at a time, each monitored for 3 s: for that long one replica of revision 1 is
    // left on cluster/mgmt beside the new ones.
    update: { parallelism: 1, delayMs: 0, monitorMs: 3000, order: 'start-first', failureAction: 'rollback' },
  });

  it('an update that drops a network: its service address follows the old replicas still on it, and is released with the last of them', async () => {
    await cmd('deployService', drop, { spec: dropSpec(['cluster/web', 'cluster/mgmt']) });
    await cluster.until(async () => {
      const a = (await getService(drop)).addresses;
      return a.length === 2 && a.every((x) => x.address !== null && x.backends === 2);
    }, 'a service address with 2 backends on cluster/web and cluster/mgmt', 60_000);
    const [web, mgmt] = (await getService(drop)).addresses;
    expect([web!.network, mgmt!.network]).toEqual(['cluster/web', 'cluster/mgmt']);
    await cmd('updateService', drop, { spec: dropSpec(['cluster/web']) });
    const seen = new Set<string>();
    await cluster.until(
      async () => {
        const svc = await getService(drop);
        const held = svc.addresses.find((a) => a.network === 'cluster/mgmt');
        if (held) seen.add(`${held.address} ${held.backends}`);
        const reps = await listReplicas(drop);
        return svc.rollout.state === 'complete' && reps.length === 2 && reps.every((r) => r.revision === 2 && r.state === 'running') && held === undefined;
      },
      'revision 2 rolled out, the replicas of revision 1 gone and the cluster/mgmt address released',
      90_000,
    );
    // Between the two slots only the old replica of slot 2 was on cluster/mgmt: the address had it alone.
    expect([...seen]).toContain(`${mgmt!.address} 1`);
    expect((await getService(drop)).addresses).toEqual([{ network: 'cluster/web', address: web!.address, backends: 2 }]);
    for (const r of await listReplicas(drop)) expect(r.interfaces.map((i) => `${i.network} ${i.ifname}`)).toEqual(['cluster/web eth0']);
    const pool = createPool(cluster.db.url, 1);
    try {
      const mine = (await pool.query<{ network_id: string; address: string }>('SELECT network_id, host(address) AS address FROM sched.service_address WHERE service = $1', [drop])).rows;
      expect(mine).toEqual([{ network_id: 'cluster/web', address: web!.address }]);
      const held = (await pool.query<{ network_id: string; ip: string }>('SELECT network_id, host(ip) AS ip FROM net.service_address WHERE service = $1', [drop])).rows;
      expect(held).toEqual([{ network_id: 'cluster/web', ip: web!.address }]);
    } finally {
      await pool.end();
    }
  });

  it("listNodes: both hosts admitted, ready and reachable, with their engines' capacity and labels, their bridges, and the replicas listReplicas places on each with what they reserve", async () => {
    // Replicas and nodes read between two equal reads of the replicas, so both describe one moment.
    let replicas: Awaited<ReturnType<typeof listReplicas>> = [];
    let nodes: Awaited<ReturnType<typeof listNodes>> = [];
    await cluster.until(async () => {
      const before = JSON.stringify(await listReplicas());
      nodes = await listNodes();
      replicas = await listReplicas();
      return JSON.stringify(replicas) === before;
    }, 'listReplicas unchanged across a listNodes');
    const placed = replicas.filter((r) => r.state !== 'stopped');
    expect(placed.filter((r) => r.service === drop)).toHaveLength(2);
    expect(nodes.map((n) => n.name)).toEqual(['host-a', 'host-b']);
    for (const n of nodes) {
      const h = cluster.hosts.get(n.name)!;
      const [cpus, memoryBytes] = (await docker(h.endpoint, ['info', '--format', '{{.NCPU}} {{.MemTotal}}'])).trim().split(' ').map(Number);
      const labels = Object.fromEntries(
        ((JSON.parse(await docker(h.endpoint, ['info', '--format', '{{json .Labels}}'])) as string[] | null) ?? []).map((l) => (l.includes('=') ? [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] : [l, ''])),
      );
      const mine = placed.filter((r) => r.node === n.name);
      const drops = mine.filter((r) => r.service === drop).length;
      expect(n).toEqual({
        name: n.name,
        state: 'ready',
        force: false,
        admittedAt: expect.any(String),
        reachable: true,
        lastSeen: expect.any(String),
        capacity: { cpus, memoryBytes },
        labels,
        bridge: h.bridge.name,
        replicas: mine.length,
        // Only the drop service reserves anything.
        reserved: { cpus: drops * dropResources.cpus, memoryBytes: drops * dropResources.memoryBytes },
      });
      // Admitted in beforeAll; announced within the last three of the agent's 5 s periods.
      expect(Date.parse(n.admittedAt!)).toBeGreaterThanOrEqual(admittedFrom);
      expect(Date.parse(n.admittedAt!)).toBeLessThanOrEqual(admittedTo);
      expect(Date.now() - Date.parse(n.lastSeen!)).toBeLessThan(15_000);
    }
    expect(nodes.reduce((sum, n) => sum + n.replicas, 0)).toBe(placed.length);
    expect((await listNodes('host-b')).map((n) => `${n.name} ${n.state} ${n.replicas}`)).toEqual([`host-b ready ${nodes[1]!.replicas}`]);
    await cmd('removeService', drop, { service: drop });
    await cluster.until(async () => (await listReplicas(drop)).length === 0 && (await inventoryOf(drop)).containers.length === 0, 'the drop service gone', 60_000);
  });

  it('listNodes with an unknown node lists none; a bad node name is refused with the field and the rule', async () => {
    expect(await listNodes('host-z')).toEqual([]);
    await expect(cluster.client.query('scheduler', SchedulerQueries.listNodes, { node: 'Bad Name' })).rejects.toMatchObject({ info: { code: 'SCHEMA_VIOLATION', path: '/node' } });
    // The scheduler itself refuses it too, not only the client's check.
    const raw = await cluster.client.queryRaw('scheduler', 'listNodes', JSON.stringify({ node: 'Bad Name' }));
    expect(raw).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path: '/node', rule: 'pattern' } });
  });

  it('addNode refuses a node whose agent never reported, naming what to do; removeNode refuses an unknown node', async () => {
    await expect(cmd('addNode', 'node/host-z', { name: 'host-z' })).rejects.toMatchObject({ info: { code: 'NODE_NOT_REPORTING', path: '/payload/name', message: expect.stringContaining('start its node-agent') } });
    await expect(cmd('removeNode', 'node/host-z', { name: 'host-z' })).rejects.toMatchObject({ info: { code: 'NODE_NOT_FOUND' } });
  });

  it('removeNode drains: every replica moves to the other host, the service keeps 4 running replicas throughout', async () => {
    const before = await inventoryOf(service);
    expect(before.containers.some((c) => c.host === 'host-b')).toBe(true);
    const out = await cmd('removeNode', 'node/host-b', { name: 'host-b' });
    expect(out.result).toMatchObject({ node: 'host-b', state: 'draining' });
    expect((await listNodes('host-b'))[0]).toMatchObject({ state: 'draining', force: false, admittedAt: expect.any(String) });
    let fewest = 4;
    await cluster.until(
      async () => {
        const inv = await inventoryOf(service);
        fewest = Math.min(fewest, inv.containers.filter((c) => c.running).length);
        return inv.containers.length === 4 && inv.started === 4 && inv.containers.every((c) => c.host === 'host-a' && c.running);
      },
      'all replicas on host-a',
      90_000,
    );
    // Start-first: a successor runs before its predecessor stops.
    expect(fewest).toBeGreaterThanOrEqual(4);
    const pool = createPool(cluster.db.url, 2);
    try {
      await cluster.until(async () => (await pool.query(`SELECT 1 FROM sched.node WHERE name = 'host-b'`)).rowCount === 0, 'host-b removed once drained');
    } finally {
      await pool.end();
    }
    // Removed, host-b's agent still announces it: listed as a host addNode can take again, with nothing on it.
    const [a, b] = await listNodes();
    expect(b).toMatchObject({ name: 'host-b', state: 'unadmitted', force: false, admittedAt: null, reachable: true, replicas: 0, reserved: { cpus: 0, memoryBytes: 0 } });
    expect(b!.capacity).not.toBeNull();
    expect(a).toMatchObject({ name: 'host-a', state: 'ready', replicas: (await listReplicas()).filter((r) => r.node === 'host-a' && r.state !== 'stopped').length });
    containersIps = [...new Set([...containersIps, ...(await inventoryOf(service)).allocations.map((a) => a.address)])];
  });

  it('scaled to 10, every replica runs with both interfaces; scaled to 0 and removed, nothing of it is left: no container, address, replica record, OVS port or flow', async () => {
    await cmd('addNode', 'node/host-b', { name: 'host-b' });
    await cmd('scaleService', service, { service, replicas: 10 });
    await cluster.until(async () => {
      const inv = await inventoryOf(service);
      return inv.started === 10 && inv.containers.length === 10 && inv.containers.every((c) => c.running);
    }, '10 replicas started and running', 120_000);
    const ten = await inventoryOf(service);
    expect({ allocations: ten.allocations.length, ports: ten.ports.length, hosts: new Set(ten.containers.map((c) => c.host)).size }).toEqual({ allocations: 20, ports: 20, hosts: 2 });
    containersIps = [...new Set([...containersIps, ...ten.allocations.map((a) => a.address)])];
    await cmd('scaleService', service, { service, replicas: 0 });
    await cluster.until(async () => {
      const inv = await inventoryOf(service);
      return inv.containers.length === 0 && inv.allocations.length === 0 && inv.replicaRows === 0;
    }, 'everything of the service gone', 60_000);
    await cmd('removeService', service, { service });
    const inv = await inventoryOf(service);
    expect({ containers: inv.containers.length, allocations: inv.allocations.length, replicas: inv.replicaRows, ports: inv.ports }).toEqual({ containers: 0, allocations: 0, replicas: 0, ports: [] });
    // Flows go with the ports (reconciled on the next snapshot), and reactive pairs time out or are removed.
    await cluster.until(async () => (await inventoryOf(service)).flows.length === 0, 'no flow mentions an address of the service', 40_000);
  });

  it('refuses a bad service with the field and the rule, and changes nothing', async () => {
    const err = await cmd('deployService', `${tenant}/bad`, { spec: { tenant, name: 'bad', image: 'sdmi/base:busybox', replicas: 2, networks: [{ network: 'cluster/web', ip: { mode: 'static', addresses: ['10.64.2.50'] } }] } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ info: { code: expect.any(String), path: expect.stringMatching(/^\/payload\/spec/) } });
    const pool = createPool(cluster.db.url, 2);
    try {
      expect((await pool.query('SELECT 1 FROM sched.service WHERE id = $1', [`${tenant}/bad`])).rowCount).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
