// One-shot container stats (GET /containers/{id}/stats?stream=false). Docker answers it after
// taking two samples about a second apart, so precpu_stats holds the earlier one and a single
// call gives a CPU rate without the caller keeping state between calls.
import type { EngineContext } from './context';
import { InvalidArgument } from './errors';
import { toDockerError } from './translate';

/** The parts of Docker's stats answer SDMI reads; counters as Docker reports them. */
export interface ContainerStats {
  /** When Docker read the counters. */
  read: string;
  cpu: {
    /** The container's CPU time so far (ns). */
    totalUsageNs: number;
    /** The host's CPU time so far (ns, all cores), the denominator of the rate. */
    systemUsageNs: number;
    onlineCpus: number;
  };
  /** The same counters one sampling interval earlier (zero when Docker had none). */
  precpu: { totalUsageNs: number; systemUsageNs: number; onlineCpus: number };
  memory: {
    usageBytes: number;
    limitBytes: number;
    /** Page cache the kernel can drop at once; Docker's CLI leaves it out of "used" as well. */
    inactiveFileBytes: number;
  };
  network: { rxBytes: number; txBytes: number };
}

/** What a ContainerMetrics sample needs from one stats answer. */
export interface StatsUsage {
  usedCores: number;
  onlineCpus: number;
  memoryUsedBytes: number;
  memoryLimitBytes: number;
  rxBytes: number;
  txBytes: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {});

function cpuOf(raw: unknown): ContainerStats['cpu'] {
  const c = obj(raw);
  const usage = obj(c.cpu_usage);
  const percpu = Array.isArray(usage.percpu_usage) ? usage.percpu_usage.length : 0;
  return { totalUsageNs: num(usage.total_usage), systemUsageNs: num(c.system_cpu_usage), onlineCpus: num(c.online_cpus) || percpu };
}

/** Docker's JSON (API 1.41, cgroup v1 or v2) to {@link ContainerStats}; missing fields read as 0. */
export function parseStats(raw: unknown): ContainerStats {
  const r = obj(raw);
  const mem = obj(r.memory_stats);
  const ms = obj(mem.stats);
  // cgroup v1 names it total_inactive_file (hierarchical), v2 inactive_file.
  const inactive = ms.total_inactive_file !== undefined ? num(ms.total_inactive_file) : num(ms.inactive_file);
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(obj(r.networks))) {
    rx += num(obj(n).rx_bytes);
    tx += num(obj(n).tx_bytes);
  }
  return {
    read: typeof r.read === 'string' ? r.read : new Date().toISOString(),
    cpu: cpuOf(r.cpu_stats),
    precpu: cpuOf(r.precpu_stats),
    memory: { usageBytes: num(mem.usage), limitBytes: num(mem.limit), inactiveFileBytes: inactive },
    network: { rxBytes: rx, txBytes: tx },
  };
}

/**
 * Cores used over the interval = Δcontainer / Δsystem × online CPUs (the docker CLI's rule);
 * memory used = usage − inactive file cache, never below 0.
 */
export function statsUsage(s: ContainerStats): StatsUsage {
  const dContainer = s.cpu.totalUsageNs - s.precpu.totalUsageNs;
  const dSystem = s.cpu.systemUsageNs - s.precpu.systemUsageNs;
  const online = s.cpu.onlineCpus || s.precpu.onlineCpus || 1;
  // No earlier sample (precpu all zero) or a counter that went back: no rate, rather than a wild one.
  const usedCores = s.precpu.systemUsageNs > 0 && dSystem > 0 && dContainer > 0 ? Math.min(online, (dContainer / dSystem) * online) : 0;
  return {
    usedCores,
    onlineCpus: online,
    memoryUsedBytes: Math.max(0, Math.round(s.memory.usageBytes - s.memory.inactiveFileBytes)),
    memoryLimitBytes: Math.round(s.memory.limitBytes),
    rxBytes: Math.round(s.network.rxBytes),
    txBytes: Math.round(s.network.txBytes),
  };
}

export async function containerStats(ctx: EngineContext, id: string): Promise<ContainerStats> {
  ctx.assertOpen('stats');
  if (typeof id !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(id)) throw new InvalidArgument('stats', '/id', 'container-ref', id, 'is not a container id or name');
  let raw: unknown;
  try {
    raw = await ctx.docker.getContainer(id).stats({ stream: false });
  } catch (e) {
    throw toDockerError(ctx, 'stats', e, { container: id });
  }
  return parseStats(raw);
}
