// The credentials a process connects to NATS with, from its environment. Unset, it connects as
// before (no auth, plain TCP). The seed is a secret: it is read from a file (never an environment
// value, which `ps e` and crash reports show), and no log line or error message carries it.
import { readFileSync, statSync } from 'node:fs';
import { nkeyAuthenticator, nkeys, type ConnectionOptions } from '@nats-io/nats-core';
import { signerFromSeed, type Signer } from './signature';

/** Environment variables read here. */
export const NatsCredentialsEnv = {
  /** A file (mode 0600) holding this principal's nkey user seed, `SU...`, on one line. */
  nkeySeedFile: 'SDMI_NATS_NKEY_SEED_FILE',
  /** A PEM CA bundle: connect with TLS and verify the server's certificate against it. */
  tlsCa: 'SDMI_NATS_TLS_CA',
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
 * Connection options for the credentials the environment names: an nkey authenticator over the
 * seed file and the principal's own inbox prefix, TLS with a CA. Empty when neither is set.
 */
export function natsCredentialOptions(env: Readonly<Record<string, string | undefined>> = process.env): NatsCredentialOptions {
  return natsCredentials(env).options;
}

/**
 * The connection options, and the signer of the same key: what the connection authenticates as is
 * also who its requests are signed by (bind it to the connection with bindSigner).
 */
export function natsCredentials(env: Readonly<Record<string, string | undefined>> = process.env): { options: NatsCredentialOptions; signer?: Signer } {
  const out: NatsCredentialOptions = {};
  let signer: Signer | undefined;
  const seedFile = env[NatsCredentialsEnv.nkeySeedFile];
  if (seedFile) {
    const { seed, publicKey } = readNkeySeedFile(seedFile);
    out.authenticator = nkeyAuthenticator(seed);
    out.inboxPrefix = inboxPrefixFor(publicKey);
    signer = signerFromSeed(seed);
  }
  const ca = env[NatsCredentialsEnv.tlsCa];
  if (ca) {
    try {
      statSync(ca);
    } catch (err) {
      throw new NatsCredentialsError(NatsCredentialsEnv.tlsCa, ca, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    }
    out.tls = { caFile: ca };
  }
  return signer ? { options: out, signer } : { options: out };
}
