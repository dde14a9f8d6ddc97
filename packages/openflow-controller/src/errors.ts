import type { MessageOf } from '@sdmi/openflow';

type ErrorMsg = MessageOf<'ERROR'>;

/** The switch answered a request with an OpenFlow ERROR message. */
export class OfpErrorReply extends Error {
  override readonly name = 'OfpErrorReply';
  constructor(
    readonly error: ErrorMsg,
    readonly request: string,
  ) {
    super(`switch refused ${request} (xid ${error.xid}): ${error.errorTypeName ?? `type ${error.errorType}`}/${error.codeName ?? `code ${error.code}`}`);
  }
}

/** Some messages of a barrier-confirmed batch or a bundle were refused; `errors[i].index` says which. */
export class BatchRejected extends Error {
  override readonly name = 'BatchRejected';
  constructor(
    readonly errors: ReadonlyArray<{ index: number; error: ErrorMsg }>,
    what: string,
  ) {
    super(
      `${what}: ${errors.length} message(s) refused: ` +
        errors.map((e) => `#${e.index} ${e.error.errorTypeName ?? e.error.errorType}/${e.error.codeName ?? e.error.code}`).join(', '),
    );
  }
}

export class RequestTimeout extends Error {
  override readonly name = 'RequestTimeout';
  constructor(request: string, ms: number, remote: string) {
    super(`no answer to ${request} from ${remote} within ${ms} ms`);
  }
}

/** The connection ended (closed, dead peer, replaced by a reconnect) with this request open. */
export class ConnectionClosed extends Error {
  override readonly name = 'ConnectionClosed';
  constructor(remote: string, reason: string, options?: { cause?: unknown }) {
    super(`connection to ${remote} closed: ${reason}`, options);
  }
}

export class HandshakeFailed extends Error {
  override readonly name = 'HandshakeFailed';
  constructor(remote: string, reason: string) {
    super(`OpenFlow handshake with ${remote} failed: ${reason}`);
  }
}
