// The nkey form of a raw Ed25519 public key, checked against @nats-io/nkeys itself.
import { describe, expect, it } from 'vitest';
import { createUser, fromPublic } from '@nats-io/nkeys';
import { Codec } from '@nats-io/nkeys/lib/codec';
import { ed25519FromEcPoint, isEd25519Params, nkeyUserPublicKey } from '../src/index';

const rawOf = (publicKey: string): Uint8Array => Codec.decode(20 << 3, new TextEncoder().encode(publicKey));

describe('nkey user public key from a raw Ed25519 key', () => {
  it('is what nkeys computes for 200 seed-made pairs, and nkeys accepts it back', () => {
    for (let i = 0; i < 200; i++) {
      const kp = createUser();
      const derived = nkeyUserPublicKey(rawOf(kp.getPublicKey()));
      expect(derived).toBe(kp.getPublicKey());
      expect(fromPublic(derived).getPublicKey()).toBe(derived);
    }
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => nkeyUserPublicKey(new Uint8Array(31))).toThrow(/32 bytes, not 31/);
  });
});

describe('CKA_EC_POINT and CKA_EC_PARAMS of Ed25519', () => {
  const key = new Uint8Array(32).map((_, i) => i + 1);
  it('takes the DER OCTET STRING (04 20 ...) and the bare 32 bytes, nothing else', () => {
    expect(ed25519FromEcPoint(Uint8Array.from([0x04, 0x20, ...key]))).toEqual(key);
    expect(ed25519FromEcPoint(key)).toEqual(key);
    expect(ed25519FromEcPoint(Uint8Array.from([0x04, 0x21, ...key, 0]))).toBeUndefined();
    expect(ed25519FromEcPoint(Uint8Array.from([0x04, 0x39, ...new Uint8Array(57)]))).toBeUndefined();
  });

  it('knows Ed25519 by OID 1.3.101.112 or by the name edwards25519, not Ed448', () => {
    expect(isEd25519Params(Buffer.from('06032b6570', 'hex'))).toBe(true);
    expect(isEd25519Params(Buffer.from('130c656477617264733235353139', 'hex'))).toBe(true); // PrintableString, as SoftHSM writes it
    expect(isEd25519Params(Buffer.from('06032b6571', 'hex'))).toBe(false); // Ed448
    expect(isEd25519Params(Buffer.from('130a65647761726473343438', 'hex'))).toBe(false); // edwards448
  });
});
