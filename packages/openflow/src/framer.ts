// Stream framer: takes TCP chunks in any split, keeps the remainder, and returns each whole
// message decoded (or its DecodeError). A header whose length is < 8 (or above maxMessageLength)
// cannot be resynchronised: the framer reports it once and refuses further input.

import { type DecodeResult, decode, peekHeader } from './codec';
import { OFP_HEADER_LEN, OFP_MAX_MESSAGE_LEN } from './constants';
import { DecodeError } from './errors';

export interface FramerOptions {
  /** Largest acceptable ofp_header.length (default 65535). */
  maxMessageLength?: number;
}

export class Framer {
  private pending: Buffer = Buffer.alloc(0);
  /** Stream offset of pending[0], for error offsets. */
  private consumed = 0;
  private broken: DecodeError | undefined;
  private readonly maxLen: number;

  constructor(options: FramerOptions = {}) {
    this.maxLen = options.maxMessageLength ?? OFP_MAX_MESSAGE_LEN;
  }

  /** The framing error that stopped this framer, if any. */
  get failed(): DecodeError | undefined {
    return this.broken;
  }

  /** Bytes held back waiting for the rest of a message. */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * Adds a chunk and returns every message completed by it, in order. A message that is framed
   * correctly but malformed inside comes back as `{ ok: false }` and framing continues.
   */
  push(chunk: Uint8Array): DecodeResult[] {
    if (this.broken) return [];
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const out: DecodeResult[] = [];
    let at = 0;
    for (;;) {
      const h = peekHeader(this.pending, at);
      if (h === undefined) break;
      if (h.length < OFP_HEADER_LEN || h.length > this.maxLen) {
        this.broken = new DecodeError(
          'BAD_LENGTH',
          this.consumed + at + 2,
          `ofp_header.length ${h.length} outside ${OFP_HEADER_LEN}..${this.maxLen}: stream cannot be framed`,
          { xid: h.xid, messageType: h.type },
        );
        out.push({ ok: false, error: this.broken });
        this.pending = Buffer.alloc(0);
        return out;
      }
      if (this.pending.length - at < h.length) break;
      const r = decode(this.pending.subarray(at, at + h.length));
      out.push(
        r.ok
          ? r
          : {
              ok: false,
              error: new DecodeError(r.error.reason, this.consumed + at + r.error.offset, r.error.message, {
                xid: h.xid,
                messageType: h.type,
              }),
            },
      );
      at += h.length;
    }
    this.consumed += at;
    this.pending = Buffer.from(this.pending.subarray(at));
    return out;
  }
}
