import { FramingError } from './errors';

/** Default upper bound for one JSON value on the wire (an initial monitor reply can be large). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Splits a stream of concatenated JSON values (objects or arrays, optionally separated by
 * whitespace, no delimiter guaranteed) into parsed values. Feed it chunks as they arrive: a value
 * split across chunks is kept until complete, several values in one chunk all come out.
 * Brackets inside strings (and escaped quotes) are not counted. UTF-8 sequences split across
 * chunks are handled by a streaming decoder.
 *
 * Errors do not throw from deep inside: `push` returns them as values of class FramingError, and
 * after the first one the framer refuses further input (the stream cannot be resynchronised).
 */
export class JsonStreamFramer {
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  readonly #maxChars: number;
  #buf = '';
  /** Scan position in #buf (everything before it was already examined). */
  #pos = 0;
  #depth = 0;
  #inString = false;
  #escape = false;
  #failed: FramingError | undefined;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.#maxChars = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Characters received but not yet part of a complete value. */
  get pending(): number {
    return this.#buf.length;
  }

  /** Adds a chunk; returns the complete values (and at most one trailing FramingError). */
  push(chunk: Uint8Array | string): Array<unknown> {
    if (this.#failed) return [this.#failed];
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.#buf += text;
    const out: unknown[] = [];
    let start = 0;
    const buf = this.#buf;
    for (let i = this.#pos; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 0x5c /* \ */) this.#escape = true;
        else if (c === 0x22 /* " */) this.#inString = false;
        continue;
      }
      if (this.#depth === 0) {
        // Between values: only whitespace may appear, and a value must start with { or [.
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1;
          continue;
        }
        if (c !== 0x7b /* { */ && c !== 0x5b /* [ */) {
          return this.#fail(out, `unexpected ${JSON.stringify(buf[i])} between JSON values`);
        }
        start = i;
        this.#depth = 1;
        continue;
      }
      if (c === 0x22) this.#inString = true;
      else if (c === 0x7b || c === 0x5b) this.#depth++;
      else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        this.#depth--;
        if (this.#depth === 0) {
          const text = buf.slice(start, i + 1);
          try {
            out.push(JSON.parse(text));
          } catch (e) {
            return this.#fail(out, `invalid JSON value on the stream: ${(e as Error).message}`, e);
          }
          start = i + 1;
        }
      }
    }
    this.#buf = buf.slice(start);
    this.#pos = this.#buf.length;
    if (this.#buf.length > this.#maxChars) {
      return this.#fail(out, `JSON value exceeds ${this.#maxChars} characters without completing`);
    }
    return out;
  }

  #fail(out: unknown[], message: string, cause?: unknown): unknown[] {
    this.#failed = new FramingError(message, cause === undefined ? undefined : { cause });
    this.#buf = '';
    this.#pos = 0;
    out.push(this.#failed);
    return out;
  }
}
