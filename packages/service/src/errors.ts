/**
 * Every way the service runtime can fail, one class each. Across the wire an error travels as
 * `{ error: { code, message } }` plus the services framework's error headers; `RemoteEndpointError`
 * is what a client turns that back into.
 */

/** Where a configuration value came from, so the message can say what to fix. */
export type ConfigSource = 'env' | 'option';

export interface ConfigProblem {
  /** The environment variable (`SDMI_LOG_LEVEL`) or option (`version`) at fault. */
  readonly key: string;
  readonly value: unknown;
  readonly reason: string;
  readonly source: ConfigSource;
}

/** One or more configuration values are invalid; every problem is listed, not only the first. */
export class InvalidConfigError extends Error {
  override readonly name = 'InvalidConfigError';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `invalid service configuration: ${problems
        .map((p) => `${p.key}=${JSON.stringify(p.value)} (${p.source}): ${p.reason}`)
        .join('; ')}`,
    );
  }
}

/** The runtime was used out of order: start() twice, addEndpoint() after stop(), nc before start(). */
export class ServiceStateError extends Error {
  override readonly name = 'ServiceStateError';
  constructor(
    message: string,
    readonly state: string,
  ) {
    super(message);
  }
}

/** The first connection to NATS failed. */
export class NatsConnectError extends Error {
  override readonly name = 'NatsConnectError';
  constructor(
    readonly servers: string,
    options: { cause: unknown },
  ) {
    super(`cannot connect to NATS at ${servers}: ${messageOf(options.cause)}`, options);
  }
}

/** Another process already answers this service instance's health subject. */
export class DuplicateInstanceError extends Error {
  override readonly name = 'DuplicateInstanceError';
  constructor(
    readonly service: string,
    readonly instance: string,
    readonly subject: string,
  ) {
    super(
      `an instance ${instance} of ${service} is already running (it answers ${subject}); ` +
        'give this one another SDMI_INSTANCE_ID or stop the other',
    );
  }
}

/** A start hook or the framework registration failed; what had started was stopped again. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  constructor(
    readonly service: string,
    readonly step: string,
    options: { cause: unknown },
  ) {
    super(`${service} failed to start (${step}): ${messageOf(options.cause)}`, options);
  }
}

/** One or more shutdown steps failed. The others still ran; `errors` has each failure. */
export class ServiceStopError extends AggregateError {
  override readonly name = 'ServiceStopError';
  constructor(
    readonly service: string,
    errors: readonly { step: string; error: unknown }[],
  ) {
    super(
      errors.map((e) => e.error),
      `${service} did not stop cleanly: ${errors.map((e) => `${e.step}: ${messageOf(e.error)}`).join('; ')}`,
    );
  }
}

/** stop() did not finish within the allowed time. */
export class StopTimeoutError extends Error {
  override readonly name = 'StopTimeoutError';
  constructor(
    readonly service: string,
    readonly timeoutMs: number,
  ) {
    super(`${service} did not stop within ${timeoutMs} ms`);
  }
}

/** A failure as carried in an error reply body (the shape of the `ErrorInfo` contract). */
// The error body every endpoint replies with is the ErrorInfo contract of schemas/common.
import type { ErrorInfo } from '@sdmi/contracts';
export type { ErrorInfo };

/** Codes the runtime itself replies with. Composed packages add their own. */
export const ErrorCode = {
  /** The request body is not JSON. */
  NOT_JSON: 'NOT_JSON',
  /** The request is JSON but not acceptable (decode hook refused it). */
  INVALID_REQUEST: 'INVALID_REQUEST',
  /** An unexpected failure inside the handler. */
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Thrown by an endpoint handler to reply with a specific error. `status` goes to the framework's
 * `Nats-Service-Error-Code` header (HTTP-like: 4xx the caller's fault, 5xx ours).
 */
export class EndpointError extends Error {
  override readonly name = 'EndpointError';
  readonly status: number;
  constructor(
    readonly info: ErrorInfo,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(info.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? 400;
  }
  get code(): string {
    return this.info.code;
  }
}

/** An endpoint answered with an error reply; `info` is its body, `status` its header code. */
export class RemoteEndpointError extends Error {
  override readonly name = 'RemoteEndpointError';
  constructor(
    readonly subject: string,
    readonly status: number,
    readonly info: ErrorInfo,
  ) {
    super(`${subject} replied ${status} ${info.code}: ${info.message}`);
  }
  get code(): string {
    return this.info.code;
  }
}

/** A reply that is neither valid JSON nor an error reply. */
export class MalformedReplyError extends Error {
  override readonly name = 'MalformedReplyError';
  constructor(
    readonly subject: string,
    options: { cause: unknown; what?: string },
  ) {
    super(`reply on ${subject} is not ${options.what ?? 'JSON'}: ${messageOf(options.cause)}`, options);
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
