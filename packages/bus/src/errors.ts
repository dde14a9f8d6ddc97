import type { ErrorInfo } from '@sdmi/contracts';

/** Wire codes of RDMP errors; each maps to one class below. */
export const ErrorCodes = {
  NotJson: 'NOT_JSON',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  SchemaViolation: 'SCHEMA_VIOLATION',
  UnknownKind: 'UNKNOWN_KIND',
  UnknownQuery: 'UNKNOWN_QUERY',
  Forbidden: 'FORBIDDEN',
  /** Authentication is on and the request's signature is missing, bad, too old, or by an unknown key. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The request names a principal other than the one that signed it. */
  PrincipalMismatch: 'PRINCIPAL_MISMATCH',
  RevisionConflict: 'REVISION_CONFLICT',
  HandlerFailed: 'HANDLER_FAILED',
  StepFailed: 'STEP_FAILED',
  CompensationFailed: 'COMPENSATION_FAILED',
  StepsChanged: 'STEPS_CHANGED',
  Timeout: 'TIMEOUT',
  Unavailable: 'UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base of every error that travels on the bus as an ErrorInfo. */
export class RdmpError extends Error {
  override name = 'RdmpError';
  constructor(
    readonly info: ErrorInfo,
    options?: { cause?: unknown },
  ) {
    super(info.message, options);
  }
  get code(): string {
    return this.info.code;
  }
}

/** The message was refused before it became a task: not JSON, too large, or off its schema. */
export class BadMessage extends RdmpError {
  override name = 'BadMessage';
}
export class UnknownKind extends RdmpError {
  override name = 'UnknownKind';
}
export class Forbidden extends RdmpError {
  override name = 'Forbidden';
}
/** The request could not be tied to a known principal, or claimed another one than its signer. */
export class Unauthenticated extends RdmpError {
  override name = 'Unauthenticated';
}
/** The task expected another revision of its resource than the current one. */
export class RevisionConflict extends RdmpError {
  override name = 'RevisionConflict';
}
/** The task ran and failed: its handler, or a step of its transaction, reported an error. */
export class TaskFailed extends RdmpError {
  override name = 'TaskFailed';
}
export class UnknownQuery extends RdmpError {
  override name = 'UnknownQuery';
}
/** A query was answered with an error of the service's own (SERVICE_NOT_FOUND, ...). */
export class QueryFailed extends RdmpError {
  override name = 'QueryFailed';
}
/** Nothing answered, or no outcome arrived, in time. */
export class Timeout extends RdmpError {
  override name = 'Timeout';
}

/** Turns an ErrorInfo received from the bus back into the matching error class. */
export function errorFromInfo(info: ErrorInfo): RdmpError {
  switch (info.code) {
    case ErrorCodes.NotJson:
    case ErrorCodes.PayloadTooLarge:
    case ErrorCodes.SchemaViolation:
      return new BadMessage(info);
    case ErrorCodes.UnknownKind:
      return new UnknownKind(info);
    case ErrorCodes.UnknownQuery:
      return new UnknownQuery(info);
    case ErrorCodes.Forbidden:
      return new Forbidden(info);
    case ErrorCodes.Unauthenticated:
    case ErrorCodes.PrincipalMismatch:
      return new Unauthenticated(info);
    case ErrorCodes.RevisionConflict:
      return new RevisionConflict(info);
    case ErrorCodes.Timeout:
      return new Timeout(info);
    default:
      return new TaskFailed(info);
  }
}

/**
 * What a handler throws to fail its task with a chosen code and details; anything else a handler
 * throws fails the task as HANDLER_FAILED with the error's message.
 */
export class TaskError extends Error {
  override name = 'TaskError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function toErrorInfo(err: unknown, fallbackCode: string = ErrorCodes.HandlerFailed): ErrorInfo {
  if (err instanceof RdmpError) return err.info;
  if (err instanceof TaskError) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  const message = err instanceof Error ? err.message : String(err);
  return { code: fallbackCode, message: message || 'unknown error' };
}
