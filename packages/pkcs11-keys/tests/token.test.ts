// A key in a real SoftHSM v2 token: the derived nkey public key and the token's signatures are
// those of @nats-io/nkeys for the same key, the private key cannot be read or wrapped out, and each
// setting that is wrong gives its own error, never the PIN.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, fromPublic } from '@nats-io/nkeys';
import { Codec } from '@nats-io/nkeys/lib/codec';
import { Testbed, type SoftHsmToken } from '@sdmi/testbed';
import {
  Pkcs11Ed25519,
  Pkcs11Env,
  TokenKey,
  TokenKeyNotFound,
  TokenKeyUnsuitable,
  TokenModuleUnavailable,
  TokenNotFound,
  TokenPinFileUnusable,
  TokenPinRefused,
  TokenSettingMissing,
  tokenKeyFromEnv,
  type TokenKeyError,
  type TokenKeySettings,
} from '../src/index';

const pkcs11js = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
const tb = new Testbed();
let token: SoftHsmToken;
let pin: string;
const opened: TokenKey[] = [];
const open = (settings: Partial<TokenKeySettings> = {}): TokenKey => {
  const key = TokenKey.open({ ...token.place, ...settings }, Pkcs11Env);
  opened.push(key);
  return key;
};

/** The error opening gives, checked to carry no part of the PIN. */
function refusal(settings: Partial<TokenKeySettings>): TokenKeyError {
  try {
    open(settings);
  } catch (err) {
    expect(`${(err as Error).message}\n${String((err as Error).stack)}\n${JSON.stringify(err)}`).not.toContain(pin);
    return err as TokenKeyError;
  }
  throw new Error('no refusal');
}

/** Writes objects into the token directly (an import, as an operator could do with a known key). */
function withSession<T>(fn: (lib: InstanceType<typeof pkcs11js.PKCS11>, session: Buffer) => T): T {
  // The module is the one TokenKey loaded (one per process): initialised and logged in already
  // once a key is open, and then not to be finalised here.
  const lib = new pkcs11js.PKCS11();
  lib.load(token.module);
  let initialised = true;
  try {
    lib.C_Initialize();
  } catch (err) {
    if ((err as Error).message !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw err;
    initialised = false;
  }
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === token.tokenLabel)!;
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      lib.C_Login(session, pkcs11js.CKU_USER, pin);
    } catch (err) {
      if ((err as Error).message !== 'CKR_USER_ALREADY_LOGGED_IN') throw err;
    }
    try {
      return fn(lib, session);
    } finally {
      lib.C_CloseSession(session);
    }
  } finally {
    if (initialised) lib.C_Finalize();
  }
}

const EDWARDS25519 = Buffer.from('130c656477617264733235353139', 'hex');

function importPair(label: string, rawSeed: Uint8Array, rawPublic: Uint8Array, flags: { sensitive: boolean; extractable: boolean }): void {
  withSession((lib, session) => {
    lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: Pkcs11Ed25519.keyType },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: flags.sensitive },
      { type: pkcs11js.CKA_EXTRACTABLE, value: flags.extractable },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_EC_PARAMS, value: EDWARDS25519 },
      { type: pkcs11js.CKA_VALUE, value: Buffer.from(rawSeed) },
    ]);
    lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: Pkcs11Ed25519.keyType },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_VERIFY, value: true },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_EC_PARAMS, value: EDWARDS25519 },
      { type: pkcs11js.CKA_EC_POINT, value: Buffer.from([0x04, 0x20, ...rawPublic]) },
    ]);
  });
}

const known = createUser();
const knownSeed = Codec.decodeSeed(known.getSeed()).buf;
const knownPublic = Codec.decode(20 << 3, new TextEncoder().encode(known.getPublicKey()));

beforeAll(async () => {
  token = await tb.softHsmToken();
  process.env.SOFTHSM2_CONF = token.conf;
  pin = readFileSync(token.pinFile, 'utf8').trim();
  importPair('known', knownSeed, knownPublic, { sensitive: true, extractable: false });
  importPair('exportable', knownSeed, knownPublic, { sensitive: true, extractable: true });
  importPair('readable', knownSeed, knownPublic, { sensitive: false, extractable: false });
  const other = createUser();
  // A private key of one pair beside the public key of another, under one label.
  importPair('mixed', knownSeed, Codec.decode(20 << 3, new TextEncoder().encode(other.getPublicKey())), { sensitive: true, extractable: false });
}, 60_000);

afterAll(async () => {
  for (const k of opened) k.close();
  await tb.dispose();
});

describe('a key imported into the token', () => {
  it('has the nkey public key and the signatures nkeys computes for the same seed', () => {
    const key = open({ key: 'known' });
    expect(key.publicKey).toBe(known.getPublicKey());
    for (const text of ['n', 'nonce-abc', 'x'.repeat(10_000)]) {
      const data = new TextEncoder().encode(text);
      expect(Buffer.from(key.sign(data)).toString('hex')).toBe(Buffer.from(known.sign(data)).toString('hex'));
    }
  });
});

describe('a key generated in the token', () => {
  it('signs: its signatures verify under its derived nkey public key', () => {
    const key = open();
    expect(key.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    const data = new TextEncoder().encode('sdmi');
    // Verified by nkeys, which knows only the public key; another key's nkey does not verify it.
    expect(fromPublic(key.publicKey).verify(data, key.sign(data))).toBe(true);
    expect(createUser().verify(data, key.sign(data))).toBe(false);
    expect(Buffer.from(Codec.decode(20 << 3, new TextEncoder().encode(key.publicKey)))).toEqual(Buffer.from(key.rawPublicKey));
    expect(() => key.sign(new Uint8Array(0))).toThrow(/an empty message cannot be signed/);
  });

  it('stays in the token: sensitive, never extractable, and its value cannot be read', () => {
    const key = open();
    expect(key.privateKeyFlags()).toEqual({ sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true });
    const read = withSession((lib, session) => {
      lib.C_FindObjectsInit(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: token.keyLabel },
      ]);
      const handle = lib.C_FindObjects(session)!;
      lib.C_FindObjectsFinal(session);
      try {
        lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_VALUE }]);
        return 'read';
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(read).toBe('CKR_ATTRIBUTE_SENSITIVE');
  });
});

describe('keys that must not be used', () => {
  it('an extractable key, a readable key and a label shared by two pairs are refused', () => {
    expect(refusal({ key: 'exportable' })).toBeInstanceOf(TokenKeyUnsuitable);
    expect(refusal({ key: 'exportable' }).message).toBe('SDMI_NATS_PKCS11_KEY=exportable: the private key is extractable (CKA_EXTRACTABLE true): it could be wrapped out of the token; make a key with CKA_EXTRACTABLE false');
    expect(refusal({ key: 'readable' }).message).toMatch(/^SDMI_NATS_PKCS11_KEY=readable: the private key is not sensitive \(CKA_SENSITIVE false\)/);
    expect(refusal({ key: 'mixed' }).message).toMatch(/^SDMI_NATS_PKCS11_KEY=mixed: the private key with this label does not sign for the public key/);
  });
});

describe('scripts/public-key.ts', () => {
  const script = fileURLToPath(new URL('../scripts/public-key.ts', import.meta.url));
  const run = (env: Record<string, string>): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { env: { PATH: process.env.PATH, ...token.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const settings = (): Record<string, string> => ({ [Pkcs11Env.module]: token.module, [Pkcs11Env.token]: token.tokenLabel, [Pkcs11Env.key]: token.keyLabel, [Pkcs11Env.pinFile]: token.pinFile });

  it('prints the nkey public key of the key the settings name (for principals.json)', () => {
    expect(run(settings())).toEqual({ status: 0, stdout: `${open().publicKey}\n`, stderr: '' });
  });

  it('a wrong setting is exit code 2 and the error naming it', () => {
    const r = run({ ...settings(), [Pkcs11Env.key]: 'nope' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`public-key: SDMI_NATS_PKCS11_KEY=nope: the token "${token.tokenLabel}" holds no private key with this label\n`);
  });
});

describe('settings that are wrong', () => {
  it('a wrong PIN is refused by the token, and names the PIN file, not the PIN', () => {
    // No key of this token open: the module is finalised, nobody is logged in, the token decides.
    for (const k of opened.splice(0)) k.close();
    const wrong = join(token.dir, 'wrong-pin');
    writeFileSync(wrong, `${pin}0\n`, { mode: 0o600 });
    const e = refusal({ pinFile: wrong });
    expect(e).toBeInstanceOf(TokenPinRefused);
    expect(e.message).toBe(`SDMI_NATS_PKCS11_PIN_FILE=${wrong}: the token "${token.tokenLabel}" refused the PIN in this file (CKR_PIN_INCORRECT)`);
    // And the right one still works afterwards.
    expect(open().publicKey).toMatch(/^U/);
  });

  it('a wrong PIN is refused also while the process is logged in to the token with the right one', () => {
    open();
    const wrong = join(token.dir, 'wrong-pin-2');
    writeFileSync(wrong, `0${pin}\n`, { mode: 0o600 });
    const e = refusal({ pinFile: wrong });
    expect(e).toBeInstanceOf(TokenPinRefused);
    expect(e.message).toBe(`SDMI_NATS_PKCS11_PIN_FILE=${wrong}: this process is logged in to the token "${token.tokenLabel}" already, with a different PIN than the one in this file`);
  });

  it('a PIN file open to others, missing or empty is refused before the token is asked', () => {
    const open644 = join(token.dir, 'pin-644');
    writeFileSync(open644, pin, { mode: 0o644 });
    chmodSync(open644, 0o644);
    expect(refusal({ pinFile: open644 })).toBeInstanceOf(TokenPinFileUnusable);
    expect(refusal({ pinFile: open644 }).message).toBe(`SDMI_NATS_PKCS11_PIN_FILE=${open644}: the file is open to group or others (mode 0644); chmod 600 it`);
    expect(refusal({ pinFile: join(token.dir, 'none') }).message).toBe(`SDMI_NATS_PKCS11_PIN_FILE=${join(token.dir, 'none')}: the file cannot be read (ENOENT)`);
    const empty = join(token.dir, 'pin-empty');
    writeFileSync(empty, '\n', { mode: 0o600 });
    expect(refusal({ pinFile: empty }).message).toMatch(/the file is empty/);
  });

  it('a token that is not there, a key that is not there, a module that is not one', () => {
    const t = refusal({ token: 'no-such-token' });
    expect(t).toBeInstanceOf(TokenNotFound);
    expect(t.message).toBe(`SDMI_NATS_PKCS11_TOKEN=no-such-token: no token with this label (tokens present: "${token.tokenLabel}")`);
    const k = refusal({ key: 'no-such-key' });
    expect(k).toBeInstanceOf(TokenKeyNotFound);
    expect(k.message).toBe(`SDMI_NATS_PKCS11_KEY=no-such-key: the token "${token.tokenLabel}" holds no private key with this label`);
    const m = refusal({ module: '/usr/lib/no-such-pkcs11.so' });
    expect(m).toBeInstanceOf(TokenModuleUnavailable);
    expect(m.message).toBe('SDMI_NATS_PKCS11_MODULE=/usr/lib/no-such-pkcs11.so: the module file cannot be read (ENOENT)');
    const notModule = refusal({ module: token.pinFile });
    expect(notModule).toBeInstanceOf(TokenModuleUnavailable);
    expect(notModule.message).toMatch(/cannot be loaded as a PKCS#11 module/);
  });

  it('from the environment: none set is no key; some set names the first missing', () => {
    expect(tokenKeyFromEnv({})).toBeUndefined();
    try {
      tokenKeyFromEnv({ [Pkcs11Env.module]: token.module, [Pkcs11Env.key]: 'sdmi' });
      throw new Error('no refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(TokenSettingMissing);
      expect((err as Error).message).toBe(
        'SDMI_NATS_PKCS11_TOKEN=: not set, but SDMI_NATS_PKCS11_MODULE, SDMI_NATS_PKCS11_KEY are: a key in a PKCS#11 token needs all of SDMI_NATS_PKCS11_MODULE, SDMI_NATS_PKCS11_TOKEN, SDMI_NATS_PKCS11_KEY, SDMI_NATS_PKCS11_PIN_FILE',
      );
    }
    const key = tokenKeyFromEnv({ [Pkcs11Env.module]: token.module, [Pkcs11Env.token]: token.tokenLabel, [Pkcs11Env.key]: token.keyLabel, [Pkcs11Env.pinFile]: token.pinFile })!;
    opened.push(key);
    expect(key.publicKey).toBe(open().publicKey);
  });
});
