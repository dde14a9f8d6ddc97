// The credentials a process connects to NATS with, from its environment. Unset, it connects as
// before (no auth, plain TCP). The seed is a secret: it is read from a file (never an environment
// value, which `ps e` and crash reports show), and no log line or error message carries it.
// Instead of a seed file, the key may live in a PKCS#11 token (SDMI_NATS_PKCS11_*): the nonce and
// every request are then signed inside the token (@sdmi/pkcs11-keys, whose native addon is loaded
// only when those settings are used), and the PIN is read from a file, the same way.
import { readFileSync, statSync } from 'node:fs';
import { nkeyAuthenticator, nkeys, type Authenticator, type ConnectionOptions } from '@nats-io/nats-core';
import { Pkcs11Env, TokenKeyError, pkcs11SettingsPresent, tokenKeyFromEnv, type TokenKey } from '@sdmi/pkcs11-keys';
import { signerFromSeed, type Signer } from './signature';

/** Environment variables read here. */
export const NatsCredentialsEnv = {
  /** A file (mode 0600) holding this principal's nkey user seed, `SU...`, on one line. */
  nkeySeedFile: 'SDMI_NATS_NKEY_SEED_FILE',
  /** A PEM CA bundle: connect with TLS and verify the server's certificate against it. */
  tlsCa: 'SDMI_NATS_TLS_CA',
  /** Instead of a seed file, a key in a PKCS#11 token: the module, token label, key label, PIN file (@sdmi/pkcs11-keys). */
  pkcs11Module: Pkcs11Env.module,
  pkcs11Token: Pkcs11Env.token,
  pkcs11Key: Pkcs11Env.key,
  pkcs11PinFile: Pkcs11Env.pinFile,
} as const;

/** A credential setting that cannot be used. Names the setting and the file, never the content. */
export class NatsCredentialsError extends Error {
  override readonly name = 'NatsCredentialsError';
  constructor(
    readonly setting: string,
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}=${file}: ${reason}`, options);
  }
}

export interface NkeySeed {
  /** The seed's bytes; hand them to the authenticator and to nothing else. */
  readonly seed: Uint8Array;
  readonly publicKey: string;
}

const USER_SEED = /^SU[A-Z2-7]{56}$/;

/**
 * Reads a user seed file. Refuses one that group or others may read or write (as ssh does with
 * keys) and anything that is not exactly one valid user seed.
 */
export function readNkeySeedFile(file: string, setting: string = NatsCredentialsEnv.nkeySeedFile): NkeySeed {
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new NatsCredentialsError(setting, file, `the file is open to group or others (mode 0${mode.toString(8)}); chmod 600 it`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof NatsCredentialsError) throw err;
    // Only the code: a message from the file system is harmless, but keep one shape of error.
    throw new NatsCredentialsError(setting, file, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  const trimmed = text.trim();
  if (!USER_SEED.test(trimmed)) throw new NatsCredentialsError(setting, file, 'the file does not hold one nkey user seed (SU followed by 56 base-32 characters, on one line)');
  const seed = new TextEncoder().encode(trimmed);
  let publicKey: string;
  try {
    const kp = nkeys.fromSeed(seed);
    publicKey = kp.getPublicKey();
  } catch {
    // The library's own message is not passed on: it may quote what it could not decode.
    throw new NatsCredentialsError(setting, file, 'the file holds a malformed nkey user seed (bad checksum or encoding)');
  }
  return { seed, publicKey };
}

/**
 * Where a principal's replies arrive: `_INBOX.<public key>`. Its permissions allow it to subscribe
 * there and nowhere else under `_INBOX`, so nobody reads replies meant for another principal.
 */
export function inboxPrefixFor(publicKey: string): string {
  return `_INBOX.${publicKey}`;
}

export type NatsCredentialOptions = Pick<ConnectionOptions, 'authenticator' | 'tls' | 'inboxPrefix'>;

/**
 * An nkey authenticator over any Signer: it answers the server's nonce with the signer's public
 * key and its signature of the nonce, as nats.js's nkeyAuthenticator does with a seed. With a
 * token key the nonce is signed inside the token.
 */
export function signerAuthenticator(signer: Signer): Authenticator {
  return (nonce?: string) => ({
    nkey: signer.publicKey,
    sig: nonce ? nkeys.encode(signer.sign(new TextEncoder().encode(nonce))) : '',
  });
}

/**
 * Connection options for the credentials the environment names: an nkey authenticator over the
 * seed file or the PKCS#11 token key and the principal's own inbox prefix, TLS with a CA. Empty
 * when none is set.
 */
export function natsCredentialOptions(env: Readonly<Record<string, string | undefined>> = process.env): NatsCredentialOptions {
  return natsCredentials(env).options;
}

export interface NatsCredentials {
  options: NatsCredentialOptions;
  signer?: Signer;
  /**
   * With a token key: closes its session (and, with the last key, the PKCS#11 module). Call it
   * once the connection is closed, or when connecting failed; the signer cannot sign after it.
   */
  release?: () => void;
}

/**
 * The connection options, and the signer of the same key: what the connection authenticates as is
 * also who its requests are signed by (bind it to the connection with bindSigner).
 */
export function natsCredentials(env: Readonly<Record<string, string | undefined>> = process.env): NatsCredentials {
  const out: NatsCredentialOptions = {};
  let signer: Signer | undefined;
  let release: (() => void) | undefined;
  const seedFile = env[NatsCredentialsEnv.nkeySeedFile];
  const tokenSettings = pkcs11SettingsPresent(env);
  if (seedFile && tokenSettings.length) {
    throw new NatsCredentialsError(NatsCredentialsEnv.nkeySeedFile, seedFile, `cannot be used together with ${tokenSettings.join(', ')}: a principal's key is either in a seed file or in a PKCS#11 token; unset one`);
  }
  if (seedFile) {
    const { seed, publicKey } = readNkeySeedFile(seedFile);
    out.authenticator = nkeyAuthenticator(seed);
    out.inboxPrefix = inboxPrefixFor(publicKey);
    signer = signerFromSeed(seed);
  } else if (tokenSettings.length) {
    let key: TokenKey | undefined;
    try {
      key = tokenKeyFromEnv(env);
    } catch (err) {
      if (err instanceof TokenKeyError) throw new NatsCredentialsError(err.setting, err.value, err.reason, { cause: err });
      throw err;
    }
    if (key) {
      out.authenticator = signerAuthenticator(key);
      out.inboxPrefix = inboxPrefixFor(key.publicKey);
      signer = key;
      release = () => key.close();
    }
  }
  const ca = env[NatsCredentialsEnv.tlsCa];
  if (ca) {
    try {
      statSync(ca);
    } catch (err) {
      release?.();
      throw new NatsCredentialsError(NatsCredentialsEnv.tlsCa, ca, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    }
    out.tls = { caFile: ca };
  }
  return { options: out, ...(signer ? { signer } : {}), ...(release ? { release } : {}) };
}
