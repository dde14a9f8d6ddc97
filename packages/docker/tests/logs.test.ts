// Fast tier: the multiplexed frame decoder, the line assembler, the time helpers and LogStream over
// an in-memory body. Expected bytes come from the test-only `frame` builder below, written from
// moby's pkg/stdcopy (header: stream type, three zero bytes, big-endian uint32 length), never
// from the decoder under test. Real-Docker behaviour is tested in services/node-agent.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DockerApiError, LogStream, LogStreamMalformed, Misuse, formatTimeNs, parseTimeNs, type LogEntry } from '@sdmi/docker';
import { FrameDecoder, FrameError, FrameStreams, LineAssembler, MAX_FRAME_BYTES, type Frame } from '@sdmi/docker/internal';

const SOCK = '/var/run/docker.sock';

/** One frame as dockerd writes it. */
function frame(stream: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

const T1 = '2025-03-01T12:00:00.000000001Z';
const T2 = '2025-03-01T12:00:00.000000002Z';
const T3 = '2025-03-01T12:00:01.500000000Z';

describe('frame vectors', () => {
  it('a stdout frame: header then payload', () => {
    expect(frame(FrameStreams.Stdout, 'hi\n')).toEqual(
      Buffer.from([
        0x01, 0x00, 0x00, 0x00, // stream 1 (stdout), padding
        0x00, 0x00, 0x00, 0x03, // length 3, big-endian
        0x68, 0x69, 0x0a, //       "hi\n"
      ]),
    );
  });
});

describe('FrameDecoder', () => {
  const wire = Buffer.concat([frame(1, `${T1} out\n`), frame(2, `${T2} err\n`), frame(1, ''), frame(2, `${T3} zürich 🙂\n`)]);
  const expected: Frame[] = [
    { stream: 1, payload: Buffer.from(`${T1} out\n`) },
    { stream: 2, payload: Buffer.from(`${T2} err\n`) },
    { stream: 1, payload: Buffer.alloc(0) },
    { stream: 2, payload: Buffer.from(`${T3} zürich 🙂\n`) },
  ];

  it('decodes frames in one chunk', () => {
    const d = new FrameDecoder();
    expect(d.push(wire)).toEqual(expected);
    expect(d.end()).toBeUndefined();
  });

  it('gives the same frames with the body split at every offset, and byte by byte', () => {
    for (let at = 0; at <= wire.length; at++) {
      const d = new FrameDecoder();
      expect([...d.push(wire.subarray(0, at)), ...d.push(wire.subarray(at))], `split at ${at}`).toEqual(expected);
      expect(d.end()).toBeUndefined();
    }
    const d = new FrameDecoder();
    const got: (Frame | FrameError)[] = [];
    for (const b of wire) got.push(...d.push(Buffer.from([b])));
    expect(got).toEqual(expected);
  });

  it('says when the body ends inside a frame', () => {
    const d = new FrameDecoder();
    expect(d.push(wire.subarray(0, wire.length - 2))).toHaveLength(3);
    expect(d.end()).toEqual(new FrameError(`the body ended ${frame(2, `${T3} zürich 🙂\n`).length - 2} bytes into a frame`, wire.length - frame(2, `${T3} zürich 🙂\n`).length));
  });

  it('turns what is not a header (raw TTY output) into an error value, then takes nothing more', () => {
    const d = new FrameDecoder();
    const out = d.push(Buffer.concat([frame(1, `${T1} a\n`), Buffer.from('hello world\n')]));
    expect(out[0]).toEqual({ stream: 1, payload: Buffer.from(`${T1} a\n`) });
    expect(out[1]).toBeInstanceOf(FrameError);
    expect((out[1] as FrameError).offset).toBe(frame(1, `${T1} a\n`).length);
    expect((out[1] as FrameError).reason).toMatch(/^not a frame header: 68656c6c6f20776f/);
    expect(d.push(frame(1, 'x'))).toEqual([new FrameError('the decoder stopped at an earlier error', frame(1, `${T1} a\n`).length)]);
    expect(d.end()).toBeUndefined();
  });

  it('refuses a stream type above 3, padding that is not zero, and a length no log message has', () => {
    for (const bad of [Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([1, 0, 1, 0, 0, 0, 0, 0])]) expect(new FrameDecoder().push(bad)[0]).toBeInstanceOf(FrameError);
    const huge = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 4);
    expect((new FrameDecoder().push(huge)[0] as FrameError).reason).toContain(`a frame of ${MAX_FRAME_BYTES + 1} bytes`);
  });
});

describe('times to the nanosecond', () => {
  it('parses RFC 3339 with any offset and fraction, and writes it back as dockerd does', () => {
    const ns = parseTimeNs(T1)!;
    expect(ns).toBe(1740830400000000001n);
    expect(formatTimeNs(ns)).toBe(T1);
    expect(parseTimeNs('2025-03-01T13:00:00.000000001+01:00')).toBe(ns);
    expect(parseTimeNs('2025-03-01t07:30:00.000000001-0430')).toBe(ns);
    expect(parseTimeNs('2025-03-01T12:00:00Z')).toBe(1740830400000000000n);
    // Digits beyond nine are below Docker's resolution.
    expect(parseTimeNs('2025-03-01T12:00:00.1234567899Z')).toBe(1740830400123456789n);
    expect(parseTimeNs('2016-12-31T23:59:60Z')).toBe(parseTimeNs('2017-01-01T00:00:00Z'));
    for (const bad of ['yesterday', '2025-03-01', '2025-03-01T12:00:00', '2025-13-01T00:00:00Z']) expect(parseTimeNs(bad), bad).toBeUndefined();
  });
});

describe('LineAssembler', () => {
  it('strips the timestamp and the line break, and keeps the stream', () => {
    const a = new LineAssembler();
    expect(a.push({ stream: 2, payload: Buffer.from(`${T2} boom\n`) })).toEqual({ stream: 'stderr', time: T2, timeNs: parseTimeNs(T2), text: 'boom', truncated: false });
  });

  it('joins the parts dockerd splits a long line into, per stream, with the time of the last part', () => {
    const a = new LineAssembler();
    expect(a.push({ stream: 1, payload: Buffer.from(`${T1} aaa`) })).toBeUndefined();
    expect(a.push({ stream: 2, payload: Buffer.from(`${T2} between\n`) })).toMatchObject({ stream: 'stderr', text: 'between' });
    expect(a.push({ stream: 1, payload: Buffer.from(`${T3} bbb\n`) })).toMatchObject({ stream: 'stdout', text: 'aaabbb', time: T3 });
    expect(a.end()).toEqual([]);
  });

  it('cuts a line at maxLineBytes without splitting a UTF-8 sequence, and waits for its end', () => {
    const a = new LineAssembler(4);
    expect(a.push({ stream: 1, payload: Buffer.from(`${T1} abcü`) })).toBeUndefined();
    expect(a.push({ stream: 1, payload: Buffer.from(`${T2} more and more\n`) })).toMatchObject({ text: 'abc', truncated: true, time: T2 });
    expect(a.push({ stream: 1, payload: Buffer.from(`${T3} next\n`) })).toMatchObject({ text: 'next', truncated: false });
  });

  it('gives bytes that are not UTF-8 as U+FFFD and lines without a final newline at the end, oldest first', () => {
    const a = new LineAssembler();
    expect(a.push({ stream: 2, payload: Buffer.concat([Buffer.from(`${T3} `), Buffer.from([0xff, 0x41])]) })).toBeUndefined();
    expect(a.push({ stream: 1, payload: Buffer.from(`${T1} prompt> `) })).toBeUndefined();
    expect(a.end().map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'prompt> '],
      ['stderr', '\uFFFDA'],
    ]);
  });

  it('says what is wrong with a frame that is not a timestamped stdout or stderr message', () => {
    const a = new LineAssembler();
    expect(a.push({ stream: 1, payload: Buffer.from('no time here\n') })).toMatch(/^a message without its timestamp/);
    expect(a.push({ stream: 0, payload: Buffer.from(`${T1} x\n`) })).toMatch(/^a frame of stream 0/);
  });
});

describe('LogStream', () => {
  const lines = async (s: LogStream): Promise<LogEntry[]> => {
    const out: LogEntry[] = [];
    for await (const l of s) out.push(l);
    return out;
  };

  it('gives the lines of the body, dropping those at or before since (Docker keeps them)', async () => {
    const body = new PassThrough();
    body.end(Buffer.concat([frame(1, `${T1} one\n`), frame(2, `${T2} two\n`), frame(1, `${T3} three\n`)]));
    const got = await lines(new LogStream(body, SOCK, 1024, parseTimeNs(T1)));
    expect(got.map((l) => [l.stream, l.text])).toEqual([
      ['stderr', 'two'],
      ['stdout', 'three'],
    ]);
  });

  it('throws dockerd’s own complaint (stream 3) as a DockerApiError and a broken body as LogStreamMalformed', async () => {
    const sys = new PassThrough();
    sys.end(Buffer.concat([frame(1, `${T1} one\n`), frame(3, 'Error grabbing logs: log message is too large\n')]));
    await expect(lines(new LogStream(sys, SOCK, 1024))).rejects.toThrow(DockerApiError);
    const cut = new PassThrough();
    cut.end(frame(1, `${T1} one\n`).subarray(0, 10));
    await expect(lines(new LogStream(cut, SOCK, 1024))).rejects.toThrow(LogStreamMalformed);
  });

  it('stops reading when the reader leaves the loop, and is iterated once', async () => {
    const body = new PassThrough();
    body.write(frame(1, `${T1} one\n`));
    const s = new LogStream(body, SOCK, 1024);
    for await (const l of s) {
      expect(l.text).toBe('one');
      break;
    }
    expect(body.destroyed).toBe(true);
    expect(() => s[Symbol.asyncIterator]()).toThrow(Misuse);
  });
});
