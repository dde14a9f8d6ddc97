// metrics-collector against a plain `pg` insert loop, in one run, on the real NATS and PostgreSQL.
//
//   collector  N ContainerMetrics published on core NATS -> metrics-collector (a process of its own:
//              schema check, subject check, multi-row INSERTs into metrics.sample; past its bound on
//              samples in flight it drops them, and says how many in its health) -> stored
//   pg loop    the same N rows INSERTed one after another by this process into a table of the same
//              shape, in the same database: what storing costs with nothing in front of it
// Rate = samples stored per second, from the first publish (or insert) to the last row counted.
// Bench code reports; it never asserts timings.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BusNames, connectNats, createPool, ensureDatabase, jetstreamManager, metricsToken, removeStreams } from '@sdmi/bus';
import { contracts, type ContainerMetrics } from '@sdmi/contracts';
import { healthSubject, requestHealth } from '@sdmi/service';
import pg from 'pg';
import { loadavg, table } from '../../common/src/report';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { values } = parseArgs({
  options: { samples: { type: 'string', default: '5000' }, replicas: { type: 'string', default: '50' }, batch: { type: 'string', default: '500' }, 'max-inflight': { type: 'string' } },
  strict: true,
  args: process.argv.slice(2).filter((a) => a !== '--'),
});
const N = Number(values.samples);
const R = Number(values.replicas);
const BATCH = Number(values.batch);
if (![N, R, BATCH].every((x) => Number.isInteger(x) && x > 0)) throw new Error('--samples, --replicas and --batch take whole numbers above 0');
// Unset: N, so that nothing is dropped and the rate is the collector's storing; the collector's own
// default (1000) drops most of a burst of 5000 published this fast.
const maxInflight = { SDMI_METRICS_MAX_INFLIGHT: values['max-inflight'] ?? String(N) };

const tag = `bm${randomBytes(3).toString('hex')}`;
const dbUrl = `postgres://postgres@127.0.0.1:5432/sdmi_bench_${tag}`;
const names = new BusNames(tag);

function sample(i: number): ContainerMetrics {
  const replica = `bench/app-${(i % R) + 1}@rev1`;
  const s: ContainerMetrics = {
    version: 1,
    replicaId: replica,
    service: 'bench/app',
    node: 'bench-node',
    at: new Date(Date.now() - (N - i)).toISOString(),
    cpu: { usedCores: (i % 100) / 100, limitCores: 2 },
    memory: { usedBytes: 50_000_000 + i, limitBytes: 1_073_741_824 },
    network: { rxBytes: i * 1000, txBytes: i * 800 },
  };
  const c = contracts().check('ContainerMetrics', s);
  if (!c.ok) throw new Error(`the bench's own sample breaks the contract: ${c.error.message}`);
  return s;
}

async function count(pool: pg.Pool, table: string): Promise<number> {
  return Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
}

async function main(): Promise<void> {
  await ensureDatabase(dbUrl);
  const pool = createPool(dbUrl, 2);
  const nc = await connectNats(`bench-metrics-${tag}`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/metrics-collector/src/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SDMI_PG_URL: dbUrl, SDMI_BUS_PREFIX: tag, SDMI_INSTANCE_ID: `mc-${tag}`, SDMI_LOG_LEVEL: 'warn', ...maxInflight },
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  try {
    const end = Date.now() + 60_000;
    for (;;) {
      const ready = await requestHealth(nc, healthSubject('metrics-collector', `mc-${tag}`), { timeout: 1_000 }).then((h) => h.ready, () => false);
      if (ready) break;
      if (Date.now() > end) throw new Error(`metrics-collector not ready in 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const samples = Array.from({ length: N }, (_, i) => sample(i));
    const bodies = samples.map((s) => JSON.stringify(s));

    // collector: published in batches, each flushed, so that no sample is lost to a slow consumer
    const t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      for (let j = i; j < Math.min(N, i + BATCH); j++) nc.publish(names.metrics('container', metricsToken(samples[j]!.replicaId)), bodies[j]!);
      await nc.flush();
    }
    const published = performance.now() - t0;
    const deadline = Date.now() + 300_000;
    let stored = 0;
    let dropped = 0;
    // Done when every sample is stored or was dropped (its health counts the drops).
    const droppedNow = async () => {
      const h = await requestHealth(nc, healthSubject('metrics-collector', `mc-${tag}`), { timeout: 1_000 });
      return Number(/(\d+) dropped/.exec(h.checks.find((c) => c.name === 'metrics')?.detail ?? '')?.[1] ?? 0);
    };
    while ((stored = await count(pool, 'metrics.sample')) + (dropped = stored < N ? await droppedNow() : 0) < N) {
      if (Date.now() > deadline) throw new Error(`only ${stored} of ${N} samples stored (${dropped} dropped) after 300 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const collectorMs = performance.now() - t0;

    // pg loop: the same rows, one INSERT after another
    await pool.query('CREATE TABLE bench_plain (LIKE metrics.sample INCLUDING ALL)');
    const plain = new pg.Client({ connectionString: dbUrl });
    await plain.connect();
    const t1 = performance.now();
    for (const s of samples) {
      await plain.query('INSERT INTO bench_plain (kind, key, service, at, body) VALUES ($1, $2, $3, $4, $5)', ['container', s.replicaId, s.service, s.at, JSON.stringify(s)]);
    }
    const plainMs = performance.now() - t1;
    await plain.end();
    if ((await count(pool, 'bench_plain')) !== N) throw new Error('the pg loop did not store every row');

    const rate = (ms: number, rows = N) => (rows / (ms / 1000)).toFixed(0);
    console.log(`bench/metrics: ${N} ContainerMetrics over ${R} replicas, batches of ${BATCH}; load before: ${loadavg()}`);
    console.log(
      table([
        ['path', 'what', 'seconds', 'samples/s'],
        ['collector', 'NATS -> check -> INSERT', (collectorMs / 1000).toFixed(2), rate(collectorMs, stored)],
        ['pg loop', 'INSERT loop', (plainMs / 1000).toFixed(2), rate(plainMs)],
      ]),
    );
    console.log(`(publishing took ${(published / 1000).toFixed(2)} s of the collector's time; the collector dropped ${dropped} of ${N} samples over its bound in flight)`);
    console.log(`ratio collector/pg loop (samples/s): ${((stored / collectorMs) / (N / plainMs)).toFixed(2)}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_000));
    child.kill('SIGKILL');
    // The collector is an RDMP endpoint: its streams are made under the run's prefix.
    await removeStreams(await jetstreamManager(nc), names).catch(() => undefined);
    await nc.close();
    await pool.end();
    const admin = new pg.Client({ connectionString: dbUrl.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "sdmi_bench_${tag}" WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
