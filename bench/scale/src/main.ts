// bench/scale: how long SDMI takes to scale a service from 0 to N replicas that run and answer a
// ping, against the same N containers started by plain Docker and by Docker Swarm, in one run on
// this machine.
//
//   sdmi            scaleService 0 → N over the bus on a LocalCluster (two Docker hosts on one
//                   OVS fabric, network-controller, node-agents, scheduler), until every replica
//                   runs (its row and its container) and answers a ping from a probe replica on the
//                   same network (see sdmi.ts). One interface per replica, from IPAM, wired into
//                   the host's bridge: the networking the peers do without.
//   docker-run-seq  `docker run -d --network none` N times, one after the other, on the machine's dockerd.
//   docker-run-par  the same N at once (Promise.all of the CLI).
//   swarm           `docker service create --replicas N` on a single-node Swarm of our own (its own
//                   dockerd in its own network namespace, see swarm.ts) until N tasks run.
//
// Ratios are ours ÷ peer (above 1 = SDMI slower). Bench code reports; it never asserts timings.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connectNats, jetstreamManager } from '@sdmi/bus';
import { BASE_IMAGE, Testbed, buildBaseImage, mainDocker, describeInventory, inventory, runId, testName } from '@sdmi/testbed';
import pino from 'pino';
import { DockerRunPeer } from './docker-run';
import { loadavg, machineFacts, median, sec, table } from '../../common/src/report';
import { containersWithLabel } from './engine';
import { SdmiSide, type SdmiScaleResult } from './sdmi';
import { SwarmHost } from './swarm';

// ---------------------------------------------------------------------------------------------
// Options

const Modes = { Sdmi: 'sdmi', DockerRunSeq: 'docker-run-seq', DockerRunPar: 'docker-run-par', Swarm: 'swarm' } as const;
type Mode = (typeof Modes)[keyof typeof Modes];
const ALL_MODES = Object.values(Modes);
const PEERS = ALL_MODES.filter((m) => m !== Modes.Sdmi);

interface Config {
  sizes: number[];
  rounds: number;
  modes: Mode[];
  /** Per measurement, and per scale-down. */
  timeoutSec: number;
}

const USAGE = `usage: pnpm tsx bench/scale/src/main.ts [--n 10,50] [--rounds R] [--modes sdmi,docker-run-seq,docker-run-par,swarm] [--timeout secs]`;

function parseConfig(argv: string[]): Config {
  // `pnpm --filter … bench -- --n 10` passes the `--` through; it is not a terminator here.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      n: { type: 'string' },
      rounds: { type: 'string' },
      modes: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} takes integers from ${min} to ${max}, got "${v}"\n${USAGE}`);
    return n;
  };
  // The network is a /24 that also holds the probe: at most 200 replicas.
  const sizes = (values.n ?? '10,50').split(',').map((s) => int('n', s.trim(), 1, 200));
  const picked = values.modes === undefined ? ALL_MODES : values.modes.split(',').map((m) => m.trim());
  const bad = picked.filter((m) => !(ALL_MODES as string[]).includes(m));
  if (bad.length || picked.length === 0) throw new Error(`--modes takes a comma-separated list of ${ALL_MODES.join(', ')}; got "${values.modes}"\n${USAGE}`);
  return {
    sizes,
    rounds: values.rounds === undefined ? 1 : int('rounds', values.rounds, 1, 20),
    modes: ALL_MODES.filter((m) => picked.includes(m)),
    timeoutSec: values.timeout === undefined ? 600 : int('timeout', values.timeout, 10, 3_600),
  };
}

const commandLine = (cfg: Config): string =>
  `pnpm tsx bench/scale/src/main.ts --n ${cfg.sizes.join(',')} --rounds ${cfg.rounds} --modes ${cfg.modes.join(',')} --timeout ${cfg.timeoutSec}`;

// ---------------------------------------------------------------------------------------------
// Results and report

interface Result {
  round: number;
  n: number;
  mode: Mode;
  /** The compared time: sdmi = running and reachable; peers = running. */
  ms: number;
  /** sdmi only. */
  sdmi?: SdmiScaleResult;
  /** Clean-up after the measurement (scale to 0, docker rm -f, service rm), ms. */
  cleanupMs: number;
  load: string;
}


/** ours ÷ peer per round (same N), and their median. */
function ratios(results: readonly Result[], n: number, peer: Mode, pick: (r: Result) => number): { perRound: number[]; median: number } {
  const perRound: number[] = [];
  for (const ours of results.filter((r) => r.n === n && r.mode === Modes.Sdmi)) {
    const theirs = results.find((r) => r.n === n && r.mode === peer && r.round === ours.round);
    if (theirs) perRound.push(pick(ours) / theirs.ms);
  }
  return { perRound, median: median(perRound) };
}

function report(results: readonly Result[], cfg: Config, machine: Record<string, string>, setupMs: number, swarmNs: string): string {
  const lines: string[] = ['', '# bench/scale: SDMI scale-up against docker run and Docker Swarm, one run', ''];
  lines.push(`command: ${commandLine(cfg)}`);
  lines.push(`machine: ${Object.entries(machine).map(([k, v]) => `${k}=${v}`).join('  ')}`);
  lines.push(`set-up: ${sec(setupMs, 1)} s (SDMI cluster, probe, Swarm); Swarm namespace: ${swarmNs}`, '');
  const rows: string[][] = [['round', 'mode', 'N', 'time s', 'running s', 'command s', 'per host', 'ping rounds', 'clean-up s', 'load (1 5 15)']];
  for (const r of results) {
    rows.push([
      String(r.round),
      r.mode === Modes.Sdmi ? 'sdmi (running + reachable)' : r.mode,
      String(r.n),
      sec(r.ms),
      sec(r.sdmi?.runningMs ?? r.ms),
      sec(r.sdmi?.commandMs),
      r.sdmi ? Object.entries(r.sdmi.perHost).sort().map(([h, k]) => `${h}:${k}`).join(' ') : r.mode === Modes.Swarm ? 'swarm:all' : 'host-a:all',
      r.sdmi ? String(r.sdmi.pingRounds) : '–',
      sec(r.cleanupMs),
      r.load,
    ]);
  }
  lines.push(table(rows), '');
  const have = (m: Mode) => results.some((r) => r.mode === m);
  if (have(Modes.Sdmi)) {
    const rr: string[][] = [['N', 'peer', 'sdmi s', 'peer s', 'ratio', 'ratio (running only)', 'per round']];
    for (const n of cfg.sizes) {
      const ours = median(results.filter((r) => r.n === n && r.mode === Modes.Sdmi).map((r) => r.ms));
      for (const peer of PEERS.filter(have)) {
        const q = ratios(results, n, peer, (r) => r.ms);
        const qr = ratios(results, n, peer, (r) => r.sdmi!.runningMs);
        const theirs = median(results.filter((r) => r.n === n && r.mode === peer).map((r) => r.ms));
        rr.push([String(n), peer, sec(ours), sec(theirs), q.median.toFixed(2), qr.median.toFixed(2), q.perRound.map((x) => x.toFixed(2)).join(' ')]);
        lines.push(`sdmi ${n}: ${sec(ours, 1)} s  ${peer}: ${sec(theirs, 1)} s  ratio ${q.median.toFixed(2)}`);
      }
    }
    lines.push('', `ratios sdmi ÷ peer (medians over ${cfg.rounds} round${cfg.rounds > 1 ? 's' : ''}; above 1 = SDMI slower):`, table(rr), '');
  }
  lines.push(
    'time: sdmi = scaleService sent → every replica running (sched.replica running/healthy and its container running) and',
    '  answering one ping from the probe replica on the same network; docker-run-* = first docker run started → last one',
    '  returned (docker run -d returns once its container runs; the count of running containers is checked afterwards);',
    '  swarm = docker service create started → N tasks in state running (Engine API /tasks, polled every 100 ms;',
    '  the count of running containers is checked afterwards).',
    'running s: sdmi without the reachability part (polled every 250 ms); command s: the scaleService task completed',
    '  (desired state stored; the scheduler\'s loop places the replicas after that).',
    'per host: where SDMI placed the replicas (host-a = the machine\'s dockerd, host-b = a second dockerd; both on the same',
    '  2 cores). The docker-run peers use the machine\'s dockerd alone; Swarm its own dockerd.',
    'ping rounds: docker exec rounds of the probe (each pings, at once, every running replica that has not answered yet).',
    'clean-up: sdmi = scaleService 0 → no replica row, address or container left; docker-run = docker rm -f; swarm =',
    '  service rm → no container left. Not compared.',
    '',
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

let interrupted = false;
/** Aborted by SIGINT/SIGTERM: the measurement stops, and clean-up runs once, in main's finally. */
const abort = new AbortController();

async function main(): Promise<number> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'bench-scale' } }, pino.destination({ dest: 2, sync: true }));
  let cfg: Config;
  try {
    cfg = parseConfig(process.argv.slice(2));
  } catch (err) {
    const msg = (err as Error).message;
    process.stderr.write(`${msg}${msg.includes('usage:') ? '' : `\n${USAGE}`}\n`);
    return 2;
  }
  const image = BASE_IMAGE;
  const tb = new Testbed();
  const sdmi = new SdmiSide(image, log);
  const peer = new DockerRunPeer({ host: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock' }, image, runId());
  let swarm: SwarmHost | undefined;
  let disposing: Promise<void> | undefined;
  const dispose = (): Promise<void> => {
    disposing ??= (async () => {
      await peer.removeAll().catch((err: unknown) => log.error({ err }, 'removing the docker run containers failed'));
      await sdmi.dispose(interrupted).catch((err: unknown) => log.error({ err }, 'SDMI clean-up failed'));
      await tb.dispose().catch((err: unknown) => log.error({ err }, 'Swarm clean-up failed'));
    })();
    return disposing;
  };
  // The first signal stops the measurement, which then cleans up on its way out (a clean-up run
  // beside a measurement still going would race it: containers started after their removal). A
  // second signal, or a measurement that does not stop within 2 minutes, cleans up at once.
  const onSignal = (sig: string): void => {
    if (interrupted) {
      log.warn({ sig }, 'interrupted again: cleaning up now');
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
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });

  const machine = machineFacts();
  const results: Result[] = [];
  const started = performance.now();
  let setupMs = 0;
  let swarmNs = '–';
  let leftovers: string[] = [];
  try {
    const needsSdmi = cfg.modes.includes(Modes.Sdmi);
    // The cluster also builds the image on the machine's dockerd, which the docker-run peers use.
    if (needsSdmi) await sdmi.start();
    else await buildBaseImage(mainDocker, { tag: image });
    if (cfg.modes.includes(Modes.Swarm)) {
      swarm = await SwarmHost.start(tb, image);
      swarmNs = await swarm.describeNamespace();
    }
    setupMs = performance.now() - started;
    log.info({ setupMs: Math.round(setupMs), swarmNs }, 'set up');
    const timeoutMs = cfg.timeoutSec * 1000;
    for (let round = 1; round <= cfg.rounds && !interrupted; round++) {
      // Rotate which mode goes first, so a drift in background load does not always favour the same one.
      const order = cfg.modes.map((_, i) => cfg.modes[(i + round - 1) % cfg.modes.length]!);
      for (const n of cfg.sizes) {
        for (const mode of order) {
          if (interrupted) break;
          log.info({ round, n, mode }, 'measuring');
          const load = loadavg();
          if (mode === Modes.Sdmi) {
            const r = await sdmi.scaleUp(n, timeoutMs, abort.signal);
            results.push({ round, n, mode, ms: r.reachableMs, sdmi: r, cleanupMs: r.scaleDownMs, load });
          } else if (mode === Modes.DockerRunSeq || mode === Modes.DockerRunPar) {
            const r = await peer.measure(n, mode === Modes.DockerRunPar, abort.signal);
            results.push({ round, n, mode, ms: r.ms, cleanupMs: r.removeMs, load });
          } else if (mode === Modes.Swarm && swarm) {
            const name = testName('s');
            const t0 = performance.now();
            await swarm.createService(name, image, n);
            const end = t0 + timeoutMs;
            while ((await swarm.running(name)) < n) {
              if (abort.signal.aborted) throw new Error('Swarm: interrupted');
              if (performance.now() > end) throw new Error(`Swarm: fewer than ${n} tasks running ${timeoutMs} ms after service create`);
              await new Promise((r) => setTimeout(r, 100));
            }
            const ms = performance.now() - t0;
            const containers = await swarm.runningContainers();
            if (containers !== n) throw new Error(`Swarm: ${n} tasks running but ${containers} containers`);
            const c0 = performance.now();
            await swarm.removeService(name, timeoutMs);
            results.push({ round, n, mode, ms, cleanupMs: performance.now() - c0, load });
          }
          log.info({ round, n, mode, s: sec(results.at(-1)?.ms) }, 'measured');
        }
      }
    }
  } finally {
    await dispose();
    leftovers = await leftoversOf(sdmi, peer);
    if (interrupted) process.stderr.write(`interrupted; left behind by this run: ${leftovers.length === 0 ? 'nothing' : `\n${leftovers.join('\n')}`}\n`);
  }
  if (interrupted) return 130;
  process.stdout.write(report(results, cfg, machine, setupMs, swarmNs));
  process.stdout.write(`left behind by this run: ${leftovers.length === 0 ? 'nothing' : `\n${leftovers.join('\n')}`}\n`);
  process.stdout.write(`load at the end: ${loadavg()}; total run: ${sec(performance.now() - started, 1)} s\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'scale', command: commandLine(cfg), config: cfg, machine, setupMs, results })}\n`);
  return leftovers.length === 0 ? 0 : 1;
}

/**
 * What this run left: the testbed inventory of its tag (namespaces, bridges, interfaces, processes,
 * directories, databases), plus what the inventory cannot see: the cluster's streams (named after
 * its bus prefix, not the testbed's pattern) and containers on the machine's dockerd.
 */
async function leftoversOf(sdmi: SdmiSide, peer: DockerRunPeer): Promise<string[]> {
  const out = describeInventory(await inventory({ tag: runId() })).split('\n').filter(Boolean);
  const nc = await connectNats(`bench-scale-${runId()}-check`);
  try {
    const jsm = await jetstreamManager(nc);
    for await (const s of jsm.streams.names()) if (s.startsWith(`${sdmi.cluster.names.streamPrefix}_`)) out.push(`stream: ${s}`);
  } finally {
    await nc.close();
  }
  for (const c of await containersWithLabel('/var/run/docker.sock', 'sdmi.replica', { all: true })) {
    if (c.Labels['sdmi.replica']?.startsWith(`${sdmi.cluster.tag}/`)) out.push(`container (main dockerd): ${c.Id.slice(0, 12)} ${c.Labels['sdmi.replica']}`);
  }
  for (const id of await peer.leftovers()) out.push(`container (main dockerd, docker run): ${id.slice(0, 12)}`);
  return out;
}

main().then(
  (code) => process.exit(interrupted ? 130 : code),
  (err: unknown) => {
    process.stderr.write(`${interrupted ? String((err as Error)?.message ?? err) : String((err as Error)?.stack ?? err)}\n`);
    process.exit(interrupted ? 130 : 1);
  },
);
