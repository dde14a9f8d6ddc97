import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonNotReady } from './errors';
import { run } from './exec';
import { kdig, type KdigResult } from './kdig';
import { testName } from './names';
import { freePort, lostPortRace, tail } from './ports';
import { DirDaemon } from './dir-daemon';

export interface DnsdistOptions {
  /** The DNS server it forwards to, e.g. a PowerDns's `{ port: pdns.dnsPort }`; address default 127.0.0.1. */
  backend: { address?: string; port: number };
  /** Also a plain DNS listener (UDP and TCP) on a free 127.0.0.1 port; default false. */
  plain?: boolean;
  /** How long to wait for a DNS-over-TLS query to be answered; default 30 s. */
  readyTimeoutMs?: number;
}

/** A Lua string literal; dnsdist's configuration is a Lua program. */
function lua(s: string): string {
  return JSON.stringify(s);
}

/**
 * A dnsdist of its own in front of a DNS server: `dnsdist --supervised --disable-syslog -C
 * /tmp/sdmi-<tag>-d<n>/dnsdist.conf` in the foreground, with a DNS-over-TLS listener on a free
 * 127.0.0.1 port (a self-signed P-256 certificate made with openssl in that directory, for
 * 127.0.0.1 and localhost) and, if asked, a plain one, both forwarding to `backend`. Ready when a
 * DoT query through it is answered (by the backend: a REFUSED for a name it has no zone for is an
 * answer; dnsdist drops queries while it holds its backend for down). Dispose stops it and deletes
 * the directory; a run that dies leaves its process and directory, which `sweepLeftovers()` finds
 * by the run tag in their names.
 */
export class Dnsdist extends DirDaemon {
  readonly configFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  #tlsPort = 0;
  #plainPort: number | undefined;
  #pin = '';

  private constructor(
    name: string,
    dir: string,
    readonly backend: string,
  ) {
    super(name, dir, join(dir, 'dnsdist.log'));
    this.configFile = join(dir, 'dnsdist.conf');
    this.certFile = join(dir, 'cert.pem');
    this.keyFile = join(dir, 'key.pem');
  }

  /** Port of the DNS-over-TLS listener on 127.0.0.1. */
  get tlsPort(): number {
    return this.#tlsPort;
  }

  /** Port of the plain DNS listener (UDP and TCP) on 127.0.0.1, if one was asked for. */
  get plainPort(): number | undefined {
    return this.#plainPort;
  }

  /** SHA-256 of the certificate's public key (SPKI), base64: what `kdig +tls-pin=` checks. */
  get pin(): string {
    return this.#pin;
  }

  static async start(options: DnsdistOptions): Promise<Dnsdist> {
    const name = testName('d');
    const dir = join(tmpdir(), name);
    mkdirSync(dir, { mode: 0o700 });
    const d = new Dnsdist(name, dir, `${options.backend.address ?? '127.0.0.1'}:${options.backend.port}`);
    try {
      await d.#makeCertificate();
      for (let attempt = 1; ; attempt++) {
        try {
          await d.#launch(options);
          return d;
        } catch (e) {
          if (attempt >= 3 || !(e instanceof DaemonNotReady) || !lostPortRace(e.logTail)) throw e;
          await d.stopDaemon();
        }
      }
    } catch (e) {
      await d.dispose().catch(() => {});
      throw e;
    }
  }

  async #makeCertificate(): Promise<void> {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', this.keyFile, '-out', this.certFile, '-days', '7',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    this.#pin = spkiPin(readFileSync(this.certFile, 'utf8'));
  }

  #writeConfig(): void {
    const lines = [
      // The default security poll is a DNS query to the outside world; traffic stays on loopback.
      "setSecurityPollSuffix('')",
      `newServer({ address = ${lua(this.backend)}, name = 'backend' })`,
      `addTLSLocal(${lua(`127.0.0.1:${this.#tlsPort}`)}, ${lua(this.certFile)}, ${lua(this.keyFile)}, { provider = 'openssl' })`,
      // Two cores are shared by every test file; the default is 10 TCP (and so DoT) worker threads.
      'setMaxTCPClientThreads(1)',
    ];
    // Without any listener dnsdist would take 127.0.0.1:53; the TLS one counts, so none is added here.
    if (this.#plainPort !== undefined) lines.push(`addLocal(${lua(`127.0.0.1:${this.#plainPort}`)})`);
    writeFileSync(this.configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  }

  async #launch(options: DnsdistOptions): Promise<void> {
    this.#tlsPort = await freePort(false);
    this.#plainPort = options.plain ? await freePort(true) : undefined;
    this.#writeConfig();
    const log = openSync(this.logFile, 'a');
    let exited: string | undefined;
    try {
      const child = spawn('dnsdist', ['--supervised', '--disable-syslog', '-C', this.configFile], { detached: true, stdio: ['ignore', log, log] });
      child.on('error', (e) => (exited = e.message));
      child.on('exit', (code, sig) => (exited = `dnsdist exited (${sig ?? code})`));
      child.unref();
      this.daemonPid = child.pid;
    } finally {
      closeSync(log);
    }
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (exited) throw new DaemonNotReady(`dnsdist ${this.name}`, exited, tail(this.logFile));
      const r = await this.kdig('+time=1', '+retry=0', '+norecurse', 'sdmi.invalid.', 'SOA');
      if (r.status !== undefined && r.status !== 'SERVFAIL') return;
      if (Date.now() >= deadline) {
        throw new DaemonNotReady(`dnsdist ${this.name}`, `no DNS-over-TLS answer on 127.0.0.1:${this.#tlsPort} in time`, tail(this.logFile));
      }
      await sleep(200);
    }
  }

  /** `kdig @127.0.0.1 -p <tlsPort> +tls-pin=<pin> ...args`: over TLS, to this dnsdist's certificate only. */
  kdig(...args: string[]): Promise<KdigResult> {
    return kdig({ port: this.#tlsPort, pin: this.#pin }, ...args);
  }



}

/** The base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo (RFC 7858 section 4.2 pin). */
export function spkiPin(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Starts a {@link Dnsdist}. */
export function startDnsdist(options: DnsdistOptions): Promise<Dnsdist> {
  return Dnsdist.start(options);
}
