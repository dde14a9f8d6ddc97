import { describe, expect, it } from 'vitest';
import { FramingError, JsonStreamFramer } from '@sdmi/ovsdb';

const enc = new TextEncoder();

/** Feeds `chunks` in order and returns everything the framer produced. */
function feed(framer: JsonStreamFramer, chunks: Array<string | Uint8Array>): unknown[] {
  return chunks.flatMap((c) => framer.push(c));
}

// Hand-written wire text (not produced by JSON.stringify of the expected values).
const tricky = [
  '{"id":1,"result":["Open_vSwitch","_Server"],"error":null}',
  '{"method":"update","params":["m{1}",{"Port":{"a":{"new":{"name":"p\\"}{[x"}}}}],"id":null}',
  '  \n',
  '{"s":"back\\\\slash\\\\","t":"\\\\\\"q","u":"]]]}}}"}',
  '["echo",{"k":"ünï€ø 🙂"}]',
];
const expected = [
  { id: 1, result: ['Open_vSwitch', '_Server'], error: null },
  { method: 'update', params: ['m{1}', { Port: { a: { new: { name: 'p"}{[x' } } } }], id: null },
  { s: 'back\\slash\\', t: '\\"q', u: ']]]}}}' },
  ['echo', { k: 'ünï€ø 🙂' }],
];
const wire = tricky.join('');

describe('JsonStreamFramer', () => {
  it('parses coalesced values in one chunk, with or without whitespace between them', () => {
    expect(feed(new JsonStreamFramer(), [wire])).toEqual(expected);
    expect(feed(new JsonStreamFramer(), [tricky.join('\n')])).toEqual(expected);
  });

  it('yields the same values when the stream is split at every character offset', () => {
    for (let i = 0; i <= wire.length; i++) {
      const framer = new JsonStreamFramer();
      expect(feed(framer, [wire.slice(0, i), wire.slice(i)]), `split at ${i}`).toEqual(expected);
      expect(framer.pending).toBe(0);
    }
  });

  it('yields the same values when the bytes are split at every offset (UTF-8 sequences cut in half)', () => {
    const bytes = enc.encode(wire);
    for (let i = 0; i <= bytes.length; i++) {
      const framer = new JsonStreamFramer();
      expect(feed(framer, [bytes.subarray(0, i), bytes.subarray(i)]), `split at byte ${i}`).toEqual(expected);
    }
  });

  it('handles one byte per chunk', () => {
    const bytes = enc.encode(wire);
    const framer = new JsonStreamFramer();
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...framer.push(bytes.subarray(i, i + 1)));
    expect(out).toEqual(expected);
  });

  it('keeps an incomplete value until its end arrives', () => {
    const framer = new JsonStreamFramer();
    expect(framer.push('{"a":"}"')).toEqual([]);
    expect(framer.pending).toBeGreaterThan(0);
    expect(framer.push(',"b":[1,{"c":2}]}{"d"')).toEqual([{ a: '}', b: [1, { c: 2 }] }]);
    expect(framer.push(':3}')).toEqual([{ d: 3 }]);
  });

  it('reports garbage between values as a FramingError and refuses further input', () => {
    const framer = new JsonStreamFramer();
    const out = framer.push('{"a":1} x{"b":2}');
    expect(out[0]).toEqual({ a: 1 });
    expect(out[1]).toBeInstanceOf(FramingError);
    expect(out).toHaveLength(2);
    const again = framer.push('{"c":3}');
    expect(again).toHaveLength(1);
    expect(again[0]).toBeInstanceOf(FramingError);
  });

  it('reports a balanced but invalid value as a FramingError with the JSON.parse cause', () => {
    const [e] = new JsonStreamFramer().push('{"a":1,}');
    expect(e).toBeInstanceOf(FramingError);
    expect((e as FramingError).cause).toBeInstanceOf(SyntaxError);
  });

  it('refuses a value larger than the limit', () => {
    const framer = new JsonStreamFramer({ maxMessageBytes: 16 });
    const out = framer.push('{"a":"0123456789012345678901234567890"');
    expect(out).toHaveLength(1);
    expect(out[0]).toBeInstanceOf(FramingError);
    expect((out[0] as Error).message).toMatch(/exceeds 16/);
  });
});
