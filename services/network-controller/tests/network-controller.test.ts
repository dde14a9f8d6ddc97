// The network-controller as users run it: its own process, commands over the bus (NATS JetStream,
// PostgreSQL), switches on the real Open vSwitch. Hosts are registered, the Milestone-1 networks
// are created in one command given in the wrong order, interfaces are attached (addresses from
// IPAM), and the bridges follow: allowed pairs talk across hosts, lb never reaches db. A refused
// delete changes nothing; a detach removes the interface's flows and its address; a SIGKILLed
// controller started again loses no established traffic and leaves the proactive flows untouched.
// listNetworks, asked of the restarted controller, lists the specs exactly as they were submitted.
// Every bridge's port and flow counters are published as NetworkMetrics; a replica's port counts
// the pings through it, and a metrics-collector of the same cluster stores the samples.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BadMessage, BusNames, RdmpClient, connectNats, createPool, jetstreamManager, removeStreams, type Outcome } from '@sdmi/bus';
import { contracts, type ClusterNetwork, type NetworkMetrics, type TenantConfig, type TenantNetwork } from '@sdmi/contracts';
import { FailMode, Testbed, createDatabase, describeInventory, inventory, run, runId, type NetNamespace, type OvsBridge, type TestDatabase } from '@sdmi/testbed';
import { NetworkQueries } from '@sdmi/networks';
import { healthSubject, requestHealth } from '@sdmi/service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const collectorMain = fileURLToPath(new URL('../../metrics-collector/src/main.ts', import.meta.url));
const SERVICE = 'network-controller';
const tag = runId();
const names = new BusNames(`${tag}nc`);
const instance = `nc-${tag}`;

const tb = new Testbed();
let db: TestDatabase;
let nc: Awaited<ReturnType<typeof connectNats>>;
let client: RdmpClient;
let port: number;
let proc: ChildProcess | undefined;
let collector: ChildProcess | undefined;
let procLog = '';
/** How often the service said it lost its LISTEN connection (each is one reconnect attempt). */
let listenLost = 0;
const bridges = new Map<string, { bridge: OvsBridge; uplink: string; dpid: string }>();

interface Attached {
  ns: NetNamespace;
  id: string;
  ip: string;
  mac: string;
  host: string;
}

function startService(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SDMI_BUS_PREFIX: names.prefix,
      SDMI_PG_URL: db.url,
      SDMI_NATS_URL: process.env.SDMI_NATS_URL ?? 'nats://127.0.0.1:4222',
      SDMI_INSTANCE_ID: instance,
      SDMI_OPENFLOW_LISTEN: `127.0.0.1:${port}`,
      SDMI_PAIR_IDLE_TIMEOUT: '5',
      SDMI_METRICS_INTERVAL_MS: '500',
      SDMI_LOG_LEVEL: 'warn',
    },
  });
  child.stdout!.on('data', (d: Buffer) => {
    listenLost += d.toString().split('lost the LISTEN connection').length - 1;
    procLog = (procLog + d.toString()).slice(-8000);
  });
  child.stderr!.on('data', (d: Buffer) => (procLog = (procLog + d.toString()).slice(-8000)));
  return child;
}

async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}\nservice output:\n${procLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Ready, and every registered bridge connected (its readiness detail says so). */
async function serviceReady(bridgesConnected: number): Promise<void> {
  await until(async () => {
    const h = await requestHealth(nc, healthSubject(SERVICE, instance), { timeout: 1_000 });
    return h.ready && h.checks.some((c) => c.name === 'openflow' && c.detail?.includes(`${bridgesConnected}/${bridgesConnected} host bridges connected`) === true);
  }, `service ready with ${bridgesConnected} bridges`);
}

const cmd = (kind: string, payload: Record<string, unknown>): Promise<Outcome> => client.run(SERVICE, { kind, key: 'networks', payload });

async function attach(host: string, networkId: string, name: string): Promise<Attached> {
  const ns = await tb.namespace({ bridge: bridges.get(host)!.bridge });
  const out = await cmd('attachInterface', { interfaceId: `${name}/eth0`, networkId, host, portName: ns.hostIf, ip: { mode: 'dynamic' } });
  const r = out.result as { ip: string; mac: string };
  const prefix = { 'acme/lb': 24, 'acme/app': 24, 'acme/db': 24 }[networkId];
  const gateway = r.ip.replace(/\.\d+$/, '.1');
  // What a node-agent does with IPAM's answer: address and MAC on the container's interface.
  await ns.exec(['ip', 'link', 'set', 'eth0', 'address', r.mac]);
  await ns.exec(['ip', 'addr', 'add', `${r.ip}/${prefix}`, 'dev', 'eth0']);
  await ns.exec(['ip', 'route', 'add', 'default', 'via', gateway]);
  return { ns, id: `${name}/eth0`, ip: r.ip, mac: r.mac, host };
}

const flowsOf = (host: string) => bridges.get(host)!.bridge.dumpFlows();

// Submitted in the first test, and listed back by listNetworks in the last.
const acmeConfig: TenantConfig = { tenant: 'acme', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '700-709' }] };
const acmeNetworks: TenantNetwork[] = [
  { tenant: 'acme', name: 'lb', cidr: '10.62.1.0/24', dependsOn: ['app'] },
  { tenant: 'acme', name: 'app', cidr: '10.62.2.0/24', dependsOn: ['db'] },
  { tenant: 'acme', name: 'db', cidr: '10.62.3.0/24' },
];

beforeAll(async () => {
  db = await createDatabase();
  nc = await connectNats(`test-${tag}`);
  client = new RdmpClient(nc, { names });
  const net = await import('node:net');
  port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as import('node:net').AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const fabric = await tb.bridge({ failMode: FailMode.Standalone });
  for (const [i, host] of ['host-a', 'host-b'].entries()) {
    const dpid = `00000000005e${(i + 1).toString(16).padStart(4, '0')}`;
    const bridge = await tb.bridge({ otherConfig: { 'datapath-id': dpid } });
    const uplink = await bridge.addVethPort();
    await fabric.addPort(uplink.peer);
    await run('ovs-vsctl', ['--timeout=10', '--', 'set', 'Bridge', bridge.name, 'controller=@c', '--', '--id=@c', 'create', 'Controller', `target="tcp:127.0.0.1:${port}"`, 'max_backoff=1000']);
    bridges.set(host, { bridge, uplink: uplink.bridgeEnd, dpid });
  }
  proc = startService();
  // The cluster's metrics-collector, as a process of its own: the judge of the network samples.
  collector = spawn(process.execPath, ['--import', 'tsx', collectorMain], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SDMI_BUS_PREFIX: names.prefix, SDMI_PG_URL: db.url, SDMI_NATS_URL: process.env.SDMI_NATS_URL ?? 'nats://127.0.0.1:4222', SDMI_INSTANCE_ID: `mc-${tag}`, SDMI_LOG_LEVEL: 'warn' },
  });
  collector.stderr!.on('data', (d: Buffer) => (procLog = (procLog + d.toString()).slice(-8000)));
  await serviceReady(0);
  await until(async () => (await requestHealth(nc, healthSubject('metrics-collector', `mc-${tag}`), { timeout: 1_000 })).ready, 'metrics-collector ready');
});

afterAll(async () => {
  proc?.kill('SIGTERM');
  collector?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  proc?.kill('SIGKILL');
  collector?.kill('SIGKILL');
  await tb.dispose();
  if (nc) {
    await removeStreams(await jetstreamManager(nc), names).catch(() => undefined);
    await nc.close();
  }
  await db?.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('network-controller service', () => {
  let lb1: Attached, app2: Attached, db1: Attached, app1: Attached;

  it('registers hosts and creates the Milestone-1 networks from one command in dependency order', async () => {
    for (const [name, b] of bridges) await cmd('registerHost', { name, dpid: b.dpid, uplinkPort: b.uplink });
    await cmd('putTenantConfig', { ...acmeConfig });
    const created = await cmd('createNetworks', { tenantNetworks: acmeNetworks });
    expect((created.result as { order: string[] }).order).toEqual(['acme/db', 'acme/app', 'acme/lb']);
    await serviceReady(2);
  });

  it('attached interfaces on two hosts reach exactly what the policy allows', async () => {
    lb1 = await attach('host-a', 'acme/lb', 'lb1');
    app2 = await attach('host-b', 'acme/app', 'app2');
    db1 = await attach('host-a', 'acme/db', 'db1');
    app1 = await attach('host-a', 'acme/app', 'app1');
    expect(new Set([lb1.ip, app2.ip, db1.ip, app1.ip]).size).toBe(4);
    // The store's NOTIFY reaches the controller after each commit; the ports' flows follow.
    await until(async () => (await flowsOf('host-a')).some((l) => l.includes(`nw_src=${app1.ip}`)), 'admission flow of app1 on host-a');
    expect(await lb1.ns.ping(app2.ip)).toBe(true); // lb → app, across hosts
    expect(await app2.ns.ping(db1.ip)).toBe(true); // app → db, across hosts
    expect(await app1.ns.ping(app2.ip)).toBe(true); // same network, across hosts
    expect(await lb1.ns.ping(db1.ip, { deadlineSec: 2 })).toBe(false); // lb ↛ db, same host
    expect(await db1.ns.ping(lb1.ip, { deadlineSec: 2 })).toBe(false);
  });

  it('says, per interface, whether its flows are on its bridge, and why not', async () => {
    const ask = (interfaceIds: string[]) => client.query(SERVICE, NetworkQueries.interfaceFlows, { interfaceIds });
    await cmd('attachInterface', { interfaceId: 'ghost/eth0', networkId: 'acme/app', host: 'host-b', portName: 'ghostport0', ip: { mode: 'dynamic' } });
    try {
      let got: Awaited<ReturnType<typeof ask>> | undefined;
      await until(async () => {
        got = await ask([lb1.id, 'ghost/eth0', 'nobody/eth0']);
        return got.interfaces[1]!.reason?.includes('port') === true;
      }, 'the controller knows the ghost interface');
      expect(got!.interfaces).toEqual([
        { interfaceId: lb1.id, host: 'host-a', installed: true },
        { interfaceId: 'ghost/eth0', host: 'host-b', installed: false, reason: 'port ghostport0 is not on the bridge of host host-b yet' },
        { interfaceId: 'nobody/eth0', installed: false, reason: 'interface nobody/eth0 is not attached (or the controller has not seen the change yet)' },
      ]);
      await expect(ask([])).rejects.toMatchObject({ info: { code: 'SCHEMA_VIOLATION' } });
    } finally {
      await cmd('detachInterface', { interfaceId: 'ghost/eth0' });
    }
  });

  it('publishes each bridge\'s port and flow counters as NetworkMetrics: a replica\'s port counts the traffic through it', async () => {
    const samples: { subject: string; data: unknown }[] = [];
    const sub = nc.subscribe(names.metrics('network'), { callback: (_err, m) => void samples.push({ subject: m.subject, data: m.json() }) });
    // Named as the scheduler names a replica's interface, so the sample can say whose port it is.
    const web = await attach('host-a', 'acme/app', 'acme/web-1@rev1');
    try {
      const ofport = Number((await run('ovs-vsctl', ['--timeout=10', 'get', 'Interface', web.ns.hostIf, 'ofport'])).trim());
      const latest = (): NetworkMetrics | undefined => samples.filter((s) => s.subject === names.metrics('network', 'host-a')).at(-1)?.data as NetworkMetrics | undefined;
      const webOf = (m: NetworkMetrics | undefined) => m?.interfaces.find((i) => i.port === web.ns.hostIf);
      await until(async () => webOf(latest()) !== undefined, 'a host-a sample with the new port');
      const before = latest()!;
      const pinged = await web.ns.tryExec(['ping', '-n', '-q', '-i', '0.1', '-c', '20', '-w', '10', app2.ip]);
      expect(pinged.stdout).toContain('20 received');
      const after = Date.now();
      const b = webOf(before)!;
      let now = before;
      // Port counters are the device's, at once; OVS credits a flow's packets from the datapath to
      // its rule by its revalidators, a little later (well within a second or two).
      await until(async () => {
        now = latest()!;
        return Date.parse(now.at) > after && webOf(now)!.flows.packets - b.flows.packets >= 20;
      }, 'a host-a sample taken after the pings whose flows counted them', 10_000);
      for (const s of samples) expect(contracts().check('NetworkMetrics', s.data).ok).toBe(true);
      expect(samples.some((s) => s.subject === names.metrics('network', 'host-b') && (s.data as NetworkMetrics).node === 'host-b')).toBe(true);
      expect(now).toMatchObject({ version: 1, node: 'host-a', bridge: bridges.get('host-a')!.bridge.name });
      // The bridge's own LOCAL port is no interface; every other named port is.
      expect(now.interfaces.some((i) => i.port === now.bridge)).toBe(false);
      expect(now.interfaces.find((i) => i.port === bridges.get('host-a')!.uplink)).not.toHaveProperty('network');
      expect(now.interfaces.find((i) => i.port === lb1.ns.hostIf)).toMatchObject({ network: 'acme/lb' });
      expect(now.interfaces.find((i) => i.port === lb1.ns.hostIf)).not.toHaveProperty('replicaId');
      const a = webOf(now)!;
      expect(a).toMatchObject({ ofport, replicaId: 'acme/web-1@rev1', network: 'acme/app' });
      // 20 echo requests in from the port, 20 replies out of it; every packet in meets a flow matching its in_port.
      expect(a.rxPackets - b.rxPackets).toBeGreaterThanOrEqual(20);
      expect(a.txPackets - b.txPackets).toBeGreaterThanOrEqual(20);
      expect(a.rxBytes - b.rxBytes).toBeGreaterThanOrEqual(20 * 98);
      expect(a.flows.count).toBeGreaterThan(0);
      expect(a.flows.packets - b.flows.packets).toBeGreaterThanOrEqual(20);
      // The collector judged them as the contract and the subject say, and stored them under the node.
      const pool = createPool(db.url, 1);
      try {
        await until(async () => {
          const r = await pool.query<{ body: NetworkMetrics }>(`SELECT body FROM metrics.sample WHERE kind = 'network' AND key = 'host-a' AND at = $1`, [now.at]);
          return r.rows[0]?.body.interfaces.find((i) => i.port === web.ns.hostIf)?.rxPackets === a.rxPackets;
        }, 'the collector stored the sample');
        expect((await pool.query('SELECT count(*)::int AS n FROM metrics.refusal')).rows[0].n).toBe(0);
      } finally {
        await pool.end();
      }
    } finally {
      sub.unsubscribe();
      await cmd('detachInterface', { interfaceId: web.id });
      // The next test compares flows before and after: its flows must be gone first.
      await until(async () => !(await flowsOf('host-a')).some((l) => l.includes(`=${web.ip},`) || l.includes(`=${web.ip} `)), 'no flow on host-a mentions the detached web interface');
    }
  });

  it('refuses to delete a network that has interfaces or dependents, and changes nothing', async () => {
    const before = await flowsOf('host-a');
    await expect(cmd('deleteNetwork', { id: 'acme/db' })).rejects.toMatchObject({ info: { code: 'NETWORK_HAS_INTERFACES' } });
    await expect(cmd('deleteNetwork', { id: 'acme/app' })).rejects.toMatchObject({ info: { code: expect.stringMatching(/NETWORK_HAS_INTERFACES|NETWORK_DEPENDED_UPON/) } });
    const pool = createPool(db.url, 2);
    try {
      const nets = await pool.query<{ id: string }>('SELECT id FROM net.network ORDER BY id');
      expect(nets.rows.map((r) => r.id)).toEqual(['acme/app', 'acme/db', 'acme/lb']);
    } finally {
      await pool.end();
    }
    const strip = (ls: string[]) => ls.filter((l) => /cookie=0x5d0[1237]/.test(l)).map((l) => l.replace(/duration=[0-9.]+s, |n_packets=\d+, |n_bytes=\d+, /g, '')).sort();
    expect(strip(await flowsOf('host-a'))).toEqual(strip(before));
  });

  it('a controller killed with SIGKILL and started again loses no established traffic and re-adds nothing', async () => {
    const proactive = async (host: string) => (await flowsOf(host)).filter((l) => /cookie=0x5d0[1237]/.test(l));
    const pinging = lb1.ns.tryExec(['ping', '-n', '-q', '-i', '0.1', '-c', '70', '-w', '20', app2.ip]);
    await new Promise((r) => setTimeout(r, 1_500));
    proc!.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    proc = startService();
    await serviceReady(2);
    const result = await pinging;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(result.stdout);
    expect(m, result.stdout).not.toBeNull();
    expect({ transmitted: Number(m![1]), received: Number(m![2]) }).toEqual({ transmitted: 70, received: 70 });
    // Every proactive flow on both bridges is older than the kill: the new controller found them right.
    const ages = [...(await proactive('host-a')), ...(await proactive('host-b'))].map((l) => Number(/duration=([0-9.]+)s/.exec(l)![1]));
    expect(ages.length).toBeGreaterThan(10);
    expect(Math.min(...ages)).toBeGreaterThanOrEqual((Date.now() - killedAt) / 1000 - 0.5);
  });

  it('a LISTEN connection killed by the database is re-established: changes keep reaching the bridges', async () => {
    const pool = createPool(db.url, 2);
    try {
      await until(async () => {
        const r = await pool.query(`SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'sdmi network-controller listen' AND datname = current_database()`);
        return r.rows.some((row: { killed: boolean }) => row.killed);
      }, 'the LISTEN session found and terminated');
    } finally {
      await pool.end();
    }
    const late = await attach('host-b', 'acme/db', 'db2');
    // Well inside the 30 s resync: the notification itself arrived on the new connection.
    await until(async () => (await flowsOf('host-b')).some((l) => l.includes(`nw_src=${late.ip}`)), 'admission flow of db2 on host-b', 10_000);
    expect(await app2.ns.ping(late.ip)).toBe(true);
  });

  it('while the database refuses connections, LISTEN is retried one attempt at a time (no growing fan-out), and resumes', async () => {
    // Seen: each failed connect emitted error and end as well, each scheduling a retry, so the
    // attempts doubled every round (over a thousand connections within 20 s of a dropped database).
    const admin = createPool(db.url.replace(/\/[^/]+$/, '/postgres'), 1);
    const name = db.name;
    const before = listenLost;
    try {
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sdmi network-controller listen' AND datname = $1`, [name]);
      await new Promise((r) => setTimeout(r, 10_000));
    } finally {
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    const attempts = listenLost - before;
    // One loss, then one retry every 2 s: about 6 in 10 s; a fan-out would be in the hundreds.
    expect(attempts, procLog).toBeGreaterThanOrEqual(2);
    expect(attempts, procLog).toBeLessThanOrEqual(10);
    const late = await attach('host-b', 'acme/db', 'db3');
    await until(async () => (await flowsOf('host-b')).some((l) => l.includes(`nw_src=${late.ip}`)), 'admission flow of db3 on host-b', 15_000);
    // Later tests count the network's interfaces.
    await cmd('detachInterface', { interfaceId: late.id });
  });

  it('detaching an interface removes its flows and releases its address', async () => {
    await cmd('detachInterface', { interfaceId: app2.id });
    await until(async () => !(await flowsOf('host-b')).some((l) => l.includes(app2.ip)), 'no flow on host-b mentions the detached address');
    expect((await flowsOf('host-a')).filter((l) => l.includes(app2.ip))).toEqual([]);
    expect(await lb1.ns.ping(app2.ip, { deadlineSec: 2 })).toBe(false);
    const pool = createPool(db.url, 2);
    try {
      const held = await pool.query('SELECT 1 FROM ipam.allocation WHERE interface_id = $1', [app2.id]);
      expect(held.rowCount).toBe(0);
    } finally {
      await pool.end();
    }
  });
  it('lists the networks and TenantConfigs as submitted, one tenant\'s with the cluster networks, and a deleted network no more', async () => {
    const list = (request: { tenant?: string }) => client.query(SERVICE, NetworkQueries.listNetworks, request);
    const betaConfig: TenantConfig = { tenant: 'beta', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '720-721' }, { name: 'fabric1', vniType: 'vxlan', vniRange: '5000' }] };
    const shared: ClusterNetwork = { name: 'shared', cidr: '10.62.100.0/24', gateway: '10.62.100.254', pools: [{ start: '10.62.100.10', end: '10.62.100.99' }] };
    const web: TenantNetwork = { tenant: 'beta', name: 'web', cidr: '10.62.110.0/24', routes: [{ dst: '10.99.0.0/16', via: '10.62.110.1' }], dependsOn: ['cluster/shared'] };
    const old: TenantNetwork = { tenant: 'beta', name: 'old', cidr: '10.62.111.0/24' };
    await cmd('putTenantConfig', { ...betaConfig });
    await cmd('createNetworks', { clusterNetworks: [shared], tenantNetworks: [web, old] });
    // A service address counts among a network's addresses, not its interfaces.
    await cmd('setServiceEndpoints', { service: 'acme/api', networkId: 'acme/app', backends: [app1.id] });
    try {
      // A restarted controller keeps the service address's allocation (its start-up reconciliation
      // once released every allocation not held by an interface, so the next interface got the address).
      const held = async () => {
        const pool = createPool(db.url, 1);
        try {
          return (await pool.query<{ interface_id: string; address: string }>("SELECT interface_id, address::text AS address FROM ipam.allocation WHERE interface_id LIKE 'svc:%' ORDER BY 1")).rows;
        } finally {
          await pool.end();
        }
      };
      const before = await held();
      expect(before.map((r) => r.interface_id)).toEqual(['svc:acme/api@acme/app']);
      proc!.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      proc = startService();
      await serviceReady(2);
      expect(await held()).toEqual(before);
      const sharedListed = { id: 'cluster/shared', spec: shared, interfaces: 0, addresses: 0 };
      const beta = [
        // Each gets a free id of beta's first device; which gets which is the creation order's business.
        { id: 'beta/old', spec: old, assigned: { hostDevice: 'fabric0', vlan: expect.any(Number) }, interfaces: 0, addresses: 0 },
        { id: 'beta/web', spec: web, assigned: { hostDevice: 'fabric0', vlan: expect.any(Number) }, interfaces: 0, addresses: 0 },
      ];
      const all = await list({});
      expect(all).toEqual({
        clusterNetworks: [sharedListed],
        tenantNetworks: [
          { id: 'acme/app', spec: acmeNetworks[1], assigned: { hostDevice: 'fabric0', vlan: 701 }, interfaces: 1, addresses: 2 },
          { id: 'acme/db', spec: acmeNetworks[2], assigned: { hostDevice: 'fabric0', vlan: 700 }, interfaces: 2, addresses: 2 },
          { id: 'acme/lb', spec: acmeNetworks[0], assigned: { hostDevice: 'fabric0', vlan: 702 }, interfaces: 1, addresses: 1 },
          ...beta,
        ],
        tenantConfigs: [acmeConfig, betaConfig],
      });
      expect(new Set(all.tenantNetworks.filter((n) => n.id.startsWith('beta/')).map((n) => n.assigned.vlan))).toEqual(new Set([720, 721]));

      expect(await list({ tenant: 'beta' })).toEqual({ clusterNetworks: [sharedListed], tenantNetworks: beta, tenantConfigs: [betaConfig] });
      expect(await list({ tenant: 'nobody' })).toEqual({ clusterNetworks: [sharedListed], tenantNetworks: [], tenantConfigs: [] });

      // Refused by the client before it sends, and by the service when sent anyway.
      await expect(list({ tenant: 'Bad_Name' })).rejects.toSatisfy((e: unknown) => e instanceof BadMessage && e.info.path === '/tenant' && e.info.rule === 'pattern');
      expect(await client.queryRaw(SERVICE, 'listNetworks', JSON.stringify({ tenant: 'Bad_Name' }))).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path: '/tenant', rule: 'pattern' } });

      // Straight from the store: gone as soon as the delete's task has completed.
      await cmd('deleteNetwork', { id: 'beta/old' });
      expect((await list({ tenant: 'beta' })).tenantNetworks.map((n) => n.id)).toEqual(['beta/web']);
    } finally {
      await cmd('releaseServiceAddress', { service: 'acme/api', networkId: 'acme/app' });
    }
  });
});
