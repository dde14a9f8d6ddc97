// Who sent a request. NATS 2.9 tells a receiver nothing about the sender, and a reply subject can
// be forged by anyone allowed to publish, so a principal is proved by a signature: the sender signs
// the subject, a timestamp and the body with its nkey (the key its connection authenticated with),
// and the receiver checks it against the public keys it knows. The signed text binds the subject
// (a command signed for one service cannot be replayed to another) and the time (a captured
// request is worthless after the allowed skew; a resent task is deduplicated by its id anyway).
import { headers as natsHeaders, nkeys, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';

export const SignatureHeaders = {
  /** The signer's public nkey (`U...`). */
  principal: 'Sdmi-Principal',
  /** When it was signed, ISO 8601. */
  signedAt: 'Sdmi-Signed-At',
  /** base64url of the Ed25519 signature over {@link signedText}. */
  signature: 'Sdmi-Signature',
} as const;

/** How far a signature's time may be from the receiver's clock. */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

/** Holds a private key and signs with it; never exposes the seed. */
export interface Signer {
  readonly publicKey: string;
  sign(data: Uint8Array): Uint8Array;
}

/** A signer over an nkey user seed (the bytes of `SU...`). */
export function signerFromSeed(seed: Uint8Array): Signer {
  const kp = nkeys.fromSeed(seed);
  return { publicKey: kp.getPublicKey(), sign: (data) => kp.sign(data) };
}

const PREFIX = new TextEncoder().encode('sdmi-request-v1\n');

/** What is signed: a version tag, the subject, the time and the body, so none can be swapped. */
export function signedText(subject: string, signedAt: string, body: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`${subject}\n${signedAt}\n`);
  const out = new Uint8Array(PREFIX.length + head.length + body.length);
  out.set(PREFIX, 0);
  out.set(head, PREFIX.length);
  out.set(body, PREFIX.length + head.length);
  return out;
}

const toBytes = (data: string | Uint8Array): Uint8Array => (typeof data === 'string' ? new TextEncoder().encode(data) : data);

/** The headers that prove `signer` sent `body` on `subject` now. */
export function signRequest(signer: Signer, subject: string, body: string | Uint8Array, now: Date = new Date()): MsgHdrs {
  const signedAt = now.toISOString();
  const h = natsHeaders();
  h.set(SignatureHeaders.principal, signer.publicKey);
  h.set(SignatureHeaders.signedAt, signedAt);
  h.set(SignatureHeaders.signature, Buffer.from(signer.sign(signedText(subject, signedAt, toBytes(body)))).toString('base64url'));
  return h;
}

export type Verification =
  | { readonly ok: true; readonly publicKey: string }
  | { readonly ok: false; readonly reason: 'unsigned' | 'malformed' | 'bad-signature' | 'expired'; readonly publicKey?: string; readonly message: string };

/**
 * Whether `headers` prove who sent `body` on `subject`: a well-formed user key, a time within
 * `maxSkewMs` of `now`, and a signature by that key. Says who claims it even when it fails, for the
 * audit; whether the key belongs to anyone is the caller's question.
 */
export function verifyRequest(subject: string, body: Uint8Array, headers: MsgHdrs | undefined, now: Date = new Date(), maxSkewMs = DEFAULT_MAX_SKEW_MS): Verification {
  const publicKey = headers?.get(SignatureHeaders.principal) ?? '';
  const signedAt = headers?.get(SignatureHeaders.signedAt) ?? '';
  const signature = headers?.get(SignatureHeaders.signature) ?? '';
  if (!publicKey && !signature) return { ok: false, reason: 'unsigned', message: `the request carries no ${SignatureHeaders.principal}/${SignatureHeaders.signature} headers: it must be signed with the sender's nkey` };
  if (!/^U[A-Z2-7]{55}$/.test(publicKey)) return { ok: false, reason: 'malformed', message: `${SignatureHeaders.principal} is not an nkey user public key` };
  const at = Date.parse(signedAt);
  if (!/^\d{4}-\d\d-\d\dT/.test(signedAt) || Number.isNaN(at)) return { ok: false, reason: 'malformed', publicKey, message: `${SignatureHeaders.signedAt} is not an ISO 8601 time` };
  if (Math.abs(now.getTime() - at) > maxSkewMs) {
    return { ok: false, reason: 'expired', publicKey, message: `signed at ${signedAt}, more than ${Math.round(maxSkewMs / 1000)} s from this service's clock (${now.toISOString()})` };
  }
  let good = false;
  try {
    const sig = Buffer.from(signature, 'base64url');
    good = sig.length === 64 && nkeys.fromPublic(publicKey).verify(signedText(subject, signedAt, body), sig);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad-signature', publicKey, message: `${SignatureHeaders.signature} is not ${publicKey}'s signature of this request` };
  return { ok: true, publicKey };
}

// The signer of a connection is the key it authenticated with: connectNats and the service runtime
// bind it, and every RdmpClient on that connection signs with it without being told.
const signers = new WeakMap<NatsConnection, Signer>();

export function bindSigner(nc: NatsConnection, signer: Signer): void {
  signers.set(nc, signer);
}

export function signerOf(nc: NatsConnection): Signer | undefined {
  return signers.get(nc);
}
