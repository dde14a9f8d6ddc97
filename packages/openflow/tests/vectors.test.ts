import { execFileSync } from 'node:child_process';
import { DecodeError, Framer, decode, encode } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { vectors } from './vectors';

describe.each(vectors)('$name', (v) => {
  it('decodes to the expected message', () => {
    expect(decode(v.bytes)).toEqual({ ok: true, message: v.message });
  });

  it('encodes to the expected bytes', () => {
    expect(encode(v.message).toString('hex')).toBe(v.bytes.toString('hex'));
  });

  it('round-trips bytes → message → bytes', () => {
    const r = decode(v.bytes);
    if (!r.ok) throw r.error;
    expect(encode(r.message).toString('hex')).toBe(v.bytes.toString('hex'));
  });

  it('gives a DecodeError, never a throw, when truncated at any offset', () => {
    for (let n = 0; n < v.bytes.length; n++) {
      const r = decode(v.bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error).toBeInstanceOf(DecodeError);
        expect(r.error.reason).toBe('TRUNCATED');
      }
    }
  });

  it('gives a DecodeError when the length field claims less than the body needs', () => {
    // Shrink ofp_header.length (and cut the buffer to match) at every 8-byte step below the size.
    for (let n = 8; n < v.bytes.length; n += 1) {
      const cut = Buffer.from(v.bytes.subarray(0, n));
      cut.writeUInt16BE(n, 2);
      const r = decode(cut);
      // Some cuts are themselves valid (a PACKET_OUT's data, an ECHO payload); the rest must fail cleanly.
      if (!r.ok) expect(r.error).toBeInstanceOf(DecodeError);
    }
  });

  it('frames the same message split at every offset', () => {
    for (let cut = 0; cut <= v.bytes.length; cut++) {
      const f = new Framer();
      const out = [...f.push(v.bytes.subarray(0, cut)), ...f.push(v.bytes.subarray(cut))];
      expect(out).toEqual([{ ok: true, message: v.message }]);
      expect(f.buffered).toBe(0);
    }
  });

  if (v.ovs) {
    it('is read the same way by Open vSwitch (ovs-ofctl ofp-print)', () => {
      const printed = execFileSync('ovs-ofctl', ['ofp-print', v.bytes.toString('hex')], { encoding: 'utf8' });
      expect(printed).not.toMatch(/decode error|bad|invalid/i);
      for (const s of v.ovs ?? []) expect(printed).toContain(s);
    });
  }
});

describe('Framer', () => {
  const all = Buffer.concat(vectors.map((v) => v.bytes));
  const expected = vectors.map((v) => ({ ok: true, message: v.message }));

  it('yields every message of a coalesced read, in order', () => {
    expect(new Framer().push(all)).toEqual(expected);
  });

  it('yields the same messages when the stream is split at every offset', () => {
    for (let cut = 0; cut <= all.length; cut += 1) {
      const f = new Framer();
      expect([...f.push(all.subarray(0, cut)), ...f.push(all.subarray(cut))]).toEqual(expected);
    }
  });

  it('yields the same messages when fed one byte at a time', () => {
    const f = new Framer();
    const out = [];
    for (const byte of all) out.push(...f.push(Buffer.of(byte)));
    expect(out).toEqual(expected);
  });

  it('keeps the remainder until the message is complete', () => {
    const f = new Framer();
    expect(f.push(all.subarray(0, 11))).toEqual([]);
    expect(f.buffered).toBe(11);
  });

  it('reports a length field below 8 as a framing DecodeError and stops', () => {
    const f = new Framer();
    const first = vectors[0]!.bytes;
    const out = f.push(Buffer.concat([first, Buffer.from([0x04, 0x00, 0x00, 0x04, 0, 0, 0, 1])]));
    expect(out[0]).toEqual({ ok: true, message: vectors[0]!.message });
    expect(out[1]?.ok).toBe(false);
    if (out[1] && !out[1].ok) {
      expect(out[1].error.reason).toBe('BAD_LENGTH');
      expect(out[1].error.offset).toBe(first.length + 2);
    }
    expect(f.failed?.reason).toBe('BAD_LENGTH');
    expect(f.push(first)).toEqual([]);
  });

  it('refuses a length above maxMessageLength', () => {
    const f = new Framer({ maxMessageLength: 1024 });
    const out = f.push(Buffer.from([0x04, 0x0e, 0x10, 0x00, 0, 0, 0, 1]));
    expect(out).toHaveLength(1);
    expect(out[0]?.ok === false && out[0].error.reason).toBe('BAD_LENGTH');
  });

  it('passes on a malformed but well-framed message and keeps framing', () => {
    const bad = Buffer.from([0x04, 0x63, 0x00, 0x08, 0, 0, 0, 1]); // type 99 does not exist
    const out = new Framer().push(Buffer.concat([bad, vectors[0]!.bytes]));
    expect(out[0]?.ok === false && out[0].error.reason).toBe('UNSUPPORTED_TYPE');
    expect(out[1]).toEqual({ ok: true, message: vectors[0]!.message });
  });
});

describe('decode errors', () => {
  it('refuses a version other than 1.3 (HELLO excepted)', () => {
    const r = decode(Buffer.from([0x01, 0x14, 0x00, 0x08, 0, 0, 0, 1]));
    expect(r.ok === false && r.error.reason).toBe('BAD_VERSION');
    const hello = decode(Buffer.from([0x06, 0x00, 0x00, 0x08, 0, 0, 0, 1]));
    expect(hello).toEqual({ ok: true, message: { type: 'HELLO', xid: 1, version: 6, elements: [] } });
  });

  it('refuses bytes after the message', () => {
    const r = decode(Buffer.from([0x04, 0x14, 0x00, 0x08, 0, 0, 0, 1, 0]));
    expect(r.ok === false && r.error.reason).toBe('BAD_LENGTH');
  });

  it('refuses a body where the spec has none', () => {
    const r = decode(Buffer.from([0x04, 0x14, 0x00, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0]));
    expect(r.ok === false && r.error).toMatchObject({ reason: 'BAD_LENGTH', offset: 8, xid: 1, messageType: 0x14 });
  });

  it('refuses a mask on a field the spec does not let be masked (IN_PORT)', () => {
    const bytes = Buffer.from([
      0x04, 0x0a, 0x00, 0x2a, 0, 0, 0, 0, // PACKET_IN, length 42
      0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, // buffer, total_len, reason, table, cookie
      0x00, 0x01, 0x00, 0x10, 0x80, 0x00, 0x01, 0x08, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, // IN_PORT with HM bit
      0x00, 0x00, // pad
    ]);
    const r = decode(bytes);
    expect(r.ok === false && r.error).toMatchObject({ reason: 'BAD_VALUE', offset: 28 });
  });

  it('refuses an action length that is not a multiple of 8', () => {
    const bytes = Buffer.from([
      0x04, 0x0d, 0x00, 0x24, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0x00, 0x0c, 0, 0, 0, 0, 0, 0,
      0x00, 0x00, 0x00, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0, // OUTPUT with len 12
    ]);
    const r = decode(bytes);
    expect(r.ok === false && r.error).toMatchObject({ reason: 'BAD_LENGTH', offset: 26 });
  });
});
