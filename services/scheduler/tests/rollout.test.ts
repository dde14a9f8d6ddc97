// The scheduler's queries, rollout undo, removal of unknown containers labelled as ours, and
// node-removal refusal on a real cluster of two Docker hosts: every read goes through the bus queries (getService, listServices, rolloutStatus,
// listReplicas), every change through commands, and what the queries say is checked against the
// containers that really run.
import { BadMessage, QueryFailed, TaskFailed, createPool } from '@sdmi/bus';
import { SchedulerQueries } from '@sdmi/scheduling';
import { describeInventory, docker, inventory, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const cluster = new LocalCluster('ro');
const tenant = cluster.tag;
const api = `${tenant}/api`;
const big = `${tenant}/big`;

const cmd = (kind: string, key: string, payload: Record<string, unknown>) => cluster.client.run('scheduler', { kind, key, payload });
const q = SchedulerQueries;
const ask = {
  service: async (service: string) => (await cluster.client.query('scheduler', q.getService, { service })).service,
  rollout: async (service: string) => (await cluster.client.query('scheduler', q.rolloutStatus, { service })).rollout,
  replicas: async (filter: { service?: string; node?: string } = {}) => (await cluster.client.query('scheduler', q.listReplicas, filter)).replicas,
};
const revisionOf = (replica: string) => Number(/@rev(\d+)/.exec(replica)![1]);

/** Containers of a service that exist now on either host. */
async function containersOf(service: string): Promise<{ host: string; id: string; replica: string; running: boolean }[]> {
  const out = [];
  for (const h of cluster.hosts.keys()) for (const c of await cluster.containers(h)) if (c.replica.startsWith(`${service}-`)) out.push({ host: h, ...c });
  return out;
}

async function nodeRow(name: string): Promise<{ state: string; force: boolean } | undefined> {
  const pool = createPool(cluster.db.url, 1);
  try {
    return (await pool.query<{ state: string; force: boolean }>('SELECT state, force FROM sched.node WHERE name = $1', [name])).rows[0];
  } finally {
    await pool.end();
  }
}

const apiSpec = (rev: string) => ({
  tenant,
  name: 'api',
  image: 'sdmi/base:busybox',
  command: ['sleep', '3600'],
  env: { REV: rev },
  replicas: 2,
  networks: [{ network: 'cluster/api', ip: { mode: 'dynamic' } }],
  update: { parallelism: 1, delayMs: 0, monitorMs: 1000, order: 'start-first', failureAction: 'rollback' },
});

beforeAll(async () => {
  await cluster.start({ scheduler: true });
  await cluster.netCmd('createNetworks', { clusterNetworks: [{ name: 'api', cidr: '10.66.1.0/24' }] });
  for (const host of cluster.hosts.keys()) await cluster.until(async () => (await cmd('addNode', `node/${host}`, { name: host }), true), `${host} admitted`);
});

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('scheduler queries', () => {
  it('getService, listServices, rolloutStatus and listReplicas describe a fresh deployment as it runs', async () => {
    await cmd('deployService', api, { spec: apiSpec('1') });
    await cluster.until(async () => (await ask.rollout(api)).state === 'complete', 'api deployed: rollout complete', 60_000);
    const svc = await ask.service(api);
    expect(svc).toMatchObject({ id: api, tenant, name: 'api', revision: 1, revisions: [1], desired: 2, replicas: 2, running: 2, serving: 2, spec: apiSpec('1') });
    expect(svc.rollout).toMatchObject({ service: api, revision: 1, fromRevision: null, state: 'complete', reason: null, revisions: [{ revision: 1, replicas: 2, running: 2, healthy: 0, serving: 2 }] });
    const listed = await cluster.client.query('scheduler', q.listServices, { tenant });
    expect(listed.services.map((s) => s.id)).toEqual([api]);
    expect((await cluster.client.query('scheduler', q.listServices, { tenant: 'nobody' })).services).toEqual([]);
    const replicas = await ask.replicas({ service: api });
    const containers = await containersOf(api);
    // What the query says is what runs: the same replicas, on the same hosts.
    expect(replicas.map((r) => `${r.id} ${r.node} ${r.state}`).sort()).toEqual(containers.map((c) => `${c.replica} ${c.host} running`).sort());
    for (const r of replicas) expect(r).toMatchObject({ service: api, revision: 1, reason: null, since: expect.stringMatching(/^\d{4}-/) });
    const onA = await ask.replicas({ node: 'host-a' });
    expect(onA.every((r) => r.node === 'host-a')).toBe(true);
    expect(onA.map((r) => r.id).sort()).toEqual(containers.filter((c) => c.host === 'host-a').map((c) => c.replica).sort());
  });

  it('a bad query is refused with what, where and why: an unknown service, a malformed id (by the client, and by the server), an unknown query', async () => {
    await expect(ask.service(`${tenant}/nope`)).rejects.toSatisfy((e: unknown) => e instanceof QueryFailed && e.info.code === 'SERVICE_NOT_FOUND' && e.info.path === '/service' && e.message.includes(`${tenant}/nope does not exist`));
    await expect(ask.rollout('nope')).rejects.toSatisfy((e: unknown) => e instanceof BadMessage && e.info.path === '/service' && e.info.rule === 'pattern');
    expect(await cluster.client.queryRaw('scheduler', 'rolloutStatus', JSON.stringify({ service: 'nope' }))).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path: '/service', rule: 'pattern' } });
    expect(await cluster.client.queryRaw('scheduler', 'listReplica', '{}')).toMatchObject({ ok: false, error: { code: 'UNKNOWN_QUERY', details: { known: ['getService', 'listServices', 'rolloutStatus', 'listReplicas', 'listNodes'] } } });
  });
});

describe('rollout undo', () => {
  it('refuses an undo with nothing to go back to, and one of an unknown service, changing nothing', async () => {
    const before = await ask.service(api);
    await expect(cmd('rolloutUndo', api, { service: api })).rejects.toSatisfy(
      (e: unknown) => e instanceof TaskFailed && e.info.code === 'NO_EARLIER_REVISION' && e.info.path === '/payload/toRevision' && e.message.includes('has had no revision before 1'),
    );
    await expect(cmd('rolloutUndo', api, { service: api, toRevision: 7 })).rejects.toMatchObject({ info: { code: 'REVISION_NOT_FOUND', path: '/payload/toRevision', details: { known: [1] } } });
    await expect(cmd('rolloutUndo', `${tenant}/ghost`, { service: `${tenant}/ghost` })).rejects.toMatchObject({ info: { code: 'SERVICE_NOT_FOUND', path: '/payload/service' } });
    const after = await ask.service(api);
    expect({ revision: after.revision, revisions: after.revisions, rollout: after.rollout.state, spec: after.spec }).toEqual({ revision: before.revision, revisions: before.revisions, rollout: before.rollout.state, spec: before.spec });
    await expect(ask.service(`${tenant}/ghost`)).rejects.toMatchObject({ info: { code: 'SERVICE_NOT_FOUND' } });
  });

  it('a rollout to revision 2 completes; rolloutStatus follows it from progressing to complete', async () => {
    await cmd('updateService', api, { spec: apiSpec('2') });
    const seen = new Set<string>();
    await cluster.until(
      async () => {
        const r = await ask.rollout(api);
        seen.add(r.state);
        // Recorded complete once rev 2 serves everywhere; the rev 1 replicas may still be stopping then.
        return r.state === 'complete' && r.revision === 2 && r.revisions.length === 1;
      },
      'rollout to rev 2 complete, rev 1 gone',
      90_000,
    );
    expect(seen.has('progressing')).toBe(true);
    const r = await ask.rollout(api);
    expect(r).toMatchObject({ revision: 2, fromRevision: 1, rollbackOf: null, reason: null, revisions: [{ revision: 2, replicas: 2, running: 2, serving: 2 }] });
    expect((await containersOf(api)).map((c) => revisionOf(c.replica))).toEqual([2, 2]);
  });

  it("rolloutUndo brings back revision 1's template, start-first, never fewer running than desired, and rolloutStatus shows it", async () => {
    const out = await cmd('rolloutUndo', api, { service: api });
    // The model goes back to the revision itself (not a copy under a new number): rev 1 again, rolled out from rev 2.
    expect(out.result).toMatchObject({ service: api, revision: 1, replicas: 2 });
    let fewest = Infinity;
    let fewestQueried = Infinity;
    const states: string[] = [];
    await cluster.until(
      async () => {
        const running = (await containersOf(api)).filter((c) => c.running);
        fewest = Math.min(fewest, running.length);
        const r = await ask.rollout(api);
        fewestQueried = Math.min(fewestQueried, r.revisions.reduce((n, c) => n + c.running, 0));
        if (states.at(-1) !== r.state) states.push(r.state);
        return r.state === 'complete' && r.revisions.length === 1 && running.length === 2 && running.every((c) => revisionOf(c.replica) === 1);
      },
      'undo to rev 1 complete',
      90_000,
    );
    expect(fewest).toBeGreaterThanOrEqual(2);
    expect(fewestQueried).toBeGreaterThanOrEqual(2);
    expect(states).toEqual(['progressing', 'complete']);
    const r = await ask.rollout(api);
    expect(r).toMatchObject({ revision: 1, fromRevision: 2, rollbackOf: null, state: 'complete', revisions: [{ revision: 1, replicas: 2, running: 2, serving: 2 }] });
    const svc = await ask.service(api);
    expect(svc).toMatchObject({ revision: 1, revisions: [1, 2], spec: { env: { REV: '1' } } });
    // The containers run revision 1's template.
    for (const c of await containersOf(api)) {
      const env = await docker(cluster.hosts.get(c.host)!.endpoint, ['inspect', '-f', '{{json .Config.Env}}', c.id]);
      expect(env).toContain('REV=1');
    }
  });
});

describe('unknown containers labelled as ours', () => {
  it('a container made by hand with our labels is removed within a bound; one the scheduler accounts for, another cluster\'s, and our running replicas are left alone', async () => {
    const host = cluster.hosts.get('host-b')!;
    const before = (await containersOf(api)).map((c) => `${c.replica} ${c.id}`).sort();
    const labels = (cluster: string, replica: string) => ['--label', 'sdmi.managed=true', '--label', `sdmi.replica=${replica}`, '--label', `sdmi.service=${replica.replace(/-\d+@.*$/, '')}`, '--label', 'sdmi.revision=1', '--label', `sdmi.cluster=${cluster}`];
    const stray = (await docker(host.endpoint, ['run', '-d', '--network', 'none', '--name', `sdmi-${tenant}-stray`, ...labels(cluster.names.prefix, `${tenant}/stray-1@rev1`), 'sdmi/base:busybox', 'sleep', '3600'])).trim();
    const foreign = (await docker(host.endpoint, ['run', '-d', '--network', 'none', '--name', `sdmi-${tenant}-foreign`, ...labels(`${cluster.names.prefix}x`, `${tenant}/foreign-1@rev1`), 'sdmi/base:busybox', 'sleep', '3600'])).trim();
    // One with the label of a live replica of ours but on the wrong host: not that replica, so removed too.
    const copy = (await ask.replicas({ service: api, node: 'host-a' }))[0]!.id;
    const impostor = (await docker(host.endpoint, ['run', '-d', '--network', 'none', '--name', `sdmi-${tenant}-impostor`, ...labels(cluster.names.prefix, copy), 'sdmi/base:busybox', 'sleep', '3600'])).trim();
    // One labelled as a live replica of ours on this very host, which the node has no record of:
    // what a container looks like while its runReplica has not finished. It must be left alone.
    const starting = (await ask.replicas({ service: api, node: 'host-b' }))[0]!.id;
    const twin = (await docker(host.endpoint, ['run', '-d', '--network', 'none', '--name', `sdmi-${tenant}-twin`, ...labels(cluster.names.prefix, starting), 'sdmi/base:busybox', 'sleep', '3600'])).trim();
    const exists = async (id: string) => (await docker(host.endpoint, ['ps', '-aq', '--no-trunc', '--filter', `id=${id}`])).trim() !== '';
    try {
      const t0 = Date.now();
      await cluster.until(async () => !(await exists(stray)) && !(await exists(impostor)), 'the unknown containers removed', 60_000);
      console.log(`unknown containers removed after ${Date.now() - t0} ms`);
      expect(await exists(foreign)).toBe(true);
      expect(await exists(twin)).toBe(true);
      // Our replicas: the same containers as before, still running, and the copied one's record untouched.
      const ours = (await containersOf(api)).filter((c) => !twin.startsWith(c.id));
      expect(ours.map((c) => `${c.replica} ${c.id}`).sort()).toEqual(before);
      expect(ours.every((c) => c.running)).toBe(true);
      expect((await ask.replicas({ service: api })).find((r) => r.id === copy)).toMatchObject({ node: 'host-a', state: 'running' });
    } finally {
      await docker(host.endpoint, ['rm', '-f', stray, foreign, impostor, twin]).catch(() => undefined);
    }
  });
});

describe('removeNode refusal', () => {
  it('refuses to drain a node whose replicas fit nowhere else, naming them and what to do; nothing changes', async () => {
    // 1.5 cpus each on 2-cpu hosts: one per host, and no host holds both.
    await cmd('deployService', big, { spec: { tenant, name: 'big', image: 'sdmi/base:busybox', command: ['sleep', '3600'], replicas: 2, resources: { cpus: 1.5 }, networks: [{ network: 'cluster/api', ip: { mode: 'dynamic' } }] } });
    await cluster.until(async () => (await ask.service(big)).running === 2, 'big: 2 replicas running', 60_000);
    const bigOnB = (await ask.replicas({ service: big, node: 'host-b' })).map((r) => r.id);
    expect(bigOnB).toHaveLength(1);
    const before = (await ask.replicas()).map((r) => `${r.id} ${r.node} ${r.state}`);
    const err = await cmd('removeNode', 'node/host-b', { name: 'host-b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailed);
    const label = bigOnB[0]!.slice(bigOnB[0]!.indexOf('/') + 1);
    expect(err).toMatchObject({
      info: {
        code: 'NODE_REMOVAL_REFUSED',
        path: '/payload/name',
        message: expect.stringMatching(new RegExp(`node host-b cannot be drained: 1 of its \\d+ replica\\(s\\) fit on no other ready node \\(${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: needs 1.5 cpus, the largest free is 0.5 on host-a\\); add capacity, or remove it with force`)),
        details: { node: 'host-b', stranded: [{ replica: label }] },
      },
    });
    expect(await nodeRow('host-b')).toEqual({ state: 'ready', force: false });
    // A moment later still nothing has moved.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await ask.replicas()).map((r) => `${r.id} ${r.node} ${r.state}`)).toEqual(before);
    expect(await nodeRow('host-b')).toEqual({ state: 'ready', force: false });
  });

  it('with force the node drains anyway: what fits elsewhere moves, what fits nowhere stops, and the node is removed', async () => {
    const out = await cmd('removeNode', 'node/host-b', { name: 'host-b', force: true });
    expect(out.result).toMatchObject({ node: 'host-b', state: 'draining', stranded: [expect.stringMatching(/^big-\d@rev1: needs 1.5 cpus/)] });
    await cluster.until(async () => (await nodeRow('host-b')) === undefined, 'host-b drained and removed', 90_000);
    const left = await ask.replicas();
    expect(left.filter((r) => r.node === 'host-b')).toEqual([]);
    expect(await containersOf(api)).toHaveLength(2);
    expect((await containersOf(api)).every((c) => c.host === 'host-a' && c.running)).toBe(true);
    expect(await ask.service(big)).toMatchObject({ desired: 2, running: 1 });
    // Admitted again, the host takes the replica that had nowhere to go.
    await cmd('addNode', 'node/host-b', { name: 'host-b' });
    await cluster.until(async () => (await ask.service(big)).running === 2, 'big back to 2 running', 60_000);
  });
});
