import { describe, expect, it } from 'vitest';
import { Deframer, FramingError, encodeChunked, encodeEom } from '@sdmi/netconf';

/** Feeds `bytes` to a deframer in the given piece sizes (cycled) and collects the messages. */
function feed(d: Deframer, bytes: Buffer, sizes: number[]): string[] {
  const out: string[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    d.push(bytes.subarray(at, at + n));
    at += n;
    for (let m = d.next(); m !== undefined; m = d.next()) out.push(m);
  }
  return out;
}

describe('base:1.1 chunked framing', () => {
  it('encodes a message as chunks of at most the chunk size, then end-of-chunks', () => {
    expect(encodeChunked('<a/>').toString()).toBe('\n#4\n<a/>\n##\n');
    expect(encodeChunked('abcdefg', 3).toString()).toBe('\n#3\nabc\n#3\ndef\n#1\ng\n##\n');
    // sizes are in octets, not characters
    expect(encodeChunked('é').toString()).toBe('\n#2\né\n##\n');
  });

  it('reads a message split into several chunks', () => {
    const d = new Deframer('chunked');
    d.push(Buffer.from('\n#4\n<rpc\n#17\n message-id="1"/>\n##\n'));
    expect(d.next()).toBe('<rpc message-id="1"/>');
    expect(d.next()).toBeUndefined();
    expect(d.pending).toBe(0);
  });

  it('reads messages whatever the TCP reads cut: inside headers, sizes, data and end-of-chunks', () => {
    const msgs = ['<hello/>', `<rpc-reply>${'x'.repeat(300)}é</rpc-reply>`, '<ok/>'];
    const bytes = Buffer.concat(msgs.map((m, i) => encodeChunked(m, 7 + i * 50)));
    for (const sizes of [[1], [2], [3, 1], [5, 11, 2], [bytes.length]]) {
      expect(feed(new Deframer('chunked'), bytes, sizes), `pieces of ${sizes.join(',')}`).toEqual(msgs);
    }
  });

  it('keeps a multi-byte character whole when a chunk boundary cuts it', () => {
    const body = Buffer.from('<a>é</a>');
    // chunk 1 ends in the middle of é (0xC3 | 0xA9)
    const framed = Buffer.concat([Buffer.from('\n#4\n'), body.subarray(0, 4), Buffer.from(`\n#${body.length - 4}\n`), body.subarray(4), Buffer.from('\n##\n')]);
    expect(feed(new Deframer('chunked'), framed, [1])).toEqual(['<a>é</a>']);
  });

  it.each([
    ['no "\\n#" at the start', '<rpc/>\n##\n'],
    ['a size with a leading zero', '\n#04\nabcd\n##\n'],
    ['a size of zero', '\n#0\n\n##\n'],
    ['a size that is not a number', '\n#x1\nabcd\n##\n'],
    ['a size over 4294967295', '\n#4294967296\nabcd'],
    ['a size with too many digits', '\n#12345678901234\n'],
    ['end-of-chunks before any chunk', '\n##\n'],
    ['a bad end-of-chunks', '\n#1\na\n##x'],
    ['data longer than the chunk size', '\n#1\nab\n##\n'],
  ])('refuses %s with a FramingError', (_what, input) => {
    const d = new Deframer('chunked');
    expect(() => feed(d, Buffer.from(input, 'latin1'), [1])).toThrow(FramingError);
    // and stays failed
    expect(() => d.next()).toThrow(FramingError);
  });

  it('refuses a message over the size limit before it has all come', () => {
    const d = new Deframer('chunked', 10);
    d.push(Buffer.from('\n#11\n'));
    expect(() => d.next()).toThrow(/over 10 octets/);
  });
});

describe('base:1.0 end-of-message framing', () => {
  it('encodes and reads messages, the delimiter cut across reads', () => {
    expect(encodeEom('<a/>').toString()).toBe('<a/>]]>]]>');
    const bytes = Buffer.concat([encodeEom('<hello/>'), encodeEom('<rpc-reply>é</rpc-reply>')]);
    for (const sizes of [[1], [3], [4, 7], [bytes.length]]) {
      expect(feed(new Deframer('eom'), bytes, sizes)).toEqual(['<hello/>', '<rpc-reply>é</rpc-reply>']);
    }
  });

  it('refuses to send a message that holds the delimiter', () => {
    expect(() => encodeEom('<a>]]>]]></a>')).toThrow(FramingError);
  });

  it('switches to chunked framing between two messages, bytes already received included', () => {
    const d = new Deframer('eom');
    d.push(Buffer.concat([encodeEom('<hello/>'), encodeChunked('<rpc-reply/>')]));
    expect(d.next()).toBe('<hello/>');
    d.framing = 'chunked';
    expect(d.next()).toBe('<rpc-reply/>');
  });
});
