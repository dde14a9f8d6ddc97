// A real worker process for the crash tests: the test starts it, sends it tasks and SIGKILLs it
// (or it SIGKILLs itself at a chosen point). Configured by SDMI_TEST_WORKER (JSON). Prints
// `ROLE <role>` on every role change and `STATS <json>` every 200 ms on stdout.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { connectNats, createPool, BusNames, RdmpWorker, TaskError, type ApplyHandler, type Handler, type Step, type TransactionHandler } from '../../src/index';

interface Config {
  prefix: string;
  dbUrl: string;
  service: string;
  endpoint: string;
  ackWaitMs?: number;
  concurrency?: number;
  loseAckRatio?: number;
  fileDir?: string;
  kill?: { key: string; at: 'doing' | 'done' | 'undoing' | 'undone'; step: number };
}

const cfg = JSON.parse(process.env.SDMI_TEST_WORKER ?? '{}') as Config;
const log = pino({ level: process.env.SDMI_LOG_LEVEL ?? 'warn' }, pino.destination(2));
const die = () => process.kill(process.pid, 'SIGKILL');

const record: ApplyHandler<{ n: number }> = {
  kind: 'record',
  payloadSchema: { $id: 'https://sdmi.invalid/schemas/test/record.schema.json', type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
  async apply({ task, db }) {
    // The sleep makes tasks of different keys overlap measurably.
    await db.query(
      `INSERT INTO effect (key, n, task_id, pid, started_at) VALUES ($1, $2, $3, $4, clock_timestamp());
       `.trim(),
      [task.key, task.payload.n, task.id, process.pid],
    );
    await db.query('SELECT pg_sleep(0.003)');
    await db.query('UPDATE effect SET finished_at = clock_timestamp() WHERE task_id = $1', [task.id]);
  },
};

const stepNames = ['reserve', 'create', 'attach', 'announce'];
const dir = cfg.fileDir ?? '/tmp';
const provision: TransactionHandler<{ failAt?: number }> = {
  kind: 'provision',
  payloadSchema: { $id: 'https://sdmi.invalid/schemas/test/provision.schema.json', type: 'object', properties: { failAt: { type: 'integer', minimum: 0, maximum: 3 } } },
  steps(task) {
    return stepNames.map((name, i): Step<{ failAt?: number }> => ({
      name,
      async do() {
        // The effect lives outside the database: only compensation can take it back.
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `${task.key}.${i}`), name);
        if (cfg.kill?.key === task.key && cfg.kill.at === 'doing' && cfg.kill.step === i) die();
        if (task.payload.failAt === i) throw new TaskError('DISK_FULL', `no room for ${name}`);
        return { file: `${task.key}.${i}` };
      },
      async undo() {
        rmSync(join(dir, `${task.key}.${i}`), { force: true });
      },
    }));
  },
};

const handlers: Handler[] = [record, provision];
const nc = await connectNats(`test-worker-${cfg.endpoint}`);
const pool = createPool(cfg.dbUrl, 20);
const worker = new RdmpWorker({
  nc,
  pool,
  dbUrl: cfg.dbUrl,
  service: cfg.service,
  endpoint: cfg.endpoint,
  names: new BusNames(cfg.prefix),
  handlers,
  log,
  ackWaitMs: cfg.ackWaitMs ?? 2_000,
  concurrency: cfg.concurrency ?? 16,
  faults: {
    loseAck: () => Math.random() < (cfg.loseAckRatio ?? 0),
    afterStep: (task, step) => {
      if (cfg.kill?.key === task.key && cfg.kill.at === step.state && cfg.kill.step === step.index) die();
    },
  },
});
await worker.start();
worker.serve();
let role = '';
setInterval(() => {
  if (worker.role !== role) {
    role = worker.role;
    process.stdout.write(`ROLE ${role}\n`);
  }
  process.stdout.write(`STATS ${JSON.stringify(worker.stats)}\n`);
}, 200);
process.on('SIGTERM', () => {
  void worker.stop().then(async () => {
    await nc.close();
    await pool.end();
    process.exit(0);
  });
});
