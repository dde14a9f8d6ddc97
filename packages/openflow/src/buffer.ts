// Bounds-checked big-endian reader and a growing writer over Node's Buffer.
//
// The reader reports a fault by throwing ReadFault, which is private to the codec: decode() and
// the Framer catch it at their boundary and return a DecodeError value, so no exception ever
// leaves the public API while the field decoders stay straight-line code.

import { DecodeError, type DecodeErrorReason, EncodeError } from './errors';

export class ReadFault {
  constructor(
    readonly reason: DecodeErrorReason,
    readonly offset: number,
    readonly detail: string,
  ) {}
  toDecodeError(base: number, header?: { xid: number; messageType: number }): DecodeError {
    return new DecodeError(this.reason, base + this.offset, this.detail, header);
  }
}

export function fault(reason: DecodeErrorReason, offset: number, detail: string): never {
  throw new ReadFault(reason, offset, detail);
}

export class Reader {
  /** Offsets are relative to the buffer the outermost reader was made on. */
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    public readonly end: number,
  ) {}

  static of(buf: Buffer): Reader {
    return new Reader(buf, 0, buf.length);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) fault('TRUNCATED', this.pos, `${what} needs ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(what = 'u24'): number {
    this.need(3, what);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A copy of the next n bytes (copies, so decoded messages never alias the input). */
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
  rest(): Buffer {
    return this.bytes(this.remaining);
  }
  skip(n: number, what = 'padding'): void {
    this.need(n, what);
    this.pos += n;
  }
  /** A NUL-padded fixed-size string field (ofp_port.name, ofp_desc.*). */
  str(n: number, what = 'string'): string {
    const b = this.bytes(n, what);
    const nul = b.indexOf(0);
    return b.subarray(0, nul < 0 ? n : nul).toString('latin1');
  }
  /** A sub-reader over the next n bytes; this reader moves past them. */
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  peekU16(at: number): number {
    return this.buf.readUInt16BE(at);
  }
}

function checkInt(v: number, bits: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 2 ** bits - 1) {
    throw new EncodeError(what, `${String(v)} is not an unsigned ${bits}-bit integer`);
  }
}

export class Writer {
  private buf = Buffer.alloc(256);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number, what = 'u8'): this {
    checkInt(v, 8, what);
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  u16(v: number, what = 'u16'): this {
    checkInt(v, 16, what);
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  u24(v: number, what = 'u24'): this {
    checkInt(v, 24, what);
    this.ensure(3);
    this.buf.writeUIntBE(v, this.pos, 3);
    this.pos += 3;
    return this;
  }
  u32(v: number, what = 'u32'): this {
    checkInt(v, 32, what);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: bigint, what = 'u64'): this {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw new EncodeError(what, `${String(v)} is not an unsigned 64-bit bigint`);
    }
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
  /** A NUL-padded fixed-size string field; refuses strings that do not fit. */
  str(s: string, n: number, what = 'string'): this {
    const b = Buffer.from(s, 'latin1');
    if (b.length > n) throw new EncodeError(what, `"${s}" is longer than ${n} bytes`);
    this.bytes(b);
    return this.zeros(n - b.length);
  }
  /** Zero bytes up to the next multiple of 8 counted from `start`. */
  pad8(start: number): this {
    return this.zeros((8 - ((this.pos - start) % 8)) % 8);
  }
  /** Reserve a u16 length slot; returns its offset for patch16(). */
  reserve16(): number {
    const at = this.pos;
    this.zeros(2);
    return at;
  }
  patch16(at: number, v: number, what = 'length'): void {
    checkInt(v, 16, what);
    this.buf.writeUInt16BE(v, at);
  }
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
