// Fast tier: the event framer, the event parser and EventStream over an in-memory stream. The
// wire text below was captured from dockerd 20.10 (GET /v1.41/events) and edited by hand only to
// add the cases Docker produces rarely (braces and escapes inside strings, non-ASCII labels).
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DockerErrorCode, EventStream, EventStreamLost, EventStreamMalformed, Misuse } from '@sdmi/docker';
import type { ContainerEvent } from '@sdmi/docker';
import { EventFramer, FrameError, eventsQuery, parseEvent, sinceParam } from '@sdmi/docker/internal';

const ID = '9e65adb759342f020b7986af51f8d4504ed20a969489228a465d14acb259c627';
const SOCK = '/var/run/docker.sock';

const create =
  `{"status":"create","id":"${ID}","from":"sdmi/base:busybox","Type":"container","Action":"create",` +
  `"Actor":{"ID":"${ID}","Attributes":{"image":"sdmi/base:busybox","name":"web-1","sdmi.managed":"true","sdmi.service":"a"}},` +
  `"scope":"local","time":1796152570,"timeNano":1796152570243465751}\n`;
const health =
  `{"status":"health_status: healthy","id":"${ID}","from":"sdmi/base:busybox","Type":"container","Action":"health_status: healthy",` +
  `"Actor":{"ID":"${ID}","Attributes":{"image":"sdmi/base:busybox","name":"web-1","sdmi.managed":"true","sdmi.service":"a"}},` +
  `"scope":"local","time":1796152570,"timeNano":1796152570772401146}\n`;
// A label value with braces, brackets, an escaped quote and a backslash; a non-ASCII label.
const exec =
  `{"status":"exec_create: sh -c echo }{","id":"${ID}","Type":"container","Action":"exec_create: sh -c echo }{",` +
  `"Actor":{"ID":"${ID}","Attributes":{"execID":"d826","image":"sdmi/base:busybox","name":"web-1","sdmi.managed":"true",` +
  `"odd":"a\\"}]{[\\\\","zone":"zürich-€-🙂"}},"scope":"local","time":1796152571,"timeNano":1796152571073341923}\n`;
const network =
  `{"Type":"network","Action":"connect","Actor":{"ID":"0b1d","Attributes":{"container":"${ID}","name":"none","type":"null"}},` +
  `"scope":"local","time":1796152570,"timeNano":1796152570300000000}\n`;
const kill =
  `{"status":"kill","id":"${ID}","from":"sdmi/base:busybox","Type":"container","Action":"kill",` +
  `"Actor":{"ID":"${ID}","Attributes":{"image":"sdmi/base:busybox","name":"web-1","sdmi.managed":"true","sdmi.service":"a","signal":"9"}},` +
  `"scope":"local","time":1796152572,"timeNano":1796152572000000000}\n`;
const die =
  `{"status":"die","id":"${ID}","from":"sdmi/base:busybox","Type":"container","Action":"die",` +
  `"Actor":{"ID":"${ID}","Attributes":{"exitCode":"137","image":"sdmi/base:busybox","name":"web-1","sdmi.managed":"true","sdmi.service":"a"}},` +
  `"scope":"local","time":1796152572,"timeNano":1796152572100000000}\n`;

const wire = create + health + exec + network + kill + die;

const base = { id: ID, name: 'web-1', image: 'sdmi/base:busybox', managed: true };
const expected: Array<Partial<ContainerEvent>> = [
  { ...base, action: 'create', labels: { 'sdmi.managed': 'true', 'sdmi.service': 'a' } },
  { ...base, action: 'health_status', health: 'healthy', labels: { 'sdmi.managed': 'true', 'sdmi.service': 'a' } },
  { ...base, action: 'exec_create', command: 'sh -c echo }{', labels: { 'sdmi.managed': 'true', odd: 'a"}]{[\\', zone: 'zürich-€-🙂' } },
  { ...base, action: 'kill', signal: 9, labels: { 'sdmi.managed': 'true', 'sdmi.service': 'a' } },
  { ...base, action: 'die', exitCode: 137, labels: { 'sdmi.managed': 'true', 'sdmi.service': 'a' } },
];

/** What the framer yields for the chunks, parsed into events (network events dropped). */
function eventsOf(chunks: Array<string | Uint8Array>): unknown[] {
  const framer = new EventFramer();
  const out: unknown[] = [];
  for (const c of chunks) {
    for (const item of framer.push(c)) {
      if (item instanceof FrameError) out.push(item);
      else {
        const ev = parseEvent(item);
        if (ev !== undefined) out.push(ev);
      }
    }
  }
  expect(framer.end()).toBeUndefined();
  return out;
}

const matchAll = (list: unknown[]) => {
  expect(list).toHaveLength(expected.length);
  list.forEach((ev, i) => expect(ev).toMatchObject(expected[i]!));
};

describe('EventFramer', () => {
  it('parses events coalesced into one chunk', () => {
    matchAll(eventsOf([wire]));
    // Docker does not promise the newline: objects back to back parse the same.
    matchAll(eventsOf([wire.replaceAll('}\n', '}')]));
  });

  it('parses the same events when the text is split at every character offset', () => {
    for (let i = 0; i <= wire.length; i++) matchAll(eventsOf([wire.slice(0, i), wire.slice(i)]));
  });

  it('parses the same events when the bytes are split at every offset, UTF-8 sequences cut in half', () => {
    const bytes = new TextEncoder().encode(wire);
    for (let i = 0; i <= bytes.length; i++) matchAll(eventsOf([bytes.subarray(0, i), bytes.subarray(i)]));
  });

  it('parses one byte per chunk', () => {
    const bytes = new TextEncoder().encode(wire);
    matchAll(eventsOf(Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1))));
  });

  it('keeps an incomplete event until the rest arrives', () => {
    const framer = new EventFramer();
    expect(framer.push(create.slice(0, 40))).toEqual([]);
    expect(framer.pending).toBe(40);
    expect(framer.push(create.slice(40))).toHaveLength(1);
    expect(framer.pending).toBe(0);
  });

  it('refuses text that is not an object, with its offset, and then everything after it', () => {
    const framer = new EventFramer();
    const out = framer.push(`${create}x{}`);
    expect(out).toHaveLength(2);
    const err = out[1] as FrameError;
    expect(err).toBeInstanceOf(FrameError);
    expect(err.reason).toBe('expected "{" to start an event, got "x"');
    expect(err.offset).toBe(create.length);
    expect(framer.push(create)).toEqual([err]);
  });

  it('refuses an object that is not valid JSON', () => {
    const out = new EventFramer().push('{"a":1,}');
    expect(out).toHaveLength(1);
    expect((out[0] as FrameError).reason).toMatch(/^invalid JSON: /);
    expect((out[0] as FrameError).offset).toBe(0);
  });

  it('refuses an event that grows beyond the limit', () => {
    const framer = new EventFramer({ maxEventChars: 16 });
    const out = framer.push('{"a":"0123456789abcdef"');
    expect(out).toEqual([new FrameError('an event grew beyond 16 characters without completing', 0)]);
  });

  it('tells a stream cut inside an event from one that ended between events', () => {
    const framer = new EventFramer();
    framer.push(`${create}{"Type":"cont`);
    expect(framer.end()).toEqual(new FrameError('the stream ended inside an event (13 characters unparsed)', create.length));
    const clean = new EventFramer();
    clean.push(create);
    expect(clean.end()).toBeUndefined();
  });
});

describe('parseEvent', () => {
  it('keeps the time to the millisecond and as nanoseconds', () => {
    const ev = parseEvent(JSON.parse(create)) as ContainerEvent;
    expect(ev.time.toISOString()).toBe('2026-12-01T19:16:10.243Z');
    // JSON numbers are doubles: nanoseconds survive to well under a microsecond.
    expect(Number(ev.timeNano - 1796152570243465751n)).toBeLessThan(1000);
  });

  it('ignores events of other types', () => {
    expect(parseEvent(JSON.parse(network))).toBeUndefined();
    expect(parseEvent({ Type: 'image', Action: 'delete', Actor: { ID: 'sha256:1' }, time: 1 })).toBeUndefined();
  });

  it('tells a container event without its id, action or time', () => {
    expect(parseEvent({ Type: 'container', Action: 'start', time: 1 })).toBe('container event without Actor.ID: {"Type":"container","Action":"start","time":1}');
    expect(parseEvent({ Type: 'container', Actor: { ID: 'a' }, time: 1 })).toBe('container event without an Action: {"Type":"container","Actor":{"ID":"a"},"time":1}');
    expect(parseEvent({ Type: 'container', Action: 'start', Actor: { ID: 'a' } })).toBe('container event without time: {"Type":"container","Action":"start","Actor":{"ID":"a"}}');
  });

  it('passes an action it does not know through instead of dropping it', () => {
    const ev = parseEvent({ Type: 'container', Action: 'teleport: far', Actor: { ID: 'a', Attributes: { name: 'n' } }, time: 5 }) as ContainerEvent;
    expect(ev).toMatchObject({ action: 'teleport', id: 'a', name: 'n', managed: false, labels: {} });
    expect(ev.time.getTime()).toBe(5000);
  });
});

describe('events query', () => {
  it('asks for container events of SDMI containers only, unless all', () => {
    expect(eventsQuery({})).toEqual({ filters: { type: ['container'], label: ['sdmi.managed=true'] } });
    expect(eventsQuery({ all: true })).toEqual({ filters: { type: ['container'] } });
    expect(eventsQuery({ filters: { labels: { 'sdmi.service': 'web', 'sdmi.replica': true }, actions: ['die'], containers: ['x1'] } })).toEqual({
      filters: { type: ['container'], label: ['sdmi.service=web', 'sdmi.replica', 'sdmi.managed=true'], event: ['die'], container: ['x1'] },
    });
  });

  it('sends since as seconds with a nanosecond fraction', () => {
    expect(sinceParam(new Date(1796152570243))).toBe('1796152570.243000000');
    expect(sinceParam(1796152570000000001n)).toBe('1796152570.000000001');
  });

  it.each([
    [{ since: new Date(Number.NaN) }, '/since', 'time', 'events: since null is not a valid Date (or nanoseconds since the epoch as a bigint)'],
    [{ since: -1n }, '/since', 'time', 'events: since -1 is not a valid Date (or nanoseconds since the epoch as a bigint)'],
    [{ filters: { labels: [] } }, '/filters/labels', 'labels-object', 'events: filters/labels [] must be an object of label names to string values (or true)'],
    [{ filters: { labels: { 'a=b': 'c' } } }, '/filters/labels/a=b', 'label-key', 'events: filters/labels/a=b "a=b" is not a valid label name (1 to 255 characters, no whitespace, "=" or control characters)'],
    [{ filters: { labels: { a: 1 } } }, '/filters/labels/a', 'label-value', 'events: filters/labels/a 1 must be a string, or true for any value'],
    [{ filters: { actions: [] } }, '/filters/actions', 'non-empty-strings', 'events: filters/actions [] must be a non-empty array of non-empty strings'],
    [{ filters: { containers: [''] } }, '/filters/containers', 'non-empty-strings', 'events: filters/containers [""] must be a non-empty array of non-empty strings'],
  ])('refuses bad option #%#', (options, path, rule, message) => {
    let err: unknown;
    try {
      eventsQuery(options as never);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: DockerErrorCode.INVALID_ARGUMENT, message, info: { path, rule } });
  });
});

/** Collects events until the stream ends; returns them and the error it ended with. */
async function drain(es: EventStream, max = Infinity): Promise<{ events: ContainerEvent[]; error: unknown }> {
  const events: ContainerEvent[] = [];
  try {
    for await (const ev of es) {
      events.push(ev);
      if (events.length >= max) break;
    }
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

describe('EventStream', () => {
  it('yields typed events from chunks as the HTTP response delivers them', async () => {
    const body = new PassThrough();
    const es = new EventStream(body, SOCK);
    const bytes = Buffer.from(wire);
    // Uneven chunks: a cut every 37 bytes lands inside strings, numbers and UTF-8 sequences.
    for (let i = 0; i < bytes.length; i += 37) body.write(bytes.subarray(i, i + 37));
    const { events } = await drain(es, expected.length);
    matchAll(events);
  });

  it('breaking out of the loop closes the HTTP stream', async () => {
    const body = new PassThrough();
    let closedCalls = 0;
    const es = new EventStream(body, SOCK, () => closedCalls++);
    body.write(wire);
    const { events, error } = await drain(es, 2);
    expect(events.map((e) => e.action)).toEqual(['create', 'health_status']);
    expect(error).toBeUndefined();
    expect(body.destroyed).toBe(true);
    expect(es.closed).toBe(true);
    expect(closedCalls).toBe(1);
  });

  it('close() while waiting ends the iteration normally', async () => {
    const body = new PassThrough();
    const es = new EventStream(body, SOCK);
    const pending = drain(es);
    await new Promise((r) => setTimeout(r, 20));
    await es.close();
    expect(await pending).toEqual({ events: [], error: undefined });
    expect(body.destroyed).toBe(true);
  });

  it('await using closes it', async () => {
    const body = new PassThrough();
    {
      await using es = new EventStream(body, SOCK);
      expect(es.closed).toBe(false);
    }
    expect(body.destroyed).toBe(true);
  });

  it('a stream the daemon ends is an EventStreamLost, not a silent end', async () => {
    const body = new PassThrough();
    const es = new EventStream(body, SOCK);
    body.end(create);
    const { events, error } = await drain(es);
    expect(events.map((e) => e.action)).toEqual(['create']);
    expect(error).toBeInstanceOf(EventStreamLost);
    expect((error as EventStreamLost).code).toBe('EVENT_STREAM_LOST');
    expect((error as Error).message).toBe(
      'event stream from the Docker Engine at /var/run/docker.sock was lost (the daemon ended the stream): events after the last one received were not seen; open a new stream with { since } set to that event\'s time',
    );
  });

  it('a stream cut in the middle of an event says so', async () => {
    const body = new PassThrough();
    const es = new EventStream(body, SOCK);
    body.end(create + create.slice(0, 10));
    const { error } = await drain(es);
    expect((error as Error).message).toBe(
      'event stream from the Docker Engine at /var/run/docker.sock was lost (the daemon ended the stream; the stream ended inside an event (10 characters unparsed)): events after the last one received were not seen; open a new stream with { since } set to that event\'s time',
    );
  });

  it('a socket error is an EventStreamLost carrying the cause', async () => {
    const body = new PassThrough();
    const es = new EventStream(body, SOCK);
    const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    setTimeout(() => body.destroy(cause), 10);
    const { error } = await drain(es);
    expect(error).toBeInstanceOf(EventStreamLost);
    expect((error as Error).message).toMatch(/^event stream from the Docker Engine at \/var\/run\/docker.sock was lost \(the connection was reset\)/);
    expect((error as Error).cause).toBe(cause);
  });

  it('text that is not JSON events is an EventStreamMalformed', async () => {
    const body = new PassThrough();
    const es = new EventStream(body, SOCK);
    body.write(`${create}<html>`);
    const { events, error } = await drain(es);
    expect(events).toHaveLength(1);
    expect(error).toBeInstanceOf(EventStreamMalformed);
    expect((error as EventStreamMalformed).info).toMatchObject({
      code: 'EVENT_STREAM_MALFORMED',
      message: `event stream from the Docker Engine at /var/run/docker.sock is malformed: expected "{" to start an event, got "<" at offset ${create.length}`,
    });
    expect(body.destroyed).toBe(true);
  });

  it('refuses a second iteration, and iteration after close', async () => {
    const es = new EventStream(new PassThrough(), SOCK);
    es[Symbol.asyncIterator]();
    expect(() => es[Symbol.asyncIterator]()).toThrow(new Misuse('the event stream from /var/run/docker.sock is already being iterated: iterate a stream once'));
    const closed = new EventStream(new PassThrough(), SOCK);
    await closed.close();
    let err: unknown;
    try {
      closed[Symbol.asyncIterator]();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'MISUSE', message: 'the event stream from /var/run/docker.sock is closed: open a new one with events()' });
  });
});
