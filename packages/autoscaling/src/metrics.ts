import type { Aggregation, Comparator, ContainerMetrics, MetricName } from '@sdmi/contracts';

export const MetricNames = {
  CPU_UTILIZATION: 'cpu.utilization',
  MEMORY_UTILIZATION: 'memory.utilization',
  CPU_CORES: 'cpu.cores',
  MEMORY_BYTES: 'memory.bytes',
} as const satisfies Record<string, MetricName>;

export const Aggregations = { AVG: 'avg', MAX: 'max', MIN: 'min', SUM: 'sum' } as const satisfies Record<string, Aggregation>;

/** A replica's value of one metric, with the sample's time in ms since the epoch. */
export interface ReplicaValue {
  readonly replicaId: string;
  readonly at: number;
  readonly value: number;
}

/** The per-replica value a metric name stands for, in its unit (ratio, cores or bytes). */
export function metricValue(sample: ContainerMetrics, metric: MetricName): number {
  switch (metric) {
    case 'cpu.utilization':
      return sample.cpu.usedCores / sample.cpu.limitCores;
    case 'memory.utilization':
      return sample.memory.usedBytes / sample.memory.limitBytes;
    case 'cpu.cores':
      return sample.cpu.usedCores;
    case 'memory.bytes':
      return sample.memory.usedBytes;
  }
}

/** Sample time in ms; a sample whose time does not parse is never fresh. */
export function sampleTime(sample: { at: string }): number {
  const t = Date.parse(sample.at);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

export function replicaValues(samples: readonly ContainerMetrics[], metric: MetricName): ReplicaValue[] {
  return samples.map((s) => ({ replicaId: s.replicaId, at: sampleTime(s), value: metricValue(s, metric) }));
}

/**
 * The newest value of each replica that is at most `staleAfterMs` old at `now`. A sample from the
 * future (a node's clock ahead of ours) counts as fresh: refusing it would stop scaling on clock
 * skew, which is the failure mode we want least.
 */
export function freshValues(values: readonly ReplicaValue[], now: number, staleAfterMs: number): Map<string, ReplicaValue> {
  const latest = new Map<string, ReplicaValue>();
  for (const v of values) {
    if (now - v.at > staleAfterMs) continue;
    const seen = latest.get(v.replicaId);
    if (!seen || v.at > seen.at) latest.set(v.replicaId, v);
  }
  return latest;
}

/** Combines values; undefined for none, so "no data" can never be mistaken for 0. */
export function aggregate(values: readonly number[], aggregation: Aggregation): number | undefined {
  if (values.length === 0) return undefined;
  switch (aggregation) {
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
  }
}

export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

/**
 * The newest ContainerMetrics of each replica, for a collector that receives samples one by one and
 * evaluates periodically. Pure: no clock, pruning takes `now`.
 */
export class LatestSamples {
  private readonly byReplica = new Map<string, ContainerMetrics>();

  /** Keeps the sample unless a newer one of its replica is already held (redelivery, reordering). */
  add(sample: ContainerMetrics): void {
    const seen = this.byReplica.get(sample.replicaId);
    if (!seen || sampleTime(sample) >= sampleTime(seen)) this.byReplica.set(sample.replicaId, sample);
  }

  forService(service: string): ContainerMetrics[] {
    return [...this.byReplica.values()].filter((s) => s.service === service);
  }

  all(): ContainerMetrics[] {
    return [...this.byReplica.values()];
  }

  /** Forgets replicas whose newest sample is older than maxAgeMs (stopped replicas). */
  prune(now: number, maxAgeMs: number): void {
    for (const [id, s] of this.byReplica) if (now - sampleTime(s) > maxAgeMs) this.byReplica.delete(id);
  }

  get size(): number {
    return this.byReplica.size;
  }
}

/** Short, stable rendering of a number for the `why` sentences. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(3)));
}
