import fc from 'fast-check';
import { DecodeError, Framer, decode, encode } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { anyMessage } from './arbitraries';
import { vectors } from './vectors';

function checkResult(r: ReturnType<typeof decode>): void {
  if (r.ok) {
    // Whatever decodes must encode again, to a message that decodes to the same value.
    expect(decode(encode(r.message))).toEqual(r);
  } else {
    expect(r.error).toBeInstanceOf(DecodeError);
    expect(r.error.offset).toBeGreaterThanOrEqual(0);
  }
}

describe('fuzz: decode and the framer never throw', () => {
  it('random bytes with a plausible header', () => {
    fc.assert(
      fc.property(u8s(0, 120), fc.integer({ min: 0, max: 35 }), (body, type) => {
        const b = Buffer.concat([Buffer.from([0x04, type, 0, 0, 0, 0, 0, 1]), body]);
        b.writeUInt16BE(b.length, 2);
        checkResult(decode(b));
        for (const r of new Framer().push(b)) if (!r.ok) expect(r.error).toBeInstanceOf(DecodeError);
      }),
      { numRuns: 10_000 },
    );
  });

  it('mutated valid messages (byte flips, truncation, length rewrites)', () => {
    const seeds = fc.oneof(fc.constantFrom(...vectors.map((v) => v.bytes)), anyMessage.map(encode));
    fc.assert(
      fc.property(
        seeds,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        (seed, edits, cut, fixLength) => {
        let b = Buffer.from(seed);
        for (const [at, v] of edits) b[at % b.length] = v;
        if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
        // Sometimes make the header agree with the (cut) size, so the body parsers see the damage.
        if (fixLength && b.length >= 4) b.writeUInt16BE(b.length, 2);
        checkResult(decode(b));
        const f = new Framer();
        const out = [...f.push(b.subarray(0, b.length >> 1)), ...f.push(b.subarray(b.length >> 1))];
        for (const r of out) if (!r.ok) expect(r.error).toBeInstanceOf(DecodeError);
        },
      ),
      { numRuns: 10_000 },
    );
  });
});

function u8s(min: number, max: number): fc.Arbitrary<Buffer> {
  return fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
}
