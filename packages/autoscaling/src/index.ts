export { Autoscaler, EMPTY_AUTOSCALER_STATE, scaleDownLimit, scaleUpLimit } from './autoscaler';
export type { AutoscalerState, Observation } from './autoscaler';
export { AutoscalingError, AutoscalingErrorCode, InvalidAutoscalePolicy, InvalidThreshold } from './errors';
export type { AutoscalingErrorInfo } from './errors';
export {
  Aggregations,
  LatestSamples,
  MetricNames,
  aggregate,
  compare,
  freshValues,
  metricValue,
  replicaValues,
  sampleTime,
} from './metrics';
export type { ReplicaValue } from './metrics';
export {
  DEFAULT_SCALE_DOWN,
  DEFAULT_SCALE_UP,
  DEFAULT_STALE_AFTER_MS,
  DEFAULT_TOLERANCE,
  resolvePolicy,
} from './policy';
export type { ResolvedAutoscalePolicy, ResolvedScalingRules, SelectPolicy } from './policy';
export { RecommendationKinds, desiredReplicas } from './replicas';
export type { DesiredReplicasInput, Recommendation, RecommendationKind } from './replicas';
export { ThresholdEvaluator, ThresholdPhases } from './thresholds';
export type { ThresholdEvaluatorOptions, ThresholdPhase, ThresholdStatus } from './thresholds';
