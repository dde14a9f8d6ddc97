// Request signatures (pure): who signed what, and every way a signature must fail.
import { nkeys } from '@nats-io/nats-core';
import { describe, expect, it } from 'vitest';
import { SignatureHeaders, signRequest, signerFromSeed, verifyRequest } from '../src/index';

const alice = signerFromSeed(nkeys.createUser().getSeed());
const mallory = signerFromSeed(nkeys.createUser().getSeed());
const subject = 'sdmi.cmd.scheduler';
const body = new TextEncoder().encode('{"id":"x"}');
const now = new Date('2026-12-02T19:00:00Z');

describe('request signatures', () => {
  it('a signed request verifies as its signer', () => {
    const h = signRequest(alice, subject, body, now);
    expect(h.get(SignatureHeaders.principal)).toBe(alice.publicKey);
    expect(verifyRequest(subject, body, h, now)).toEqual({ ok: true, publicKey: alice.publicKey });
    // A string body signs the same bytes.
    expect(verifyRequest(subject, body, signRequest(alice, subject, '{"id":"x"}', now), now).ok).toBe(true);
  });

  it('no headers: unsigned', () => {
    expect(verifyRequest(subject, body, undefined, now)).toMatchObject({ ok: false, reason: 'unsigned' });
  });

  it('another body, another subject, or another time than signed: bad signature', () => {
    const h = signRequest(alice, subject, body, now);
    expect(verifyRequest(subject, new TextEncoder().encode('{"id":"y"}'), h, now)).toMatchObject({ ok: false, reason: 'bad-signature', publicKey: alice.publicKey });
    expect(verifyRequest('sdmi.cmd.network-controller', body, h, now)).toMatchObject({ ok: false, reason: 'bad-signature' });
    const later = signRequest(alice, subject, body, now);
    later.set(SignatureHeaders.signedAt, new Date(now.getTime() + 1000).toISOString());
    expect(verifyRequest(subject, body, later, now)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('someone else claiming the key: bad signature', () => {
    const h = signRequest(mallory, subject, body, now);
    h.set(SignatureHeaders.principal, alice.publicKey);
    expect(verifyRequest(subject, body, h, now)).toMatchObject({ ok: false, reason: 'bad-signature', publicKey: alice.publicKey });
  });

  it('signed too long ago or too far ahead: expired', () => {
    const h = signRequest(alice, subject, body, new Date(now.getTime() - 6 * 60_000));
    expect(verifyRequest(subject, body, h, now)).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifyRequest(subject, body, signRequest(alice, subject, body, new Date(now.getTime() + 6 * 60_000)), now)).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifyRequest(subject, body, h, now, 10 * 60_000).ok).toBe(true);
  });

  it('malformed headers are named, not trusted', () => {
    const h = signRequest(alice, subject, body, now);
    h.set(SignatureHeaders.principal, 'not-a-key');
    expect(verifyRequest(subject, body, h, now)).toMatchObject({ ok: false, reason: 'malformed' });
    const t = signRequest(alice, subject, body, now);
    t.set(SignatureHeaders.signedAt, 'yesterday');
    expect(verifyRequest(subject, body, t, now)).toMatchObject({ ok: false, reason: 'malformed' });
    const s = signRequest(alice, subject, body, now);
    s.set(SignatureHeaders.signature, 'AAAA');
    expect(verifyRequest(subject, body, s, now)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });
});
