// natsCredentials with a key in a real SoftHSM v2 token (SDMI_NATS_PKCS11_*): the authenticator
// answers a nonce and the signer signs requests inside the token, both verifiable under the
// derived nkey public key; a seed file and a token key together, and every unusable token setting,
// are specific NatsCredentialsErrors that never carry the PIN.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nkeys } from '@nats-io/nats-core';
import { Testbed, type SoftHsmToken } from '@sdmi/testbed';
import { NatsCredentialsError, connectNats, natsCredentials, signRequest, verifyRequest } from '../src/index';

const tb = new Testbed();
let token: SoftHsmToken;
let pin: string;
let env: Record<string, string>;

function refusal(e: Record<string, string>): NatsCredentialsError {
  try {
    natsCredentials(e);
  } catch (err) {
    expect(err).toBeInstanceOf(NatsCredentialsError);
    const c = err as NatsCredentialsError;
    expect(`${c.message}\n${String(c.stack)}\n${String((c.cause as Error | undefined)?.stack)}`).not.toContain(pin);
    return c;
  }
  throw new Error('no refusal');
}

beforeAll(async () => {
  token = await tb.softHsmToken();
  process.env.SOFTHSM2_CONF = token.conf;
  pin = readFileSync(token.pinFile, 'utf8').trim();
  env = {
    SDMI_NATS_PKCS11_MODULE: token.module,
    SDMI_NATS_PKCS11_TOKEN: token.tokenLabel,
    SDMI_NATS_PKCS11_KEY: token.keyLabel,
    SDMI_NATS_PKCS11_PIN_FILE: token.pinFile,
  };
}, 60_000);

afterAll(() => tb.dispose());

describe('the native addon', () => {
  // Every service imports @sdmi/bus: one without token settings must not load native code.
  it('is not loaded by importing @sdmi/bus and reading credentials without SDMI_NATS_PKCS11_*; it is once they are used', () => {
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const script = [
      `const bus = await import(${JSON.stringify(index)});`,
      "const native = () => process.report.getReport().sharedObjects.filter((s) => /pkcs11|softhsm/i.test(s));",
      'bus.natsCredentials({});',
      'const before = native();',
      `bus.natsCredentials(${JSON.stringify(env)});`,
      'console.log(JSON.stringify({ before, after: native() }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...token.env }, encoding: 'utf8', timeout: 60_000 });
    const { before, after } = JSON.parse(out) as { before: string[]; after: string[] };
    expect(before).toEqual([]);
    expect(after.some((s) => s.endsWith('/pkcs11.node'))).toBe(true);
    expect(after.some((s) => s.endsWith('/libsofthsm2.so'))).toBe(true);
  });
});

describe('a PKCS#11 token key as the connection credential', () => {
  // First, while no key of the token is open in this process: the token itself judges the PIN.
  it('a wrong PIN is the token\'s refusal, naming the PIN file and not the PIN', () => {
    const wrong = join(token.dir, 'wrong-pin');
    writeFileSync(wrong, `${pin.slice(1)}x\n`, { mode: 0o600 });
    const e = refusal({ ...env, SDMI_NATS_PKCS11_PIN_FILE: wrong });
    expect(e.message).toBe(`SDMI_NATS_PKCS11_PIN_FILE=${wrong}: the token "${token.tokenLabel}" refused the PIN in this file (CKR_PIN_INCORRECT)`);
    expect((e.cause as Error).name).toBe('TokenPinRefused');
  });

  it('a connection that cannot be made lets go of the token key', async () => {
    // Nothing listens on port 1. Had the key stayed open (logged in), the wrong PIN below would be
    // refused by this process's own check, not by the token.
    await expect(connectNats('test-p11', 'nats://127.0.0.1:1', env)).rejects.toThrow();
    const wrong = join(token.dir, 'wrong-pin-2');
    writeFileSync(wrong, `x${pin}\n`, { mode: 0o600 });
    expect(refusal({ ...env, SDMI_NATS_PKCS11_PIN_FILE: wrong }).message).toMatch(/refused the PIN in this file \(CKR_PIN_INCORRECT\)$/);
  });

  it('the authenticator signs the server nonce in the token, under the token key\'s nkey', () => {
    const { options, signer } = natsCredentials(env);
    expect(signer?.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    expect(options.inboxPrefix).toBe(`_INBOX.${signer!.publicKey}`);
    const auth = options.authenticator as (nonce?: string) => { nkey: string; sig: string };
    const { nkey, sig } = auth('a-server-nonce-123');
    expect(nkey).toBe(signer!.publicKey);
    expect(nkeys.fromPublic(nkey).verify(new TextEncoder().encode('a-server-nonce-123'), nkeys.decode(sig))).toBe(true);
  });

  it('a request signed in the token verifies as that public key', () => {
    const { signer } = natsCredentials(env);
    const body = new TextEncoder().encode('{"kind":"deploy"}');
    const headers = signRequest(signer!, 'sdmi.cmd.scheduler', body);
    expect(verifyRequest('sdmi.cmd.scheduler', body, headers)).toEqual({ ok: true, publicKey: signer!.publicKey });
    expect(verifyRequest('sdmi.cmd.network-controller', body, headers).ok).toBe(false);
  });

  it('a seed file and a token key together are refused', () => {
    const e = refusal({ ...env, SDMI_NATS_NKEY_SEED_FILE: '/etc/sdmi/scheduler.nk' });
    expect(e.message).toBe(
      'SDMI_NATS_NKEY_SEED_FILE=/etc/sdmi/scheduler.nk: cannot be used together with SDMI_NATS_PKCS11_MODULE, SDMI_NATS_PKCS11_TOKEN, SDMI_NATS_PKCS11_KEY, SDMI_NATS_PKCS11_PIN_FILE: a principal\'s key is either in a seed file or in a PKCS#11 token; unset one',
    );
  });

  it('a missing token, a missing key, a missing setting each say which setting is wrong', () => {
    expect(refusal({ ...env, SDMI_NATS_PKCS11_TOKEN: 'nope' }).message).toMatch(/^SDMI_NATS_PKCS11_TOKEN=nope: no token with this label \(tokens present: "sdmi-t/);
    expect(refusal({ ...env, SDMI_NATS_PKCS11_KEY: 'nope' }).message).toBe(`SDMI_NATS_PKCS11_KEY=nope: the token "${token.tokenLabel}" holds no private key with this label`);
    const { SDMI_NATS_PKCS11_PIN_FILE: _omitted, ...noPin } = env;
    expect(refusal(noPin).message).toMatch(/^SDMI_NATS_PKCS11_PIN_FILE=: not set, but SDMI_NATS_PKCS11_MODULE, SDMI_NATS_PKCS11_TOKEN, SDMI_NATS_PKCS11_KEY are/);
  });
});
