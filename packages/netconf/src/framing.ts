// RFC 6242 framing: base:1.0 end-of-message (`]]>]]>`) and base:1.1 chunked framing (§4.2).
import { FramingError } from './errors';

export const EOM = ']]>]]>';
const EOM_BYTES = Buffer.from(EOM);
const END_OF_CHUNKS = Buffer.from('\n##\n');

/** RFC 6242 §4.2: chunk-size is 1..4294967295. */
export const MAX_CHUNK_SIZE = 4_294_967_295;

export type Framing = 'eom' | 'chunked';

/** One message framed for base:1.0: the text and `]]>]]>`. The text must not hold the delimiter. */
export function encodeEom(xml: string): Buffer {
  if (xml.includes(EOM)) throw new FramingError(`a base:1.0 message must not contain ${EOM}`);
  return Buffer.concat([Buffer.from(xml, 'utf8'), EOM_BYTES]);
}

/** One message framed for base:1.1: chunks of at most `maxChunk` octets, then `\n##\n`. */
export function encodeChunked(xml: string, maxChunk = 65_536): Buffer {
  if (!Number.isInteger(maxChunk) || maxChunk < 1 || maxChunk > MAX_CHUNK_SIZE) {
    throw new FramingError(`chunk size ${maxChunk} is outside 1..${MAX_CHUNK_SIZE}`);
  }
  const body = Buffer.from(xml, 'utf8');
  if (body.length === 0) throw new FramingError('a chunked message needs at least one chunk');
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += maxChunk) {
    const chunk = body.subarray(at, Math.min(at + maxChunk, body.length));
    parts.push(Buffer.from(`\n#${chunk.length}\n`), chunk);
  }
  parts.push(END_OF_CHUNKS);
  return Buffer.concat(parts);
}

export function encode(xml: string, framing: Framing): Buffer {
  return framing === 'eom' ? encodeEom(xml) : encodeChunked(xml);
}

/**
 * Turns the bytes of a session, as they come in pieces of any size, back into messages. The
 * framing can change between two messages (`framing = 'chunked'` after the hello): `next()`
 * reads only one message at a time, so bytes already received after the hello are read in the
 * new framing.
 */
export class Deframer {
  framing: Framing;
  #buf: Buffer = Buffer.alloc(0);
  /** Chunks of the message being read (chunked framing). */
  #chunks: Buffer[] = [];
  #chunkedSize = 0;
  #failed: FramingError | undefined;

  constructor(
    framing: Framing = 'eom',
    /** The largest message accepted, in octets; a larger one is a FramingError. */
    readonly maxMessage = 64 * 1024 * 1024,
  ) {
    this.framing = framing;
  }

  /** Bytes received and not yet part of a whole message. */
  get pending(): number {
    return this.#buf.length + this.#chunkedSize;
  }

  push(data: Buffer): void {
    this.#buf = this.#buf.length === 0 ? data : Buffer.concat([this.#buf, data]);
  }

  /** The next whole message, or undefined until more bytes come. Throws FramingError on bad input (and from then on). */
  next(): string | undefined {
    if (this.#failed) throw this.#failed;
    try {
      return this.framing === 'eom' ? this.#nextEom() : this.#nextChunked();
    } catch (e) {
      if (e instanceof FramingError) this.#failed = e;
      throw e;
    }
  }

  #nextEom(): string | undefined {
    const at = this.#buf.indexOf(EOM_BYTES);
    if (at < 0) {
      if (this.#buf.length > this.maxMessage) throw new FramingError(`message over ${this.maxMessage} octets`);
      return undefined;
    }
    const msg = this.#buf.subarray(0, at).toString('utf8');
    this.#buf = this.#buf.subarray(at + EOM_BYTES.length);
    return msg;
  }

  #nextChunked(): string | undefined {
    for (;;) {
      // Every chunk and the end-of-chunks start with "\n#".
      if (this.#buf.length < 2) return undefined;
      if (this.#buf[0] !== 0x0a || this.#buf[1] !== 0x23) {
        throw new FramingError(`bad chunk header: expected "\\n#", got ${JSON.stringify(this.#buf.subarray(0, 8).toString('latin1'))}`);
      }
      if (this.#buf.length < 3) return undefined;
      if (this.#buf[2] === 0x23) {
        // end-of-chunks: "\n##\n"
        if (this.#buf.length < 4) return undefined;
        if (this.#buf[3] !== 0x0a) throw new FramingError('bad end-of-chunks: expected "\\n##\\n"');
        if (this.#chunks.length === 0) throw new FramingError('end-of-chunks before any chunk');
        this.#buf = this.#buf.subarray(4);
        const msg = Buffer.concat(this.#chunks).toString('utf8');
        this.#chunks = [];
        this.#chunkedSize = 0;
        return msg;
      }
      // chunk-size = [1-9][0-9]{0,9}, then "\n"
      let i = 2;
      while (i < this.#buf.length && i < 13 && this.#buf[i]! >= 0x30 && this.#buf[i]! <= 0x39) i++;
      if (i === this.#buf.length && i < 13) return undefined;
      const digits = this.#buf.subarray(2, i).toString('latin1');
      if (digits.length === 0 || digits[0] === '0' || this.#buf[i] !== 0x0a) {
        throw new FramingError(`bad chunk header: ${JSON.stringify(this.#buf.subarray(0, Math.min(i + 1, 16)).toString('latin1'))}`);
      }
      const size = Number(digits);
      if (size > MAX_CHUNK_SIZE) throw new FramingError(`chunk size ${digits} is over ${MAX_CHUNK_SIZE}`);
      if (this.#chunkedSize + size > this.maxMessage) throw new FramingError(`message over ${this.maxMessage} octets`);
      const start = i + 1;
      if (this.#buf.length < start + size) return undefined;
      this.#chunks.push(Buffer.from(this.#buf.subarray(start, start + size)));
      this.#chunkedSize += size;
      this.#buf = this.#buf.subarray(start + size);
    }
  }
}
