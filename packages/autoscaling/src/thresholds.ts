import type { ContainerMetrics, Threshold, ThresholdEvent } from '@sdmi/contracts';
import { InvalidThreshold } from './errors';
import { aggregate, compare, fmt, freshValues, replicaValues } from './metrics';
import { DEFAULT_STALE_AFTER_MS } from './policy';

export const ThresholdPhases = {
  /** The condition does not hold (or has not been seen). */
  OK: 'ok',
  /** It holds, for less than durationMs so far. */
  PENDING: 'pending',
  RAISED: 'raised',
  /** Raised, and the condition (with hysteresis) has stopped holding, for less than clearAfterMs so far. */
  CLEARING: 'clearing',
} as const;
export type ThresholdPhase = (typeof ThresholdPhases)[keyof typeof ThresholdPhases];

export interface ThresholdStatus {
  readonly service: string;
  readonly threshold: string;
  readonly phase: ThresholdPhase;
  /** When the current phase's run began (ms); null in phase ok. */
  readonly since: number | null;
}

export interface ThresholdEvaluatorOptions {
  /** A replica's newest sample older than this does not count; default 30000 ms. */
  readonly staleAfterMs?: number;
}

const key = (t: Pick<Threshold, 'service' | 'name'>): string => `${t.service}#${t.name}`;

/**
 * Evaluates thresholds over each service's fresh samples. A threshold is raised once its condition
 * has held at every evaluation for durationMs, and cleared once the condition moved by hysteresis
 * towards the safe side has failed at every evaluation for clearAfterMs (default durationMs). An
 * evaluation without any fresh sample of the service says nothing: a pending run starts over (it
 * cannot be said to have held), and a raised threshold stays raised (silence is not recovery).
 * Time is passed in; `status()` and the constructor's `initial` carry state across restarts.
 */
export class ThresholdEvaluator {
  private readonly thresholds: readonly Threshold[];
  private readonly staleAfterMs: number;
  private readonly phases = new Map<string, { phase: ThresholdPhase; since: number | null }>();

  constructor(thresholds: readonly Threshold[], options: ThresholdEvaluatorOptions = {}, initial: readonly ThresholdStatus[] = []) {
    const seen = new Set<string>();
    thresholds.forEach((t, i) => {
      if (seen.has(key(t))) throw new InvalidThreshold(`/${i}/name ${t.name} is used twice on ${t.service}`, `/${i}/name`, 'unique');
      seen.add(key(t));
    });
    this.thresholds = thresholds.map((t) => Object.freeze({ ...t }));
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    for (const s of initial) if (seen.has(key({ service: s.service, name: s.threshold }))) this.phases.set(`${s.service}#${s.threshold}`, { phase: s.phase, since: s.since });
  }

  status(): ThresholdStatus[] {
    return this.thresholds.map((t) => {
      const st = this.phases.get(key(t)) ?? { phase: 'ok' as const, since: null };
      return { service: t.service, threshold: t.name, phase: st.phase, since: st.since };
    });
  }

  /** One evaluation at `now` over the samples at hand (any services'); returns the events it raises or clears. */
  evaluate(samples: readonly ContainerMetrics[], now: number): ThresholdEvent[] {
    const events: ThresholdEvent[] = [];
    for (const t of this.thresholds) {
      const values = [...freshValues(replicaValues(samples.filter((s) => s.service === t.service), t.metric), now, this.staleAfterMs).values()].map((v) => v.value);
      const value = aggregate(values, t.aggregation);
      const st = this.phases.get(key(t)) ?? { phase: 'ok' as const, since: null };
      const next = step(t, st, value, now);
      this.phases.set(key(t), { phase: next.phase, since: next.since });
      if (next.event && value !== undefined) events.push(event(t, next.event, value, values.length, next.eventSince ?? now, now));
    }
    return events;
  }
}

interface Step {
  phase: ThresholdPhase;
  since: number | null;
  event?: 'raised' | 'cleared';
  eventSince?: number;
}

function step(t: Threshold, st: { phase: ThresholdPhase; since: number | null }, value: number | undefined, now: number): Step {
  const clearAfterMs = t.clearAfterMs ?? t.durationMs;
  if (value === undefined) {
    if (st.phase === 'pending') return { phase: 'ok', since: null };
    if (st.phase === 'clearing') return { phase: 'raised', since: st.since };
    return { phase: st.phase, since: st.since };
  }
  const holds = compare(value, t.comparator, t.value);
  // While raised, the line to cross back is moved to the safe side by the hysteresis.
  const h = t.hysteresis ?? 0;
  const stillOn = compare(value, t.comparator, t.comparator === '>' || t.comparator === '>=' ? t.value - h : t.value + h);
  switch (st.phase) {
    case 'ok':
    case 'pending': {
      if (!holds) return { phase: 'ok', since: null };
      const since = st.phase === 'pending' && st.since !== null ? st.since : now;
      if (now - since >= t.durationMs) return { phase: 'raised', since: now, event: 'raised', eventSince: since };
      return { phase: 'pending', since };
    }
    case 'raised':
    case 'clearing': {
      if (stillOn) return { phase: 'raised', since: st.phase === 'raised' ? st.since : now };
      const since = st.phase === 'clearing' && st.since !== null ? st.since : now;
      if (now - since >= clearAfterMs) return { phase: 'ok', since: null, event: 'cleared', eventSince: since };
      return { phase: 'clearing', since };
    }
  }
}

function event(t: Threshold, kind: 'raised' | 'cleared', value: number, replicas: number, since: number, now: number): ThresholdEvent {
  const cond = `${t.aggregation} ${t.metric} over ${replicas} replica${replicas === 1 ? '' : 's'} of ${t.service} is ${fmt(value)}`;
  const h = t.hysteresis ?? 0;
  const line = t.comparator === '>' || t.comparator === '>=' ? t.value - h : t.value + h;
  const why =
    kind === 'raised'
      ? `${t.name} raised: ${cond}, ${t.comparator} ${fmt(t.value)} at every evaluation for ${now - since} ms (durationMs ${t.durationMs})`
      : `${t.name} cleared: ${cond}, no longer ${t.comparator} ${fmt(line)} (threshold ${fmt(t.value)}, hysteresis ${fmt(h)}) for ${now - since} ms (clearAfterMs ${t.clearAfterMs ?? t.durationMs})`;
  return {
    version: 1,
    kind,
    threshold: t.name,
    service: t.service,
    metric: t.metric,
    aggregation: t.aggregation,
    comparator: t.comparator,
    thresholdValue: t.value,
    value,
    replicas,
    since: new Date(since).toISOString(),
    at: new Date(now).toISOString(),
    why,
  };
}
