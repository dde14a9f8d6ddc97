// cbench-style OpenFlow 1.3 benchmark: our controller (Controller + LearningSwitch, in its own
// Node process) against ovs-testcontroller (OVS's C learning switch), in one run, on loopback.
//
// S emulated switches connect to the controller under test, do the switch side of the
// handshake, teach it where every host lives (one broadcast ARP per host), then send PACKET_INs
// for known destinations, so a learning switch must answer each with a FLOW_MOD and a
// PACKET_OUT. Two modes per controller:
//   throughput  each switch keeps up to W packet-ins unanswered
//   latency     each switch sends one packet-in and waits for its answer before the next
// Bench code reports; it never asserts timings.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import pino from 'pino';
import { type Counters, EmulatedSwitch, addCounters, emptyCounters } from './emulated-switch';
import { FrameKind, MIN_FRAME_BYTES } from './frames';

// ---------------------------------------------------------------------------------------------
// Options

const Modes = { Throughput: 'throughput', Latency: 'latency' } as const;
type Mode = (typeof Modes)[keyof typeof Modes];
const Targets = { Ours: 'ours', Ovs: 'ovs' } as const;
type Target = (typeof Targets)[keyof typeof Targets];
const TARGET_LABEL: Record<Target, string> = { ours: 'sdmi LearningSwitch', ovs: 'ovs-testcontroller' };

interface Config {
  switches: number;
  ports: number;
  /** Distinct source MACs (hosts) per switch. */
  macs: number;
  /** Throughput mode: packet-ins each switch keeps unanswered. */
  window: number;
  /** Measured seconds per mode, after `warmup` seconds that are not counted. */
  duration: number;
  warmup: number;
  frame: FrameKind;
  frameBytes: number;
  lossTimeoutMs: number;
  learnTimeoutMs: number;
  controllers: Target[];
  modes: Mode[];
  /** Times every (mode, controller) measurement is repeated, alternating controllers. */
  rounds: number;
  keepLogs: boolean;
}

const USAGE = `usage: pnpm tsx bench/openflow/src/main.ts [--switches S] [--ports P] [--macs M] [--window W]
       [--duration secs] [--warmup secs] [--frame udp|arp] [--frame-bytes B] [--loss-timeout-ms ms]
       [--learn-timeout-ms ms] [--controllers ours,ovs] [--modes throughput,latency] [--rounds R] [--keep-logs]`;

function parseConfig(argv: string[]): Config {
  // `pnpm --filter … bench -- --switches 4` passes the `--` through; it is not a terminator here.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      switches: { type: 'string' },
      ports: { type: 'string' },
      macs: { type: 'string' },
      window: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      frame: { type: 'string' },
      'frame-bytes': { type: 'string' },
      'loss-timeout-ms': { type: 'string' },
      'learn-timeout-ms': { type: 'string' },
      controllers: { type: 'string' },
      modes: { type: 'string' },
      rounds: { type: 'string' },
      'keep-logs': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: string, v: string | undefined, dflt: number, min: number, integer = true): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${v}"\n${USAGE}`);
    }
    return n;
  };
  const frame = values.frame ?? FrameKind.Udp;
  if (!(Object.values(FrameKind) as string[]).includes(frame)) throw new Error(`--frame is udp or arp, got "${frame}"\n${USAGE}`);
  return {
    switches: num('switches', values.switches, 16, 1),
    // Two ports at least: a learning switch never sends a packet back out of its input port.
    ports: num('ports', values.ports, 4, 2),
    macs: num('macs', values.macs, 1_000, 2),
    window: num('window', values.window, 64, 1),
    duration: num('duration', values.duration, 5, 0.1, false),
    warmup: num('warmup', values.warmup, 1, 0, false),
    frame: frame as FrameKind,
    frameBytes: num('frame-bytes', values['frame-bytes'], MIN_FRAME_BYTES, MIN_FRAME_BYTES),
    lossTimeoutMs: num('loss-timeout-ms', values['loss-timeout-ms'], 1_000, 10),
    learnTimeoutMs: num('learn-timeout-ms', values['learn-timeout-ms'], 5_000, 100),
    controllers: pickList('controllers', values.controllers, Object.values(Targets)),
    modes: pickList('modes', values.modes, Object.values(Modes)),
    rounds: num('rounds', values.rounds, 1, 1),
    keepLogs: values['keep-logs'] ?? false,
  };
}

function pickList<T extends string>(name: string, v: string | undefined, all: T[]): T[] {
  if (v === undefined) return all;
  const picked = v.split(',').map((m) => m.trim());
  const bad = picked.filter((m) => !(all as string[]).includes(m));
  if (bad.length || picked.length === 0) throw new Error(`--${name} takes a comma-separated list of ${all.join(', ')}; got "${v}"\n${USAGE}`);
  // Canonical order, so a narrowed run does things in the same order as a full one.
  return all.filter((m) => picked.includes(m));
}

function commandLine(cfg: Config): string {
  // Every effective option spelled out, so the line reproduces this run even if defaults change.
  return [
    'pnpm tsx bench/openflow/src/main.ts',
    `--switches ${cfg.switches}`,
    `--ports ${cfg.ports}`,
    `--macs ${cfg.macs}`,
    `--window ${cfg.window}`,
    `--duration ${cfg.duration}`,
    `--warmup ${cfg.warmup}`,
    `--frame ${cfg.frame}`,
    `--frame-bytes ${cfg.frameBytes}`,
    `--loss-timeout-ms ${cfg.lossTimeoutMs}`,
    `--learn-timeout-ms ${cfg.learnTimeoutMs}`,
    `--controllers ${cfg.controllers.join(',')}`,
    `--modes ${cfg.modes.join(',')}`,
    `--rounds ${cfg.rounds}`,
    ...(cfg.keepLogs ? ['--keep-logs'] : []),
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Child processes: every one is registered at spawn and killed by the clean-up, whatever happens.

const children = new Set<ChildProcess>();
const filesToRemove = new Set<string>();

function trackChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const hard = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(hard);
}

/** The last lines a child wrote to stderr, for error messages. */
function tailOf(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-2_000);
  });
  return () => tail.trim();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface Running {
  target: Target;
  port: number;
  child: ChildProcess;
  /** Where its own log is (ovs-testcontroller), to count what it complained about. */
  logFile?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

async function startOurs(log: Logger): Promise<Running> {
  // `node --import tsx` (not pnpm/tsx wrappers), so the pid we read CPU of is the controller's.
  const child = trackChild(
    // CONTROLLER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the controller:
    // node refuses --cpu-prof in NODE_OPTIONS.
    spawn(process.execPath, [...(process.env.CONTROLLER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', path.join(here, 'controller-proc.ts'), '0'], {
      cwd: path.join(here, '..'),
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: process.env.CONTROLLER_LOG_LEVEL ?? 'warn' },
    }),
  );
  const tail = tailOf(child);
  child.stderr?.on('data', (d: Buffer) => log.debug({ controller: 'ours' }, d.toString().trim()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`our controller did not listen within 20 s: ${tail()}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { listening: number }).listening);
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`our controller exited (${code ?? sig}) before listening: ${tail()}`));
    });
  });
  log.info({ pid: child.pid, port }, 'our controller listening');
  return { target: Targets.Ours, port, child };
}

async function startOvs(log: Logger, tag: string, keepLogs: boolean): Promise<Running> {
  const port = await freePort();
  const logFile = `/tmp/sdmi-bench-openflow-${tag}-ovs-testcontroller.log`;
  const ctl = `/tmp/sdmi-bench-openflow-${tag}-ovs-testcontroller.ctl`;
  filesToRemove.add(ctl);
  if (!keepLogs) filesToRemove.add(logFile); // removed by the clean-up, after the report read it
  const child = trackChild(
    spawn(
      'ovs-testcontroller',
      [
        '--no-chdir',
        '-vconsole:off',
        '-vsyslog:off',
        '-vfile:info',
        `--log-file=${logFile}`,
        `--unixctl=${ctl}`,
        '-O',
        'OpenFlow13',
        `ptcp:${port}:127.0.0.1`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  const tail = tailOf(child);
  let exited = false;
  child.once('exit', () => (exited = true));
  // Not installed (ENOENT) comes as an 'error' event, not an exit.
  child.once('error', (err) => {
    exited = true;
    log.error({ err }, 'cannot run ovs-testcontroller (package openvswitch-testcontroller)');
  });
  // ovs-testcontroller prints nothing when ready; poll the port (the probe connection is a
  // "switch" that disconnects at once, which it shrugs off).
  const started = performance.now();
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`ovs-testcontroller exited before listening: ${tail()}`);
    if (performance.now() - started > 10_000) throw new Error(`ovs-testcontroller did not listen on ${port} within 10 s: ${tail()}`);
    await sleep(50);
  }
  log.info({ pid: child.pid, port, logFile }, 'ovs-testcontroller listening');
  return { target: Targets.Ovs, port, child, logFile };
}

// ---------------------------------------------------------------------------------------------
// CPU from /proc: the controller under test and this process (the generator).

const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks

function procCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // comm (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
  } catch {
    return Number.NaN;
  }
}

/**
 * Busy and total jiffies of the whole machine (/proc/stat "cpu" line), so the report can show
 * how much CPU *other* processes took during a window: this box is shared.
 */
function machineJiffies(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is inside user)
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface ModeResult {
  target: Target;
  mode: Mode;
  round: number;
  window: number;
  elapsedMs: number;
  /** Packet-ins answered (first FLOW_MOD or PACKET_OUT for it) per second. */
  answeredPerSec: number;
  flowModsPerSec: number;
  packetOutsPerSec: number;
  sentPerSec: number;
  latencyMs: { p50: number; p99: number; max: number; samples: number };
  counts: Counters;
  controllerCores: number;
  generatorCores: number;
  /** Cores busy on the whole machine during the window (includes controller and generator). */
  machineCores: number;
  /** Event-loop delay of this generator process during the window (ms). */
  generatorLoopDelayMs: { p99: number; max: number };
}

function pct(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

function sum(switches: EmulatedSwitch[]): Counters {
  const c = emptyCounters();
  for (const s of switches) addCounters(c, s.counters);
  return c;
}

function checkAlive(switches: EmulatedSwitch[], running: Running): void {
  const dead = switches.find((s) => s.closed);
  if (dead) throw new Error(`${TARGET_LABEL[running.target]}: switch ${dead.dpidText} lost its connection: ${dead.closed}`);
}

async function measure(mode: Mode, round: number, cfg: Config, switches: EmulatedSwitch[], running: Running, log: Logger): Promise<ModeResult> {
  const window = mode === Modes.Throughput ? cfg.window : 1;
  for (const s of switches) s.run(window);
  await sleep(cfg.warmup * 1000);
  checkAlive(switches, running);
  const before = sum(switches);
  const cpu0 = { ctl: procCpuMs(running.child.pid), self: process.cpuUsage(), box: machineJiffies() };
  for (const s of switches) {
    s.latencies = [];
    s.recording = true;
  }
  // The generator's own event-loop delay: if it is large, the generator (not the controller)
  // set the pace and the latencies include its lag.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();
  await sleep(cfg.duration * 1000);
  loop.disable();
  const elapsedMs = performance.now() - t0;
  const after = sum(switches);
  const selfCpu = process.cpuUsage(cpu0.self);
  const ctlMs = procCpuMs(running.child.pid) - cpu0.ctl;
  const box = machineJiffies();
  for (const s of switches) {
    s.recording = false;
    s.stop();
  }
  checkAlive(switches, running);
  // Let what is in flight come back (so the next mode starts from a quiet controller).
  const drainStart = performance.now();
  while (switches.some((s) => s.outstanding > 0) && performance.now() - drainStart < cfg.lossTimeoutMs + 200) await sleep(10);
  for (const s of switches) s.reset();

  const counts = addCounters(addCounters(emptyCounters(), after), before, -1);
  const all = new Float64Array(switches.reduce((n, s) => n + s.latencies.length, 0));
  let i = 0;
  for (const s of switches) for (const v of s.latencies) all[i++] = v;
  all.sort();
  const perSec = (n: number): number => (n * 1000) / elapsedMs;
  const result: ModeResult = {
    target: running.target,
    mode,
    round,
    window,
    elapsedMs,
    answeredPerSec: perSec(counts.answered),
    flowModsPerSec: perSec(counts.flowModsAnswering),
    packetOutsPerSec: perSec(counts.packetOutsAnswering),
    sentPerSec: perSec(counts.sent),
    latencyMs: { p50: pct(all, 0.5), p99: pct(all, 0.99), max: pct(all, 1), samples: all.length },
    counts,
    controllerCores: ctlMs / elapsedMs,
    generatorCores: (selfCpu.user + selfCpu.system) / 1000 / elapsedMs,
    machineCores: (((box.busy - cpu0.box.busy) * 1000) / CLK_TCK) / elapsedMs,
    generatorLoopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
  };
  log.info({ target: running.target, mode, round, answeredPerSec: Math.round(result.answeredPerSec), p50: result.latencyMs.p50, p99: result.latencyMs.p99, lost: counts.lost }, 'mode done');
  return result;
}

interface TargetReport {
  target: Target;
  results: ModeResult[];
  notLearned: number;
  learnMs: number;
  /** Controller-to-switch messages other than answers, summed over the switches. */
  seen: Record<string, number>;
  sampleFlowMod?: object;
  samplePacketOut?: object;
  firstError?: string;
  /** ovs-testcontroller log lines that say it dropped messages ("tx queue overflow"). */
  txQueueOverflows?: number;
}

interface Setup {
  running: Running;
  switches: EmulatedSwitch[];
  notLearned: number;
  learnMs: number;
  results: ModeResult[];
  stop(): Promise<void>;
}

/** Starts one controller, connects its switches and teaches it every host. */
async function setUp(target: Target, cfg: Config, tag: string, log: Logger, cleanup: Cleanup): Promise<Setup> {
  const running = target === Targets.Ours ? await startOurs(log) : await startOvs(log, tag, cfg.keepLogs);
  const switches: EmulatedSwitch[] = [];
  const stop = async (): Promise<void> => {
    for (const s of switches) s.close();
    await stopChild(running.child);
  };
  cleanup.add(stop);
  for (let i = 0; i < cfg.switches; i++) {
    switches.push(
      new EmulatedSwitch({
        index: i + 1,
        // Non-zero: ovs-testcontroller treats datapath id 0 as "features not yet known".
        dpid: 0x5d4d490000n + BigInt(i + 1),
        ports: cfg.ports,
        macs: cfg.macs,
        frame: cfg.frame,
        frameBytes: cfg.frameBytes,
        lossTimeoutMs: cfg.lossTimeoutMs,
        log,
      }),
    );
  }
  await Promise.all(switches.map((s) => s.connect(running.port)));
  await Promise.all(switches.map((s) => s.ready(10_000)));
  const l0 = performance.now();
  const missing = await Promise.all(switches.map((s) => s.learn(cfg.window, cfg.learnTimeoutMs)));
  const learnMs = performance.now() - l0;
  const notLearned = missing.reduce((a, b) => a + b, 0);
  if (notLearned > 0) log.warn({ target, notLearned }, 'some hosts were never answered in the learning phase');
  for (const s of switches) s.reset();
  checkAlive(switches, running);
  return { running, switches, notLearned, learnMs, results: [], stop };
}

/** Stops the controller and gathers what its switches saw. */
async function finish(setup: Setup): Promise<TargetReport> {
  const { running, switches } = setup;
  const seen: Record<string, number> = {};
  for (const s of switches) for (const [k, v] of s.seen) seen[k] = (seen[k] ?? 0) + v;
  const fm = switches.find((s) => s.sampleFlowMod)?.sampleFlowMod;
  const po = switches.find((s) => s.samplePacketOut)?.samplePacketOut;
  const report: TargetReport = {
    target: running.target,
    results: setup.results,
    notLearned: setup.notLearned,
    learnMs: setup.learnMs,
    seen,
    firstError: switches.find((s) => s.firstError)?.firstError,
    sampleFlowMod: fm && {
      tableId: fm.tableId,
      command: fm.command,
      priority: fm.priority,
      idleTimeout: fm.idleTimeout,
      hardTimeout: fm.hardTimeout,
      bufferId: fm.bufferId,
      flags: fm.flags,
      matchFields: fm.match.map((f) => (f.field === 'RAW' ? `RAW(class 0x${f.oxmClass.toString(16)} field ${f.oxmField})` : f.field)),
      instructions: fm.instructions.map((ins) => ins.type),
    },
    samplePacketOut: po && {
      bufferId: po.bufferId,
      inPort: po.inPort,
      actions: po.actions.map((a) => (a.type === 'OUTPUT' ? `OUTPUT:${a.port}` : a.type)),
      dataBytes: po.data.length,
    },
  };
  await setup.stop();
  if (running.logFile) {
    try {
      const text = readFileSync(running.logFile, 'utf8');
      report.txQueueOverflows = text.split('\n').filter((l) => l.includes('tx queue overflow')).length;
    } catch {
      report.txQueueOverflows = undefined;
    }
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ')).join('\n');
}

function ratio(a: number | undefined, b: number | undefined): number {
  return a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN;
}

function median(v: number[]): number {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

type Ratios = Record<string, { answeredPerSec: number; flowModsPerSec: number; latencyP50: number; latencyP99: number }>;

/**
 * ours ÷ ovs per mode. Each round measures the two back to back, so the ratio is taken within a
 * round (same background load on this shared machine) and the median over the rounds is given.
 */
function pairedRatios(reports: TargetReport[], cfg: Config): Ratios | undefined {
  const ours = reports.find((r) => r.target === Targets.Ours);
  const ovs = reports.find((r) => r.target === Targets.Ovs);
  if (!ours || !ovs) return undefined;
  const out: Ratios = {};
  for (const mode of cfg.modes) {
    const per: { a: number[]; f: number[]; p50: number[]; p99: number[] } = { a: [], f: [], p50: [], p99: [] };
    for (let round = 1; round <= cfg.rounds; round++) {
      const a = ours.results.find((x) => x.mode === mode && x.round === round);
      const b = ovs.results.find((x) => x.mode === mode && x.round === round);
      per.a.push(ratio(a?.answeredPerSec, b?.answeredPerSec));
      per.f.push(ratio(a?.flowModsPerSec, b?.flowModsPerSec));
      per.p50.push(ratio(a?.latencyMs.p50, b?.latencyMs.p50));
      per.p99.push(ratio(a?.latencyMs.p99, b?.latencyMs.p99));
    }
    out[mode] = { answeredPerSec: median(per.a), flowModsPerSec: median(per.f), latencyP50: median(per.p50), latencyP99: median(per.p99) };
  }
  return out;
}

function report(reports: TargetReport[], cfg: Config, machine: Record<string, string>): string {
  const lines: string[] = [];
  lines.push('', '# bench/openflow: OpenFlow 1.3 packet-in → flow-mod/packet-out, cbench style', '');
  lines.push(`command: ${commandLine(cfg)}`);
  lines.push(`machine: ${Object.entries(machine).map(([k, v]) => `${k}=${v}`).join('  ')}`);
  lines.push(
    `load:    ${cfg.switches} switches × ${cfg.ports} ports × ${cfg.macs} MACs; ${cfg.frameBytes}-byte ${cfg.frame === 'udp' ? 'IPv4/UDP' : 'ARP'} frames, no buffer; ` +
      `throughput window ${cfg.window}/switch, latency window 1/switch; ${cfg.warmup} s warm-up + ${cfg.duration} s measured per mode`,
    '',
  );
  const rows: string[][] = [['mode', 'controller', 'answered/s', 'flow-mods/s', 'packet-outs/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'late', 'misdir', 'ctl CPU', 'gen CPU', 'others', 'gen lag']];
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const mode of cfg.modes) {
      for (const r of reports) {
        const m = r.results.find((x) => x.mode === mode && x.round === round);
        if (!m) continue;
        rows.push([
          cfg.rounds > 1 ? `${mode} #${round}` : mode,
          TARGET_LABEL[r.target],
          fmt(m.answeredPerSec),
          fmt(m.flowModsPerSec),
          fmt(m.packetOutsPerSec),
          fmt(m.latencyMs.p50, 3),
          fmt(m.latencyMs.p99, 3),
          fmt(m.latencyMs.max, 1),
          fmt(m.counts.lost),
          fmt(m.counts.late),
          fmt(m.counts.misdirected),
          fmt(m.controllerCores, 2),
          fmt(m.generatorCores, 2),
          fmt(m.machineCores - m.controllerCores - m.generatorCores, 2),
          fmt(m.generatorLoopDelayMs.max, 1),
        ]);
      }
    }
  }
  lines.push(table(rows), '');
  const ratios = pairedRatios(reports, cfg);
  if (ratios) {
    const rr: string[][] = [['mode', 'ours/ovs', 'answered/s', 'flow-mods/s', 'p50', 'p99']];
    for (const mode of cfg.modes) {
      const q = ratios[mode];
      if (!q) continue;
      rr.push([mode, '', fmt(q.answeredPerSec, 2), fmt(q.flowModsPerSec, 2), fmt(q.latencyP50, 2), fmt(q.latencyP99, 2)]);
    }
    lines.push(
      `ratios ours ÷ ovs-testcontroller${cfg.rounds > 1 ? `, median over ${cfg.rounds} rounds of the ratio within a round` : ''} (throughput above 1 = ours faster; latency above 1 = ours slower):`,
      table(rr),
      '',
    );
  }
  lines.push(
    'answered/s = packet-ins that got their first answer (a FLOW_MOD matched by eth_src/eth_dst, or a PACKET_OUT carrying',
    '  the tagged frame) per second; flow-mods/s is what cbench counts; packet-outs/s = PACKET_OUTs carrying our frames.',
    'lost = unanswered after --loss-timeout-ms (the window slot is then reused); late = answers after that;',
    'misdir = answers whose output port is not the destination host\'s port; CPU in cores (2.00 = both cores of a 2-core box);',
    'ctl = the controller process, gen = this generator process, others = the rest of the machine (/proc/stat busy − ctl − gen:',
    '  other users of this box, and kernel network work done outside both; ±0.1 from tick granularity);',
    'gen lag = max event-loop delay of the generator in ms. When it is large or gen CPU is near 1.00, the generator set',
    '  the pace and the controller\'s rate is a lower bound. Throughput-mode latency is mostly queueing (≈ window × switches ÷ rate).',
    '',
  );
  for (const r of reports) {
    lines.push(`${TARGET_LABEL[r.target]}: learning phase ${fmt(r.learnMs)} ms, ${r.notLearned} hosts unanswered`);
    lines.push(`  other messages to the switches: ${JSON.stringify(r.seen)}`);
    lines.push(`  a flow-mod answering a packet-in: ${JSON.stringify(r.sampleFlowMod ?? null)}`);
    lines.push(`  a packet-out answering a packet-in: ${JSON.stringify(r.samplePacketOut ?? null)}`);
    if (r.txQueueOverflows !== undefined) lines.push(`  "tx queue overflow" lines in its log (messages it dropped, rate-limited log): ${r.txQueueOverflows}`);
    if (r.firstError) lines.push(`  first error: ${r.firstError}`);
  }
  lines.push('');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Clean-up and main

class Cleanup {
  private readonly steps: Array<() => Promise<void>> = [];
  private running?: Promise<void>;
  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        // A stuck step must not keep the process alive: the others still run.
        await Promise.race([step().catch(() => undefined), sleep(5_000)]);
      }
      for (const c of children) c.kill('SIGKILL');
      for (const f of filesToRemove) rmSync(f, { force: true });
    })();
    return this.running;
  }
}

/**
 * A short hash of the TypeScript sources of a package (src/, recursively): the controller and
 * codec change often, and a number is only comparable with one measured on the same code.
 */
function sourceHash(pkgDir: string): string {
  const h = createHash('sha256');
  try {
    const files = (readdirSync(pkgDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).sort();
    for (const f of files) h.update(f).update(readFileSync(path.join(pkgDir, f)));
    return h.digest('hex').slice(0, 12);
  } catch {
    return 'unknown';
  }
}

function machineFacts(): Record<string, string> {
  let ovsVersion = 'unknown';
  try {
    ovsVersion = execFileSync('ovs-testcontroller', ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? ovsVersion;
  } catch (err) {
    ovsVersion = `not runnable (${(err as Error).message})`;
  }
  return {
    nproc: String(os.availableParallelism()),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    kernel: os.release(),
    // The machine may be shared: the load before we start says whether others were busy.
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    'ovs-testcontroller': ovsVersion,
    '@sdmi/openflow src': sourceHash(path.join(here, '../../../packages/openflow/src')),
    '@sdmi/openflow-controller src': sourceHash(path.join(here, '../../../packages/openflow-controller/src')),
  };
}

let interrupted = false;

async function main(): Promise<number> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'bench-openflow' } }, pino.destination({ dest: 2, sync: true }));
  let cfg: Config;
  try {
    cfg = parseConfig(process.argv.slice(2));
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(`${msg}${msg.includes('usage:') ? '' : `\n${USAGE}`}\n`);
    return 2;
  }
  const cleanup = new Cleanup();
  const onSignal = (sig: string): void => {
    interrupted = true;
    log.warn({ sig }, 'interrupted: cleaning up');
    void cleanup.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // Last resort: never leave a controller running behind us.
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  process.on('uncaughtException', (err) => {
    log.error({ err }, 'uncaught exception');
    void cleanup.run().finally(() => process.exit(1));
  });
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });

  const machine = machineFacts();
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const reports: TargetReport[] = [];
  const started = performance.now();
  try {
    // Both controllers are set up first and stay connected; then each mode is measured on one
    // right after the other. The machine is shared: measurements close in time see the same
    // background load, which matters more than the idle connections of the other controller
    // (an idle controller costs nothing but the odd echo).
    const setups: Setup[] = [];
    for (const target of cfg.controllers) {
      if (interrupted) break;
      setups.push(await setUp(target, cfg, tag, log, cleanup));
    }
    for (let round = 1; round <= cfg.rounds; round++) {
      for (const mode of cfg.modes) {
        for (const setup of setups) {
          if (interrupted) break;
          setup.results.push(await measure(mode, round, cfg, setup.switches, setup.running, log));
        }
      }
    }
    for (const setup of setups) reports.push(await finish(setup));
  } finally {
    await cleanup.run();
  }
  if (interrupted) return 130;
  process.stdout.write(report(reports, cfg, machine));
  process.stdout.write(`total run: ${fmt((performance.now() - started) / 1000, 1)} s\n`);
  const ratios = pairedRatios(reports, cfg) ?? {};
  process.stdout.write(`${JSON.stringify({ bench: 'openflow', command: commandLine(cfg), config: cfg, machine, reports, ratiosOursOverOvs: ratios })}\n`);
  return 0;
}

main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
