// RDMP against raw JetStream, in one run, on the real NATS and PostgreSQL.
//
// Three ways to carry the same task bytes from a publisher to a consumer that finishes it:
//   raw        JetStream publish (msgID) -> durable pull consumer -> explicit ack
//   raw+pg     the same, plus the task's effect row inserted in autocommit before the ack
//              (at-least-once, no dedupe: shows what the database write alone costs)
//   rdmp       RdmpClient.submit -> gateway -> JetStream -> RdmpWorker (exactly-once apply in a
//              PostgreSQL transaction that also records the task) -> completed status event
// Each is measured under load (N tasks over K keys, C in flight) and one task at a time.
// Bench code reports; it never asserts timings.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { BusNames, RdmpClient, RdmpWorker, connectNats, createPool, defaultNatsUrl, removeStreams, type ApplyHandler } from '@sdmi/bus';
import type { Task, TaskStatusEvent } from '@sdmi/contracts';
import pg from 'pg';
import pino, { type Logger } from 'pino';

// ---------------------------------------------------------------------------------------------
// Options

const Modes = { Raw: 'raw', RawPg: 'raw+pg', Rdmp: 'rdmp' } as const;
type Mode = (typeof Modes)[keyof typeof Modes];

interface Config {
  tasks: number;
  keys: number;
  inflight: number;
  sequential: number;
  warmup: number;
  /** Characters of filler in each task's payload, so the message size is realistic and equal. */
  payloadBytes: number;
  /** RdmpWorker `concurrency` (keys worked on at once); 16 is its default. */
  workerConcurrency: number;
  /** pg pool size of the raw+pg consumer and of the RDMP worker; 10 is createPool's default. */
  pool: number;
  /** A task not completed within this long fails the run (so it always ends). */
  taskTimeoutMs: number;
  /** Which modes to run, in this order; all three unless narrowed down to look at one. */
  modes: Mode[];
}

const USAGE = `usage: pnpm tsx bench/bus/src/main.ts [--tasks N] [--keys K] [--inflight C] [--sequential S]
       [--warmup W] [--payload-bytes B] [--worker-concurrency n] [--pool n] [--task-timeout-ms ms]
       [--modes raw,raw+pg,rdmp]`;

function parseConfig(argv: string[]): Config {
  // `pnpm --filter … bench -- --tasks 100` passes the `--` through; it is not a terminator here.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      tasks: { type: 'string' },
      keys: { type: 'string' },
      inflight: { type: 'string' },
      concurrency: { type: 'string' }, // alias of --inflight
      sequential: { type: 'string' },
      warmup: { type: 'string' },
      'payload-bytes': { type: 'string' },
      'worker-concurrency': { type: 'string' },
      pool: { type: 'string' },
      'task-timeout-ms': { type: 'string' },
      modes: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${v}"\n${USAGE}`);
    return n;
  };
  return {
    tasks: int('tasks', values.tasks, 5_000, 1),
    keys: int('keys', values.keys, 50, 1),
    inflight: int('inflight', values.inflight ?? values.concurrency, 64, 1),
    sequential: int('sequential', values.sequential, 500, 1),
    warmup: int('warmup', values.warmup, 200, 0),
    payloadBytes: int('payload-bytes', values['payload-bytes'], 64, 0),
    workerConcurrency: int('worker-concurrency', values['worker-concurrency'], 16, 1),
    pool: int('pool', values.pool, 10, 1),
    taskTimeoutMs: int('task-timeout-ms', values['task-timeout-ms'], 30_000, 100),
    modes: parseModes(values.modes),
  };
}

function parseModes(v: string | undefined): Mode[] {
  const all = Object.values(Modes);
  if (v === undefined) return all;
  const picked = v.split(',').map((m) => m.trim());
  const bad = picked.filter((m) => !(all as string[]).includes(m));
  if (bad.length || picked.length === 0) throw new Error(`--modes takes a comma-separated list of ${all.join(', ')}; got "${v}"\n${USAGE}`);
  // Always in the canonical order, so a narrowed run warms the servers the same way.
  return all.filter((m) => picked.includes(m));
}

function commandLine(cfg: Config): string {
  // Every effective option spelled out, so the line reproduces this run even if defaults change.
  return [
    'pnpm tsx bench/bus/src/main.ts',
    `--tasks ${cfg.tasks}`,
    `--keys ${cfg.keys}`,
    `--inflight ${cfg.inflight}`,
    `--sequential ${cfg.sequential}`,
    `--warmup ${cfg.warmup}`,
    `--payload-bytes ${cfg.payloadBytes}`,
    `--worker-concurrency ${cfg.workerConcurrency}`,
    `--pool ${cfg.pool}`,
    `--task-timeout-ms ${cfg.taskTimeoutMs}`,
    `--modes ${cfg.modes.join(',')}`,
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Tasks and their completion

const SERVICE = 'bench';
const KIND = 'record';
const recordSchema = {
  $id: 'https://sdmi.invalid/schemas/bench/record.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['n', 'data'],
  properties: { n: { type: 'integer', minimum: 0 }, data: { type: 'string', maxLength: 65_536 } },
} as const;

interface BenchTask {
  id: string;
  key: string;
  payload: { n: number; data: string };
}

interface Sample {
  t0: number;
  /** Publisher side: the JetStream publish ack (raw) or the gateway's submit reply (RDMP). */
  accepted: number;
  /** RDMP only: the `executing` status event reached the client. */
  executing?: number;
  completed: number;
  failed: boolean;
}

function makeTasks(n: number, keys: number, payloadBytes: number, from: number): BenchTask[] {
  const data = 'x'.repeat(payloadBytes);
  return Array.from({ length: n }, (_, i) => ({ id: randomUUID(), key: `bench/k${(from + i) % keys}`, payload: { n: from + i, data } }));
}

/** The Task exactly as the RDMP gateway would put it in the stream: raw modes send these bytes too. */
function asStreamTask(t: BenchTask): Task {
  return { id: t.id, service: SERVICE, kind: KIND, key: t.key, payload: t.payload, principal: { id: 'anonymous' }, mode: 'queued', submittedAt: new Date().toISOString() };
}

interface Waiter {
  resolve: (r: { completed: number; executing?: number; failed: boolean }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  executing?: number;
}

/** Matches completions (seen by a consumer, or as status events) to the tasks that wait for them. */
class Tracker {
  private readonly waiting = new Map<string, Waiter>();
  /** Completions of tasks nobody waits for: redeliveries, or a run that already gave up. */
  strays = 0;

  constructor(private readonly timeoutMs: number) {}

  expect(id: string): Promise<{ completed: number; executing?: number; failed: boolean }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`task ${id} did not complete within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
    });
  }

  /** The send failed: nothing will complete, and nobody awaits the promise any more. */
  forget(id: string): void {
    const w = this.waiting.get(id);
    if (w) clearTimeout(w.timer);
    this.waiting.delete(id);
  }

  executing(id: string, at: number): void {
    const w = this.waiting.get(id);
    if (w && w.executing === undefined) w.executing = at;
  }

  complete(id: string, at: number, failed = false): void {
    const w = this.waiting.get(id);
    if (!w) {
      this.strays++;
      return;
    }
    clearTimeout(w.timer);
    this.waiting.delete(id);
    w.resolve({ completed: at, failed, ...(w.executing !== undefined ? { executing: w.executing } : {}) });
  }

  /** Fails every waiting task at once (shutdown on a signal). */
  abort(reason: string): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new Error(`task ${id}: ${reason}`));
    }
    this.waiting.clear();
  }
}

interface Target {
  readonly mode: Mode;
  /** Resolves once the bus accepted the task (publish ack / submit reply). */
  send(t: BenchTask): Promise<void>;
  /** Stops consuming; the resources themselves go with the run's cleanup. */
  close(): Promise<void>;
  /** What the mode observed beyond timings (RDMP: status events out of order). */
  observations?(): { [k: string]: number };
}

async function runOne(target: Target, tracker: Tracker, t: BenchTask): Promise<Sample> {
  const t0 = performance.now();
  const done = tracker.expect(t.id);
  // It may reject (timeout, interrupt) while send() is still pending; it is awaited below.
  done.catch(() => undefined);
  try {
    await target.send(t);
  } catch (err) {
    tracker.forget(t.id);
    throw err;
  }
  const accepted = performance.now();
  const c = await done;
  return { t0, accepted, completed: c.completed, failed: c.failed, ...(c.executing !== undefined ? { executing: c.executing } : {}) };
}

/** Up to `inflight` tasks outstanding at any time; elapsed is first send to last completion. */
async function runLoad(target: Target, tracker: Tracker, tasks: BenchTask[], inflight: number): Promise<{ records: Sample[]; elapsedMs: number }> {
  const records: Sample[] = [];
  let next = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const t = tasks[next++]!;
      records.push(await runOne(target, tracker, t));
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, tasks.length) }, lane));
  const end = Math.max(...records.map((r) => r.completed));
  return { records, elapsedMs: end - start };
}

async function runSequential(target: Target, tracker: Tracker, tasks: BenchTask[]): Promise<Sample[]> {
  const records: Sample[] = [];
  for (const t of tasks) records.push(await runOne(target, tracker, t));
  return records;
}

// ---------------------------------------------------------------------------------------------
// Statistics

interface Latency {
  count: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** Medians of the stages (ms since send): accepted, and for RDMP the executing event. */
  p50Accepted: number;
  p50Executing?: number;
}

function pct(sorted: number[], q: number): number {
  // Nearest rank: an observed value, no interpolation.
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function latency(records: Sample[]): Latency {
  const lat = records.map((r) => r.completed - r.t0).sort((a, b) => a - b);
  const acc = records.map((r) => r.accepted - r.t0).sort((a, b) => a - b);
  const exe = records.filter((r) => r.executing !== undefined).map((r) => r.executing! - r.t0).sort((a, b) => a - b);
  return {
    count: records.length,
    failed: records.filter((r) => r.failed).length,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    max: lat[lat.length - 1] ?? Number.NaN,
    mean: lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length),
    p50Accepted: pct(acc, 0.5),
    ...(exe.length ? { p50Executing: pct(exe, 0.5) } : {}),
  };
}

interface ModeResult {
  mode: Mode;
  load: Latency & { elapsedMs: number; tasksPerSec: number; cpuMsPerTask: { node: number; nats: number; postgres: number } };
  sequential: Latency;
}

// ---------------------------------------------------------------------------------------------
// The three targets

interface RawStream {
  name: string;
  subject: (mode: Mode) => string;
}

const ACK_WAIT_MS = 30_000; // RdmpWorker's default
const MAX_ACK_PENDING = 1_000; // RdmpWorker's default
const CONSUME_BATCH = 512; // what RdmpWorker asks consume() for

/** A work-queue stream configured like RDMP's task stream, for the raw modes. */
async function createRawStream(jsm: JetStreamManager, tag: string): Promise<RawStream> {
  const name = `BENCH_${tag.toUpperCase()}_RAW`;
  const base = `${tag}.raw`;
  await jsm.streams.add({
    name,
    subjects: [`${base}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(2 * 60_000),
  });
  return { name, subject: (mode) => `${base}.${mode === Modes.RawPg ? 'pg' : 'plain'}` };
}

const INSERT_EFFECT = 'INSERT INTO bench_effect (mode, task_id, key, n, data) VALUES ($1, $2, $3, $4, $5)';

async function rawTarget(opts: {
  mode: typeof Modes.Raw | typeof Modes.RawPg;
  pub: NatsConnection;
  sub: NatsConnection;
  stream: RawStream;
  tracker: Tracker;
  pool?: pg.Pool;
  log: Logger;
}): Promise<Target> {
  const { mode, stream, tracker, pool, log } = opts;
  const subject = stream.subject(mode);
  const durable = mode === Modes.RawPg ? 'bench-raw-pg' : 'bench-raw';
  const jsm = await jetstreamManager(opts.sub);
  // The same consumer settings RDMP's queued consumer gets (resetConsumer), so only the work differs.
  await jsm.consumers.add(stream.name, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: subject,
    ack_wait: nanos(ACK_WAIT_MS),
    max_ack_pending: MAX_ACK_PENDING,
    deliver_policy: DeliverPolicy.All,
    max_deliver: -1,
  });
  const consumer = await jetstream(opts.sub).consumers.get(stream.name, durable);
  const iter: ConsumerMessages = await consumer.consume({ max_messages: CONSUME_BATCH });
  const handle = async (m: JsMsg): Promise<void> => {
    const task = JSON.parse(m.string()) as Task;
    if (pool) {
      const p = task.payload as BenchTask['payload'];
      try {
        await pool.query(INSERT_EFFECT, [mode, task.id, task.key, p.n, p.data]);
      } catch (err) {
        // At-least-once: leave it to a redelivery, as a plain consumer would.
        log.error({ err, taskId: task.id }, 'raw+pg insert failed; nak');
        m.nak();
        return;
      }
    }
    m.ack();
    tracker.complete(task.id, performance.now());
  };
  const loop = (async () => {
    for await (const m of iter) {
      // raw+pg in parallel, bounded by the pool and max_ack_pending; plain raw needs no parallelism.
      if (pool) handle(m).catch((err: unknown) => log.error({ err, mode }, 'raw+pg handler failed'));
      else await handle(m);
    }
  })().catch((err: unknown) => log.error({ err, mode }, 'raw consumer loop ended with an error'));
  const js: JetStreamClient = jetstream(opts.pub);
  return {
    mode,
    async send(t) {
      await js.publish(subject, JSON.stringify(asStreamTask(t)), { msgID: t.id });
    },
    async close() {
      await iter.close().catch(() => undefined);
      await loop;
      await jsm.consumers.delete(stream.name, durable).catch(() => undefined);
    },
  };
}

async function rdmpTarget(opts: { pub: NatsConnection; worker: RdmpWorker; names: BusNames; tracker: Tracker }): Promise<Target> {
  const { pub, names, tracker } = opts;
  const client = new RdmpClient(pub, { names });
  // Subscribed before the first submit: a completed event can overtake the submit reply.
  // Highest status seen per task, to count events that arrive after a later one (a client that
  // shows "the last event" would show such a task going back).
  const rank = { pending: 0, executing: 1, completed: 2, failed: 2 } as const;
  const seen = new Map<string, number>();
  const obs = { events: 0, pendingAfterLater: 0, executingAfterTerminal: 0 };
  const sub: Subscription = pub.subscribe(names.taskEvents(SERVICE, '*'), {
    callback: (err, m) => {
      if (err) return;
      const at = performance.now();
      const ev = m.json<TaskStatusEvent>();
      obs.events++;
      const r = rank[ev.status];
      const top = seen.get(ev.taskId) ?? -1;
      if (r < top) {
        if (ev.status === 'pending') obs.pendingAfterLater++;
        else obs.executingAfterTerminal++;
      } else seen.set(ev.taskId, r);
      if (ev.status === 'executing') tracker.executing(ev.taskId, at);
      else if (ev.status === 'completed' || ev.status === 'failed') tracker.complete(ev.taskId, at, ev.status === 'failed');
    },
  });
  await pub.flush(); // the subscription is registered on the server before anything is submitted
  return {
    mode: Modes.Rdmp,
    async send(t) {
      await client.submit(SERVICE, { id: t.id, kind: KIND, key: t.key, payload: t.payload });
    },
    async close() {
      sub.unsubscribe();
      await opts.worker.stop();
    },
    observations: () => ({ ...obs }),
  };
}

// ---------------------------------------------------------------------------------------------
// Cleanup that runs once, step by step, whatever failed before

class Cleanup {
  private readonly steps: Array<{ name: string; fn: () => Promise<unknown> }> = [];
  private running?: Promise<void>;

  constructor(private readonly log: Logger) {}

  add(name: string, fn: () => Promise<unknown>): void {
    this.steps.push({ name, fn });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const s of this.steps.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        try {
          // A stuck step must not keep the process alive: the others still run.
          await Promise.race([s.fn(), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('timed out after 10 s')), 10_000)))]);
        } catch (err) {
          this.log.error({ err, step: s.name }, 'cleanup step failed');
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return this.running;
  }
}

// ---------------------------------------------------------------------------------------------
// Where the CPU goes: this process (publisher, client, consumer, worker), nats-server, PostgreSQL

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat counts CPU time in these ticks

interface CpuSnapshot {
  self: NodeJS.CpuUsage;
  /** pid -> [comm, user+system ticks] of nats-server and postgres processes. */
  procs: Map<number, [string, number]>;
}

function procCpu(): Map<number, [string, number]> {
  const out = new Map<number, [string, number]>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out; // not Linux: the report shows only this process
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm is in parentheses and may hold spaces: fields count from the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'nats-server' && comm !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(pid), [comm, Number(f[11]) + Number(f[12])]); // utime, stime
    } catch {
      // the process ended between listing and reading
    }
  }
  return out;
}

function cpuSnapshot(): CpuSnapshot {
  return { self: process.cpuUsage(), procs: procCpu() };
}

/** CPU ms spent since `from`, by process group. A backend that exited meanwhile is not counted. */
function cpuSince(from: CpuSnapshot): { node: number; nats: number; postgres: number } {
  const self = process.cpuUsage(from.self);
  const acc = { nats: 0, postgres: 0 };
  for (const [pid, [comm, ticks]] of procCpu()) {
    const before = from.procs.get(pid);
    const d = ticks - (before && before[0] === comm ? before[1] : 0);
    acc[comm === 'nats-server' ? 'nats' : 'postgres'] += (d * 1_000) / CLK_TCK;
  }
  return { node: (self.user + self.system) / 1_000, ...acc };
}

// ---------------------------------------------------------------------------------------------
// Output

const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2) : '-');
const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

function report(results: ModeResult[], cfg: Config, machine: object, extra: object): string {
  const header = ['mode', 'tasks/s', 'load p50', 'load p99', 'load max', 'seq p50', 'seq p99', 'seq max', 'failed'];
  const rows = results.map((r) => [
    r.mode,
    f1(r.load.tasksPerSec),
    f1(r.load.p50),
    f1(r.load.p99),
    f1(r.load.max),
    f1(r.sequential.p50),
    f1(r.sequential.p99),
    f1(r.sequential.max),
    String(r.load.failed + r.sequential.failed),
  ]);
  const rdmp = results.find((r) => r.mode === Modes.Rdmp);
  const ratioRows = results.flatMap((base) => {
    if (!rdmp || base.mode === Modes.Rdmp) return [];
    return [[
      `rdmp / ${base.mode}`,
      ratio(rdmp.load.tasksPerSec, base.load.tasksPerSec),
      ratio(rdmp.load.p50, base.load.p50),
      ratio(rdmp.load.p99, base.load.p99),
      ratio(rdmp.load.max, base.load.max),
      ratio(rdmp.sequential.p50, base.sequential.p50),
      ratio(rdmp.sequential.p99, base.sequential.p99),
      ratio(rdmp.sequential.max, base.sequential.max),
      '',
    ]];
  });
  const stageHeader = ['stage (p50, ms since send)', 'load', 'sequential'];
  const stageRows = results.flatMap((r) => [
    [`${r.mode}: accepted (${r.mode === Modes.Rdmp ? 'submit reply' : 'publish ack'})`, f1(r.load.p50Accepted), f1(r.sequential.p50Accepted)],
    ...(r.mode === Modes.Rdmp ? [[`${r.mode}: 'executing' event`, f1(r.load.p50Executing ?? Number.NaN), f1(r.sequential.p50Executing ?? Number.NaN)]] : []),
    [`${r.mode}: completed`, f1(r.load.p50), f1(r.sequential.p50)],
  ]);
  const cpuHeader = ['CPU per task under load (ms)', 'node', 'nats-server', 'postgres', 'total', 'cores busy'];
  const cpuRows = results.map((r) => {
    const c = r.load.cpuMsPerTask;
    const total = c.node + c.nats + c.postgres;
    return [r.mode, c.node.toFixed(3), c.nats.toFixed(3), c.postgres.toFixed(3), total.toFixed(3), ((total * r.load.tasksPerSec) / 1_000).toFixed(2)];
  });
  return [
    '',
    `RDMP vs raw JetStream — ${cfg.tasks} tasks over ${cfg.keys} keys, ${cfg.inflight} in flight; ${cfg.sequential} sequential; ${cfg.warmup} warm-up per mode`,
    'latency in ms, publish -> completion (raw: consumer acked; rdmp: completed event at the client)',
    '',
    table([header, ...rows, ...ratioRows]),
    '',
    table([stageHeader, ...stageRows]),
    '',
    table([cpuHeader, ...cpuRows]),
    '(node = this one process: publisher, client, consumer and worker; nats/postgres = the whole servers, other users included)',
    '',
    Object.entries({ ...machine, ...extra })
      .map(([k, v]) => `${k.padEnd(22)} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join('\n'),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

/** Set by SIGINT/SIGTERM: the exit code is then 130 whichever path finishes the cleanup. */
let interrupted = false;

async function main(): Promise<number> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'bench-bus' } }, pino.destination({ dest: 2, sync: true }));
  let cfg: Config;
  try {
    cfg = parseConfig(process.argv.slice(2));
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(`${msg}${msg.includes('usage:') ? '' : `\n${USAGE}`}\n`);
    return 2;
  }
  const cleanup = new Cleanup(log);
  const tracker = new Tracker(cfg.taskTimeoutMs);
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log.warn({ sig }, 'interrupted; cleaning up');
    tracker.abort(`interrupted by ${sig}`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Lanes still waiting when the run gives up reject into the void: log them, do not crash before cleanup.
  process.on('unhandledRejection', (err) => log.warn({ err }, 'unhandled rejection'));
  // `… | head` closes stdout early: the results are then unwanted, but the clean-up still is.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') log.warn({ err }, 'stdout write failed');
  });
  // Anything else thrown out of a callback: clean up before dying, instead of leaking the run.
  process.on('uncaughtException', (err) => {
    log.error({ err }, 'uncaught exception; cleaning up');
    tracker.abort('uncaught exception');
    void cleanup.run().finally(() => process.exit(1));
  });

  // Not the test bed's `sdmi-t????` / `sdmi_test_` names: its leak sweep owns those.
  const tag = `bench${randomBytes(4).toString('hex')}`;
  const names = new BusNames(tag);
  const adminUrl = new URL(process.env.SDMI_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  adminUrl.pathname = '/postgres';
  const dbName = `sdmi_bench_${tag.slice(5)}`;
  const dbUrl = new URL(adminUrl.toString());
  dbUrl.pathname = `/${dbName}`;

  try {
    const admin = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 5_000 });
    await admin.connect();
    cleanup.add('admin connection', () => admin.end());
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(dbName)}`);
    cleanup.add(`drop database ${dbName}`, () => admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(dbName)} WITH (FORCE)`));

    // Publisher and consumer on separate connections, as a client and a service would be.
    const pub = await connectNats(`bench-bus-pub-${tag}`);
    cleanup.add('nats publisher connection', () => pub.close());
    const sub = await connectNats(`bench-bus-sub-${tag}`);
    cleanup.add('nats consumer connection', () => sub.close());
    const jsm = await jetstreamManager(sub);
    const stream = await createRawStream(jsm, tag);
    cleanup.add(`stream ${stream.name}`, () => jsm.streams.delete(stream.name));
    // RDMP's streams appear with worker.start(); removing them is harmless if they never did.
    cleanup.add(`rdmp streams of ${tag}`, () => removeStreams(jsm, names));

    const rawPool = createPool(dbUrl.toString(), cfg.pool);
    cleanup.add('raw+pg pool', () => rawPool.end());
    const rdmpPool = createPool(dbUrl.toString(), cfg.pool);
    cleanup.add('rdmp pool', () => rdmpPool.end());
    // Same row shape for raw+pg and RDMP; no unique key, since raw+pg is at-least-once.
    await rawPool.query(`CREATE TABLE bench_effect (
      id bigserial PRIMARY KEY, mode text NOT NULL, task_id uuid NOT NULL, key text NOT NULL,
      n integer NOT NULL, data text NOT NULL, at timestamptz NOT NULL DEFAULT now())`);

    const pgFacts = (await admin.query<{ v: string; sc: string; fsync: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync`,
    )).rows[0]!;
    const sampleBytes = Buffer.byteLength(JSON.stringify(asStreamTask(makeTasks(1, 1, cfg.payloadBytes, 0)[0]!)));
    const machine = {
      nproc: String(os.availableParallelism()),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
      node: process.version,
      nats: `${pub.info?.version ?? 'unknown'} (jetstream ${pub.info?.jetstream ? 'on' : 'off'}) at ${defaultNatsUrl()}`,
      postgresql: `${pgFacts.v} (synchronous_commit=${pgFacts.sc}, fsync=${pgFacts.fsync})`,
      loadavgAtStart: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    };
    log.info({ cfg, machine, tag }, 'starting');

    const handler: ApplyHandler<BenchTask['payload']> = {
      kind: KIND,
      payloadSchema: recordSchema,
      async apply({ task, db }) {
        await db.query(INSERT_EFFECT, [Modes.Rdmp, task.id, task.key, task.payload.n, task.payload.data]);
      },
    };
    const worker = new RdmpWorker({
      nc: sub,
      pool: rdmpPool,
      dbUrl: dbUrl.toString(),
      service: SERVICE,
      names,
      handlers: [handler],
      concurrency: cfg.workerConcurrency,
      log: log.child({ component: 'rdmp' }, { level: 'warn' }),
    });

    const targets: { [m in Mode]: () => Promise<Target> } = {
      [Modes.Raw]: () => rawTarget({ mode: Modes.Raw, pub, sub, stream, tracker, log }),
      [Modes.RawPg]: () => rawTarget({ mode: Modes.RawPg, pub, sub, stream, tracker, pool: rawPool, log }),
      [Modes.Rdmp]: async () => {
        cleanup.add('rdmp worker', () => worker.stop());
        await worker.start();
        worker.serve();
        return rdmpTarget({ pub, worker, names, tracker });
      },
    };

    const results: ModeResult[] = [];
    const observations: { [mode: string]: { [k: string]: number } } = {};
    let n = 0; // task numbers run on across modes, so every task is distinct
    for (const mode of cfg.modes) {
      const target = await targets[mode]();
      cleanup.add(`${target.mode} consumer`, () => target.close());
      const phase = (name: string) => log.info({ mode: target.mode, phase: name }, 'phase');
      phase('warm-up');
      if (cfg.warmup > 0) await runLoad(target, tracker, makeTasks(cfg.warmup, cfg.keys, cfg.payloadBytes, n), cfg.inflight);
      n += cfg.warmup;
      phase('load');
      const cpu0 = cpuSnapshot();
      const load = await runLoad(target, tracker, makeTasks(cfg.tasks, cfg.keys, cfg.payloadBytes, n), cfg.inflight);
      const cpu = cpuSince(cpu0);
      n += cfg.tasks;
      phase('sequential');
      const seq = await runSequential(target, tracker, makeTasks(cfg.sequential, cfg.keys, cfg.payloadBytes, n));
      n += cfg.sequential;
      await target.close();
      if (target.observations) observations[target.mode] = target.observations();
      const l = latency(load.records);
      results.push({
        mode: target.mode,
        load: {
          ...l,
          elapsedMs: load.elapsedMs,
          tasksPerSec: (cfg.tasks / load.elapsedMs) * 1_000,
          cpuMsPerTask: { node: cpu.node / cfg.tasks, nats: cpu.nats / cfg.tasks, postgres: cpu.postgres / cfg.tasks },
        },
        sequential: latency(seq),
      });
      log.info({ mode: target.mode, tasksPerSec: Math.round(results.at(-1)!.load.tasksPerSec) }, 'mode done');
    }

    const effectRows = Object.fromEntries(
      (await rawPool.query<{ mode: string; n: string }>('SELECT mode, count(*) AS n FROM bench_effect GROUP BY mode ORDER BY mode')).rows.map((r) => [r.mode, Number(r.n)]),
    );
    const ranRdmp = cfg.modes.includes(Modes.Rdmp);
    const extra = {
      loadavgAtEnd: os.loadavg().map((l) => l.toFixed(2)).join(' '),
      taskMessageBytes: String(sampleBytes),
      effectRows: effectRows,
      // The rdmp schema exists only once the worker migrated the database.
      ...(ranRdmp
        ? {
            rdmpTaskRowsCompleted: (await rawPool.query<{ n: string }>(`SELECT count(*) AS n FROM rdmp.task WHERE status = 'completed'`)).rows[0]!.n,
            rdmpWorkerStats: worker.stats,
            rdmpStatusEvents: observations[Modes.Rdmp] ?? {},
          }
        : {}),
      strayCompletions: String(tracker.strays),
      command: commandLine(cfg),
    };
    process.stdout.write(report(results, cfg, machine, extra));
    const rd = results.find((r) => r.mode === Modes.Rdmp);
    const ratios = Object.fromEntries(
      results
        .filter((r) => rd && r.mode !== Modes.Rdmp)
        .map((b) => [
          b.mode,
          {
            throughput: rd!.load.tasksPerSec / b.load.tasksPerSec,
            loadP50: rd!.load.p50 / b.load.p50,
            loadP99: rd!.load.p99 / b.load.p99,
            seqP50: rd!.sequential.p50 / b.sequential.p50,
            seqP99: rd!.sequential.p99 / b.sequential.p99,
          },
        ]),
    );
    process.stdout.write(`${JSON.stringify({ bench: 'bus', config: cfg, machine, ...extra, results, ratiosRdmpOver: ratios })}\n`);
    return 0;
  } catch (err) {
    if (interrupted) log.warn('bench interrupted');
    else log.error({ err }, 'bench failed');
    return 1;
  } finally {
    tracker.abort('run ended');
    await cleanup.run();
    log.info('cleaned up');
  }
}

// Exit explicitly: a library handle left behind must not keep the bench alive after cleanup.
main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
