// A container's output through GET /containers/{id}/logs. Without a TTY (SDMI never asks for one)
// Docker multiplexes stdout and stderr into one body of frames (moby's stdcopy): an 8-byte header
// — the stream type, three zero bytes, the payload's length as a big-endian uint32 — then the
// payload. docker-modem's demuxStream, which exec uses, pours payloads into two byte streams and
// so loses where one message ends; here a frame is a log message (dockerd writes each with one
// Write: its timestamp, a space, the line and its '\n'), so frames are decoded as such.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { EngineContext } from './context';
import { ContainerNotManaged, DockerApiError, DockerError, InvalidArgument, LogStreamMalformed, Misuse, isSocketFailure } from './errors';
import { sinceParam } from './events';
import { FrameError } from './framer';
import { MANAGED_LABEL, MANAGED_VALUE } from './labels';
import { toDockerError } from './translate';

/** Stream types of a multiplexed frame (moby pkg/stdcopy). */
export const FrameStreams = {
  Stdin: 0,
  Stdout: 1,
  Stderr: 2,
  /** dockerd's own complaint while reading the log ("Error grabbing logs: …"). */
  System: 3,
} as const;
export type FrameStream = (typeof FrameStreams)[keyof typeof FrameStreams];

export interface Frame {
  stream: FrameStream;
  payload: Buffer;
}

const HEADER_BYTES = 8;
/** No log message comes near this (dockerd splits lines at 16 KiB); a bigger length means the bytes are out of step. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Splits a multiplexed body into frames. Feed chunks as they arrive (a header or payload may be
 * split anywhere); what is incomplete is kept for the next chunk. A header that cannot be one (an
 * unknown stream type, non-zero padding, an absurd length: a TTY container's raw output, say)
 * becomes a FrameError value, after which the decoder takes nothing more: a byte stream out of
 * step cannot be resynchronised.
 */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes of the body consumed before #buf[0], for error offsets. */
  #base = 0;
  #failed = false;

  push(chunk: Uint8Array): (Frame | FrameError)[] {
    if (this.#failed) return [new FrameError('the decoder stopped at an earlier error', this.#base)];
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const out: (Frame | FrameError)[] = [];
    while (this.#buf.length >= HEADER_BYTES) {
      const type = this.#buf[0]!;
      if (type > FrameStreams.System || this.#buf[1] !== 0 || this.#buf[2] !== 0 || this.#buf[3] !== 0) {
        this.#failed = true;
        out.push(new FrameError(`not a frame header: ${this.#buf.subarray(0, HEADER_BYTES).toString('hex')} (is the container's output multiplexed, i.e. without a TTY?)`, this.#base));
        return out;
      }
      const length = this.#buf.readUInt32BE(4);
      if (length > MAX_FRAME_BYTES) {
        this.#failed = true;
        out.push(new FrameError(`a frame of ${length} bytes is over the ${MAX_FRAME_BYTES} a log message can be`, this.#base));
        return out;
      }
      if (this.#buf.length < HEADER_BYTES + length) break;
      // A copy: the frame outlives the buffer it was cut from.
      out.push({ stream: type as FrameStream, payload: Buffer.from(this.#buf.subarray(HEADER_BYTES, HEADER_BYTES + length)) });
      this.#buf = this.#buf.subarray(HEADER_BYTES + length);
      this.#base += HEADER_BYTES + length;
    }
    return out;
  }

  /** At the end of the body: an error when it stopped inside a frame. */
  end(): FrameError | undefined {
    if (this.#failed || this.#buf.length === 0) return undefined;
    return new FrameError(`the body ended ${this.#buf.length} bytes into a frame`, this.#base);
  }
}

/**
 * Nanoseconds since the epoch of an RFC 3339 time (any offset, any number of fraction digits, of
 * which nine count); undefined when it is not one. Date keeps milliseconds only, and a follower
 * that passes back the last line's time must not get that line again, nor lose one written in the
 * same millisecond.
 */
export function parseTimeNs(text: string): bigint | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const sec = Number(s);
  // 23:59:60 (a leap second, which RFC 3339 allows) is the second after :59.
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Math.min(sec, 59)) + (sec === 60 ? 1000 : 0);
  if (Number.isNaN(ms) || Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || sec > 60) return undefined;
  const offsetMin = z !== undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om ?? 0));
  const nanos = BigInt((frac ?? '').slice(0, 9).padEnd(9, '0'));
  return BigInt(ms - offsetMin * 60_000) * 1_000_000n + nanos;
}

/** RFC 3339 in UTC with nine fraction digits, as dockerd writes times (RFC3339NanoFixed). */
export function formatTimeNs(ns: bigint): string {
  const whole = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${whole}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

export interface LogsOptions {
  /** Only the last this many messages (Docker's tail); default all. Not with `since`. */
  tail?: number;
  /**
   * Only lines written strictly after this time: a Date, or nanoseconds since the epoch. Docker's
   * own since keeps a line written at that very time; it is dropped here, so that passing the last
   * line's time reads on from it.
   */
  since?: Date | bigint;
  /** A line's text kept at most, in bytes of UTF-8; the rest is dropped and `truncated` set. Default 64 KiB. */
  maxLineBytes?: number;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** When it was written, as {@link formatTimeNs} writes it (UTC, nanoseconds). */
  time: string;
  /** The same, in nanoseconds since the epoch, to compare. */
  timeNs: bigint;
  /** Decoded as UTF-8 (bytes that are not become U+FFFD), without its '\n'. */
  text: string;
  /** Whether the text was cut at maxLineBytes. */
  truncated: boolean;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** A line being put together from Docker's parts (dockerd splits lines over 16 KiB into messages without '\n'). */
interface Pending {
  parts: Buffer[];
  bytes: number;
  cut: boolean;
  /** The time of its latest part. */
  timeNs: bigint;
}

/**
 * Turns frames into lines: strips each message's timestamp, joins the parts of a split line per
 * stream, cuts lines at `maxLineBytes` (never inside a UTF-8 sequence). A line's time is that of
 * its last part, so lines come out in the order of their times. Pure.
 */
export class LineAssembler {
  readonly #pending = new Map<'stdout' | 'stderr', Pending>();

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /** The line a frame completes, if any; a string says why the frame is not a log message. */
  push(frame: Frame): LogEntry | undefined | string {
    const stream = frame.stream === FrameStreams.Stdout ? 'stdout' : frame.stream === FrameStreams.Stderr ? 'stderr' : undefined;
    if (!stream) return `a frame of stream ${frame.stream}, which logs do not carry`;
    const space = frame.payload.indexOf(0x20);
    const timeNs = space > 0 && space <= 64 ? parseTimeNs(frame.payload.subarray(0, space).toString('latin1')) : undefined;
    if (timeNs === undefined) return `a message without its timestamp: ${JSON.stringify(frame.payload.subarray(0, 40).toString('latin1'))}`;
    let body = frame.payload.subarray(space + 1);
    const complete = body.length > 0 && body[body.length - 1] === 0x0a;
    if (complete) body = body.subarray(0, body.length - 1);
    const p = this.#pending.get(stream) ?? { parts: [], bytes: 0, cut: false, timeNs };
    p.timeNs = timeNs;
    const room = this.maxLineBytes - p.bytes;
    if (body.length > room) {
      // Once cut, the rest of the line is only waited for (its '\n'), not kept.
      const keep = utf8Boundary(body, Math.max(room, 0));
      if (keep > 0) p.parts.push(body.subarray(0, keep));
      p.bytes = this.maxLineBytes;
      p.cut = true;
    } else {
      p.parts.push(body);
      p.bytes += body.length;
    }
    if (!complete) {
      this.#pending.set(stream, p);
      return undefined;
    }
    this.#pending.delete(stream);
    return line(stream, p);
  }

  /** At the end of the body: the lines still without their '\n' (a program that wrote no final newline, yet). */
  end(): LogEntry[] {
    const out = [...this.#pending].map(([stream, p]) => line(stream, p)).sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
    this.#pending.clear();
    return out;
  }
}

function line(stream: 'stdout' | 'stderr', p: Pending): LogEntry {
  return { stream, time: formatTimeNs(p.timeNs), timeNs: p.timeNs, text: Buffer.concat(p.parts).toString('utf8'), truncated: p.cut };
}

/** The largest cut ≤ at that does not split a UTF-8 sequence. */
function utf8Boundary(b: Buffer, at: number): number {
  let i = Math.min(at, b.length);
  // 0b10xxxxxx continues a sequence: back off to the byte that starts it.
  while (i > 0 && i < b.length && (b[i]! & 0xc0) === 0x80) i--;
  return i;
}

/**
 * A container's output, line by line, oldest first. Iterate it once; leaving the loop (break,
 * return, throw) or `close()` ends the HTTP request, so a reader that has enough does not make
 * dockerd read the rest. The iteration ends with the log as it was when asked (no following).
 */
export class LogStream implements AsyncIterable<LogEntry>, AsyncDisposable {
  #iterated = false;
  #closed = false;

  /** @internal Use DockerEngine.logs(). */
  readonly #assembler: LineAssembler;

  constructor(
    private readonly body: Readable,
    readonly socketPath: string,
    maxLineBytes: number,
    /** Lines at or before this time are not given (Docker's since keeps them). */
    private readonly afterNs?: bigint,
  ) {
    this.#assembler = new LineAssembler(maxLineBytes);
    // Until someone iterates, an error must not go unhandled; the iterator sees it anyway.
    body.on('error', () => {});
  }

  [Symbol.asyncIterator](): AsyncIterator<LogEntry> {
    if (this.#closed) throw new Misuse(`the log stream from ${this.socketPath} is closed: ask for the logs again`);
    if (this.#iterated) throw new Misuse(`the log stream from ${this.socketPath} is already being iterated: iterate a stream once`);
    this.#iterated = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<LogEntry> {
    const frames = new FrameDecoder();
    try {
      try {
        for await (const chunk of this.body) {
          for (const f of frames.push(chunk as Buffer)) {
            if (f instanceof FrameError) throw new LogStreamMalformed(this.socketPath, `${f.reason} at byte ${f.offset}`);
            if (f.stream === FrameStreams.System) throw new DockerApiError('logs', undefined, f.payload.toString('utf8').trim(), this.socketPath);
            const l = this.#assembler.push(f);
            if (typeof l === 'string') throw new LogStreamMalformed(this.socketPath, l);
            if (l && this.#wanted(l)) yield l;
          }
        }
      } catch (e) {
        if (this.#closed) return;
        if (e instanceof DockerError) throw e;
        const reason = isSocketFailure(e) || (e as Error).message === 'aborted' ? 'the connection was reset' : (e as Error).message;
        throw new DockerApiError('logs', undefined, `the log stream broke: ${reason}`, this.socketPath, { cause: e });
      }
      if (this.#closed) return;
      const cut = frames.end();
      if (cut) throw new LogStreamMalformed(this.socketPath, `${cut.reason} at byte ${cut.offset}`);
      for (const l of this.#assembler.end()) if (this.#wanted(l)) yield l;
    } finally {
      this.#close();
    }
  }

  #wanted(l: LogEntry): boolean {
    return this.afterNs === undefined || l.timeNs > this.afterNs;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.body.destroy();
  }

  /** Ends the HTTP request; a pending iteration ends normally. Idempotent. */
  async close(): Promise<void> {
    this.#close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function checkOptions(options: LogsOptions): { tail?: number; sinceNs?: bigint; maxLineBytes: number } {
  const op = 'logs';
  if (options === null || typeof options !== 'object') throw new InvalidArgument(op, '/options', 'options-object', options, 'must be an object');
  const { tail, since, maxLineBytes = DEFAULT_MAX_LINE_BYTES } = options;
  if (tail !== undefined && (!isInt(tail) || tail < 1)) throw new InvalidArgument(op, '/options/tail', 'count-positive', tail, 'must be a whole number of lines, at least 1');
  if (tail !== undefined && since !== undefined) {
    // Docker takes the last lines of the whole log before it looks at since, which would lose lines after since.
    throw new InvalidArgument(op, '/options/tail', 'tail-or-since', tail, 'cannot be combined with since: Docker cuts the tail before it applies since; stop reading after the lines you want instead');
  }
  let sinceNs: bigint | undefined;
  if (since !== undefined) {
    const ok = typeof since === 'bigint' ? since >= 0n : since instanceof Date && !Number.isNaN(since.getTime());
    if (!ok) throw new InvalidArgument(op, '/options/since', 'time', since, 'is not a valid Date (or nanoseconds since the epoch as a bigint)');
    sinceNs = typeof since === 'bigint' ? since : BigInt(since.getTime()) * 1_000_000n;
  }
  if (!isInt(maxLineBytes) || maxLineBytes < 1) throw new InvalidArgument(op, '/options/maxLineBytes', 'bytes-positive', maxLineBytes, 'must be a whole number of bytes, at least 1');
  return { ...(tail !== undefined ? { tail } : {}), ...(sinceNs !== undefined ? { sinceNs } : {}), maxLineBytes };
}

/** Opens the logs of one of SDMI's containers, running or stopped. */
export async function openLogs(ctx: EngineContext, id: string, options: LogsOptions = {}): Promise<LogStream> {
  ctx.assertOpen('logs');
  if (typeof id !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(id)) throw new InvalidArgument('logs', '/id', 'container-ref', id, 'is not a container id or name');
  const o = checkOptions(options);
  let labels: Record<string, string> | undefined;
  try {
    labels = (await ctx.docker.getContainer(id).inspect()).Config?.Labels ?? undefined;
  } catch (e) {
    throw toDockerError(ctx, 'logs', e, { container: id });
  }
  // Output can hold anything a program prints: only SDMI's own containers are read.
  if (labels?.[MANAGED_LABEL] !== MANAGED_VALUE) throw new ContainerNotManaged(id, 'logs', ctx.socketPath);
  const query = {
    stdout: true,
    stderr: true,
    // Always: a line's time is part of what is returned, and since is applied to the nanosecond here.
    timestamps: true,
    ...(o.tail !== undefined ? { tail: o.tail } : {}),
    ...(o.sinceNs !== undefined ? { since: sinceParam(o.sinceNs) } : {}),
  };
  const body = await new Promise<Readable>((resolve, reject) => {
    ctx.docker.modem.dial(
      // isStream: the body is read as it comes, so a reader that stops early stops dockerd reading.
      { path: `/containers/${id}/logs?`, method: 'GET', isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error', 501: 'not implemented' }, options: query },
      (err, res) => (err ? reject(toDockerError(ctx, 'logs', err, { container: id })) : resolve(res as IncomingMessage)),
    );
  });
  ctx.log.debug({ socketPath: ctx.socketPath, id, ...query }, 'container logs opened');
  return new LogStream(body, ctx.socketPath, o.maxLineBytes, o.sinceNs);
}
