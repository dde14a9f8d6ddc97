// The Milestone-1 application deployed through the SDK on a real two-host cluster (Docker, Open
// vSwitch, NATS, PostgreSQL): requests from a client on the lb network go LB (TLS) -> App -> DB,
// the db replicas form a multi-master mesh, and scaling it 3 -> 4 -> 3 runs the join and leave
// workflows inside the containers. The db watch's health hook runs every 2 s: a node whose
// subscription is disabled leaves the mesh and joins again once it is enabled.
import { describeInventory, inventory, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Member, type LifecycleEvent } from '@sdmi/sdk';
import { LocalCluster } from '../../../test/cluster';
import { buildExampleImages } from '../src/images';
import { Milestone1, dbNodeName } from '../src/milestone1';

const local = new LocalCluster('m1');
const tenant = local.tag;
let cluster: Cluster;
let m1: Milestone1;
const mesh: string[] = [];
const events: LifecycleEvent[] = [];

async function until<T>(f: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}\n${local.logs()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Every member has exactly these rows (replication is asynchronous: wait for it). */
async function everywhere(members: readonly Member[], rows: readonly string[]): Promise<void> {
  for (const m of members) {
    await until(async () => {
      const have = await m1.rowsOn(m);
      return rows.every((r) => have.includes(r)) ? true : undefined;
    }, `rows ${rows.join(',')} on ${dbNodeName(m)}`);
  }
}

/** The mesh's catalog on a node: its subscriptions and the replication slots it keeps. */
async function catalog(m: Member): Promise<{ subscriptions: string[]; slots: string[] }> {
  const q = async (sql: string) => (await m.run(['psql', '-U', 'postgres', '-d', 'm1', '-Atc', sql])).split('\n').filter(Boolean);
  return { subscriptions: await q('SELECT subname FROM pg_subscription ORDER BY 1'), slots: await q('SELECT slot_name FROM pg_replication_slots ORDER BY 1') };
}

beforeAll(async () => {
  await local.start({ scheduler: true });
  for (const h of local.hosts.values()) await buildExampleImages(h.endpoint);
  cluster = Cluster.over(local.nc, { prefix: local.names.prefix, taskTimeoutMs: 120_000 });
  for (const h of local.hosts.keys()) await local.until(async () => (await cluster.node(h).add(), true), `${h} admitted`);
  m1 = new Milestone1(cluster, {
    tenant,
    timeoutMs: 240_000,
    healthIntervalMs: 2_000,
    healthRetries: 2,
    onMesh: (e) => {
      if (e.type === 'step') mesh.push(e.step.why);
      else events.push(e);
    },
  });
}, 900_000);

afterAll(async () => {
  await m1?.stop();
  await local.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('Milestone-1 example', () => {
  it('deploys: every service serves, the db replicas form a mesh of three', async () => {
    await m1.deploy();
    for (const name of ['db', 'app', 'lb', 'client']) {
      const s = await cluster.tenant(tenant).service(name).status();
      expect([name, s?.serving]).toEqual([name, s?.desired]);
    }
    expect(m1.meshMembers.map(dbNodeName)).toEqual(['db1', 'db2', 'db3']);
    // Each node subscribes to both others, and keeps a slot for each of them.
    for (const m of m1.meshMembers) {
      const c = await catalog(m);
      expect(c.subscriptions).toHaveLength(2);
      expect(c.slots).toHaveLength(2);
    }
  });

  it('a request from the client goes LB -> App -> DB, over TLS, through the fixed service addresses', async () => {
    expect(await m1.lbAddress()).toBe('10.81.1.5');
    const seen = { lb: new Set<string>(), app: new Set<string>() };
    for (let i = 0; i < 20; i++) {
      const r = await m1.request('/');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.db?.node).toMatch(/^db[123]$/);
      seen.lb.add(String(r.body.lb));
      seen.app.add(String(r.body.app));
    }
    // Each request is a new connection to the lb's address, balanced over its two replicas (all 20
    // on one would happen about once in a million runs). nginx keeps its upstream connections
    // alive, so the app tier sees few connections and need not be spread here.
    expect(seen.lb.size).toBe(2);
    expect(seen.app.size).toBeGreaterThanOrEqual(1);
  });

  it('a row written through the application appears on every db node', async () => {
    const w = await m1.request('/items', { method: 'POST', body: JSON.stringify({ body: 'row-1' }) });
    expect(w.status, JSON.stringify(w.body)).toBe(201);
    await everywhere(m1.meshMembers, ['row-1']);
  });

  it('the client reaches only what the networks allow: the lb tier, not the database', async () => {
    const [client] = await cluster.tenant(tenant).service('client').liveReplicas();
    const c = new Member(cluster, client!);
    const toDb = await c.exec(['curl', '-s', '-m', '3', 'telnet://10.81.3.5:5432'], { timeoutMs: 10_000 });
    // 28: the connection timed out (dropped by the flows), where 0 or 56 would mean it was answered.
    expect(toDb.exitCode).toBe(28);
  });

  it('scaling the database 3 -> 4 joins the new node both ways; it gets the history and its writes reach all', async () => {
    const members = await m1.scaleDatabase(4);
    expect(members.map(dbNodeName)).toEqual(['db1', 'db2', 'db3', 'db4']);
    expect(mesh).toContain('db4 subscribes to db1 at ' + members[0]!.address('db'));
    await everywhere(members, ['row-1']);
    for (const m of members) expect((await catalog(m)).subscriptions).toHaveLength(3);
    // A row written directly on the new node reaches the others.
    await members[3]!.run(['psql', '-U', 'postgres', '-d', 'm1', '-c', "INSERT INTO items (body) VALUES ('row-db4')"]);
    await everywhere(members, ['row-1', 'row-db4']);
  });

  it('scaling back 4 -> 3 removes the subscriptions and slots of the leaving node cleanly; the rest still replicates', async () => {
    const members = await m1.scaleDatabase(3);
    expect(members).toHaveLength(3);
    const names = members.map(dbNodeName);
    const gone = ['db1', 'db2', 'db3', 'db4'].find((n) => !names.includes(n))!;
    for (const m of members) {
      const c = await catalog(m);
      expect(c.subscriptions).toHaveLength(2);
      expect(c.slots).toHaveLength(2);
      expect([...c.subscriptions, ...c.slots].filter((x) => x.includes(gone))).toEqual([]);
    }
    const w = await m1.request('/items', { method: 'POST', body: JSON.stringify({ body: 'row-2' }) });
    expect(w.status, JSON.stringify(w.body)).toBe(201);
    await everywhere(members, ['row-1', 'row-2']);
  });

  it('the db health hook: every member reports healthy; one whose subscription is disabled leaves the mesh, and rejoins once it is enabled', async () => {
    const members = m1.meshMembers;
    expect(members).toHaveLength(3);
    const since = Date.now();
    await until(async () => (members.every((m) => events.some((e) => e.type === 'health' && e.member.id === m.id && e.health.healthy && e.health.at > since)) ? true : undefined), 'a healthy check of every db member', 30_000);
    for (const m of members) {
      expect(m.health?.healthy, m.health?.detail).toBe(true);
      expect(m.health?.detail).toMatch(/^answers; subscribed to db\d \(\w+\), db\d \(\w+\)$/);
    }

    // The victim stops replicating from the publisher: its container still answers, so the
    // scheduler's check (m1-mesh health) keeps it serving, but it is out of the mesh.
    const [publisher, victim, other] = members as [Member, Member, Member];
    const [pub, vic, oth] = [publisher, victim, other].map(dbNodeName) as [string, string, string];
    const from = events.length;
    const steps = mesh.length;
    await victim.run(['psql', '-U', 'postgres', '-d', 'm1', '-c', `ALTER SUBSCRIPTION m1_sub_${pub} DISABLE`]);
    const left = await until(async () => events.slice(from).find((e): e is Extract<LifecycleEvent, { type: 'left' }> => e.type === 'left' && e.member.id === victim.id), `${vic} leaves for its health`, 60_000);
    expect(left.reason.cause).toBe('health');
    expect(left.reason.detail).toMatch(new RegExp(`^failed its health hook \\d+ time\\(s\\) in a row: subscription to ${pub} is disabled$`));
    expect(events.slice(from).filter((e) => e.type === 'health' && e.member.id === victim.id && !e.health.healthy).length).toBeGreaterThanOrEqual(2);
    // onRemoveNode ran: both others dropped what they had of it.
    expect(mesh.slice(steps)).toEqual(expect.arrayContaining([`${pub} stops replicating from ${vic}`, `${oth} stops replicating from ${vic}`]));
    expect(m1.meshMembers.map(dbNodeName)).toEqual([pub, oth]);
    expect(m1.benchedMembers.map(dbNodeName)).toEqual([vic]);
    for (const m of [publisher, other]) {
      const c = await catalog(m);
      expect([...c.subscriptions, ...c.slots].filter((x) => x.includes(vic))).toEqual([]);
      expect(c.subscriptions).toHaveLength(1);
    }
    expect((await cluster.tenant(tenant).service('db').replicas()).find((r) => r.id === victim.id)?.serving).toBe(true);
    // Written while it is out: it gets the row by the copy of its rejoining.
    await publisher.run(['psql', '-U', 'postgres', '-d', 'm1', '-c', "INSERT INTO items (body) VALUES ('row-while-out')"]);

    const repaired = events.length;
    await victim.run(['psql', '-U', 'postgres', '-d', 'm1', '-c', `ALTER SUBSCRIPTION m1_sub_${pub} ENABLE`]);
    const back = await m1.startMesh().settled({ count: 3, timeoutMs: 120_000 });
    expect(back.map(dbNodeName)).toEqual([pub, vic, oth]);
    expect(events.slice(repaired).some((e) => e.type === 'joined' && e.member.id === victim.id)).toBe(true);
    expect(m1.benchedMembers).toEqual([]);
    expect(mesh.slice(steps)).toEqual(expect.arrayContaining([`${vic} subscribes to ${pub} at ${publisher.address('db')}`, `${pub} subscribes to ${vic} at ${victim.address('db')}`]));
    for (const m of back) {
      // The rejoin's initial copy works through a temporary tablesync slot (pg_<oid>_sync_...) that
      // PostgreSQL drops once the copy is done: seen once as a third slot right after settling.
      const c = await until(async () => {
        const now = await catalog(m);
        return now.slots.some((x) => x.startsWith('pg_') && x.includes('_sync_')) ? undefined : now;
      }, `the rejoin's table copy on ${dbNodeName(m)} done`, 30_000);
      expect(c.subscriptions).toHaveLength(2);
      expect(c.slots).toHaveLength(2);
    }
    await back[1]!.run(['psql', '-U', 'postgres', '-d', 'm1', '-c', "INSERT INTO items (body) VALUES ('row-rejoined')"]);
    await everywhere(back, ['row-1', 'row-2', 'row-while-out', 'row-rejoined']);
    await until(async () => (back.every((m) => m.health?.healthy === true) ? true : undefined), 'every member healthy again', 30_000);
  });
});
