// bench/rollout: a rolling update of a 3-replica HTTP service under continuous requests, SDMI's
// updateService against Docker Swarm's `docker service update`, the same service, policy and load,
// in one run on this machine.
//
//   sdmi   updateService (VERSION=v2, start-first, one at a time, 1 s monitor) over the bus on a
//          LocalCluster, until the scheduler's rolloutStatus says the new revision is complete.
//   swarm  `docker service update --env-add VERSION=v2` (the same policy as flags) on a single-node
//          Swarm of our own, until the service's UpdateStatus is completed.
//
// During each update a client container of the same system requests the service without pause
// (busybox wget, a new connection each); every answer is counted, FAIL being a failed request.
// Ratios are SDMI ÷ Swarm (above 1 = SDMI slower). Bench code reports; it never asserts timings.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connectNats, jetstreamManager } from '@sdmi/bus';
import { BASE_IMAGE, Testbed, describeInventory, inventory, runId } from '@sdmi/testbed';
import pino from 'pino';
import { loadavg, machineFacts, median, sec, table } from '../../common/src/report';
import { containersWithLabel } from '../../scale/src/engine';
import { type Counts, count } from './load';
import { SdmiSide } from './sdmi';
import type { RolloutMeasure, RolloutSide } from './side';
import { SwarmSide } from './swarm';

const SIDES = ['sdmi', 'swarm'] as const;
type SideName = (typeof SIDES)[number];

interface Config {
  rounds: number;
  sides: SideName[];
  /** Per set-up and per update. */
  timeoutSec: number;
  /** How long the load goes on after both ends were seen, counted apart. */
  tailSec: number;
}

const USAGE = 'usage: pnpm tsx bench/rollout/src/main.ts [--rounds R] [--sides sdmi,swarm] [--timeout secs] [--tail secs]';

function parseConfig(argv: string[]): Config {
  // `pnpm --filter … bench -- --rounds 2` passes the `--` through.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({ args, strict: true, allowPositionals: false, options: { rounds: { type: 'string' }, sides: { type: 'string' }, timeout: { type: 'string' }, tail: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} takes integers from ${min} to ${max}, got "${v}"\n${USAGE}`);
    return n;
  };
  const picked = values.sides === undefined ? [...SIDES] : values.sides.split(',').map((s) => s.trim());
  const bad = picked.filter((s) => !(SIDES as readonly string[]).includes(s));
  if (bad.length || picked.length === 0) throw new Error(`--sides takes a comma-separated list of ${SIDES.join(', ')}; got "${values.sides}"\n${USAGE}`);
  return {
    rounds: int('rounds', values.rounds, 1, 1, 20),
    sides: SIDES.filter((s) => picked.includes(s)),
    timeoutSec: int('timeout', values.timeout, 300, 10, 3_600),
    tailSec: int('tail', values.tail, 5, 0, 120),
  };
}

const commandLine = (cfg: Config): string => `pnpm tsx bench/rollout/src/main.ts --rounds ${cfg.rounds} --sides ${cfg.sides.join(',')} --timeout ${cfg.timeoutSec} --tail ${cfg.tailSec}`;

interface Result {
  round: number;
  side: SideName;
  from: string;
  to: string;
  m: RolloutMeasure;
  /** Requests from the update command until the rollout was complete. */
  during: Counts;
  /** From the update command until the last old replica stopped. */
  untilOldGone: Counts;
  /** The tail: after both ends, for tailSec. */
  after: Counts;
  /** The same load in the 5 s before the update command, requests/s. */
  rateBefore: number;
  load: string;
}

const reqs = (c: Counts): string => `${c.requests}/${c.failed}`;

function report(results: readonly Result[], cfg: Config, machine: Record<string, string>, setup: Record<string, number>, notes: Record<string, string>): string {
  const lines = ['', '# bench/rollout: rolling update under load, SDMI updateService against docker service update, one run', ''];
  lines.push(`command: ${commandLine(cfg)}`);
  lines.push(`machine: ${Object.entries(machine).map(([k, v]) => `${k}=${v}`).join('  ')}`);
  lines.push(`set-up: ${Object.entries(setup).map(([k, v]) => `${k} ${sec(v, 1)} s`).join(', ')}`);
  for (const [k, v] of Object.entries(notes)) lines.push(`${k}: ${v}`);
  lines.push('');
  const rows = [['round', 'side', 'update', 'complete s', 'old gone s', 'own clock s', 'command s', 'req/failed to complete', 'req/s', 'req/failed to old gone', `req/failed ${cfg.tailSec} s after`, 'req/s before', 'load (1 5 15)']];
  for (const r of results) {
    rows.push([String(r.round), r.side, `${r.from}→${r.to}`, sec(r.m.completeMs), sec(r.m.oldGoneMs), sec(r.m.ownMs), sec(r.m.commandMs), reqs(r.during), (r.during.requests / (r.m.completeMs / 1000)).toFixed(0), reqs(r.untilOldGone), reqs(r.after), r.rateBefore.toFixed(0), r.load]);
  }
  lines.push(table(rows), '');
  for (const r of results) {
    lines.push(`timeline, round ${r.round}, ${r.side} (s since the update command: running per version | the system's word):`);
    for (const e of r.m.timeline) lines.push(`  ${sec(e.ms).padStart(6)}  ${e.state}`);
  }
  lines.push('');
  if (cfg.sides.length === 2) {
    const per = (pick: (m: RolloutMeasure) => number) => {
      const out: number[] = [];
      for (const s of results.filter((r) => r.side === 'sdmi')) {
        const w = results.find((r) => r.side === 'swarm' && r.round === s.round);
        if (w) out.push(pick(s.m) / pick(w.m));
      }
      return out;
    };
    const c = per((m) => m.completeMs);
    const o = per((m) => m.oldGoneMs);
    const failed = (side: SideName) => results.filter((r) => r.side === side).reduce((a, r) => a + r.during.failed, 0);
    const total = (side: SideName) => results.filter((r) => r.side === side).reduce((a, r) => a + r.during.requests, 0);
    lines.push(`ratio sdmi ÷ swarm, rollout complete: ${median(c).toFixed(2)} (per round ${c.map((x) => x.toFixed(2)).join(' ')}); last old replica stopped: ${median(o).toFixed(2)} (per round ${o.map((x) => x.toFixed(2)).join(' ')})`);
    lines.push(`failed requests until complete: sdmi ${failed('sdmi')} of ${total('sdmi')}, swarm ${failed('swarm')} of ${total('swarm')}`);
    lines.push('');
  }
  lines.push(
    'complete s: update command sent → the system says the rollout is complete (sdmi: rolloutStatus state complete for the',
    '  new revision; swarm: UpdateStatus.State completed, a new one), both polled every 100 ms. This is the compared time.',
    'old gone s: → only new replicas run (sdmi: containers by revision on both hosts; swarm: tasks running by VERSION).',
    'own clock s: swarm\'s UpdateStatus CompletedAt − StartedAt. command s: the update command returned (desired state stored).',
    'req/failed: answers of the client\'s wget loop (a new connection each, 2 s bound) stamped on arrival; FAIL = failed.',
    '',
  );
  return lines.join('\n');
}

let interrupted = false;
const abort = new AbortController();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function measure(side: RolloutSide, round: number, cfg: Config): Promise<Result> {
  const from = `v${round}`;
  const to = `v${round + 1}`;
  const timeoutMs = cfg.timeoutSec * 1000;
  const load = side.startLoad();
  try {
    await load.warm(from, 10, 60_000, abort.signal);
    // A few seconds of load before the update: the rate the client reaches when nothing changes.
    const w0 = performance.now();
    await sleep(5_000);
    const rateBefore = count(load.lines, w0, performance.now()).requests / ((performance.now() - w0) / 1000);
    const loadNow = loadavg();
    const m = await side.update(to, timeoutMs, abort.signal);
    const ends = m.t0 + Math.max(m.completeMs, m.oldGoneMs);
    await sleep(cfg.tailSec * 1000);
    await load.stop();
    return {
      round,
      side: side.name as SideName,
      from,
      to,
      m,
      during: count(load.lines, m.t0, m.t0 + m.completeMs),
      untilOldGone: count(load.lines, m.t0, m.t0 + m.oldGoneMs),
      after: count(load.lines, ends, ends + cfg.tailSec * 1000),
      rateBefore,
      load: loadNow,
    };
  } finally {
    await load.stop();
  }
}

async function main(): Promise<number> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'bench-rollout' } }, pino.destination({ dest: 2, sync: true }));
  let cfg: Config;
  try {
    cfg = parseConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const tb = new Testbed();
  const sdmi = cfg.sides.includes('sdmi') ? new SdmiSide(BASE_IMAGE, log) : undefined;
  const swarm = cfg.sides.includes('swarm') ? new SwarmSide(tb, BASE_IMAGE) : undefined;
  let disposing: Promise<void> | undefined;
  const dispose = (): Promise<void> => {
    disposing ??= (async () => {
      await sdmi?.dispose().catch((err: unknown) => log.error({ err }, 'SDMI clean-up failed'));
      await swarm?.dispose().catch((err: unknown) => log.error({ err }, 'Swarm service removal failed'));
      await tb.dispose().catch((err: unknown) => log.error({ err }, 'Swarm clean-up failed'));
    })();
    return disposing;
  };
  // The first signal stops the measurement, which cleans up on its way out; a second one, or a
  // measurement that has not stopped within 2 minutes, cleans up at once.
  const onSignal = (sig: string): void => {
    if (interrupted) {
      void dispose().finally(() => process.exit(130));
      return;
    }
    interrupted = true;
    log.warn({ sig }, 'interrupted: stopping the measurement, then cleaning up');
    abort.abort();
    setTimeout(() => void dispose().finally(() => process.exit(130)), 120_000).unref();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const machine = machineFacts();
  const started = performance.now();
  const setup: Record<string, number> = {};
  const notes: Record<string, string> = {};
  const results: Result[] = [];
  let leftovers: string[] = [];
  try {
    const timeoutMs = cfg.timeoutSec * 1000;
    for (const side of [sdmi, swarm]) {
      if (!side) continue;
      const t = performance.now();
      await side.start('v1', timeoutMs, abort.signal);
      setup[side.name] = performance.now() - t;
      notes[side.name] = await side.describe();
      log.info({ side: side.name, s: sec(setup[side.name]) }, 'set up');
    }
    const sides = [sdmi, swarm].filter((s): s is SdmiSide | SwarmSide => s !== undefined);
    for (let round = 1; round <= cfg.rounds && !interrupted; round++) {
      // Rotate which side goes first, so a drift in background load does not always favour the same one.
      const order = sides.map((_, i) => sides[(i + round - 1) % sides.length]!);
      for (const side of order) {
        if (interrupted) break;
        log.info({ round, side: side.name }, 'measuring');
        const r = await measure(side, round, cfg);
        results.push(r);
        log.info({ round, side: side.name, completeS: sec(r.m.completeMs), requests: r.during.requests, failed: r.during.failed }, 'measured');
      }
    }
  } finally {
    await dispose();
    leftovers = await leftoversOf(sdmi);
    if (interrupted) process.stderr.write(`interrupted; left behind by this run: ${leftovers.length === 0 ? 'nothing' : `\n${leftovers.join('\n')}`}\n`);
  }
  if (interrupted) return 130;
  process.stdout.write(report(results, cfg, machine, setup, notes));
  process.stdout.write(`left behind by this run: ${leftovers.length === 0 ? 'nothing' : `\n${leftovers.join('\n')}`}\n`);
  process.stdout.write(`load at the end: ${loadavg()}; total run: ${sec(performance.now() - started, 1)} s\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'rollout', command: commandLine(cfg), config: cfg, machine, setup, results })}\n`);
  return leftovers.length === 0 ? 0 : 1;
}

/**
 * What this run left: the testbed inventory of its tag (namespaces, bridges, interfaces, processes,
 * directories, databases), plus what it cannot see: the cluster's streams (named after its bus
 * prefix) and replica containers on the machine's dockerd.
 */
async function leftoversOf(sdmi: SdmiSide | undefined): Promise<string[]> {
  const out = describeInventory(await inventory({ tag: runId() })).split('\n').filter(Boolean);
  if (!sdmi) return out;
  const nc = await connectNats(`bench-rollout-${runId()}-check`);
  try {
    const jsm = await jetstreamManager(nc);
    for await (const s of jsm.streams.names()) if (s.startsWith(`${sdmi.cluster.names.streamPrefix}_`)) out.push(`stream: ${s}`);
  } finally {
    await nc.close();
  }
  for (const c of await containersWithLabel('/var/run/docker.sock', 'sdmi.replica', { all: true })) {
    if (c.Labels['sdmi.replica']?.startsWith(`${sdmi.cluster.tag}/`)) out.push(`container (main dockerd): ${c.Id.slice(0, 12)} ${c.Labels['sdmi.replica']}`);
  }
  return out;
}

main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(interrupted ? 130 : 1);
  },
);
