import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordSecret } from '@sdmi/testbed';
import { nkeys } from '@nats-io/nats-core';
import { NatsCredentialsError, connectNats, natsCredentialOptions, readNkeySeedFile } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'sdmi-cred-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const kp = nkeys.createUser();
recordSecret(new TextDecoder().decode(kp.getSeed()), 'nkey seed (credentials test)');
const seed = new TextDecoder().decode(kp.getSeed());
const file = (name: string, text: string, mode = 0o600): string => {
  const f = join(dir, name);
  writeFileSync(f, text, { mode });
  chmodSync(f, mode);
  return f;
};

/** The error a credential setting gives, checked to carry no part of the file's content. */
function refusal(fn: () => unknown, content: string): NatsCredentialsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NatsCredentialsError);
    const e = err as NatsCredentialsError;
    if (content.length > 8) expect(`${e.message}${String(e.stack)}`).not.toContain(content.slice(2, 20));
    return e;
  }
  throw new Error('no refusal');
}

describe('nkey seed file setting', () => {
  it('reads a 0600 seed file: its public key, and an authenticator', () => {
    const f = file('ok.nk', `${seed}\n`);
    expect(readNkeySeedFile(f).publicKey).toBe(kp.getPublicKey());
    expect(typeof natsCredentialOptions({ SDMI_NATS_NKEY_SEED_FILE: f }).authenticator).toBe('function');
  });

  it('unset: no credentials, as before', () => {
    expect(natsCredentialOptions({})).toEqual({});
  });

  it('a missing file names the setting and the file', () => {
    const e = refusal(() => natsCredentialOptions({ SDMI_NATS_NKEY_SEED_FILE: join(dir, 'none.nk') }), '');
    expect(e.message).toBe(`SDMI_NATS_NKEY_SEED_FILE=${join(dir, 'none.nk')}: the file cannot be read (ENOENT)`);
  });

  it('a file open to others is refused without reading it out', () => {
    const f = file('open.nk', `${seed}\n`, 0o644);
    expect(refusal(() => readNkeySeedFile(f), seed).message).toMatch(/mode 0644\); chmod 600/);
  });

  it('a file that is not a user seed, or a seed with a bad checksum, is refused without its content', () => {
    const notSeed = 'password=hunter2-but-longer';
    expect(refusal(() => readNkeySeedFile(file('junk.nk', notSeed)), notSeed).message).toMatch(/does not hold one nkey user seed/);
    const accountSeed = new TextDecoder().decode(nkeys.createAccount().getSeed());
    expect(refusal(() => readNkeySeedFile(file('account.nk', accountSeed)), accountSeed).message).toMatch(/does not hold one nkey user seed/);
    const flipped = seed.slice(0, -3) + (seed.at(-3) === 'A' ? 'B' : 'A') + seed.slice(-2);
    expect(refusal(() => readNkeySeedFile(file('flipped.nk', flipped)), flipped).message).toMatch(/malformed nkey user seed/);
  });

  it('connectNats refuses before connecting', async () => {
    await expect(connectNats('x', 'nats://127.0.0.1:1', { SDMI_NATS_NKEY_SEED_FILE: join(dir, 'none.nk') })).rejects.toBeInstanceOf(NatsCredentialsError);
  });

  it('a TLS CA that is not there names its setting', () => {
    expect(refusal(() => natsCredentialOptions({ SDMI_NATS_TLS_CA: join(dir, 'ca.pem') }), '').setting).toBe('SDMI_NATS_TLS_CA');
  });
});
