// One class per failure mode with a stable code and a bus-ready `info` (the shape of the contracts'
// ErrorInfo), so the collector service can refuse a policy on the bus with the same words.

/** Bus-ready description of a failure. */
export interface AutoscalingErrorInfo {
  code: string;
  message: string;
  path?: string;
  rule?: string;
  details?: Record<string, unknown>;
}

export const AutoscalingErrorCode = {
  INVALID_AUTOSCALE_POLICY: 'INVALID_AUTOSCALE_POLICY',
  INVALID_THRESHOLD: 'INVALID_THRESHOLD',
} as const;
export type AutoscalingErrorCode = (typeof AutoscalingErrorCode)[keyof typeof AutoscalingErrorCode];

export class AutoscalingError extends Error {
  override name = 'AutoscalingError';
  constructor(
    readonly code: AutoscalingErrorCode,
    message: string,
    readonly path: string,
    readonly rule: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get info(): AutoscalingErrorInfo {
    return { code: this.code, message: this.message, path: this.path, rule: this.rule };
  }
}

/** A policy the schema accepts but that cannot be applied (e.g. minReplicas above maxReplicas). */
export class InvalidAutoscalePolicy extends AutoscalingError {
  override name = 'InvalidAutoscalePolicy';
  constructor(message: string, path: string, rule: string) {
    super(AutoscalingErrorCode.INVALID_AUTOSCALE_POLICY, message, path, rule);
  }
}

/** A threshold the schema accepts but that cannot be evaluated (e.g. two with one name on a service). */
export class InvalidThreshold extends AutoscalingError {
  override name = 'InvalidThreshold';
  constructor(message: string, path: string, rule: string) {
    super(AutoscalingErrorCode.INVALID_THRESHOLD, message, path, rule);
  }
}
