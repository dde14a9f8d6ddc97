/** Everything this package throws is a NetconfError. */
export class NetconfError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The byte stream broke the framing it was in (RFC 6242 §4.2 chunk header, a message too large). */
export class FramingError extends NetconfError {}

/** A value cannot be put into XML (a character XML 1.0 does not allow, an invalid element name). */
export class XmlBuildError extends NetconfError {}

/** The server's reply could not be read as a NETCONF message. */
export class ProtocolError extends NetconfError {}

/** The session ended (closed, killed, the SSH connection dropped) before the operation finished. */
export class SessionClosed extends NetconfError {}

/** No reply came in time. */
export class RpcTimeout extends NetconfError {}

/** One `<rpc-error>` of a reply (RFC 6241 §4.3), the fields as the server sent them. */
export interface RpcErrorDetail {
  /** error-type: transport, rpc, protocol or application. */
  type: string;
  /** error-tag, e.g. invalid-value, lock-denied, data-missing. */
  tag: string;
  /** error-severity: error or warning. */
  severity: string;
  /** error-app-tag, e.g. not-in-range, instance-required. */
  appTag?: string;
  /** error-path: the XPath of the node in error. */
  path?: string;
  /** error-message, for people. */
  message?: string;
  /** error-info's children, by local name (strings or nested objects as parsed). */
  info?: Record<string, unknown>;
}

/**
 * The server answered an `<rpc>` with one or more `<rpc-error>`s of severity error. The first
 * error's fields are on the error itself (its error-message as `errorMessage`, since `message`
 * is the Error's own summary); all of them are in `errors`.
 */
export class RpcError extends NetconfError {
  readonly type: string;
  readonly tag: string;
  readonly severity: string;
  readonly appTag?: string;
  readonly path?: string;
  readonly errorMessage?: string;
  readonly info?: Record<string, unknown>;

  constructor(
    readonly operation: string,
    readonly errors: readonly RpcErrorDetail[],
    readonly replyXml: string,
  ) {
    const first = errors[0] ?? { type: 'rpc', tag: 'operation-failed', severity: 'error' };
    super(
      `${operation}: ${first.type}/${first.tag}` +
        (first.message ? `: ${first.message}` : '') +
        (first.path ? ` (at ${first.path})` : '') +
        (errors.length > 1 ? ` and ${errors.length - 1} more` : ''),
    );
    this.type = first.type;
    this.tag = first.tag;
    this.severity = first.severity;
    this.appTag = first.appTag;
    this.path = first.path;
    this.errorMessage = first.message;
    this.info = first.info;
  }
}
