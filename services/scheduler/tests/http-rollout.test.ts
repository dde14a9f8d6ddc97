// An HTTP service behind its service address, on two real Docker hosts, under continuous requests
// from a client container on a network allowed to reach it: a rolling update to a new revision
// fails no request; an update whose replicas never turn healthy rolls back by itself and fails no
// request either; removeNode moves every replica to the other host with the service answering
// throughout. Each request is a new TCP connection (busybox wget), so every one of them goes
// through the balancer's choice of backend. (busybox-static's own wget -T crashes: timeout(1) bounds it.)
import { spawn } from 'node:child_process';
import { createPool } from '@sdmi/bus';
import { describeInventory, docker, inventory, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const cluster = new LocalCluster('hr');
const tenant = cluster.tag;
const web = `${tenant}/web`;
const cmd = (kind: string, key: string, payload: Record<string, unknown>) => cluster.client.run('scheduler', { kind, key, payload });

const spec = (version: string, over: Record<string, unknown> = {}) => ({
  tenant,
  name: 'web',
  image: 'sdmi/base:busybox',
  command: ['sh', '-c', 'mkdir -p /www && echo "$VERSION" > /www/index.html && exec httpd -f -p 8080 -h /www'],
  env: { VERSION: version },
  replicas: 3,
  networks: [{ network: 'cluster/web', ip: { mode: 'dynamic' } }],
  healthCheck: { exec: ['timeout', '1', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'], intervalMs: 1000, timeoutMs: 1000, retries: 2 },
  update: { parallelism: 1, delayMs: 0, monitorMs: 1000, order: 'start-first', failureAction: 'rollback' },
  ...over,
});

async function q<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const pool = createPool(cluster.db.url, 1);
  try {
    return (await pool.query<T>(sql, params)).rows;
  } finally {
    await pool.end();
  }
}

const record = async () => (await q<{ record: { revision: number; rollout: { state: string; reason: string | null } | null } }>('SELECT record FROM sched.service WHERE id = $1', [web]))[0]!.record;
const serving = async () => (await q<{ n: string }>(`SELECT count(*) AS n FROM sched.replica WHERE service = $1 AND state = 'healthy'`, [web]))[0]!.n;

let vip = '';
let client: { host: string; id: string };

/** Requests the service address without pause until stopped; what each one got: the body, or FAIL. */
class Load {
  readonly seen: string[] = [];
  readonly #done: Promise<void>;
  constructor() {
    const loop = `rm -f /tmp/stop; while [ ! -e /tmp/stop ]; do timeout 2 wget -q -O - http://${vip}:8080/ 2>/dev/null || echo FAIL; done`;
    const p = spawn('docker', ['-H', cluster.hosts.get(client.host)!.endpoint.host, 'exec', client.id, 'sh', '-c', loop]);
    let rest = '';
    p.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      this.seen.push(...lines.filter(Boolean));
    });
    this.#done = new Promise((resolve) => p.on('close', () => resolve()));
  }
  async stop(): Promise<{ total: number; failed: number; bodies: Set<string> }> {
    await docker(cluster.hosts.get(client.host)!.endpoint, ['exec', client.id, 'touch', '/tmp/stop']);
    await this.#done;
    return { total: this.seen.length, failed: this.seen.filter((l) => l === 'FAIL').length, bodies: new Set(this.seen.filter((l) => l !== 'FAIL')) };
  }
}

beforeAll(async () => {
  await cluster.start({ scheduler: true });
  await cluster.netCmd('createNetworks', { clusterNetworks: [{ name: 'front', cidr: '10.66.1.0/24', dependsOn: ['web'] }, { name: 'web', cidr: '10.66.2.0/24' }] });
  for (const host of cluster.hosts.keys()) await cluster.until(async () => (await cmd('addNode', `node/${host}`, { name: host }), true), `${host} admitted`);
  await cmd('deployService', `${tenant}/client`, { spec: { tenant, name: 'client', image: 'sdmi/base:busybox', command: ['sleep', '3600'], replicas: 1, networks: [{ network: 'cluster/front', ip: { mode: 'dynamic' } }] } });
  await cmd('deployService', web, { spec: spec('v1') });
  await cluster.until(async () => {
    for (const h of cluster.hosts.keys()) {
      const c = (await cluster.containers(h)).find((x) => x.replica.startsWith(`${tenant}/client-`) && x.running);
      if (c) client = { host: h, id: c.id };
    }
    return client !== undefined && (await serving()) === '3';
  }, 'client running, 3 web replicas healthy', 90_000);
  await cluster.until(async () => {
    vip = (await q<{ address: string | null }>('SELECT host(address) AS address FROM sched.service_address WHERE service = $1', [web]))[0]?.address ?? '';
    if (!vip) return false;
    const out = await docker(cluster.hosts.get(client.host)!.endpoint, ['exec', client.id, 'timeout', '2', 'wget', '-q', '-O', '-', `http://${vip}:8080/`]).catch(() => '');
    return out.trim() === 'v1';
  }, 'the service address answers v1', 60_000);
});

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('an HTTP service behind its service address', () => {
  it('is on the web network, and a rolling update to v2 under continuous requests fails none of them', async () => {
    expect(vip).toMatch(/^10\.66\.2\.\d+$/);
    const load = new Load();
    await cmd('updateService', web, { spec: spec('v2') });
    await cluster.until(async () => {
      const r = await record();
      return r.revision === 2 && r.rollout?.state === 'complete' && load.seen.slice(-20).every((l) => l === 'v2') && load.seen.length > 20;
    }, 'rollout complete and only v2 answering', 120_000);
    const out = await load.stop();
    console.log(`rolling update: ${out.total} requests, ${out.failed} failed`);
    expect(out.bodies).toEqual(new Set(['v1', 'v2']));
    expect(out.total).toBeGreaterThan(50);
    expect(out.failed).toBe(0);
  });

  it('an update whose replicas never turn healthy rolls back by itself, failing no request', async () => {
    const load = new Load();
    // Its httpd serves nothing on 8080: the health check never passes.
    await cmd('updateService', web, { spec: spec('v3', { command: ['sh', '-c', 'exec httpd -f -p 9090 -h /'] }) });
    await cluster.until(async () => {
      const r = await record();
      return r.revision === 2 && r.rollout?.reason !== null && r.rollout?.reason !== undefined && (await serving()) === '3';
    }, 'rolled back to revision 2 with a reason', 180_000);
    const out = await load.stop();
    console.log(`rolled-back update: ${out.total} requests, ${out.failed} failed; reason: ${(await record()).rollout?.reason}`);
    expect(out.bodies).toEqual(new Set(['v2']));
    expect(out.failed).toBe(0);
  });

  it('removeNode moves every replica of the service to the other host, the service answering throughout', async () => {
    const other = [...cluster.hosts.keys()].find((h) => h !== client.host)!;
    const load = new Load();
    await cmd('removeNode', `node/${other}`, { name: other });
    await cluster.until(async () => {
      const here = (await cluster.containers(client.host)).filter((c) => c.replica.startsWith(`${web}-`) && c.running).length;
      const there = (await cluster.containers(other)).filter((c) => c.replica.startsWith(`${web}-`)).length;
      const nodes = await q<{ name: string }>('SELECT name FROM sched.node');
      return here === 3 && there === 0 && (await serving()) === '3' && !nodes.some((n) => n.name === other);
    }, `every web replica on ${client.host}, ${other} removed`, 120_000);
    const out = await load.stop();
    console.log(`removeNode: ${out.total} requests, ${out.failed} failed`);
    expect(out.total).toBeGreaterThan(20);
    expect(out.failed).toBe(0);
  });

  it('removing the service releases its address', async () => {
    await cmd('removeService', web, { service: web });
    await cluster.until(async () => (await q('SELECT 1 FROM sched.service_address WHERE service = $1', [web])).length === 0, 'service address released', 60_000);
    expect(await q(`SELECT 1 FROM ipam.allocation WHERE interface_id = $1`, [`svc:${web}@cluster/web`])).toEqual([]);
    expect(await q('SELECT 1 FROM net.service_address WHERE service = $1', [web])).toEqual([]);
  });
});
