import { Empty, RequestError, type MsgHdrs, type NatsConnection, type Payload } from '@nats-io/nats-core';
import { ServiceError } from '@nats-io/services';
import { contracts, type HealthReply } from '@sdmi/contracts';
import { ErrorCode, EndpointError, MalformedReplyError, RemoteEndpointError, type ErrorInfo } from './errors';

const decoder = new TextDecoder();

/** JSON for the wire; `undefined` becomes an empty payload rather than the string "undefined". */
export function encodeJson(value: unknown): Payload {
  return value === undefined ? Empty : JSON.stringify(value);
}

/** A request body as JSON; an empty body is `undefined`. Refuses non-JSON with NOT_JSON. */
export function decodeJsonRequest(data: Uint8Array): unknown {
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new EndpointError({ code: ErrorCode.NOT_JSON, message: `request body is not JSON: ${(err as Error).message}` }, { status: 400, cause: err });
  }
}

export interface RequestJsonOptions {
  /** Milliseconds; defaults to 5000. */
  timeout?: number;
  headers?: MsgHdrs;
}

/**
 * Sends a JSON request and decodes the JSON reply. An error reply (framework error headers) is
 * thrown as RemoteEndpointError carrying the `{ error: { code, message } }` body; no responders and
 * timeouts are thrown as the NATS client's own errors (see isNoResponders()).
 */
export async function requestJson<T = unknown>(
  nc: NatsConnection,
  subject: string,
  body?: unknown,
  options: RequestJsonOptions = {},
): Promise<T> {
  const msg = await nc.request(subject, encodeJson(body), {
    timeout: options.timeout ?? 5000,
    ...(options.headers ? { headers: options.headers } : {}),
  });
  const failure = ServiceError.toServiceError(msg);
  if (failure !== null) throw new RemoteEndpointError(subject, failure.code, errorInfoOf(msg.data, failure.message));
  if (msg.data.length === 0) return undefined as T;
  try {
    return JSON.parse(decoder.decode(msg.data)) as T;
  } catch (err) {
    throw new MalformedReplyError(subject, { cause: err });
  }
}

function errorInfoOf(data: Uint8Array, headerMessage: string): ErrorInfo {
  try {
    const body = JSON.parse(decoder.decode(data)) as { error?: Partial<ErrorInfo> };
    if (typeof body?.error?.code === 'string' && typeof body.error.message === 'string') return body.error as ErrorInfo;
  } catch {
    // Not every responder sends a body (the framework itself replies with headers only).
  }
  return { code: ErrorCode.INTERNAL, message: headerMessage };
}

/** True when a request failed because nothing subscribes to the subject. */
export function isNoResponders(err: unknown): boolean {
  return err instanceof RequestError && err.isNoResponders();
}

/** Asks a health endpoint and checks the answer against the HealthReply contract. */
export async function requestHealth(nc: NatsConnection, subject: string, options: RequestJsonOptions = {}): Promise<HealthReply> {
  const body = await requestJson<unknown>(nc, subject, undefined, options);
  const r = contracts().check('HealthReply', body);
  if (!r.ok) throw new MalformedReplyError(subject, { cause: new Error(r.error.message), what: 'a HealthReply' });
  return r.value;
}
