// A principal's Ed25519 key in a PKCS#11 token (a hardware token, an HSM, or SoftHSM standing in
// for one). The private key never leaves the token: SDMI reads the public key, logs in with the
// PIN, and asks the token for each signature (CKM_EDDSA). Every call is synchronous, as the NATS
// authenticator and the request Signer are; a signature blocks the event loop for as long as the
// token takes (well under a millisecond with SoftHSM, tens of milliseconds with some USB tokens).
//
// The pkcs11js addon is loaded at the first open, not when this module is imported: a process
// that uses a seed file never loads native code, and one built without the addon (it is an optional
// dependency) still works with seed files.
import { createHmac, createPublicKey, randomBytes, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Handle, PKCS11 } from 'pkcs11js';
import {
  TokenKeyNotFound,
  TokenKeyUnsuitable,
  TokenModuleUnavailable,
  TokenNotFound,
  TokenPinFileUnusable,
  TokenPinRefused,
  TokenSigningFailed,
} from './errors';
import { ed25519FromEcPoint, isEd25519Params, nkeyUserPublicKey } from './nkey';

type Pkcs11Addon = typeof import('pkcs11js');

/** PKCS#11 3.0 values that pkcs11js (2.30 constants) does not define. */
export const Pkcs11Ed25519 = {
  /** CKK_EC_EDWARDS: key type of Ed25519/Ed448 keys. */
  keyType: 0x40,
  /** CKM_EC_EDWARDS_KEY_PAIR_GEN. */
  keyPairGen: 0x1055,
  /** CKM_EDDSA: pure EdDSA, no parameter means Ed25519 for a 255-bit key. */
  mechanism: 0x1057,
} as const;

/** Where the key is: module (.so), token label, key label, PIN file. */
export interface TokenKeySettings {
  readonly module: string;
  readonly token: string;
  readonly key: string;
  readonly pinFile: string;
}

/** The names to put in errors for each setting (the environment variables, by default). */
export type TokenKeySettingNames = { readonly [K in keyof TokenKeySettings]: string };

/** The private key's protection flags, as the token reports them. */
export interface PrivateKeyFlags {
  /** CKA_SENSITIVE: its value cannot be read out. */
  readonly sensitive: boolean;
  /** CKA_EXTRACTABLE: it can be wrapped (exported encrypted). */
  readonly extractable: boolean;
  /** CKA_ALWAYS_SENSITIVE: sensitive since it was made. */
  readonly alwaysSensitive: boolean;
  /** CKA_NEVER_EXTRACTABLE: never was extractable. */
  readonly neverExtractable: boolean;
}

interface LoadedModule {
  readonly lib: PKCS11;
  readonly addon: Pkcs11Addon;
  users: number;
  /**
   * Per token (serial number), a keyed digest of the PIN this process logged in with. A login is
   * the application's, not the session's: a second key of the same token finds it logged in
   * already (CKR_USER_ALREADY_LOGGED_IN) and the token never sees the second PIN, so it is compared
   * here, lest a wrong PIN file pass unnoticed. The key is random per process; the PIN is not kept.
   */
  readonly logins: Map<string, Buffer>;
}

const digestKey = randomBytes(32);
const pinDigest = (pin: string): Buffer => createHmac('sha256', digestKey).update(pin).digest();

// One initialised module per path: C_Initialize is once per process, and C_Finalize only when the
// last key of that module closes.
const modules = new Map<string, LoadedModule>();

function ckr(err: unknown): string {
  const m = /CKR_[A-Z0-9_]+/.exec(err instanceof Error ? err.message : '');
  return m ? m[0] : 'an unknown error';
}

function loadAddon(names: TokenKeySettingNames, settings: TokenKeySettings): Pkcs11Addon {
  try {
    return createRequire(import.meta.url)('pkcs11js') as Pkcs11Addon;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new TokenModuleUnavailable(names.module, settings.module, `the pkcs11js addon cannot be loaded (${code}); it is an optional dependency of @sdmi/pkcs11-keys that pnpm install builds with node-gyp (needs python3, make and g++)`);
  }
}

function acquireModule(names: TokenKeySettingNames, settings: TokenKeySettings): LoadedModule {
  const known = modules.get(settings.module);
  if (known) {
    known.users += 1;
    return known;
  }
  const addon = loadAddon(names, settings);
  try {
    statSync(settings.module);
  } catch (err) {
    throw new TokenModuleUnavailable(names.module, settings.module, `the module file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  const lib = new addon.PKCS11();
  try {
    lib.load(settings.module);
  } catch (err) {
    throw new TokenModuleUnavailable(names.module, settings.module, `the file cannot be loaded as a PKCS#11 module (${err instanceof Error ? err.message.split('\n')[0] : 'unknown error'})`);
  }
  try {
    lib.C_Initialize();
  } catch (err) {
    if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      unload(lib);
      throw new TokenModuleUnavailable(names.module, settings.module, `C_Initialize failed (${ckr(err)})`);
    }
  }
  const loaded: LoadedModule = { lib, addon, users: 1, logins: new Map() };
  modules.set(settings.module, loaded);
  return loaded;
}

function releaseModule(path: string, loaded: LoadedModule): void {
  loaded.users -= 1;
  if (loaded.users > 0) return;
  modules.delete(path);
  try {
    loaded.lib.C_Finalize();
  } catch {
    // Finalizing is best effort: the process is letting go of the module either way.
  }
  unload(loaded.lib);
}

function unload(lib: PKCS11): void {
  try {
    lib.close();
  } catch {
    // Unloading (dlclose) is best effort too.
  }
}

/**
 * Reads a PIN file: refuses one that group or others may read or write, an empty one and one of
 * several lines (a trailing newline is dropped). What it holds is never put in an error.
 */
export function readPinFile(file: string, setting: string): string {
  let bytes: Buffer;
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new TokenPinFileUnusable(setting, file, `the file is open to group or others (mode 0${mode.toString(8)}); chmod 600 it`);
    bytes = readFileSync(file);
  } catch (err) {
    if (err instanceof TokenPinFileUnusable) throw err;
    throw new TokenPinFileUnusable(setting, file, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  const text = bytes.toString('utf8').replace(/\r?\n$/, '');
  bytes.fill(0);
  if (text.length === 0) throw new TokenPinFileUnusable(setting, file, 'the file is empty; it must hold the token user PIN on one line');
  if (/[\r\n]/.test(text)) throw new TokenPinFileUnusable(setting, file, 'the file holds more than one line; it must hold the token user PIN on one line');
  return text;
}

const bool = (v: Buffer | undefined): boolean => v !== undefined && v.length > 0 && v[0] !== 0;
const ulong = (v: Buffer | undefined): number => (v !== undefined && v.length >= 4 ? v.readUInt32LE(0) : -1);

/**
 * An Ed25519 key pair in a PKCS#11 token, logged in and ready to sign: a `Signer` of @sdmi/bus
 * (publicKey is the nkey user public key derived from the token's public key).
 */
export class TokenKey {
  readonly publicKey: string;
  readonly rawPublicKey: Uint8Array;
  readonly #module: LoadedModule;
  readonly #path: string;
  readonly #session: Handle;
  readonly #privateKey: Handle;
  readonly #names: TokenKeySettingNames;
  readonly #keyLabel: string;
  #closed = false;

  private constructor(module: LoadedModule, path: string, session: Handle, privateKey: Handle, rawPublicKey: Uint8Array, names: TokenKeySettingNames, keyLabel: string) {
    this.#module = module;
    this.#path = path;
    this.#session = session;
    this.#privateKey = privateKey;
    this.rawPublicKey = rawPublicKey;
    this.publicKey = nkeyUserPublicKey(rawPublicKey);
    this.#names = names;
    this.#keyLabel = keyLabel;
  }

  /**
   * Loads the module, finds the token by label, logs in with the PIN from the file, finds the
   * private and public key by label, and checks the pair: Ed25519, allowed to sign, sensitive and
   * not extractable, and the private key signs for the public key. Throws a TokenKeyError naming
   * the setting that is wrong.
   */
  static open(settings: TokenKeySettings, names: TokenKeySettingNames): TokenKey {
    const pin = readPinFile(settings.pinFile, names.pinFile);
    const module = acquireModule(names, settings);
    const { lib, addon } = module;
    let session: Handle | undefined;
    try {
      const { slot, serial } = findToken(lib, names, settings);
      try {
        session = lib.C_OpenSession(slot, addon.CKF_SERIAL_SESSION);
      } catch (err) {
        throw new TokenNotFound(names.token, settings.token, `cannot open a session with the token (${ckr(err)})`);
      }
      try {
        lib.C_Login(session, addon.CKU_USER, pin);
        // The token accepted this PIN: it is the one later keys of this token are compared with
        // (also after all sessions closed, which logs the application out, and a new login).
        module.logins.set(serial, pinDigest(pin));
      } catch (err) {
        const code = ckr(err);
        if (code === 'CKR_PIN_INCORRECT') throw new TokenPinRefused(names.pinFile, settings.pinFile, `the token "${settings.token}" refused the PIN in this file (CKR_PIN_INCORRECT)`);
        if (code === 'CKR_PIN_LOCKED') throw new TokenPinRefused(names.pinFile, settings.pinFile, `the token "${settings.token}" has locked its user PIN after too many wrong ones (CKR_PIN_LOCKED); the security officer must reset it`);
        if (code !== 'CKR_USER_ALREADY_LOGGED_IN') throw new TokenPinRefused(names.pinFile, settings.pinFile, `the token "${settings.token}" refused the login (${code})`);
        const first = module.logins.get(serial);
        if (first && !timingSafeEqual(first, pinDigest(pin))) {
          throw new TokenPinRefused(names.pinFile, settings.pinFile, `this process is logged in to the token "${settings.token}" already, with a different PIN than the one in this file`);
        }
      }
      const privateKey = findOne(lib, session, addon.CKO_PRIVATE_KEY, names, settings, 'private');
      const publicKeyObject = findOne(lib, session, addon.CKO_PUBLIC_KEY, names, settings, 'public');
      const raw = checkPair(lib, addon, session, privateKey, publicKeyObject, names, settings);
      const key = new TokenKey(module, settings.module, session, privateKey, raw, names, settings.key);
      key.#selfCheck();
      return key;
    } catch (err) {
      if (session !== undefined) {
        try {
          lib.C_CloseSession(session);
        } catch {
          // The error being thrown says what went wrong; closing is best effort.
        }
      }
      releaseModule(settings.module, module);
      throw err;
    }
  }

  /** Signs in the token (CKM_EDDSA): the 64-byte Ed25519 signature of `data`. */
  sign(data: Uint8Array): Uint8Array {
    if (this.#closed) throw new TokenSigningFailed(this.#names.key, this.#keyLabel, 'the token key was closed');
    // A zero-length buffer reaches the module as a null pointer, which it refuses
    // (CKR_ARGUMENTS_BAD); SDMI never signs an empty message (a nonce, a request's signed text).
    if (data.length === 0) throw new TokenSigningFailed(this.#names.key, this.#keyLabel, 'an empty message cannot be signed through PKCS#11');
    const { lib } = this.#module;
    try {
      lib.C_SignInit(this.#session, { mechanism: Pkcs11Ed25519.mechanism }, this.#privateKey);
      return new Uint8Array(lib.C_Sign(this.#session, Buffer.from(data), Buffer.alloc(64)));
    } catch (err) {
      throw new TokenSigningFailed(this.#names.key, this.#keyLabel, `the token did not sign (${ckr(err)}); a removed token needs the process restarted`);
    }
  }

  /** The private key's CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE. */
  privateKeyFlags(): PrivateKeyFlags {
    const { lib, addon } = this.#module;
    return readFlags(lib, addon, this.#session, this.#privateKey);
  }

  /** Closes the session (logging out when it is the token's last) and, with the last key, the module. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#module.lib.C_CloseSession(this.#session);
    } catch {
      // Already gone with the token.
    }
    releaseModule(this.#path, this.#module);
  }

  #selfCheck(): void {
    const challenge = Buffer.from('sdmi-pkcs11-self-check');
    const sig = this.sign(challenge);
    const spki = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(this.rawPublicKey).toString('base64url') }, format: 'jwk' });
    if (!verifySignature(null, challenge, spki, sig)) {
      throw new TokenKeyUnsuitable(this.#names.key, this.#keyLabel, 'the private key with this label does not sign for the public key with this label (two different pairs share the label?)');
    }
  }
}

function findToken(lib: PKCS11, names: TokenKeySettingNames, settings: TokenKeySettings): { slot: Handle; serial: string } {
  let slots: Handle[];
  try {
    slots = lib.C_GetSlotList(true);
  } catch (err) {
    throw new TokenModuleUnavailable(names.module, settings.module, `C_GetSlotList failed (${ckr(err)})`);
  }
  const labels: string[] = [];
  const matches: { slot: Handle; serial: string }[] = [];
  for (const slot of slots) {
    let label: string;
    let serial: string;
    try {
      const info = lib.C_GetTokenInfo(slot);
      label = info.label.trim();
      serial = info.serialNumber.trim();
    } catch {
      continue;
    }
    if (!label) continue; // an uninitialised token (SoftHSM always shows a free one)
    labels.push(label);
    if (label === settings.token) matches.push({ slot, serial });
  }
  const [only, ...more] = matches;
  if (only === undefined) {
    const present = labels.length ? `tokens present: ${labels.map((l) => `"${l}"`).join(', ')}` : 'the module sees no token at all';
    throw new TokenNotFound(names.token, settings.token, `no token with this label (${present})`);
  }
  if (more.length) throw new TokenNotFound(names.token, settings.token, `${matches.length} tokens carry this label; relabel one`);
  return only;
}

function findOne(lib: PKCS11, session: Handle, cls: number, names: TokenKeySettingNames, settings: TokenKeySettings, what: 'private' | 'public'): Handle {
  let found: Handle[];
  try {
    lib.C_FindObjectsInit(session, [
      { type: 0 /* CKA_CLASS */, value: cls },
      { type: 3 /* CKA_LABEL */, value: settings.key },
    ]);
    try {
      found = lib.C_FindObjects(session, 2);
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  } catch (err) {
    throw new TokenKeyNotFound(names.key, settings.key, `searching the token "${settings.token}" failed (${ckr(err)})`);
  }
  const [only, ...more] = found;
  if (only === undefined) throw new TokenKeyNotFound(names.key, settings.key, `the token "${settings.token}" holds no ${what} key with this label`);
  if (more.length) throw new TokenKeyNotFound(names.key, settings.key, `the token "${settings.token}" holds several ${what} keys with this label`);
  return only;
}

function readFlags(lib: PKCS11, addon: Pkcs11Addon, session: Handle, key: Handle): PrivateKeyFlags {
  const attrs = lib.C_GetAttributeValue(session, key, [
    { type: addon.CKA_SENSITIVE },
    { type: addon.CKA_EXTRACTABLE },
    { type: addon.CKA_ALWAYS_SENSITIVE },
    { type: addon.CKA_NEVER_EXTRACTABLE },
  ]);
  return {
    sensitive: bool(attrs[0]?.value),
    extractable: bool(attrs[1]?.value),
    alwaysSensitive: bool(attrs[2]?.value),
    neverExtractable: bool(attrs[3]?.value),
  };
}

function checkPair(lib: PKCS11, addon: Pkcs11Addon, session: Handle, privateKey: Handle, publicKey: Handle, names: TokenKeySettingNames, settings: TokenKeySettings): Uint8Array {
  const unsuitable = (reason: string): TokenKeyUnsuitable => new TokenKeyUnsuitable(names.key, settings.key, reason);
  let priv: { type: number; value: Buffer }[];
  let pub: { type: number; value: Buffer }[];
  try {
    priv = lib.C_GetAttributeValue(session, privateKey, [{ type: addon.CKA_KEY_TYPE }, { type: addon.CKA_SIGN }]);
    pub = lib.C_GetAttributeValue(session, publicKey, [{ type: addon.CKA_KEY_TYPE }, { type: addon.CKA_EC_PARAMS }, { type: addon.CKA_EC_POINT }]);
  } catch (err) {
    throw unsuitable(`the token does not tell the key's type and public point (${ckr(err)}); is it an Ed25519 key?`);
  }
  if (ulong(priv[0]?.value) !== Pkcs11Ed25519.keyType || ulong(pub[0]?.value) !== Pkcs11Ed25519.keyType) {
    throw unsuitable(`the key is not an EdDSA key (CKA_KEY_TYPE 0x${ulong(priv[0]?.value).toString(16)}, CKK_EC_EDWARDS is 0x40); generate an Ed25519 pair`);
  }
  if (!isEd25519Params(pub[1]?.value ?? Buffer.alloc(0))) throw unsuitable('the key is EdDSA on another curve (Ed448?); nkeys are Ed25519');
  if (!bool(priv[1]?.value)) throw unsuitable('the private key may not sign (CKA_SIGN false)');
  const flags = readFlags(lib, addon, session, privateKey);
  if (!flags.sensitive) throw unsuitable('the private key is not sensitive (CKA_SENSITIVE false): its value could be read out of the token; make a key with CKA_SENSITIVE true');
  if (flags.extractable) throw unsuitable('the private key is extractable (CKA_EXTRACTABLE true): it could be wrapped out of the token; make a key with CKA_EXTRACTABLE false');
  const raw = ed25519FromEcPoint(pub[2]?.value ?? Buffer.alloc(0));
  if (!raw) throw unsuitable('the public key\'s CKA_EC_POINT is not a 32-byte Ed25519 point');
  return raw;
}
