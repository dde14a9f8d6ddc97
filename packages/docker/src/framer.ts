/** Upper bound for one event on the wire; a Docker event is a few hundred bytes (plus labels). */
export const DEFAULT_MAX_EVENT_CHARS = 1024 * 1024;

/** Why the framer stopped: returned as a value, never thrown from inside `push`. */
export class FrameError {
  constructor(
    readonly reason: string,
    /** Offset (in characters since the stream began) where the problem was seen. */
    readonly offset: number,
  ) {}
}

/**
 * Splits Docker's event stream — JSON objects one after the other, usually newline-separated,
 * with HTTP chunk boundaries anywhere (inside a string, inside a multi-byte UTF-8 character, or
 * several objects in one chunk) — into parsed objects. Feed chunks as they arrive; an object split
 * across chunks is kept until complete.
 *
 * Braces inside strings (and escaped quotes) are not counted. The Docker API does not promise a
 * newline after each event, so the objects are found by their braces, not by lines.
 *
 * After the first error the framer refuses further input: a byte stream out of step cannot be
 * resynchronised, and guessing would risk inventing events.
 */
export class EventFramer {
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  readonly #maxChars: number;
  #buf = '';
  /** Characters of the stream consumed before #buf[0] (for error offsets). */
  #base = 0;
  /** Scan position in #buf. */
  #pos = 0;
  #depth = 0;
  #inString = false;
  #escape = false;
  #failed: FrameError | undefined;

  constructor(options: { maxEventChars?: number } = {}) {
    this.#maxChars = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  }

  /** Characters received that are not yet part of a complete object. */
  get pending(): number {
    return this.#buf.length;
  }

  /** Adds a chunk; returns the complete objects, and at most one FrameError last. */
  push(chunk: Uint8Array | string): Array<Record<string, unknown> | FrameError> {
    if (this.#failed) return [this.#failed];
    this.#buf += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const buf = this.#buf;
    const out: Array<Record<string, unknown> | FrameError> = [];
    let start = 0;
    for (let i = this.#pos; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 0x5c /* \ */) this.#escape = true;
        else if (c === 0x22 /* " */) this.#inString = false;
        continue;
      }
      if (this.#depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1;
          continue;
        }
        if (c !== 0x7b /* { */) return this.#fail(out, `expected "{" to start an event, got ${JSON.stringify(buf[i])}`, i);
        start = i;
        this.#depth = 1;
        continue;
      }
      if (c === 0x22) this.#inString = true;
      else if (c === 0x7b || c === 0x5b /* [ */) this.#depth++;
      else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        if (--this.#depth === 0) {
          let value: unknown;
          try {
            value = JSON.parse(buf.slice(start, i + 1));
          } catch (e) {
            return this.#fail(out, `invalid JSON: ${(e as Error).message}`, start);
          }
          out.push(value as Record<string, unknown>);
          start = i + 1;
        }
      }
    }
    this.#base += start;
    this.#buf = buf.slice(start);
    this.#pos = this.#buf.length;
    if (this.#buf.length > this.#maxChars) {
      return this.#fail(out, `an event grew beyond ${this.#maxChars} characters without completing`, 0);
    }
    return out;
  }

  /**
   * The stream ended: returns a FrameError if it stopped in the middle of an object (the decoder's
   * pending bytes count too), or undefined when it ended cleanly between objects.
   */
  end(): FrameError | undefined {
    if (this.#failed) return this.#failed;
    const rest = this.#buf + this.#decoder.decode();
    if (rest.trim() === '') return undefined;
    this.#failed = new FrameError(`the stream ended inside an event (${rest.length} characters unparsed)`, this.#base);
    return this.#failed;
  }

  #fail(out: Array<Record<string, unknown> | FrameError>, reason: string, at: number): Array<Record<string, unknown> | FrameError> {
    this.#failed = new FrameError(reason, this.#base + at);
    this.#buf = '';
    this.#pos = 0;
    out.push(this.#failed);
    return out;
  }
}
