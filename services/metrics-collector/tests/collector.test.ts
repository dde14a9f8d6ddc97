// The metrics-collector as a node-agent meets it: its own process on the real NATS and PostgreSQL,
// samples published on its subjects. Samples older than the raw window are rolled up into buckets
// (late ones merged into their bucket, those past the retention gone; passes running at once count
// each row once); GET /metrics answers the latest fresh samples and the collector's counters in a
// format promtool accepts; a burst over the bound on samples in flight is dropped and counted, and
// every sample is either stored or dropped; SIGTERM stops it cleanly.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BusNames, RdmpClient, connectNats, createPool, jetstreamManager, metricsToken, removeStreams } from '@sdmi/bus';
import { METRICS_COLLECTOR, MetricsQueries, contracts, type ContainerMetrics, type NetworkMetrics, type NodeMetrics } from '@sdmi/contracts';
import { healthSubject, requestHealth } from '@sdmi/service';
import { createDatabase, runId, type TestDatabase } from '@sdmi/testbed';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsStore } from '../src/store';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const tag = runId();
const names = new BusNames(`${tag}mc`);
const instance = `mc-${tag}`;
const MAX_INFLIGHT = 20;
const BUCKET_MS = 1_000;

let db: TestDatabase;
let pool: pg.Pool;
let nc: Awaited<ReturnType<typeof connectNats>>;
let proc: ChildProcess | undefined;
let procLog = '';
let url = '';

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}\ncollector output:\n${procLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function detail(): Promise<string> {
  const h = await requestHealth(nc, healthSubject('metrics-collector', instance), { timeout: 1_000 });
  return h.checks.find((c) => c.name === 'metrics')?.detail ?? '';
}

function container(replicaId: string, at: Date, usedCores: number, usedBytes: number): ContainerMetrics {
  return contracts().assert('ContainerMetrics', {
    version: 1,
    replicaId,
    service: replicaId.replace(/-\d+@rev\d+$/, ''),
    node: `n-${tag}`,
    at: at.toISOString(),
    cpu: { usedCores, limitCores: 2 },
    memory: { usedBytes, limitBytes: 1_000 },
    network: { rxBytes: 5_000, txBytes: 4_000 },
  });
}

function node(name: string, at: Date, usageRatio: number): NodeMetrics {
  return contracts().assert('NodeMetrics', { version: 1, node: name, at: at.toISOString(), cpu: { usageRatio, cores: 4 }, load: { one: 1.5, five: 1, fifteen: 0.5 }, memory: { usedBytes: 2_000, totalBytes: 8_000 } });
}

async function publish(samples: (ContainerMetrics | NodeMetrics | NetworkMetrics)[]): Promise<void> {
  for (const s of samples) {
    const subject = 'replicaId' in s ? names.metrics('container', metricsToken(s.replicaId)) : 'interfaces' in s ? names.metrics('network', s.node) : names.metrics('node', s.node);
    nc.publish(subject, JSON.stringify(s));
  }
  await nc.flush();
}

async function rollups(key: string): Promise<{ bucket: number; count: number; fields: Record<string, { avg: number; min: number; max: number }> }[]> {
  const r = await pool.query<{ bucket: Date; count: number; fields: Record<string, { avg: number; min: number; max: number }> }>('SELECT bucket, count, fields FROM metrics.rollup WHERE key = $1 ORDER BY bucket', [key]);
  return r.rows.map((x) => ({ bucket: x.bucket.getTime(), count: x.count, fields: x.fields }));
}

const rawCount = async (key: string): Promise<number> => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics.sample WHERE key = $1', [key])).rows[0]!.n);

beforeAll(async () => {
  db = await createDatabase();
  pool = createPool(db.url, 2);
  nc = await connectNats(`test-${tag}-mc`);
  proc = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SDMI_BUS_PREFIX: names.prefix,
      SDMI_PG_URL: db.url,
      SDMI_INSTANCE_ID: instance,
      SDMI_LOG_LEVEL: 'warn',
      // fresh samples stay raw through the test; those published an old `at` are rolled up at once
      SDMI_METRICS_RAW_MS: '60000',
      SDMI_METRICS_ROLLUP_BUCKET_MS: String(BUCKET_MS),
      SDMI_METRICS_RETENTION_MS: '1200000',
      SDMI_METRICS_INTERVAL_MS: '10000',
      SDMI_METRICS_PROMETHEUS_LISTEN: '127.0.0.1:0',
      SDMI_METRICS_MAX_INFLIGHT: String(MAX_INFLIGHT),
    },
  });
  proc.stdout!.on('data', (d: Buffer) => (procLog = (procLog + d.toString()).slice(-8000)));
  proc.stderr!.on('data', (d: Buffer) => (procLog = (procLog + d.toString()).slice(-8000)));
  // The endpoint's address (port 0: chosen by the kernel) is in the readiness detail.
  url = await until(async () => /Prometheus on (http:\/\/\S+)/.exec(await detail())?.[1], 'collector ready with its Prometheus endpoint', 60_000);
});

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    const gone = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
    proc.kill('SIGKILL');
  }
  await pool?.end();
  if (nc) {
    // The collector is an RDMP endpoint: its streams are made under the run's prefix.
    await removeStreams(await jetstreamManager(nc), names).catch(() => undefined);
    await nc.close();
  }
  await db?.dispose();
});

describe('metrics-collector', () => {
  it('rolls samples past the raw window up per bucket, merges late ones, drops rollups past the retention', async () => {
    const b0 = Math.floor((Date.now() - 300_000) / BUCKET_MS) * BUCKET_MS;
    const r1 = `${tag}/web-1@rev1`;
    const old = `${tag}/web-2@rev1`;
    await publish([
      container(r1, new Date(b0 + 100), 0.2, 100),
      container(r1, new Date(b0 + 400), 0.4, 200),
      container(r1, new Date(b0 + 700), 0.9, 600),
      container(r1, new Date(b0 + BUCKET_MS + 10), 1, 500),
      node(`n-${tag}`, new Date(b0 + 200), 0.5),
      node(`n-${tag}`, new Date(b0 + 300), 0.25),
      // half an hour old: past the retention of 20 minutes as soon as it is rolled up
      container(old, new Date(Date.now() - 1_800_000), 0.5, 100),
    ]);
    const first = await until(async () => {
      const r = await rollups(r1);
      return r.length === 2 && (await rawCount(r1)) === 0 ? r : undefined;
    }, 'r1 rolled up into two buckets');
    expect(first.map((r) => [r.bucket, r.count])).toEqual([
      [b0, 3],
      [b0 + BUCKET_MS, 1],
    ]);
    const f = first[0]!.fields;
    expect(f['cpu.usedCores']!.avg).toBeCloseTo(0.5, 10);
    expect([f['cpu.usedCores']!.min, f['cpu.usedCores']!.max]).toEqual([0.2, 0.9]);
    expect(f['cpu.utilization']!.avg).toBeCloseTo(0.25, 10);
    expect(f['memory.usedBytes']).toEqual({ avg: 300, min: 100, max: 600 });
    expect(f['memory.utilization']!.max).toBeCloseTo(0.6, 10);
    expect(f['network.rxBytes']).toEqual({ avg: 5_000, min: 5_000, max: 5_000 });

    const n = await until(async () => {
      const r = await rollups(`n-${tag}`);
      return r.length === 1 ? r : undefined;
    }, 'the node rolled up');
    expect(n[0]!.count).toBe(2);
    expect(n[0]!.fields['cpu.usedCores']).toEqual({ avg: 1.5, min: 1, max: 2 });
    expect(n[0]!.fields['load.one']!.avg).toBe(1.5);

    // A sample arriving late for a bucket already rolled up is merged into it, counted once.
    await publish([container(r1, new Date(b0 + 900), 0.1, 100)]);
    const merged = await until(async () => {
      const r = await rollups(r1);
      return r[0]?.count === 4 ? r : undefined;
    }, 'the late sample merged into its bucket');
    expect(merged).toHaveLength(2);
    expect(merged[0]!.fields['cpu.usedCores']!.avg).toBeCloseTo((0.2 + 0.4 + 0.9 + 0.1) / 4, 10);
    expect([merged[0]!.fields['cpu.usedCores']!.min, merged[0]!.fields['cpu.usedCores']!.max]).toEqual([0.1, 0.9]);
    expect(merged[0]!.fields['memory.usedBytes']).toEqual({ avg: 250, min: 100, max: 600 });
    expect(merged[1]!.count).toBe(1);

    // Past the retention: its raw row went (rolled up) and its rollup too.
    expect(await rawCount(old)).toBe(0);
    expect(await rollups(old)).toEqual([]);

    // history: the rollups, and raw samples of the raw window bucketed alike, as one series per key;
    // a late sample not rolled up yet is merged into its bucket's point.
    const fresh = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS - 5 * BUCKET_MS;
    await publish([container(r1, new Date(fresh + 100), 0.3, 100), container(r1, new Date(fresh + 600), 0.5, 300)]);
    await until(async () => ((await rawCount(r1)) === 2 ? true : undefined), 'two fresh r1 samples stored raw');
    const client = new RdmpClient(nc, { names });
    const h = await client.query(METRICS_COLLECTOR, MetricsQueries.history, { kind: 'container', service: `${tag}/web`, from: new Date(b0 + 1).toISOString() });
    expect(h.from).toBe(new Date(b0).toISOString());
    expect(h.truncated).toBe(false);
    expect(h.series.map((x) => [x.key, x.service])).toEqual([[r1, `${tag}/web`]]);
    const pts = h.series[0]!.points;
    expect(pts.map((p) => [p.bucket, p.count, p.bucketMs])).toEqual([
      [new Date(b0).toISOString(), 4, BUCKET_MS],
      [new Date(b0 + BUCKET_MS).toISOString(), 1, BUCKET_MS],
      [new Date(fresh).toISOString(), 2, BUCKET_MS],
    ]);
    expect(pts[0]!.fields['cpu.usedCores']!.avg).toBeCloseTo(0.4, 10);
    expect(pts[2]!.fields['cpu.usedCores']!.avg).toBeCloseTo(0.4, 10);
    expect(pts[2]!.fields['memory.usedBytes']).toEqual({ avg: 200, min: 100, max: 300 });
    const nodes = await client.query(METRICS_COLLECTOR, MetricsQueries.history, { kind: 'node', key: `n-${tag}`, from: new Date(b0).toISOString(), to: new Date(b0 + BUCKET_MS).toISOString() });
    expect(nodes.series.map((x) => [x.key, x.service, x.points.length, x.points[0]!.count])).toEqual([[`n-${tag}`, null, 1, 2]]);
  });

  it('counts every raw row once when passes run at once (four here and the collector\'s own)', async () => {
    const key = `${tag}/many-1@rev1`;
    const b0 = Math.floor((Date.now() - 240_000) / BUCKET_MS) * BUCKET_MS;
    const store = new MetricsStore(pool);
    const rows = Array.from({ length: 400 }, (_, i) => ({ kind: 'container' as const, key, service: `${tag}/many`, at: new Date(b0 + (i % 10) * BUCKET_MS + i).toISOString(), body: container(key, new Date(b0), (Math.floor(i / 10) % 4) / 4, 100) }));
    const settings = { rawMs: 60_000, bucketMs: BUCKET_MS, retentionMs: 1_200_000 };
    // Inserted while passes run, so that some pass finds part of them.
    const passes = Array.from({ length: 4 }, async (_, i) => {
      const mine = createPool(db.url, 1);
      try {
        const own = new MetricsStore(mine);
        for (let j = 0; j < 5; j++) {
          if (i === 0) await store.insertMany(rows.slice(j * 80, (j + 1) * 80));
          await own.rollup(Date.now(), settings);
        }
      } finally {
        await mine.end();
      }
    });
    await Promise.all(passes);
    const all = await until(async () => {
      const r = await rollups(key);
      return r.reduce((n, x) => n + x.count, 0) === 400 && (await rawCount(key)) === 0 ? r : undefined;
    }, 'all 400 rows rolled up');
    expect(all.map((r) => r.count)).toEqual(Array.from({ length: 10 }, () => 40));
    for (const r of all) expect(r.fields['cpu.usedCores']).toEqual({ avg: 0.375, min: 0, max: 0.75 });
  });

  it('answers GET /metrics in the exposition format: fresh samples as gauges and counters, its own counters', async () => {
    const now = new Date();
    const rep = `${tag}/api-3@rev2`;
    const net: NetworkMetrics = contracts().assert('NetworkMetrics', {
      version: 1,
      node: `n-${tag}`,
      bridge: 'br-test',
      at: now.toISOString(),
      interfaces: [{ port: 'vport1', ofport: 3, replicaId: rep, network: `${tag}/api`, rxPackets: 12, txPackets: 11, rxBytes: 1800, txBytes: 1500, rxDropped: 0, txDropped: 2, flows: { count: 1, packets: 12, bytes: 1800 } }],
    });
    // an older sample of the same replica first: the gauges are the latest one's
    await publish([container(rep, new Date(now.getTime() - 2_000), 0.1, 100), container(rep, now, 0.5, 250), node(`n-${tag}`, now, 0.75), net]);
    await until(async () => ((await rawCount(rep)) === 2 && (await rawCount(`n-${tag}`)) >= 2 ? true : undefined), 'fresh samples stored');

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const labels = `node="n-${tag}",replica="${rep}",service="${tag}/api"`;
    expect(text).toContain('# TYPE sdmi_container_cpu_used_cores gauge\n');
    expect(text).toContain(`sdmi_container_cpu_used_cores{${labels}} 0.5\n`);
    expect(text).toContain(`sdmi_container_memory_utilization_ratio{${labels}} 0.25\n`);
    expect(text).toContain(`# TYPE sdmi_container_network_receive_bytes_total counter\nsdmi_container_network_receive_bytes_total{${labels}} 5000\n`);
    expect(text).toContain(`sdmi_node_cpu_usage_ratio{node="n-${tag}"} 0.75\n`);
    expect(text).toContain(`sdmi_node_cpu_used_cores{node="n-${tag}"} 3\n`);
    expect(text).toContain(`sdmi_interface_transmit_dropped_total{bridge="br-test",network="${tag}/api",node="n-${tag}",port="vport1",replica="${rep}",service="${tag}/api"} 2\n`);
    // samples minutes old (rolled up by the test before) are not fresh: no gauge for them
    expect(text).not.toContain(`replica="${tag}/many-1@rev1"`);
    const stored = Number(/^sdmi_metrics_collector_samples_stored_total (\d+)$/m.exec(text)?.[1]);
    expect(stored).toBeGreaterThanOrEqual(12);
    expect(text).toMatch(/^sdmi_metrics_collector_samples_dropped_total 0$/m);

    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error, 'promtool (Debian package prometheus, installed by deploy/setup.sh)').toBeUndefined();
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe('');
    expect(lint.status).toBe(0);

    expect((await fetch(url.replace(/\/metrics$/, '/other'))).status).toBe(404);
    const post = await fetch(url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it(`drops what comes past ${MAX_INFLIGHT} samples in flight, counts it, and stores the rest`, async () => {
    const before = Number(/(\d+) samples stored/.exec(await detail())?.[1]);
    const rep = `${tag}/burst-1@rev1`;
    const t = Date.now();
    const N = 3_000;
    await publish(Array.from({ length: N }, (_, i) => container(rep, new Date(t - N + i), 0.1, 100)));
    // settled: every sample taken is stored or dropped
    const [stored, dropped] = await until(async () => {
      const m = /(\d+) samples stored, (\d+) refused, (\d+) dropped/.exec(await detail());
      const s = Number(m?.[1]) - before;
      const d = Number(m?.[3]);
      return s + d === N ? [s, d] : undefined;
    }, `${N} samples stored or dropped`);
    expect(dropped).toBeGreaterThan(0);
    expect(stored).toBeGreaterThanOrEqual(MAX_INFLIGHT);
    expect(await rawCount(rep)).toBe(stored);
    const text = await (await fetch(url)).text();
    expect(text).toMatch(new RegExp(`^sdmi_metrics_collector_samples_dropped_total ${dropped}$`, 'm'));
    expect(text).toMatch(/^sdmi_metrics_collector_samples_inflight 0$/m);
    expect(procLog).toMatch(/samples in flight: dropping samples/);
  });

  // Samples published just before the signal may or may not have reached it: only the clean exit
  // with the pipeline busy is asserted.
  it('exits 0 on SIGTERM while it is storing', async () => {
    const rep = `${tag}/last-1@rev1`;
    const t = Date.now();
    await publish(Array.from({ length: MAX_INFLIGHT / 2 }, (_, i) => container(rep, new Date(t - 100 + i), 0.1, 100)));
    const exit = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    proc!.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
