// The nkey form of an Ed25519 public key, and the raw key inside a PKCS#11 CKA_EC_POINT. An nkey
// user public key is base32 (RFC 4648, no padding) of: the prefix byte of 'U' (20 << 3 = 160),
// the 32-byte key, and a CRC-16/XMODEM of those 33 bytes, little endian: 56 characters, `U...`.
// @nats-io/nkeys does the same but keeps its codec internal; tests check this against it.

const USER_PREFIX = 20 << 3;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function base32(data: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The nkey user public key (`U...`) of a raw 32-byte Ed25519 public key. */
export function nkeyUserPublicKey(raw: Uint8Array): string {
  if (raw.length !== 32) throw new RangeError(`an Ed25519 public key has 32 bytes, not ${raw.length}`);
  const body = new Uint8Array(35);
  body[0] = USER_PREFIX;
  body.set(raw, 1);
  const crc = crc16(body.subarray(0, 33));
  body[33] = crc & 0xff;
  body[34] = crc >>> 8;
  return base32(body);
}

/**
 * The raw 32-byte key of an Ed25519 CKA_EC_POINT: PKCS#11 3.0 says a DER OCTET STRING (`04 20`
 * followed by the key), which SoftHSM writes; some tokens give the 32 bytes bare. Undefined for
 * anything else.
 */
export function ed25519FromEcPoint(point: Uint8Array): Uint8Array | undefined {
  if (point.length === 34 && point[0] === 0x04 && point[1] === 0x20) return point.slice(2);
  if (point.length === 32) return point.slice();
  return undefined;
}

/** CKA_EC_PARAMS naming Ed25519: the OID 1.3.101.112, or the PrintableString "edwards25519" (PKCS#11 3.0 allows both). */
export function isEd25519Params(params: Uint8Array): boolean {
  const hex = Buffer.from(params).toString('hex');
  return hex === '06032b6570' || hex === `130c${Buffer.from('edwards25519').toString('hex')}`;
}
