// The package's error classes, one per failure mode. Decoding never throws: a malformed or
// truncated message comes back as a DecodeError value. Encoding a message whose fields are out of
// range (a port that does not fit 32 bits, a message longer than 65535 bytes) throws EncodeError.

/** Why a byte sequence is not a valid OpenFlow 1.3 message. */
export const DecodeErrorReason = {
  TRUNCATED: 'TRUNCATED', // fewer bytes than a length field or a fixed structure requires
  BAD_LENGTH: 'BAD_LENGTH', // a length field is inconsistent (too small, not a multiple, trailing bytes)
  BAD_VERSION: 'BAD_VERSION', // ofp_header.version is not 0x04 (HELLO excepted)
  UNSUPPORTED_TYPE: 'UNSUPPORTED_TYPE', // a message type this codec does not decode
  BAD_VALUE: 'BAD_VALUE', // a field holds a value the specification does not allow
} as const;
export type DecodeErrorReason = (typeof DecodeErrorReason)[keyof typeof DecodeErrorReason];

/** A decoding failure, returned (not thrown) by decode() and the Framer. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  /** Byte offset, from the start of the message (or of the framer's stream position), of the fault. */
  readonly offset: number;
  readonly reason: DecodeErrorReason;
  /** The header's xid and type, when the header could be read. */
  readonly xid: number | undefined;
  readonly messageType: number | undefined;

  constructor(
    reason: DecodeErrorReason,
    offset: number,
    detail: string,
    header?: { xid: number; messageType: number },
  ) {
    super(`${reason} at offset ${offset}: ${detail}`);
    this.reason = reason;
    this.offset = offset;
    this.xid = header?.xid;
    this.messageType = header?.messageType;
  }
}

/** A message that cannot be put on the wire (a field out of range, a body too long). */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  /** The field, as a dotted path where known (e.g. 'instructions[0].actions[1].port'). */
  readonly field: string;
  constructor(field: string, detail: string, options?: { cause?: unknown }) {
    super(`cannot encode ${field}: ${detail}`, options);
    this.field = field;
  }
}
