// bench/network: reactive flow set-up of our data plane against a proactive baseline, in one run,
// on the same real Open vSwitch fabric (two fail-secure host bridges, N namespace pairs).
//
//   reactive (ours)  DataplaneApp as it runs: the first IPv4 packet of a pair misses, goes to the
//                    controller, which installs the pair's two halves (destination host first,
//                    each confirmed by a barrier) and re-injects the packet.
//   proactive        the same controller and topology, but every pair's flows are computed with
//                    pairFlows and pushed up front, one ONF bundle per host bridge, before any
//                    traffic; the pings then find their flows in place.
//
// Measured per mode: the first ping's RTT per pair (one pair at a time; p50/p95), the second
// ping's RTT, flows installed per second (reactive: all N pairs ping at once, flows counted with
// ovs-ofctl afterwards; proactive: the bundles), and the same N-at-once pings with flows in place.
// Bench code reports; it never asserts timings.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FlowKind, parseCookie } from '@sdmi/dataplane';
import { Testbed, describeInventory, inventory, runId, tryRun } from '@sdmi/testbed';
import pino, { type Logger } from 'pino';
import type { PreinstallResult, Window } from './controller-proc';
import { BenchFabric, inParallel, type Pair } from './fabric';

// ---------------------------------------------------------------------------------------------
// Options

const Modes = { Reactive: 'reactive', Proactive: 'proactive' } as const;
type Mode = (typeof Modes)[keyof typeof Modes];
const MODE_LABEL: Record<Mode, string> = { reactive: 'reactive (ours)', proactive: 'proactive baseline' };

const ArpModes = { Controller: 'controller', Static: 'static' } as const;
type ArpMode = (typeof ArpModes)[keyof typeof ArpModes];

interface Config {
  pairs: number;
  rounds: number;
  modes: Mode[];
  /** controller: ARP is answered by the controller (caches flushed before each step); static: permanent neighbour entries. */
  arp: ArpMode;
  /** Idle timeout of the pair flows, long enough that none expires during the run. */
  idle: number;
  pingTimeout: number;
  setupConcurrency: number;
}

const USAGE = `usage: pnpm tsx bench/network/src/main.ts [--pairs N] [--rounds R] [--modes reactive,proactive]
       [--arp controller|static] [--idle secs] [--ping-timeout secs] [--setup-concurrency C]`;

function parseConfig(argv: string[]): Config {
  // `pnpm --filter … bench -- --pairs 4` passes the `--` through; it is not a terminator here.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      pairs: { type: 'string' },
      rounds: { type: 'string' },
      modes: { type: 'string' },
      arp: { type: 'string' },
      idle: { type: 'string' },
      'ping-timeout': { type: 'string' },
      'setup-concurrency': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${v}"\n${USAGE}`);
    return n;
  };
  const arp = values.arp ?? ArpModes.Controller;
  if (!(Object.values(ArpModes) as string[]).includes(arp)) throw new Error(`--arp is controller or static, got "${arp}"\n${USAGE}`);
  const modes = pickList('modes', values.modes, Object.values(Modes));
  return {
    // 2 namespaces per pair; addresses come from 10.78.0.0/16.
    pairs: num('pairs', values.pairs, 20, 1, 30_000),
    // Three by default: the median of three ratios survives one round spoilt by a neighbour's burst.
    rounds: num('rounds', values.rounds, 3, 1, 100),
    modes,
    arp: arp as ArpMode,
    idle: num('idle', values.idle, 600, 10, 65_535),
    pingTimeout: num('ping-timeout', values['ping-timeout'], 5, 1, 60),
    setupConcurrency: num('setup-concurrency', values['setup-concurrency'], 4, 1, 64),
  };
}

function pickList<T extends string>(name: string, v: string | undefined, all: T[]): T[] {
  if (v === undefined) return all;
  const picked = v.split(',').map((m) => m.trim());
  const bad = picked.filter((m) => !(all as string[]).includes(m));
  if (bad.length || picked.length === 0) throw new Error(`--${name} takes a comma-separated list of ${all.join(', ')}; got "${v}"\n${USAGE}`);
  return all.filter((m) => picked.includes(m));
}

function commandLine(cfg: Config): string {
  return [
    'pnpm tsx bench/network/src/main.ts',
    `--pairs ${cfg.pairs}`,
    `--rounds ${cfg.rounds}`,
    `--modes ${cfg.modes.join(',')}`,
    `--arp ${cfg.arp}`,
    `--idle ${cfg.idle}`,
    `--ping-timeout ${cfg.pingTimeout}`,
    `--setup-concurrency ${cfg.setupConcurrency}`,
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Nearest rank: a value that was really measured.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

function summarize(values: readonly number[]): Summary {
  const s = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), max: s.length ? s[s.length - 1]! : Number.NaN };
}

/** The usual median (mean of the middle two for an even count), for ratios across rounds. */
function median(values: readonly number[]): number {
  const s = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

// ---------------------------------------------------------------------------------------------
// The controller process

const here = path.dirname(fileURLToPath(import.meta.url));
const children = new Set<ChildProcess>();

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

/** Our controller in its own process, driven by JSON lines (see controller-proc.ts). */
class ControllerProcess {
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; what: string }>();

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    /** The last lines the controller wrote to stderr, for error messages. */
    private readonly tail: () => string,
  ) {}

  static async start(idle: number, log: Logger): Promise<ControllerProcess> {
    // `node --import tsx` (no wrapper), so the pid whose CPU we read is the controller's own.
    const child = trackChild(
      spawn(process.execPath, [...(process.env.CONTROLLER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', path.join(here, 'controller-proc.ts'), String(idle)], {
        cwd: path.join(here, '..'),
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: process.env.CONTROLLER_LOG_LEVEL ?? 'warn' },
      }),
    );
    let tail = '';
    child.stderr!.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2_000);
      log.debug({ controller: 'ours' }, d.toString().trim());
    });
    const lines = createInterface({ input: child.stdout! });
    let proc: ControllerProcess | undefined;
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`our controller did not listen within 30 s: ${tail.trim()}`)), 30_000);
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`our controller exited (${code ?? sig}) before listening: ${tail.trim()}`));
      });
      lines.on('line', (line) => {
        let msg: { listening?: number; id?: number; ok?: boolean; result?: unknown; error?: string };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          log.warn({ line }, 'controller printed a line that is not JSON');
          return;
        }
        if (msg.listening !== undefined) {
          clearTimeout(timer);
          resolve(msg.listening);
          return;
        }
        proc?.answer(msg);
      });
    });
    proc = new ControllerProcess(child, port, () => tail.trim());
    child.once('exit', (code, sig) => {
      for (const w of proc!.#waiting.values()) w.reject(new Error(`our controller exited (${code ?? sig}) during "${w.what}": ${tail.trim()}`));
      proc!.#waiting.clear();
    });
    log.info({ pid: child.pid, port }, 'our controller listening');
    return proc;
  }

  private answer(msg: { id?: number; ok?: boolean; result?: unknown; error?: string }): void {
    const w = msg.id === undefined ? undefined : this.#waiting.get(msg.id);
    if (!w) return;
    this.#waiting.delete(msg.id!);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new Error(`controller refused "${w.what}": ${msg.error}`));
  }

  call<T>(cmd: string, arg: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`controller did not answer "${cmd}" within ${timeoutMs} ms: ${this.tail()}`));
      }, timeoutMs);
      this.#waiting.set(id, {
        what: cmd,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...arg })}\n`);
    });
  }

}

// ---------------------------------------------------------------------------------------------
// Pings

interface PingResult {
  pair: number;
  ok: boolean;
  /** RTT as ping measured it (from its send to the reply), ms. */
  rttMs: number;
  /** Epoch ms of the reply (ping -D) and of the send (reply − RTT). */
  replyAt: number;
  sentAt: number;
}

const PING_LINE = /^\[(\d+\.\d+)\] .* time=([0-9.]+) ms/m;

function parsePing(pair: number, stdout: string, exitCode: number | null): PingResult {
  const m = PING_LINE.exec(stdout);
  if (exitCode !== 0 || !m) return { pair, ok: false, rttMs: Number.NaN, replyAt: Number.NaN, sentAt: Number.NaN };
  const replyAt = Number(m[1]) * 1000;
  const rttMs = Number(m[2]);
  return { pair, ok: true, rttMs, replyAt, sentAt: replyAt - rttMs };
}

function pingArgs(p: Pair, timeout: number): string[] {
  // -D: the reply's wall-clock time, which places every ping of a burst on one time line.
  return ['ping', '-n', '-D', '-c', '1', '-w', String(timeout), p.b.view.ip!];
}

async function pingOnce(p: Pair, timeout: number): Promise<PingResult> {
  const r = await tryRun('ip', ['netns', 'exec', p.a.ns.name, ...pingArgs(p, timeout)], { timeoutMs: (timeout + 5) * 1000 });
  return parsePing(p.index, r.stdout, r.exitCode);
}

/**
 * One first ping from every pair at once. Each ping is started behind a gate (its shell waits on
 * stdin) and all gates open together, so process start-up does not spread the burst out; what
 * spread remains is reported (send spread) from the pings' own timestamps.
 */
async function pingBurst(pairs: readonly Pair[], timeout: number): Promise<PingResult[]> {
  const procs = pairs.map((p) => {
    const child = trackChild(
      spawn('ip', ['netns', 'exec', p.a.ns.name, 'sh', '-c', `read go && exec ${pingArgs(p, timeout).join(' ')}`], { stdio: ['pipe', 'pipe', 'ignore'] }),
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<PingResult>((resolve) => child.once('close', (code) => resolve(parsePing(p.index, out, code))));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    return { child, done, spawned };
  });
  await Promise.all(procs.map((p) => p.spawned));
  // `ip netns exec` has to set up its mount namespace and start the shell before it waits.
  await sleep(300 + 10 * pairs.length);
  for (const p of procs) p.child.stdin!.end('go\n');
  const timer = setTimeout(() => procs.forEach((p) => p.child.kill('SIGKILL')), (timeout + 10) * 1000);
  const results = await Promise.all(procs.map((p) => p.done));
  clearTimeout(timer);
  return results;
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface BurstResult {
  pings: PingResult[];
  lost: number;
  /** First send to last reply, from the pings' own clocks, ms. */
  spanMs: number;
  /** Last send − first send: how far apart the pings started, ms. */
  sendSpreadMs: number;
  rtt: Summary;
}

interface RunResult {
  mode: Mode;
  round: number;
  /** Pair flows (cookie kinds PairOut/PairIn) on both bridges after the install step, ovs-ofctl. */
  flowsCounted: number;
  /** Time those flows took: reactive = the burst's span; proactive = compute + bundles. */
  installMs: number;
  flowsPerSec: number;
  /** Reactive only: first IPv4 packet-in → last pair installed, by the controller's clock. */
  controllerInstallMs: number;
  controllerFlowsPerSec: number;
  /** Proactive only: the bundles' own time and the computation before them. */
  preinstall?: PreinstallResult;
  first: Summary;
  second: Summary;
  lostSequential: number;
  burst: BurstResult;
  /** What the controller saw, sequential step and burst step. */
  windowSequential: Window;
  windowBurst: Window;
  /** CPU the controller process used in the install step (reactive: the burst's window), ms. */
  controllerCpuMs: number;
  load: string;
}

/** Whether an `ovs-ofctl dump-flows` line is a pair flow, judged by the data plane's own cookie parser. */
function isPairFlow(line: string): boolean {
  const hex = /cookie=0x([0-9a-f]+)/.exec(line)?.[1];
  const kind = hex === undefined ? undefined : parseCookie(BigInt(`0x${hex}`))?.kind;
  return kind === FlowKind.PairOut || kind === FlowKind.PairIn;
}

class Bench {
  constructor(
    private readonly cfg: Config,
    private readonly fabric: BenchFabric,
    private readonly ctl: ControllerProcess,
    private readonly log: Logger,
  ) {}

  private get pairs(): readonly Pair[] {
    return this.fabric.pairs;
  }

  /** Pair flows counted on both host bridges with `ovs-ofctl dump-flows`. */
  async countPairFlows(): Promise<number> {
    let n = 0;
    for (const h of this.fabric.hosts.values()) n += (await h.bridge.dumpFlows()).filter(isPairFlow).length;
    return n;
  }

  /** No pair flows anywhere, empty neighbour caches (ARP by the controller), datapath caches purged. */
  async reset(): Promise<void> {
    await this.ctl.call('clear');
    if (this.cfg.arp === ArpModes.Controller) {
      const all = this.pairs.flatMap((p) => [p.a.ns, p.b.ns]);
      await inParallel(all, 8, (ns) => ns.exec(['ip', 'neigh', 'flush', 'all']));
    }
    const left = await this.countPairFlows();
    if (left !== 0) throw new Error(`${left} pair flows left after clearing`);
    // The barrier confirmed the OpenFlow tables; OVS's revalidators drop the datapath's cached
    // copies of the deleted flows a moment later. Without this wait a first ping could still
    // ride a cached path and never reach the controller (the windows would show it).
    await sleep(1_000);
  }

  async staticArp(): Promise<void> {
    await inParallel(this.pairs, 4, async (p) => {
      await p.a.ns.exec(['ip', 'neigh', 'replace', p.b.view.ip!, 'lladdr', p.b.view.mac, 'dev', p.a.ns.ifname, 'nud', 'permanent']);
      await p.b.ns.exec(['ip', 'neigh', 'replace', p.a.view.ip!, 'lladdr', p.a.view.mac, 'dev', p.b.ns.ifname, 'nud', 'permanent']);
    });
  }

  async sequential(): Promise<{ first: PingResult[]; second: PingResult[]; window: Window }> {
    await this.ctl.call('mark');
    const first: PingResult[] = [];
    const second: PingResult[] = [];
    for (const p of this.pairs) {
      first.push(await pingOnce(p, this.cfg.pingTimeout));
      second.push(await pingOnce(p, this.cfg.pingTimeout));
    }
    return { first, second, window: await this.ctl.call<Window>('window') };
  }

  async burst(): Promise<{ burst: BurstResult; window: Window }> {
    await this.ctl.call('mark');
    const pings = await pingBurst(this.pairs, this.cfg.pingTimeout);
    const window = await this.ctl.call<Window>('window');
    const ok = pings.filter((p) => p.ok);
    const firstSend = Math.min(...ok.map((p) => p.sentAt));
    const lastSend = Math.max(...ok.map((p) => p.sentAt));
    const lastReply = Math.max(...ok.map((p) => p.replyAt));
    return {
      burst: { pings, lost: pings.length - ok.length, spanMs: ok.length ? lastReply - firstSend : Number.NaN, sendSpreadMs: ok.length ? lastSend - firstSend : Number.NaN, rtt: summarize(ok.map((p) => p.rttMs)) },
      window,
    };
  }

  async reactive(round: number): Promise<RunResult> {
    await this.reset();
    const seq = await this.sequential();
    await this.reset();
    const b = await this.burst();
    const flows = await this.countPairFlows();
    const w = b.window;
    const ctlMs = w.firstIpv4PacketInAt !== null && w.lastPairAt !== null ? w.lastPairAt - w.firstIpv4PacketInAt : Number.NaN;
    this.expect(round, 'reactive sequential', seq.window, { minPairs: 2 * this.pairs.length });
    this.expect(round, 'reactive burst', w, { minPairs: 2 * this.pairs.length });
    return {
      mode: Modes.Reactive,
      round,
      flowsCounted: flows,
      installMs: b.burst.spanMs,
      flowsPerSec: (flows / b.burst.spanMs) * 1000,
      controllerInstallMs: ctlMs,
      controllerFlowsPerSec: (flows / ctlMs) * 1000,
      first: summarize(seq.first.filter((p) => p.ok).map((p) => p.rttMs)),
      second: summarize(seq.second.filter((p) => p.ok).map((p) => p.rttMs)),
      lostSequential: [...seq.first, ...seq.second].filter((p) => !p.ok).length,
      burst: b.burst,
      windowSequential: seq.window,
      windowBurst: w,
      controllerCpuMs: w.cpuMs,
      load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    };
  }

  async proactive(round: number): Promise<RunResult> {
    const pairs = this.pairs.map((p) => [p.a.view.id, p.b.view.id]);
    await this.reset();
    const pre = await this.ctl.call<PreinstallResult>('preinstall', { pairs });
    const flows = await this.countPairFlows();
    const seq = await this.sequential();
    // The burst with the flows in place (installed afresh, so its ARP starts cold as well).
    await this.reset();
    await this.ctl.call<PreinstallResult>('preinstall', { pairs });
    const b = await this.burst();
    this.expect(round, 'proactive sequential', seq.window, { maxIpv4PacketIns: 0 });
    this.expect(round, 'proactive burst', b.window, { maxIpv4PacketIns: 0 });
    const installMs = pre.computeMs + pre.pushMs;
    return {
      mode: Modes.Proactive,
      round,
      flowsCounted: flows,
      installMs,
      flowsPerSec: (flows / installMs) * 1000,
      controllerInstallMs: Number.NaN,
      controllerFlowsPerSec: Number.NaN,
      preinstall: pre,
      first: summarize(seq.first.filter((p) => p.ok).map((p) => p.rttMs)),
      second: summarize(seq.second.filter((p) => p.ok).map((p) => p.rttMs)),
      lostSequential: [...seq.first, ...seq.second].filter((p) => !p.ok).length,
      burst: b.burst,
      windowSequential: seq.window,
      windowBurst: b.window,
      controllerCpuMs: pre.cpuMs,
      load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    };
  }

  /**
   * Says so loudly when a step did not take the path it is meant to measure: a reactive step whose
   * pairs were not all set up by the controller (a cached datapath path carried some), or a
   * proactive step in which an IPv4 packet reached the controller at all.
   */
  private expect(round: number, step: string, w: Window, want: { minPairs?: number; maxIpv4PacketIns?: number }): void {
    if (want.minPairs !== undefined && w.pairsInstalled < want.minPairs) {
      this.log.warn({ round, step, pairsInstalled: w.pairsInstalled, expected: want.minPairs }, 'fewer pairs set up than pinged: its numbers are suspect');
    }
    if (want.maxIpv4PacketIns !== undefined && w.ipv4PacketIns > want.maxIpv4PacketIns) {
      this.log.warn({ round, step, ipv4PacketIns: w.ipv4PacketIns }, 'IPv4 packets reached the controller although every flow was in place');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Ratios {
  firstP50: number;
  firstP95: number;
  burstSpan: number;
  flowsPerSec: number;
  /** Ours by the controller's clock (first IPv4 packet-in → last pair) against the bundles. */
  ctlFlowsPerSec: number;
}

function ratiosOf(results: readonly RunResult[], rounds: number): { perRound: Ratios[]; median: Ratios } | undefined {
  const perRound: Ratios[] = [];
  for (let round = 1; round <= rounds; round++) {
    const r = results.find((x) => x.mode === Modes.Reactive && x.round === round);
    const p = results.find((x) => x.mode === Modes.Proactive && x.round === round);
    if (!r || !p) continue;
    perRound.push({
      firstP50: r.first.p50 / p.first.p50,
      firstP95: r.first.p95 / p.first.p95,
      burstSpan: r.burst.spanMs / p.burst.spanMs,
      flowsPerSec: r.flowsPerSec / p.flowsPerSec,
      ctlFlowsPerSec: r.controllerFlowsPerSec / p.flowsPerSec,
    });
  }
  if (perRound.length === 0) return undefined;
  const m = (k: keyof Ratios) => median(perRound.map((x) => x[k]));
  return { perRound, median: { firstP50: m('firstP50'), firstP95: m('firstP95'), burstSpan: m('burstSpan'), flowsPerSec: m('flowsPerSec'), ctlFlowsPerSec: m('ctlFlowsPerSec') } };
}

/** IPv4 packet-ins beyond the one first packet per direction and pair that a reactive step needs. */
function extraPacketIns(r: RunResult, w: Window, pairs: number): number {
  return w.ipv4PacketIns - (r.mode === Modes.Reactive ? 2 * pairs : 0);
}

function report(results: readonly RunResult[], cfg: Config, machine: Record<string, string>, setupMs: number): string {
  const lines: string[] = [];
  lines.push('', '# bench/network: reactive flow set-up (ours) against a proactive baseline, real Open vSwitch', '');
  lines.push(`command: ${commandLine(cfg)}`);
  lines.push(`machine: ${Object.entries(machine).map(([k, v]) => `${k}=${v}`).join('  ')}`);
  lines.push(
    `fabric:  2 host bridges (fail_mode=secure, netdev) + 1 standalone fabric bridge; ${cfg.pairs} pairs (namespace on A → namespace on B, one network); ` +
      `ARP ${cfg.arp === ArpModes.Controller ? 'answered by the controller, caches flushed before each step' : 'static (permanent neighbour entries)'}; set-up ${fmt(setupMs / 1000, 1)} s`,
    '',
  );
  const rows: string[][] = [[
    'round', 'mode', 'flows', 'install ms', 'flows/s', 'ctl install ms', 'ctl flows/s', '1st p50', '1st p95', '1st max', '2nd p50', '2nd p95',
    'burst span', 'burst p50', 'burst p95', 'spread', 'lost', 'extra pkt-ins', 'ctl CPU ms', 'load (1 5 15)',
  ]];
  for (const r of results) {
    rows.push([
      String(r.round),
      MODE_LABEL[r.mode],
      fmt(r.flowsCounted),
      fmt(r.installMs, 1),
      fmt(r.flowsPerSec),
      fmt(r.controllerInstallMs, 1),
      fmt(r.controllerFlowsPerSec),
      fmt(r.first.p50, 2),
      fmt(r.first.p95, 2),
      fmt(r.first.max, 2),
      fmt(r.second.p50, 3),
      fmt(r.second.p95, 3),
      fmt(r.burst.spanMs, 1),
      fmt(r.burst.rtt.p50, 2),
      fmt(r.burst.rtt.p95, 2),
      fmt(r.burst.sendSpreadMs, 1),
      `${r.lostSequential}/${r.burst.lost}`,
      `${extraPacketIns(r, r.windowSequential, cfg.pairs)}/${extraPacketIns(r, r.windowBurst, cfg.pairs)}`,
      fmt(r.controllerCpuMs),
      r.load,
    ]);
  }
  lines.push(table(rows), '');
  const ratios = ratiosOf(results, cfg.rounds);
  if (ratios) {
    const rr: string[][] = [['round', 'ours ÷ proactive', '1st ping p50', '1st ping p95', 'burst span', 'flows/s', 'ctl flows/s']];
    const row = (label: string, q: Ratios) => [label, '', fmt(q.firstP50, 2), fmt(q.firstP95, 2), fmt(q.burstSpan, 2), fmt(q.flowsPerSec, 3), fmt(q.ctlFlowsPerSec, 3)];
    ratios.perRound.forEach((q, i) => rr.push(row(String(i + 1), q)));
    if (ratios.perRound.length > 1) rr.push(row('median', ratios.median));
    lines.push('ratios ours ÷ proactive (latency and span above 1 = ours slower; flows/s below 1 = ours installs slower):', table(rr), '');
  }
  lines.push(
    'flows = pair flows (cookie kinds PairOut/PairIn) on both host bridges after the install step, counted with ovs-ofctl dump-flows;',
    '  4 per pair: the ping and its reply each need a source half and a destination half.',
    'install ms: reactive = first echo request sent → last echo reply received with all N pairs pinging at once (the pings\' own',
    '  clocks, ping -D); proactive = computing every pair\'s flows with pairFlows + one ONF bundle per host bridge (controller clock).',
    'ctl install ms = reactive only: first IPv4 packet-in → last pair installed, by the controller\'s clock (no ARP, no ping start-up).',
    '1st / 2nd = RTT in ms of the first and second ping of each pair, one pair at a time (ping\'s own time=); the first includes',
    `  ${cfg.arp === ArpModes.Controller ? 'ARP through the controller on both sides and, ' : ''}in reactive mode, two pair set-ups (request and reply direction).`,
    'burst = all N first pings at once: span (first send → last reply), RTT p50/p95, spread = last send − first send;',
    '  in proactive mode the flows were installed before the burst, so it shows the same burst with nothing to set up.',
    'ctl flows/s ratio = ours by the controller\'s clock (ctl flows/s) ÷ the proactive flows/s, both without ARP and ping start-up.',
    'extra pkt-ins = sequential/burst IPv4 packet-ins beyond the first packet of each direction (reactive) or beyond none',
    '  (proactive): packets that still met the datapath\'s cached "to the controller" entry after their pair was installed',
    '  (OVS revalidates its cache a moment after a flow change); the controller installs the same pair again and re-injects.',
    'lost = sequential/burst pings without a reply; ctl CPU = CPU the controller process used in the install step (its own',
    '  process.cpuUsage: the reactive burst window, or computing and bundling the proactive flows).',
    '',
  );
  return lines.join('\n');
}

function sourceHash(dir: string): string {
  const h = createHash('sha256');
  try {
    const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).sort();
    for (const f of files) h.update(f).update(readFileSync(path.join(dir, f)));
    return h.digest('hex').slice(0, 12);
  } catch {
    return 'unknown';
  }
}

function machineFacts(): Record<string, string> {
  let ovs = 'unknown';
  try {
    ovs = execFileSync('ovs-vswitchd', ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? ovs;
  } catch (err) {
    ovs = `not runnable (${(err as Error).message})`;
  }
  return {
    nproc: String(os.availableParallelism()),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    kernel: os.release(),
    // The machine is shared: the load before we start says whether others were busy.
    loadavg: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    ovs,
    '@sdmi/dataplane src': sourceHash(path.join(here, '../../../packages/dataplane/src')),
    '@sdmi/openflow-controller src': sourceHash(path.join(here, '../../../packages/openflow-controller/src')),
  };
}

// ---------------------------------------------------------------------------------------------
// Main

let interrupted = false;

async function main(): Promise<number> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'bench-network' } }, pino.destination({ dest: 2, sync: true }));
  let cfg: Config;
  try {
    cfg = parseConfig(process.argv.slice(2));
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(`${msg}${msg.includes('usage:') ? '' : `\n${USAGE}`}\n`);
    return 2;
  }
  const tb = new Testbed();
  let disposing: Promise<void> | undefined;
  const dispose = (): Promise<void> => {
    disposing ??= (async () => {
      for (const c of children) c.kill('SIGKILL');
      await tb.dispose().catch((err: unknown) => log.error({ err }, 'clean-up failed'));
    })();
    return disposing;
  };
  const onSignal = (sig: string): void => {
    interrupted = true;
    log.warn({ sig }, 'interrupted: cleaning up');
    void dispose().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // Last resort: never leave a controller or a ping behind us.
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });

  const machine = machineFacts();
  const results: RunResult[] = [];
  let setupMs = 0;
  let leftovers = '';
  const started = performance.now();
  try {
    const ctl = await ControllerProcess.start(cfg.idle, log);
    tb.defer('controller process', () => stopChild(ctl.child));
    const fabric = new BenchFabric(tb, ctl.port);
    await fabric.start();
    await fabric.placePairs(cfg.pairs, cfg.setupConcurrency);
    const reconciled = await ctl.call<{ reconciled: unknown[] }>('topology', { snapshot: fabric.snapshot() }, 120_000);
    setupMs = performance.now() - started;
    log.info({ pairs: cfg.pairs, setupMs: Math.round(setupMs), reconciled: reconciled.reconciled }, 'fabric up');
    const bench = new Bench(cfg, fabric, ctl, log);
    if (cfg.arp === ArpModes.Static) await bench.staticArp();
    for (let round = 1; round <= cfg.rounds && !interrupted; round++) {
      // Alternate which mode goes first, so a drift in background load does not favour one.
      const order = round % 2 === 1 ? cfg.modes : [...cfg.modes].reverse();
      for (const mode of order) {
        if (interrupted) break;
        log.info({ round, mode }, 'measuring');
        results.push(mode === Modes.Reactive ? await bench.reactive(round) : await bench.proactive(round));
      }
    }
  } finally {
    await dispose();
    leftovers = describeInventory(await inventory({ tag: runId(), databases: false, streams: false }));
  }
  if (interrupted) return 130;
  results.sort((a, b) => a.round - b.round || cfg.modes.indexOf(a.mode) - cfg.modes.indexOf(b.mode));
  process.stdout.write(report(results, cfg, machine, setupMs));
  process.stdout.write(`left behind by this run: ${leftovers === '' ? 'nothing' : `\n${leftovers}`}\n`);
  process.stdout.write(`total run: ${fmt((performance.now() - started) / 1000, 1)} s\n`);
  const ratios = ratiosOf(results, cfg.rounds);
  const raw = results.map(({ burst, ...r }) => ({ ...r, burst: { ...burst, pings: burst.pings.map((p) => [p.pair, p.ok ? p.rttMs : null]) } }));
  process.stdout.write(`${JSON.stringify({ bench: 'network', command: commandLine(cfg), config: cfg, machine, setupMs, results: raw, ratiosOursOverProactive: ratios ?? null })}\n`);
  return leftovers === '' ? 0 : 1;
}

main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
