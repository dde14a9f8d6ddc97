import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandFailed, CommandNotFound } from './errors';
import { testName } from './names';
import { Resource } from './resource';
import { recordSecret } from './secrets';

/** A random PIN, noted in the suite's secret ledger: no log may show it (docs/security.md). */
const recordedPin = (label: string): string => {
  const pin = randomBytes(12).toString('hex');
  recordSecret(pin, label);
  return pin;
};

/** Debian's SoftHSM v2 PKCS#11 module (package softhsm2). */
export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** OpenSC's pkcs11-tool (package opensc): the same tool works on hardware tokens. */
export const PKCS11_TOOL = '/usr/bin/pkcs11-tool';

export interface SoftHsmTokenOptions {
  /** Default: the resource's name. */
  tokenLabel?: string;
  /** Label of the Ed25519 pair generated in it; default `sdmi`. */
  keyLabel?: string;
  /** Generate that pair (default true); false leaves the token empty. */
  generateKey?: boolean;
}

/** Where a token key is, as a process would be told: module, token label, key label, PIN file. */
export interface TokenKeyPlace {
  readonly module: string;
  readonly token: string;
  readonly key: string;
  readonly pinFile: string;
}

/**
 * A SoftHSM v2 token of its own in `/tmp/sdmi-<tag>-h<n>/`: its own `softhsm2.conf` and token
 * directory, a random user PIN in `pin` (mode 0600) and an Ed25519 key pair generated inside the
 * token by pkcs11-tool (private key sensitive, not extractable, private). SoftHSM finds the token
 * through `SOFTHSM2_CONF` in the environment of whoever loads the module: {@link env}. The PINs go
 * to pkcs11-tool through its environment (`--pin env:NAME`), never through its arguments. Dispose
 * deletes the directory, the token with it.
 */
export class SoftHsmToken extends Resource {
  readonly conf: string;
  readonly pinFile: string;
  readonly module = SOFTHSM2_MODULE;
  readonly tokenLabel: string;
  readonly keyLabel: string;
  readonly #soPin: string;
  readonly #pin: string;

  private constructor(
    readonly name: string,
    readonly dir: string,
    options: SoftHsmTokenOptions,
  ) {
    super();
    this.conf = join(dir, 'softhsm2.conf');
    this.pinFile = join(dir, 'pin');
    this.tokenLabel = options.tokenLabel ?? name;
    this.keyLabel = options.keyLabel ?? 'sdmi';
    this.#soPin = recordedPin(`SoftHSM SO PIN ${name}`);
    this.#pin = recordedPin(`SoftHSM user PIN ${name}`);
  }

  /** `SOFTHSM2_CONF` for a process (or this one) that loads the module. */
  get env(): { SOFTHSM2_CONF: string } {
    return { SOFTHSM2_CONF: this.conf };
  }

  /** The token key generated at creation. */
  get place(): TokenKeyPlace {
    return { module: this.module, token: this.tokenLabel, key: this.keyLabel, pinFile: this.pinFile };
  }

  static async create(options: SoftHsmTokenOptions = {}): Promise<SoftHsmToken> {
    const name = testName('h');
    const dir = join(tmpdir(), name);
    mkdirSync(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
    const token = new SoftHsmToken(name, dir, options);
    try {
      writeFileSync(token.conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, { mode: 0o600 });
      writeFileSync(token.pinFile, `${token.#pin}\n`, { mode: 0o600 });
      // A fresh token directory shows one free slot, 0.
      await token.tool(['--init-token', '--slot', '0', '--label', token.tokenLabel, '--so-pin', 'env:SDMI_TB_SO_PIN']);
      await token.tool(['--token-label', token.tokenLabel, '--init-pin', '--login', '--login-type', 'so', '--so-pin', 'env:SDMI_TB_SO_PIN', '--new-pin', 'env:SDMI_TB_PIN']);
      if (options.generateKey ?? true) await token.generateKeyPair(token.keyLabel, '01');
      return token;
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Generates an Ed25519 pair in the token (CKM_EC_EDWARDS_KEY_PAIR_GEN): sign usage, sensitive, private. */
  async generateKeyPair(label: string, id: string): Promise<void> {
    await this.tool(['--token-label', this.tokenLabel, '--login', '--pin', 'env:SDMI_TB_PIN', '--keypairgen', '--key-type', 'EC:edwards25519', '--usage-sign', '--sensitive', '--private', '--label', label, '--id', id]);
  }

  /** Runs pkcs11-tool on the module with this token's config; `--pin env:SDMI_TB_PIN` gives it the user PIN. */
  tool(args: readonly string[]): Promise<string> {
    const full = ['--module', this.module, ...args];
    return new Promise((resolve, reject) => {
      execFile(
        PKCS11_TOOL,
        full,
        { env: { ...process.env, ...this.env, SDMI_TB_PIN: this.#pin, SDMI_TB_SO_PIN: this.#soPin }, timeout: 60_000 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { code?: string | number; signal?: string };
          if (e.code === 'ENOENT') return reject(new CommandNotFound(PKCS11_TOOL, { cause: err }));
          reject(new CommandFailed(PKCS11_TOOL, full, typeof e.code === 'number' ? e.code : null, e.signal ?? null, stderr));
        },
      );
    });
  }

  protected async teardown(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
