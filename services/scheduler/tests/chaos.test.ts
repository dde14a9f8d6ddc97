// Chaos: while a service scales up and down on two real Docker hosts, the scheduler or a node-agent
// is killed with SIGKILL at a random moment and started again. After each round the cluster must
// converge to exactly the desired state: as many running replicas as asked for, each with its two
// interfaces, and not one address, OVS port or record more. The seed is printed; set
// SDMI_CHAOS_SEED to replay a run.
import { createPool } from '@sdmi/bus';
import { describeInventory, inventory, run, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const cluster = new LocalCluster('ch');
const tenant = cluster.tag;
const service = `${tenant}/chaos`;
const seed = Number(process.env.SDMI_CHAOS_SEED ?? Date.now() % 1_000_000);
const ROUNDS = Number(process.env.SDMI_CHAOS_ROUNDS ?? 10);
/** Replicas of an up round: the 0 → 20 → 0. */
const REPLICAS = Number(process.env.SDMI_CHAOS_REPLICAS ?? 20);

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function rng(s: number): () => number {
  return () => {
    s |= 0;
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(seed);
const cmd = (kind: string, key: string, payload: Record<string, unknown>) => cluster.client.run('scheduler', { kind, key, payload });

async function counts(): Promise<{ running: number; containers: number; allocations: number; ports: number; records: number; started: number }> {
  let running = 0;
  let containers = 0;
  for (const h of cluster.hosts.keys()) {
    for (const c of await cluster.containers(h)) {
      if (!c.replica.startsWith(`${service}-`)) continue;
      containers++;
      if (c.running) running++;
    }
  }
  const pool = createPool(cluster.db.url, 2);
  try {
    const allocations = (await pool.query('SELECT 1 FROM ipam.allocation WHERE interface_id LIKE $1', [`${service}-%`])).rowCount ?? 0;
    const records = (await pool.query('SELECT 1 FROM sched.replica WHERE service = $1', [service])).rowCount ?? 0;
    const started = (await pool.query(`SELECT 1 FROM sched.replica WHERE service = $1 AND state IN ('running', 'healthy')`, [service])).rowCount ?? 0;
    const out = await run('ovs-vsctl', ['--timeout=10', '--format=csv', '--no-headings', '--columns=name,external_ids', 'find', 'Interface', 'external_ids:sdmi-container-id!=""']);
    const ports = out.split('\n').filter((l) => l.includes(`${service}-`)).length;
    return { running, containers, allocations, ports, records, started };
  } finally {
    await pool.end();
  }
}

beforeAll(async () => {
  console.log(`chaos seed ${seed} (SDMI_CHAOS_SEED=${seed} replays it), ${ROUNDS} rounds of 0 ↔ ${REPLICAS}`);
  await cluster.start({ scheduler: true });
  await cluster.netCmd('createNetworks', { clusterNetworks: [{ name: 'web', cidr: '10.65.2.0/24' }, { name: 'mgmt', cidr: '10.65.9.0/24' }] });
  for (const host of cluster.hosts.keys()) await cluster.until(async () => (await cmd('addNode', `node/${host}`, { name: host }), true), `${host} admitted`);
  await cmd('deployService', service, {
    spec: { tenant, name: 'chaos', image: 'sdmi/base:busybox', command: ['sleep', '3600'], replicas: 0, networks: [{ network: 'cluster/web', ip: { mode: 'dynamic' } }, { network: 'cluster/mgmt', ip: { mode: 'dynamic' } }] },
  });
});

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('chaos', () => {
  it('converges to exactly the desired state after SIGKILLs of the scheduler and the node-agents during scaling', { timeout: 1_800_000 }, async () => {
    const victims = ['scheduler', 'host-a', 'host-b'] as const;
    for (let round = 1; round <= ROUNDS; round++) {
      const target = round % 2 === 1 ? REPLICAS : 0;
      await cmd('scaleService', service, { service, replicas: target });
      await new Promise((r) => setTimeout(r, Math.floor(random() * 2_000)));
      const victim = victims[Math.floor(random() * victims.length)]!;
      console.log(`round ${round}: scale to ${target}, SIGKILL ${victim}`);
      await cluster.kill(victim);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(random() * 1_000)));
      cluster.restart(victim);
      const instance = victim === 'scheduler' ? `sc-${cluster.tag}` : cluster.hosts.get(victim)!.instance;
      await cluster.ready(victim === 'scheduler' ? 'scheduler' : 'node-agent', instance);
      const want = { running: target, containers: target, allocations: 2 * target, ports: 2 * target, records: target, started: target };
      let last = await counts();
      await cluster.until(async () => {
        last = await counts();
        return JSON.stringify(last) === JSON.stringify(want);
      }, `round ${round} (seed ${seed}): converge to ${JSON.stringify(want)}`, 240_000).catch((err: Error) => {
        throw new Error(`${err.message}\nlast seen: ${JSON.stringify(last)}`);
      });
      expect(last).toEqual(want);
    }
  });
});
