import { freshValues, type ReplicaValue } from './metrics';

export interface DesiredReplicasInput {
  /** The service's replica count now (the scheduler's desired count). */
  readonly current: number;
  /** Ids of the replicas the scheduler runs for the service: the ones expected to report. */
  readonly replicas: readonly string[];
  /** Samples of the target metric; several per replica are fine, the newest fresh one is used. */
  readonly values: readonly ReplicaValue[];
  /** Average per replica to hold, in the metric's unit. */
  readonly target: number;
  readonly tolerance: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly staleAfterMs: number;
  readonly now: number;
}

export const RecommendationKinds = {
  /** No listed replica has a fresh sample: nothing is decided. */
  NO_DATA: 'no-data',
  /** The service has 0 replicas: a user scaled it to zero, which autoscaling does not undo. */
  DISABLED: 'disabled',
  BELOW_MIN: 'below-min',
  ABOVE_MAX: 'above-max',
  WITHIN_TOLERANCE: 'within-tolerance',
  /** Counting the replicas without a fresh sample cancelled the change. */
  MISSING_REPLICAS: 'missing-replicas',
  /** The rule's count (which may equal current when the ceiling lands there). */
  RULE: 'rule',
} as const;
export type RecommendationKind = (typeof RecommendationKinds)[keyof typeof RecommendationKinds];

export interface Recommendation {
  readonly kind: RecommendationKind;
  /** The count to go to, within [minReplicas, maxReplicas] unless kind is disabled or no-data (then current). */
  readonly replicas: number;
  /** The rule's count before min/max; null when the rule was not applied. */
  readonly unbounded: number | null;
  readonly fresh: number;
  readonly missing: number;
  /** Average of the fresh replicas' values; null without data. */
  readonly value: number | null;
  /** Ratio to the target after counting missing replicas; null without data. */
  readonly ratio: number | null;
  /** The ratio over the fresh replicas alone, before missing ones were counted. */
  readonly freshRatio: number | null;
}

// ceil() of a product that should be an integer but lands a hair above it in floating point
// (3 × 0.6 / 0.6) would add a replica; the HPA compares in milli-units for the same reason.
const EPSILON = 1e-9;
function ceil(x: number): number {
  return Math.ceil(x - EPSILON);
}

const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n));

/**
 * The Kubernetes HPA rule: desired = ceil(current × value / target), no change while
 * |ratio − 1| ≤ tolerance, bounded by min and max. Replicas without a fresh sample count as 0 on a
 * scale-up and as exactly the target on a scale-down (so they damp a change and never cause one);
 * if counting them reverses the direction or lands within tolerance, nothing changes. With no fresh
 * sample at all there is no recommendation: a node-agent that stops reporting never scales.
 */
export function desiredReplicas(input: DesiredReplicasInput): Recommendation {
  const { current, target, tolerance, minReplicas, maxReplicas } = input;
  const listed = [...new Set(input.replicas)];
  const latest = freshValues(input.values, input.now, input.staleAfterMs);
  const fresh = listed.flatMap((id) => {
    const v = latest.get(id);
    return v ? [v.value] : [];
  });
  const missing = listed.length - fresh.length;
  const none = { unbounded: null, fresh: fresh.length, missing, value: null, ratio: null, freshRatio: null };

  if (current === 0) return { kind: 'disabled', replicas: 0, ...none };
  // Out-of-bounds counts are a fact of the policy, not of the metrics: corrected even without data.
  if (current > maxReplicas) return { kind: 'above-max', replicas: maxReplicas, ...none };
  if (current < minReplicas) return { kind: 'below-min', replicas: minReplicas, ...none };
  if (fresh.length === 0) return { kind: 'no-data', replicas: current, ...none };

  const value = fresh.reduce((a, b) => a + b, 0) / fresh.length;
  const freshRatio = value / target;
  const withData = { fresh: fresh.length, missing, value, freshRatio };
  const unchanged = (kind: RecommendationKind, ratio: number): Recommendation => ({
    kind,
    replicas: current,
    unbounded: current,
    ratio,
    ...withData,
  });

  // Checked before counting missing replicas: otherwise, with tolerance 0, a fresh ratio of exactly 1
  // plus a silent replica counted as 0 would scale down on missing data alone.
  if (Math.abs(freshRatio - 1) <= tolerance) return unchanged('within-tolerance', freshRatio);
  if (missing === 0) {
    const unbounded = ceil(current * freshRatio);
    return { kind: 'rule', replicas: clamp(unbounded, minReplicas, maxReplicas), unbounded, ratio: freshRatio, ...withData };
  }

  const filler = freshRatio < 1 ? target : 0;
  const ratio = (fresh.reduce((a, b) => a + b, 0) + filler * missing) / listed.length / target;
  if (Math.abs(ratio - 1) <= tolerance) return unchanged('within-tolerance', ratio);
  if ((freshRatio < 1 && ratio > 1) || (freshRatio > 1 && ratio < 1)) return unchanged('missing-replicas', ratio);
  const unbounded = ceil(current * ratio);
  if ((ratio < 1 && unbounded > current) || (ratio > 1 && unbounded < current)) return unchanged('missing-replicas', ratio);
  return { kind: 'rule', replicas: clamp(unbounded, minReplicas, maxReplicas), unbounded, ratio, ...withData };
}
