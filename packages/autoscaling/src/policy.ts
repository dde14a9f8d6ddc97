import type { AutoscalePolicy, MetricName, ScalingPolicy, ScalingRules } from '@sdmi/contracts';
import { InvalidAutoscalePolicy } from './errors';

// Kubernetes HPA's defaults (autoscaling/v2 behavior), in milliseconds: scale up at once by the larger
// of doubling or 4 pods per 15 s; scale down by up to everything per 15 s, but only to the highest
// recommendation of the last 5 minutes.
export const DEFAULT_TOLERANCE = 0.1;
export const DEFAULT_STALE_AFTER_MS = 30_000;
export const DEFAULT_SCALE_UP: ResolvedScalingRules = Object.freeze({
  stabilizationWindowMs: 0,
  selectPolicy: 'Max',
  policies: Object.freeze([
    Object.freeze({ type: 'Percent', value: 100, periodMs: 15_000 }),
    Object.freeze({ type: 'Pods', value: 4, periodMs: 15_000 }),
  ]),
});
export const DEFAULT_SCALE_DOWN: ResolvedScalingRules = Object.freeze({
  stabilizationWindowMs: 300_000,
  selectPolicy: 'Max',
  policies: Object.freeze([Object.freeze({ type: 'Percent', value: 100, periodMs: 15_000 })]),
});

export type SelectPolicy = NonNullable<ScalingRules['selectPolicy']>;

export interface ResolvedScalingRules {
  readonly stabilizationWindowMs: number;
  readonly selectPolicy: SelectPolicy;
  readonly policies: readonly Readonly<ScalingPolicy>[];
}

/** An AutoscalePolicy with every default applied, checked and frozen. */
export interface ResolvedAutoscalePolicy {
  readonly service: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly metric: MetricName;
  readonly target: number;
  readonly tolerance: number;
  readonly staleAfterMs: number;
  readonly scaleUp: ResolvedScalingRules;
  readonly scaleDown: ResolvedScalingRules;
}

function rules(given: ScalingRules | undefined, defaults: ResolvedScalingRules): ResolvedScalingRules {
  return Object.freeze({
    stabilizationWindowMs: given?.stabilizationWindowMs ?? defaults.stabilizationWindowMs,
    selectPolicy: given?.selectPolicy ?? defaults.selectPolicy,
    policies: Object.freeze((given?.policies ?? defaults.policies).map((p) => Object.freeze({ ...p }))),
  });
}

/**
 * Applies defaults and the checks the schema cannot express. The policy is expected to have passed
 * the AutoscalePolicy schema already; this only refuses what is well-formed but contradictory.
 */
export function resolvePolicy(policy: AutoscalePolicy): ResolvedAutoscalePolicy {
  if (policy.minReplicas > policy.maxReplicas) {
    throw new InvalidAutoscalePolicy(
      `/maxReplicas ${policy.maxReplicas} is below /minReplicas ${policy.minReplicas}`,
      '/maxReplicas',
      'minReplicas',
    );
  }
  return Object.freeze({
    service: policy.service,
    minReplicas: policy.minReplicas,
    maxReplicas: policy.maxReplicas,
    metric: policy.metric,
    target: policy.target,
    tolerance: policy.tolerance ?? DEFAULT_TOLERANCE,
    staleAfterMs: policy.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    scaleUp: rules(policy.behavior?.scaleUp, DEFAULT_SCALE_UP),
    scaleDown: rules(policy.behavior?.scaleDown, DEFAULT_SCALE_DOWN),
  });
}
