import type { AutoscalePolicy, ContainerMetrics, ScaleDecision } from '@sdmi/contracts';
import type { Autoscaler } from '../src/index';

export const T0 = Date.parse('2026-12-01T19:00:00.000Z');
export const SERVICE = 'acme/app';

export function replicaId(slot: number, service = SERVICE): string {
  return `${service}-${slot}@rev1`;
}

export function replicaIds(n: number, service = SERVICE): string[] {
  return Array.from({ length: n }, (_, i) => replicaId(i + 1, service));
}

/** A ContainerMetrics sample with cpu.utilization = `utilization` (limit 0.5 cores). */
export function sample(id: string, at: number, utilization: number, service = SERVICE): ContainerMetrics {
  const limitCores = 0.5;
  return {
    version: 1,
    replicaId: id,
    service,
    node: 'host-a',
    at: new Date(at).toISOString(),
    cpu: { usedCores: utilization * limitCores, limitCores },
    memory: { usedBytes: 64 * 2 ** 20, limitBytes: 256 * 2 ** 20 },
    network: { rxBytes: 0, txBytes: 0 },
  };
}

/** Every one of `replicas` reports the same utilization at `at`. */
export function samples(replicas: readonly string[], at: number, utilization: number): ContainerMetrics[] {
  return replicas.map((id) => sample(id, at, utilization));
}

export function policy(over: Partial<AutoscalePolicy> = {}): AutoscalePolicy {
  return { version: 1, service: SERVICE, minReplicas: 1, maxReplicas: 20, metric: 'cpu.utilization', target: 0.6, ...over };
}

/**
 * A service under a total demand, in replica-limits (demand 3 = three replicas fully busy): each
 * replica's utilization is demand / replicas, as when a load balancer spreads requests evenly. The
 * autoscaler runs every `stepMs` and each decision is applied at once; returns every decision.
 */
export function simulate(
  scaler: Autoscaler,
  start: number,
  steps: number,
  stepMs: number,
  demand: (step: number) => number,
): ScaleDecision[] {
  const out: ScaleDecision[] = [];
  let current = start;
  for (let i = 0; i < steps; i++) {
    const now = T0 + i * stepMs;
    const replicas = replicaIds(current);
    const d = scaler.evaluate({ current, replicas, samples: samples(replicas, now, current === 0 ? 0 : demand(i) / current) }, now);
    out.push(d);
    current = d.to;
  }
  return out;
}

/** How many decisions changed the count. */
export function changes(trace: readonly ScaleDecision[]): number {
  return trace.filter((d) => d.to !== d.from).length;
}
