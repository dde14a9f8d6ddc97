import type { AutoscalePolicy, ContainerMetrics, ScaleDecision } from '@sdmi/contracts';
import { fmt, replicaValues } from './metrics';
import { resolvePolicy, type ResolvedAutoscalePolicy, type ResolvedScalingRules } from './policy';
import { desiredReplicas, type Recommendation } from './replicas';

/** What the Autoscaler remembers between evaluations; plain JSON so the service can persist it. */
export interface AutoscalerState {
  /** The rule's recommendations (before stabilisation), newest last, within the longer window. */
  readonly recommendations: readonly { readonly at: number; readonly replicas: number }[];
  /** Changes decided, newest last, within the longest rate-policy period. */
  readonly changes: readonly { readonly at: number; readonly from: number; readonly to: number }[];
  /** When it first had data to recommend from (ms); null before. */
  readonly startedAt: number | null;
}

export const EMPTY_AUTOSCALER_STATE: AutoscalerState = Object.freeze({ recommendations: [], changes: [], startedAt: null });

/** What the autoscaler is told at each evaluation. */
export interface Observation {
  /** The service's replica count now. */
  readonly current: number;
  /** The ids of its running replicas (who is expected to report). */
  readonly replicas: readonly string[];
  /** Recent ContainerMetrics; samples of other services are ignored. */
  readonly samples: readonly ContainerMetrics[];
}

const MAX_INT = Number.MAX_SAFE_INTEGER;

/** Replicas added (direction up) or removed (down) by the changes within the period before now. */
function changedWithin(changes: AutoscalerState['changes'], periodMs: number, now: number, direction: 'up' | 'down'): number {
  let n = 0;
  for (const c of changes) {
    if (c.at <= now - periodMs) continue;
    if (direction === 'up' && c.to > c.from) n += c.to - c.from;
    if (direction === 'down' && c.to < c.from) n += c.from - c.to;
  }
  return n;
}

/**
 * The highest count scale-up policies allow now (Kubernetes' calculateScaleUpLimitWithScalingRules):
 * each policy limits the change against the count at the start of its period; Max takes the most
 * permissive policy, Min the least, Disabled allows none.
 */
export function scaleUpLimit(current: number, rules: ResolvedScalingRules, changes: AutoscalerState['changes'], now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  if (rules.policies.length === 0) return MAX_INT;
  const proposals = rules.policies.map((p) => {
    const start = current - changedWithin(changes, p.periodMs, now, 'up') + changedWithin(changes, p.periodMs, now, 'down');
    // Rounded up, as Kubernetes does, so that a small service can always grow by at least one.
    return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
  });
  const limit = rules.selectPolicy === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
  return Math.max(limit, current);
}

/** The lowest count scale-down policies allow now (Kubernetes' calculateScaleDownLimitWithBehaviors). */
export function scaleDownLimit(current: number, rules: ResolvedScalingRules, changes: AutoscalerState['changes'], now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  if (rules.policies.length === 0) return 0;
  const proposals = rules.policies.map((p) => {
    const start = current - changedWithin(changes, p.periodMs, now, 'up') + changedWithin(changes, p.periodMs, now, 'down');
    return p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
  });
  const limit = rules.selectPolicy === 'Min' ? Math.max(...proposals) : Math.min(...proposals);
  return Math.max(0, Math.min(limit, current));
}

/**
 * One service's autoscaler: the HPA rule (desiredReplicas), then the stabilisation windows (scale-up
 * goes only to the lowest recommendation within its window, scale-down only to the highest within
 * its window), then the rate policies and min/max. Every evaluation returns a ScaleDecision, also
 * when nothing changes. It never reads the clock: `now` is passed in, and the state it keeps is
 * exposed as `state` and taken back by the constructor, so it survives a restart of its service.
 *
 * A decision is remembered as made: if the caller fails to apply it, the next evaluation sees the
 * old `current` and decides again (the remembered change only tightens the rate limit meanwhile).
 */
export class Autoscaler {
  readonly policy: ResolvedAutoscalePolicy;
  private recommendations: { at: number; replicas: number }[];
  private changes: { at: number; from: number; to: number }[];
  private startedAt: number | null;

  constructor(policy: AutoscalePolicy, state: AutoscalerState = EMPTY_AUTOSCALER_STATE) {
    this.policy = resolvePolicy(policy);
    this.recommendations = state.recommendations.map((r) => ({ ...r }));
    this.changes = state.changes.map((c) => ({ ...c }));
    this.startedAt = state.startedAt;
  }

  get state(): AutoscalerState {
    return { recommendations: this.recommendations.map((r) => ({ ...r })), changes: this.changes.map((c) => ({ ...c })), startedAt: this.startedAt };
  }

  evaluate(observation: Observation, now: number): ScaleDecision {
    const p = this.policy;
    const { current } = observation;
    const samples = observation.samples.filter((s) => s.service === p.service);
    const rec = desiredReplicas({
      current,
      replicas: observation.replicas,
      values: replicaValues(samples, p.metric),
      target: p.target,
      tolerance: p.tolerance,
      minReplicas: p.minReplicas,
      maxReplicas: p.maxReplicas,
      staleAfterMs: p.staleAfterMs,
      now,
    });
    this.prune(now);

    if (rec.kind === 'disabled' || rec.kind === 'no-data' || rec.kind === 'below-min' || rec.kind === 'above-max') {
      const to = rec.replicas;
      if (to !== current) this.changes.push({ at: now, from: current, to });
      return this.decision(rec, current, to, rec.kind, null, null, now);
    }

    // The unbounded recommendation is what the windows remember, as Kubernetes records it.
    const raw = rec.unbounded ?? current;
    // Kubernetes starts with an empty window, so a restarted controller scales down on its first
    // reading. Counting the current count as recommended at the first evaluation makes a fresh
    // autoscaler (new policy, or state lost) watch a whole window before it scales down.
    if (this.startedAt === null) {
      this.startedAt = now;
      this.recommendations.push({ at: now, replicas: current });
    }
    let up = raw;
    let down = raw;
    for (const r of this.recommendations) {
      if (r.at > now - p.scaleUp.stabilizationWindowMs) up = Math.min(up, r.replicas);
      if (r.at > now - p.scaleDown.stabilizationWindowMs) down = Math.max(down, r.replicas);
    }
    this.recommendations.push({ at: now, replicas: raw });
    let stabilized = current;
    if (stabilized < up) stabilized = up;
    if (stabilized > down) stabilized = down;

    let to = stabilized;
    let limit: number | null = null;
    let reason: ScaleDecision['reason'];
    if (stabilized > current) {
      limit = scaleUpLimit(current, p.scaleUp, this.changes, now);
      const allowed = Math.min(limit, p.maxReplicas);
      to = Math.min(stabilized, allowed);
      reason = to < stabilized ? (limit < p.maxReplicas ? 'rate-limited' : 'bounded') : stabilized === raw ? 'recommended' : 'stabilized';
    } else if (stabilized < current) {
      limit = scaleDownLimit(current, p.scaleDown, this.changes, now);
      const allowed = Math.max(limit, p.minReplicas);
      to = Math.max(stabilized, allowed);
      reason = to > stabilized ? (limit > p.minReplicas ? 'rate-limited' : 'bounded') : stabilized === raw ? 'recommended' : 'stabilized';
    } else if (raw !== current) {
      reason = 'stabilized';
    } else {
      reason = rec.kind === 'rule' ? 'recommended' : rec.kind;
    }
    if (to !== current) this.changes.push({ at: now, from: current, to });
    return this.decision(rec, current, to, reason, stabilized, limit, now);
  }

  private prune(now: number): void {
    const window = Math.max(this.policy.scaleUp.stabilizationWindowMs, this.policy.scaleDown.stabilizationWindowMs);
    this.recommendations = this.recommendations.filter((r) => r.at > now - window);
    const period = Math.max(0, ...this.policy.scaleUp.policies.map((x) => x.periodMs), ...this.policy.scaleDown.policies.map((x) => x.periodMs));
    this.changes = this.changes.filter((c) => c.at > now - period);
  }

  private decision(
    rec: Recommendation,
    from: number,
    to: number,
    reason: ScaleDecision['reason'],
    stabilized: number | null,
    limit: number | null,
    now: number,
  ): ScaleDecision {
    const p = this.policy;
    return {
      version: 1,
      service: p.service,
      from,
      to,
      reason,
      why: explain(p, rec, from, to, reason, stabilized, limit),
      at: new Date(now).toISOString(),
      inputs: {
        metric: p.metric,
        target: p.target,
        tolerance: p.tolerance,
        minReplicas: p.minReplicas,
        maxReplicas: p.maxReplicas,
        replicas: rec.fresh + rec.missing,
        fresh: rec.fresh,
        missing: rec.missing,
        value: rec.value,
        ratio: rec.ratio,
        recommendation: rec.unbounded,
        stabilized,
        limit,
      },
    };
  }
}

/** The decision in one sentence: the outcome first, then each input that led to it. */
function explain(
  p: ResolvedAutoscalePolicy,
  rec: Recommendation,
  from: number,
  to: number,
  reason: ScaleDecision['reason'],
  stabilized: number | null,
  limit: number | null,
): string {
  const head = to === from ? `${p.service} stays at ${from}` : `${p.service} ${from} → ${to}`;
  const listed = rec.fresh + rec.missing;
  switch (reason) {
    case 'disabled':
      return `${head}: it has 0 replicas (scaled to zero by a user), which autoscaling does not undo`;
    case 'above-max':
      return `${head}: ${from} replicas is above maxReplicas ${p.maxReplicas}`;
    case 'below-min':
      return `${head}: ${from} replicas is below minReplicas ${p.minReplicas}`;
    case 'no-data':
      return `${head}: none of its ${listed} running replicas has a ${p.metric} sample newer than ${p.staleAfterMs} ms, so nothing is decided`;
    default:
      break;
  }
  const parts: string[] = [];
  parts.push(
    `avg ${p.metric} ${fmt(rec.value ?? 0)} over ${rec.fresh} of ${listed} replicas with a fresh sample, target ${fmt(p.target)}`,
  );
  if (rec.missing > 0) {
    const as = (rec.freshRatio ?? 1) < 1 ? `the target (${fmt(p.target)})` : '0';
    parts.push(`${rec.missing} without a sample newer than ${p.staleAfterMs} ms counted as ${as}`);
  }
  parts.push(`ratio ${fmt(rec.ratio ?? 0)} (tolerance ${fmt(p.tolerance)})`);
  if (rec.kind === 'within-tolerance') parts.push('within tolerance');
  else if (rec.kind === 'missing-replicas') parts.push('counting the replicas without a sample cancels the change');
  else parts.push(`ceil(${from} × ${fmt(rec.ratio ?? 0)}) = ${rec.unbounded ?? from}`);
  if (stabilized !== null && rec.unbounded !== null && stabilized !== rec.unbounded) {
    parts.push(
      stabilized > rec.unbounded
        ? `held at ${stabilized}, the highest recommendation within the scale-down stabilisation window of ${p.scaleDown.stabilizationWindowMs} ms`
        : `held at ${stabilized}, the lowest recommendation within the scale-up stabilisation window of ${p.scaleUp.stabilizationWindowMs} ms`,
    );
  }
  const upward = (stabilized ?? from) > from;
  if (reason === 'rate-limited' && limit !== null) {
    const dir = upward ? p.scaleUp : p.scaleDown;
    parts.push(
      dir.selectPolicy === 'Disabled'
        ? `scale-${upward ? 'up' : 'down'} is disabled (selectPolicy Disabled)`
        : `the ${dir.selectPolicy} of the scale-${upward ? 'up' : 'down'} rate policies (${dir.policies.map((x) => `${x.value}${x.type === 'Percent' ? ' %' : ' pods'} per ${x.periodMs} ms`).join(', ')}) allows ${limit} now`,
    );
  }
  if (reason === 'bounded') parts.push(upward ? `capped at maxReplicas ${p.maxReplicas}` : `capped at minReplicas ${p.minReplicas}`);
  return `${head}: ${parts.join('; ')}`;
}
