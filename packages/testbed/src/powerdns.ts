import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonNotReady } from './errors';
import { run, tryRun } from './exec';
import { testName } from './names';
import { freePort, lostPortRace, tail } from './ports';
import { DirDaemon } from './dir-daemon';
import { recordSecret } from './secrets';

const recordedSecret = (v: string, label: string): string => {
  recordSecret(v, label);
  return v;
};

/** Where Debian's pdns-backend-sqlite3 puts the gsqlite3 schema. */
export const PDNS_SQLITE_SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';

export interface PowerDnsOptions {
  /** How long to wait for the API and the DNS port to answer; default 30 s. */
  readyTimeoutMs?: number;
  /**
   * More `pdns.conf` settings (they override the defaults below), e.g. `{ 'cache-ttl': '0' }`.
   * Values must not hold newlines.
   */
  config?: Readonly<Record<string, string>>;
}

/**
 * A PowerDNS Authoritative Server of its own: `pdns_server --config-dir=/tmp/sdmi-<tag>-p<n>
 * --daemon=no --guardian=no --disable-syslog --socket-dir=<same dir>`, whose `pdns.conf` (mode
 * 0600) sets the gsqlite3 backend on a fresh database in that directory (DNSSEC on), DNS on
 * 127.0.0.1:`dnsPort` (UDP and TCP) and the HTTP API on 127.0.0.1:`apiPort` with a random API key.
 * The key lives only in that file and in `apiKey`: it is on no command line, so no `CommandFailed`
 * message and no process listing shows it. Ready when the API answers with the key and a DNS query
 * over UDP gets an answer. Dispose stops it (SIGTERM, then SIGKILL), kills anything else still
 * running from its directory, and deletes the directory; a run that dies leaves a process and a
 * directory with the run tag in their names, which `sweepLeftovers()` removes.
 */
export class PowerDns extends DirDaemon {
  readonly configFile: string;
  readonly database: string;
  #dnsPort = 0;
  #apiPort = 0;
  readonly #apiKey = recordedSecret(randomBytes(24).toString('base64url'), 'PowerDNS API key (test bed)');

  private constructor(
    name: string,
    dir: string,
  ) {
    super(name, dir, join(dir, 'pdns.log'));
    this.configFile = join(dir, 'pdns.conf');
    this.database = join(dir, 'pdns.sqlite3');
  }

  /** Port of the DNS listener (UDP and TCP) on 127.0.0.1. */
  get dnsPort(): number {
    return this.#dnsPort;
  }

  /** Port of the HTTP API on 127.0.0.1. */
  get apiPort(): number {
    return this.#apiPort;
  }

  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:40123` (the API itself is below `/api/v1`). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.#apiPort}`;
  }

  /** The API key (`X-API-Key`). Pass it on; do not print it. */
  get apiKey(): string {
    return this.#apiKey;
  }


  static async start(options: PowerDnsOptions = {}): Promise<PowerDns> {
    const name = testName('p');
    const dir = join(tmpdir(), name);
    mkdirSync(dir, { mode: 0o700 });
    const pdns = new PowerDns(name, dir);
    try {
      await run('sqlite3', [pdns.database], { input: readFileSync(PDNS_SQLITE_SCHEMA, 'utf8') });
      for (let attempt = 1; ; attempt++) {
        try {
          await pdns.#launch(options);
          return pdns;
        } catch (e) {
          if (attempt >= 3 || !(e instanceof DaemonNotReady) || !lostPortRace(e.logTail)) throw e;
          await pdns.stopDaemon();
        }
      }
    } catch (e) {
      await pdns.dispose().catch(() => {});
      throw e;
    }
  }

  #writeConfig(options: PowerDnsOptions): void {
    const settings: Record<string, string> = {
      launch: 'gsqlite3',
      'gsqlite3-database': this.database,
      'gsqlite3-dnssec': 'yes',
      'local-address': '127.0.0.1',
      'local-port': String(this.#dnsPort),
      api: 'yes',
      'api-key': this.#apiKey,
      webserver: 'yes',
      'webserver-address': '127.0.0.1',
      'webserver-port': String(this.#apiPort),
      'webserver-allow-from': '127.0.0.1',
      // "detailed" would write request headers, the API key among them, to the log.
      'webserver-loglevel': 'normal',
      // The default security poll is a DNS query to the outside world; traffic stays on loopback.
      'security-poll-suffix': '',
      // Without it new zones get the SOA "a.misconfigured.dns.server.invalid.".
      'default-soa-content': 'ns1.@ hostmaster.@ 0 10800 3600 604800 3600',
      // Two cores are shared by every test file: one receiver and one distributor thread suffice.
      'receiver-threads': '1',
      'distributor-threads': '1',
      ...options.config,
    };
    const lines = Object.entries(settings).map(([k, v]) => {
      if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new Error(`pdns.conf setting ${k} must not hold a newline`);
      return `${k}=${v}`;
    });
    writeFileSync(this.configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  }

  async #launch(options: PowerDnsOptions): Promise<void> {
    this.#dnsPort = await freePort(true);
    this.#apiPort = await freePort(false);
    this.#writeConfig(options);
    const log = openSync(this.logFile, 'a');
    let exited: string | undefined;
    try {
      const child = spawn(
        'pdns_server',
        [`--config-dir=${this.dir}`, '--daemon=no', '--guardian=no', '--disable-syslog', `--socket-dir=${this.dir}`],
        { detached: true, stdio: ['ignore', log, log] },
      );
      child.on('error', (e) => (exited = e.message));
      child.on('exit', (code, sig) => (exited = `pdns_server exited (${sig ?? code})`));
      child.unref();
      this.daemonPid = child.pid;
    } finally {
      closeSync(log);
    }
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    let apiReady = false;
    for (;;) {
      if (exited) throw new DaemonNotReady(`pdns_server ${this.name}`, exited, tail(this.logFile));
      apiReady ||= await this.#apiAnswers();
      if (apiReady && (await this.#dnsAnswers())) return;
      if (Date.now() >= deadline) {
        const what = apiReady ? 'its DNS port' : 'its API';
        throw new DaemonNotReady(`pdns_server ${this.name}`, `no answer on ${what} in time`, tail(this.logFile));
      }
      await sleep(200);
    }
  }

  async #apiAnswers(): Promise<boolean> {
    try {
      const r = await fetch(`${this.apiUrl}/api/v1/servers/localhost`, {
        headers: { 'X-API-Key': this.#apiKey },
        signal: AbortSignal.timeout(1_000),
      });
      await r.arrayBuffer();
      return r.status === 200;
    } catch {
      return false;
    }
  }

  async #dnsAnswers(): Promise<boolean> {
    // Any answer will do (REFUSED for a zone it does not have): the UDP distributor is running.
    const r = await this.dig('+time=1', '+tries=1', '+norecurse', 'sdmi.invalid.', 'SOA');
    return r.exitCode === 0 && r.stdout.includes('->>HEADER<<-');
  }

  /** `dig @127.0.0.1 -p <dnsPort> ...args`; resolves with its outcome whatever the exit code. */
  dig(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
    return tryRun('dig', [`@127.0.0.1`, '-p', String(this.#dnsPort), ...args], { timeoutMs: 15_000 });
  }



}

/** Starts a {@link PowerDns}. */
export function startPowerDns(options?: PowerDnsOptions): Promise<PowerDns> {
  return PowerDns.start(options);
}
