import fc from 'fast-check';
import { Framer, decode, encode, ipv6FromString, ipv6ToString } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { anyMessage, bundleAdd, messageArbs } from './arbitraries';

describe('round trip message → bytes → message', () => {
  const cases = [...Object.entries(messageArbs), ['BUNDLE_ADD_MESSAGE', bundleAdd] as const];
  it.each(cases)('%s', (_name, arb) => {
    fc.assert(
      fc.property(arb, (msg) => {
        const bytes = encode(msg);
        expect(bytes.readUInt16BE(2)).toBe(bytes.length);
        expect(decode(bytes)).toEqual({ ok: true, message: msg });
      }),
      { numRuns: 200 },
    );
  });

  it('frames any sequence of messages cut into any chunks', () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map(encode));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const f = new Framer();
        const out = [];
        let prev = 0;
        for (const p of [...points, stream.length]) {
          out.push(...f.push(stream.subarray(prev, p)));
          prev = p;
        }
        expect(out).toEqual(msgs.map((message) => ({ ok: true, message })));
      }),
      { numRuns: 200 },
    );
  });
});

describe('IPv6 text (RFC 5952)', () => {
  it.each([
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['fe80::', 'fe800000000000000000000000000000'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001'], // a single zero group is not compressed
    ['2001:0:0:1::1', '20010000000000010000000000000001'], // the longest run wins
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001'],
  ])('%s', (textForm, hex) => {
    expect(ipv6FromString(textForm).toString('hex')).toBe(hex);
    if (!textForm.includes('.')) expect(ipv6ToString(Buffer.from(hex, 'hex'))).toBe(textForm);
  });
});
