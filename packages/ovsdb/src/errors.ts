// One class per failure mode. Every class has a `name` and, where there is one, a `cause`.

/** Base class: `instanceof OvsdbError` catches everything this package throws on purpose. */
export class OvsdbError extends Error {
  override name = 'OvsdbError';
}

/** The transport could not be opened (socket missing, connection refused, connect timeout). */
export class ConnectFailed extends OvsdbError {
  override name = 'ConnectFailed';
  constructor(
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`cannot connect to OVSDB at ${target}${why}`, options);
  }
}

/**
 * The connection went away while this request (or monitor) was waiting: the peer closed it, the
 * socket failed, or the peer stopped answering echo probes (then `cause` is a PeerUnresponsive).
 */
export class ConnectionLost extends OvsdbError {
  override name = 'ConnectionLost';
  constructor(
    readonly target: string,
    /** The method of the request that was in flight, when this error is about one. */
    readonly method: string | undefined,
    options?: { cause?: unknown },
  ) {
    const what = method === undefined ? '' : ` while "${method}" was in flight`;
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`connection to OVSDB at ${target} lost${what}${why}`, options);
  }
}

/** The connection was closed by our own `close()` (or was already closed when the call was made). */
export class ConnectionClosed extends OvsdbError {
  override name = 'ConnectionClosed';
  constructor(
    readonly target: string,
    readonly method: string | undefined,
  ) {
    super(`connection to OVSDB at ${target} is closed${method === undefined ? '' : ` ("${method}" not completed)`}`);
  }
}

/** The peer did not answer our echo probe in time: it is considered dead and the connection is dropped. */
export class PeerUnresponsive extends OvsdbError {
  override name = 'PeerUnresponsive';
  constructor(
    readonly target: string,
    readonly timeoutMs: number,
  ) {
    super(`OVSDB peer at ${target} did not answer an echo probe within ${timeoutMs} ms`);
  }
}

/** No reply to a request within its timeout. The request may still be executed by the server. */
export class RequestTimeout extends OvsdbError {
  override name = 'RequestTimeout';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to OVSDB "${method}" within ${timeoutMs} ms`);
  }
}

/** The byte stream from the peer is not a sequence of JSON values (or one grew beyond the limit). */
export class FramingError extends OvsdbError {
  override name = 'FramingError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A message from the peer is JSON but not a valid JSON-RPC 1.0 message, or a reply to no request. */
export class ProtocolError extends OvsdbError {
  override name = 'ProtocolError';
  constructor(
    message: string,
    readonly payload?: unknown,
  ) {
    super(message);
  }
}

/** The server answered a request with a JSON-RPC error (e.g. "unknown database"). */
export class RpcError extends OvsdbError {
  override name = 'RpcError';
  constructor(
    readonly method: string,
    /** The error as sent by the server: usually a string, sometimes an object with "error"/"details". */
    readonly error: unknown,
    readonly details?: string,
  ) {
    super(`OVSDB "${method}" failed: ${describeRpcError(error)}${details ? ` (${details})` : ''}`);
  }
}

/**
 * A request was canceled through its AbortSignal; unless the connection went away, the server has
 * processed the cancel when this is thrown. `confirmed` is true when the server answered
 * "canceled" as RFC 7047 §4.1.4 says; ovsdb-server 3.1 drops the request silently (false).
 */
export class RequestCanceled extends OvsdbError {
  override name = 'RequestCanceled';
  readonly confirmed: boolean;
  constructor(
    readonly method: string,
    options: { cause?: unknown; confirmed: boolean },
  ) {
    super(`OVSDB "${method}" was canceled${options.confirmed ? ' (confirmed by the server)' : ''}`, options);
    this.confirmed = options.confirmed;
  }
}

/**
 * One operation of a transaction failed, so the whole transaction did nothing. `index` is the
 * failing operation's position in the array sent; `error` is the RFC 7047 error tag
 * ("constraint violation", "timed out", "not supported", "referential integrity violation" …).
 */
export class OperationFailed extends OvsdbError {
  override name = 'OperationFailed';
  constructor(
    readonly index: number,
    readonly error: string,
    readonly details: string | undefined,
    /** The operation that failed, as sent. */
    readonly operation: unknown,
  ) {
    const op = (operation as { op?: unknown } | undefined)?.op;
    super(`OVSDB operation #${index}${typeof op === 'string' ? ` (${op})` : ''} failed: ${error}${details ? `: ${details}` : ''}`);
  }
}

/**
 * Every operation succeeded but the transaction failed at commit (e.g. a duplicate index value, a
 * dangling strong reference, too many rows). `index` equals the number of operations sent (the
 * extra element RFC 7047 §4.1.3 appends to the result array).
 */
export class CommitFailed extends OvsdbError {
  override name = 'CommitFailed';
  constructor(
    readonly index: number,
    readonly error: string,
    readonly details: string | undefined,
  ) {
    super(`OVSDB transaction failed at commit: ${error}${details ? `: ${details}` : ''}`);
  }
}

/** A value from the wire (or given by the caller) is not a valid OVSDB atom, set, map or schema. */
export class InvalidDatum extends OvsdbError {
  override name = 'InvalidDatum';
  constructor(
    message: string,
    readonly value: unknown,
  ) {
    super(message);
  }
}

/** An API was used the wrong way (e.g. a monitor iterated twice, a call after dispose). */
export class Misuse extends OvsdbError {
  override name = 'Misuse';
}

/** `createBridge` for a name that already exists. */
export class BridgeExists extends OvsdbError {
  override name = 'BridgeExists';
  constructor(
    readonly bridge: string,
    options?: { cause?: unknown },
  ) {
    super(`bridge "${bridge}" already exists`, options);
  }
}

/** The bridge named in a call does not exist. */
export class BridgeNotFound extends OvsdbError {
  override name = 'BridgeNotFound';
  constructor(
    readonly bridge: string,
    options?: { cause?: unknown },
  ) {
    super(`bridge "${bridge}" does not exist`, options);
  }
}

/** `addPort` for a port name that already exists (on any bridge: port names are unique in OVS). */
export class PortExists extends OvsdbError {
  override name = 'PortExists';
  constructor(
    readonly port: string,
    options?: { cause?: unknown },
  ) {
    super(`port "${port}" already exists`, options);
  }
}

/** The port (or interface) named in a call does not exist (on that bridge). */
export class PortNotFound extends OvsdbError {
  override name = 'PortNotFound';
  constructor(
    readonly port: string,
    readonly bridge?: string,
    options?: { cause?: unknown },
  ) {
    super(`port "${port}" does not exist${bridge === undefined ? '' : ` on bridge "${bridge}"`}`, options);
  }
}

/** ovs-vswitchd could not set the interface up: ofport is -1 and the `error` column says why. */
export class InterfaceFailed extends OvsdbError {
  override name = 'InterfaceFailed';
  constructor(
    readonly iface: string,
    readonly reason: string | undefined,
  ) {
    super(`interface "${iface}" failed in ovs-vswitchd: ${reason ?? 'no reason given'}`);
  }
}

/** ovs-vswitchd did not assign an OpenFlow port number to the interface in time. */
export class OfportTimeout extends OvsdbError {
  override name = 'OfportTimeout';
  constructor(
    readonly iface: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`interface "${iface}" got no ofport within ${timeoutMs} ms (is ovs-vswitchd running?)`, options);
  }
}

function describeRpcError(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error !== null && typeof error === 'object' && typeof (error as { error?: unknown }).error === 'string') {
    return (error as { error: string }).error;
  }
  return JSON.stringify(error);
}

/** ovs-vswitchd did not apply a configuration change (cur_cfg did not reach next_cfg) in time. */
export class ReconfigureTimeout extends OvsdbError {
  override name = 'ReconfigureTimeout';
  constructor(
    readonly nextCfg: number,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`ovs-vswitchd did not apply configuration ${nextCfg} within ${timeoutMs} ms (is it running?)`, options);
  }
}
