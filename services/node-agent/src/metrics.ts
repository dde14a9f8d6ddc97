// The node's metric samples: the host's CPU, load and memory from /proc, and each running
// replica's container from Docker's stats, published on core NATS every interval. Samples are
// fire-and-forget: a missed one is replaced by the next, so no stream keeps them.
import { readFile } from 'node:fs/promises';
import { BusNames, metricsToken } from '@sdmi/bus';
import { contracts, type ContainerMetrics, type NodeMetrics } from '@sdmi/contracts';
import { statsUsage, type DockerEngine } from '@sdmi/docker';
import type { StartContext } from '@sdmi/service';
import type { Logger } from 'pino';

interface CpuTimes {
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat; iowait counts as idle, as top does. */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate cpu line');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already inside user).
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

export function parseLoadavg(text: string): NodeMetrics['load'] {
  const [one, five, fifteen] = text.trim().split(/\s+/).map(Number);
  return { one: one ?? 0, five: five ?? 0, fifteen: fifteen ?? 0 };
}

/** Used = MemTotal − MemAvailable (what the kernel could not hand out without swapping). */
export function parseMeminfo(text: string): NodeMetrics['memory'] {
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  const totalBytes = kb('MemTotal');
  return { usedBytes: Math.max(0, totalBytes - kb('MemAvailable')), totalBytes };
}

/** Bytes through a network namespace's interfaces but lo, from /proc/<pid>/net/dev. */
export function parseNetDev(text: string): ContainerMetrics['network'] {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1]!.trim() === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    rxBytes += f[0] ?? 0;
    txBytes += f[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

export interface MetricsSamplerOptions {
  node: string;
  nc: StartContext['nc'];
  names: BusNames;
  engine: DockerEngine;
  /** The replica containers to sample: running ones of this agent's cluster. */
  replicas: () => Promise<{ containerId: string; replicaId: string; service: string }[]>;
  intervalMs: number;
  log: Logger;
  proc?: string;
}

export class MetricsSampler {
  #timer?: NodeJS.Timeout;
  #prev?: CpuTimes;
  #running?: Promise<void>;
  /** Problems already logged, so that a sample failing every interval is reported once. */
  readonly #warned = new Set<string>();

  constructor(private readonly o: MetricsSamplerOptions) {}

  start(): this {
    const tick = (): void => {
      if (this.#running) return; // a slow Docker must not pile samples up
      this.#running = this.sample()
        .catch((err: unknown) => this.#warn('sample', err))
        .finally(() => (this.#running = undefined));
    };
    tick();
    this.#timer = setInterval(tick, this.o.intervalMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  #warn(key: string, err: unknown, extra: Record<string, unknown> = {}): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.o.log.warn({ err, ...extra }, `metrics: ${key} not published (reported once)`);
  }

  async nodeSample(): Promise<NodeMetrics | undefined> {
    const proc = this.o.proc ?? '/proc';
    const [stat, load, mem] = await Promise.all([readFile(`${proc}/stat`, 'utf8'), readFile(`${proc}/loadavg`, 'utf8'), readFile(`${proc}/meminfo`, 'utf8')]);
    const now = parseProcStat(stat);
    const prev = this.#prev;
    this.#prev = now;
    const cores = (stat.match(/^cpu\d+ /gm) ?? []).length || 1;
    // The first sample has no earlier one to take a delta over.
    if (!prev || now.total <= prev.total) return undefined;
    const usageRatio = Math.min(1, Math.max(0, (now.busy - prev.busy) / (now.total - prev.total)));
    return { version: 1, node: this.o.node, at: new Date().toISOString(), cpu: { usageRatio, cores }, load: parseLoadavg(load), memory: parseMeminfo(mem) };
  }

  async containerSample(r: { containerId: string; replicaId: string; service: string }, hostCpus: number, hostMemory: number): Promise<ContainerMetrics> {
    const { engine } = this.o;
    const [stats, info] = await Promise.all([engine.stats(r.containerId), engine.inspect(r.containerId)]);
    const u = statsUsage(stats);
    let network = { rxBytes: u.rxBytes, txBytes: u.txBytes };
    // SDMI's containers run with NetworkMode none (their interfaces are OVS ports the agent wires),
    // so Docker reports no networks: their namespace's own counters are the truth.
    if (network.rxBytes === 0 && network.txBytes === 0 && info.pid > 0) {
      network = await readFile(`${this.o.proc ?? '/proc'}/${info.pid}/net/dev`, 'utf8').then(parseNetDev, () => network);
    }
    // Without a limit Docker reports the host's memory (or, on some kernels, a huge page-aligned
    // number): the host's memory is then the limit that matters.
    const memLimit = u.memoryLimitBytes > 0 && (hostMemory === 0 || u.memoryLimitBytes <= hostMemory) ? u.memoryLimitBytes : hostMemory;
    return {
      version: 1,
      replicaId: r.replicaId,
      service: r.service,
      node: this.o.node,
      at: new Date().toISOString(),
      cpu: { usedCores: u.usedCores, limitCores: info.limits.cpus ?? (u.onlineCpus || hostCpus) },
      memory: { usedBytes: u.memoryUsedBytes, limitBytes: info.limits.memoryBytes ?? Math.max(1, memLimit) },
      network,
    };
  }

  async sample(): Promise<void> {
    const { nc, names, log } = this.o;
    const node = await this.nodeSample();
    if (node) this.#publish(names.metrics('node', this.o.node), 'NodeMetrics', node);
    const hostCpus = node?.cpu.cores ?? 1;
    // The first round has no node sample (no CPU delta yet), but the host's memory is known all the same.
    const hostMemory = node?.memory.totalBytes ?? parseMeminfo(await readFile(`${this.o.proc ?? '/proc'}/meminfo`, 'utf8')).totalBytes;
    const replicas = await this.o.replicas();
    await Promise.all(
      replicas.map(async (r) => {
        try {
          const m = await this.containerSample(r, hostCpus, hostMemory);
          this.#publish(names.metrics('container', metricsToken(r.replicaId)), 'ContainerMetrics', m);
        } catch (err) {
          // A container that stopped between the listing and its stats: the next round skips it.
          log.debug({ err, replica: r.replicaId }, 'metrics: no container sample');
        }
      }),
    );
  }

  #publish(subject: string, name: 'NodeMetrics' | 'ContainerMetrics', sample: NodeMetrics | ContainerMetrics): void {
    const checked = contracts().check(name, sample);
    if (!checked.ok) {
      this.#warn(`${name} ${checked.error.path ?? '/'} ${checked.error.rule ?? ''}`, checked.error, { sample });
      return;
    }
    this.o.nc.publish(subject, JSON.stringify(sample));
  }
}
