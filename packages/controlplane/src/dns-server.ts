// The control plane's DNS server: PowerDNS Authoritative (pdns_server, gsqlite3 in the run dir or
// gpgsql on the services' PostgreSQL server) with its HTTP API, and dnsdist in front of it for DNS
// over TLS, both on loopback. `up` starts them or finds them already running from the same run dir
// and reuses them; `down` stops them. When the user names a PowerDNS (SDMI_PDNS_API_URL), nothing
// is started and the services are told about that one.
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { access, chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool, ensureDatabase } from '@sdmi/bus';
import { createLogger, hostInstanceId, type Logger } from '@sdmi/service';
import { DetachedOutcome } from './detached';
import {
  DnsEnv,
  PDNS_SCHEMAS,
  apiUrlOf,
  dnsServiceEnv,
  renderDnsdistConf,
  renderPdnsConf,
  resolveDnsConfig,
  type DnsConfig,
  type DnsConfigOptions,
  type EmbeddedDnsConfig,
  type PdnsBackend,
} from './dns-config';
import { dotProbe, udpProbe } from './dns-probe';
import { DnsConfigError, DnsPortInUseError, DnsServerStartError } from './errors';
import { fileSize, tailFile } from './logs';
import { gone, isAlive, signal } from './pidfile';
import { messageOf } from './text';

export const DnsProgram = { pdns: 'pdns_server', dnsdist: 'dnsdist' } as const;
export type DnsProgram = (typeof DnsProgram)[keyof typeof DnsProgram];

export const DnsOutcome = {
  /** Started by this `up`. */
  started: 'started',
  /** Was running from this run dir as configured, and answering: left as it was. */
  reused: 'reused',
} as const;
export type DnsOutcome = (typeof DnsOutcome)[keyof typeof DnsOutcome];

/** A name no server has a zone for: any answer (REFUSED) shows the listener works. */
const PROBE_NAME = 'sdmi.invalid.';
const SERVFAIL = 2;

export interface DnsServerOptions extends DnsConfigOptions {
  /** How long pdns_server and dnsdist each have to answer. Default 30 s. */
  readyTimeoutMs?: number;
  /** How long each has to exit after SIGTERM before SIGKILL. Default 15 s. */
  stopTimeoutMs?: number;
  logger?: Logger;
  /**
   * Owner to give the API key file: the user a dns-manager container runs as, which reads it
   * through a read-only bind mount (the directory around it stays 0700, so on the host only root
   * reaches it). Default: left as it is.
   */
  keyFileOwner?: { uid: number; gid: number };
}

export interface DnsProcessStatus {
  program: DnsProgram;
  pid: number;
  outcome: DnsOutcome;
  address: string;
  port: number;
  logFile: string;
}

export interface DnsServerStatus {
  mode: DnsConfig['mode'];
  domain: string;
  apiUrl: string;
  apiKeyFile: string;
  /** What every service gets. */
  env: Record<string, string>;
  /** The embedded PowerDNS: DNS on `port` (UDP and TCP). */
  pdns: (DnsProcessStatus & { backend: PdnsBackend; database: string }) | undefined;
  /** The embedded dnsdist: DNS over TLS on `port`, with this certificate (SHA-256, as `X509Certificate` writes it). */
  dot: (DnsProcessStatus & { fingerprint256: string }) | undefined;
}

export interface DnsStopResult {
  program: DnsProgram;
  pid: number;
  outcome: DetachedOutcome;
}

/** The files of one embedded daemon; all that `down` needs to find and stop it. */
interface DaemonFiles {
  program: DnsProgram;
  pidFile: string;
  /** Whether a process's argv is this daemon of this run dir (and not something that reused the pid). */
  isOurs: (argv: readonly string[]) => boolean;
}

function daemonFiles(dir: string): { pdns: DaemonFiles; dnsdist: DaemonFiles } {
  const conf = path.join(dir, 'dnsdist.conf');
  return {
    pdns: {
      program: DnsProgram.pdns,
      pidFile: path.join(dir, 'pdns_server.pid'),
      isOurs: (argv) => (argv[0] ?? '').endsWith('pdns_server') && argv.includes(`--config-dir=${dir}`),
    },
    dnsdist: {
      program: DnsProgram.dnsdist,
      pidFile: path.join(dir, 'dnsdist.pid'),
      isOurs: (argv) => (argv[0] ?? '').endsWith('dnsdist') && argv.includes(conf),
    },
  };
}

interface Daemon extends DaemonFiles {
  logFile: string;
  configFile: string;
  config: string;
  command: string;
  args: string[];
  ports: { port: number; udp: boolean; purpose: string; setting: string }[];
  /** One readiness probe: whether it answers as configured. */
  answers: () => Promise<boolean>;
}

/**
 * The control plane's DNS server for one run dir. `serviceEnv` is known before `start()`, so the
 * control plane can be configured with it first; `start()` brings the embedded server up (or
 * reuses it), `stop()` brings it down.
 */
export class DnsServer {
  readonly config: DnsConfig;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly log: Logger;
  readonly #keyFileOwner: { uid: number; gid: number } | undefined;
  /** What this object started, so a failed `up` takes back only that. */
  readonly #started: DaemonFiles[] = [];
  /** Set by stop(): the daemons' exits from then on are asked for, not news. */
  #stopping = false;

  constructor(options: DnsServerOptions) {
    this.config = resolveDnsConfig(options);
    this.readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.log = options.logger ?? createLogger('controlplane', hostInstanceId());
    this.#keyFileOwner = options.keyFileOwner;
  }

  /** The environment every service gets (SDMI_DNS_DOMAIN, SDMI_PDNS_API_URL, SDMI_PDNS_API_KEY_FILE, SDMI_DNS_NS_ADDRESS). */
  get serviceEnv(): Record<string, string> {
    return dnsServiceEnv(this.config);
  }

  /** Whether this object started pdns_server or dnsdist (rather than finding them running). */
  get startedAny(): boolean {
    return this.#started.length > 0;
  }

  /**
   * Starts pdns_server and dnsdist unless they already run from this run dir as configured and
   * answer (their API with the key, DNS over UDP, DNS over TLS with our certificate); one running
   * with other settings is restarted. If one does not come up, what this call started is stopped
   * again. With an external PowerDNS it only reports it.
   */
  async start(): Promise<DnsServerStatus> {
    const c = this.config;
    const env = this.serviceEnv;
    if (c.mode === 'external') {
      // A missing file would also become an empty directory in dns-manager's container (docker run -v).
      await access(c.apiKeyFile, constants.R_OK).catch((err: unknown) => {
        throw new DnsConfigError(DnsEnv.apiKeyFile, c.apiKeyFile, `cannot be read (${messageOf(err)})`);
      });
      this.log.info({ apiUrl: c.apiUrl, apiKeyFile: c.apiKeyFile, domain: c.domain }, 'DNS: using the PowerDNS the environment names');
      return { mode: c.mode, domain: c.domain, apiUrl: c.apiUrl, apiKeyFile: c.apiKeyFile, env, pdns: undefined, dot: undefined };
    }
    await mkdir(c.dir, { recursive: true, mode: 0o700 });
    await chmod(c.dir, 0o700);
    await mkdir(c.logDir, { recursive: true });
    const files = daemonFiles(c.dir);
    const startedHere = this.#started.length;
    try {
      const key = await this.#apiKey();
      await this.#prepareDatabase();
      const apiUrl = apiUrlOf(c);
      const pdns = await this.#ensure({
        ...files.pdns,
        logFile: path.join(c.logDir, 'pdns_server.log'),
        configFile: c.pdnsConfigFile,
        config: renderPdnsConf(c, key),
        command: 'pdns_server',
        args: [`--config-dir=${c.dir}`, '--daemon=no', '--guardian=no', '--disable-syslog', `--socket-dir=${c.dir}`],
        ports: [
          { port: c.dnsPort, udp: true, purpose: 'DNS (UDP and TCP)', setting: DnsEnv.dnsPort },
          { port: c.apiPort, udp: false, purpose: 'the PowerDNS API', setting: DnsEnv.apiPort },
        ],
        answers: async () => (await apiAnswers(apiUrl, key)) && (await udpProbe(c.address, c.dnsPort, PROBE_NAME)) !== undefined,
      });
      const fingerprint256 = await this.#certificate();
      const dot = await this.#ensure({
        ...files.dnsdist,
        logFile: path.join(c.logDir, 'dnsdist.log'),
        configFile: c.dnsdistConfigFile,
        config: renderDnsdistConf(c),
        command: 'dnsdist',
        args: ['--supervised', '--disable-syslog', '-C', c.dnsdistConfigFile],
        ports: [{ port: c.dotPort, udp: false, purpose: 'DNS over TLS', setting: DnsEnv.dotPort }],
        // dnsdist drops queries while it holds PowerDNS for down, so an answer means both work.
        answers: async () => {
          const rcode = await dotProbe(c.address, c.dotPort, PROBE_NAME, fingerprint256);
          return rcode !== undefined && rcode !== SERVFAIL;
        },
      });
      const database = c.pg === undefined ? c.sqliteFile : `${c.pg.name} on ${c.pg.host}:${c.pg.port}`;
      const status: DnsServerStatus = {
        mode: c.mode,
        domain: c.domain,
        apiUrl,
        apiKeyFile: c.apiKeyFile,
        env,
        pdns: { program: DnsProgram.pdns, ...pdns, address: c.address, port: c.dnsPort, logFile: path.join(c.logDir, 'pdns_server.log'), backend: c.backend, database },
        dot: { program: DnsProgram.dnsdist, ...dot, address: c.address, port: c.dotPort, logFile: path.join(c.logDir, 'dnsdist.log'), fingerprint256 },
      };
      this.log.info({ pdns: status.pdns, dot: status.dot, apiUrl, domain: c.domain }, 'DNS server ready');
      return status;
    } catch (err) {
      for (const d of this.#started.splice(startedHere).reverse()) await stopDaemon(d, this.stopTimeoutMs);
      throw err;
    }
  }

  /** Stops dnsdist, then pdns_server, whoever started them (nothing with an external PowerDNS). */
  async stop(): Promise<DnsStopResult[]> {
    this.#stopping = true;
    this.#started.length = 0;
    if (this.config.mode === 'external') return [];
    const results = await stopDnsServer(path.dirname(this.config.dir), { stopTimeoutMs: this.stopTimeoutMs });
    this.log.info({ results }, 'DNS server stopped');
    return results;
  }

  /** The API key: made once (32 random bytes) into a 0600 file, read from it afterwards. Never logged. */
  async #apiKey(): Promise<string> {
    const file = this.config.apiKeyFile;
    let key = (await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    })).trim();
    if (key === '' || /[\r\n]/.test(key)) {
      key = randomBytes(32).toString('base64url');
      const tmp = `${file}.new`;
      await writeFile(tmp, `${key}\n`, { mode: 0o600 });
      await rename(tmp, file);
      this.log.info({ apiKeyFile: file }, 'DNS: generated the PowerDNS API key');
    } else if (((await stat(file)).mode & 0o077) !== 0) {
      await chmod(file, 0o600);
    }
    if (this.#keyFileOwner !== undefined) await chown(file, this.#keyFileOwner.uid, this.#keyFileOwner.gid);
    return key;
  }

  /** gsqlite3: the database file, made from Debian's schema once. gpgsql: the database and its schema, once. */
  async #prepareDatabase(): Promise<void> {
    const c = this.config as EmbeddedDnsConfig;
    if (c.pg === undefined) {
      if (await exists(c.sqliteFile)) return;
      const schema = await schemaText(c.backend);
      // Made aside and renamed: a failure half way must not leave a database without tables.
      const tmp = `${c.sqliteFile}.new`;
      await rm(tmp, { force: true });
      await runTool('sqlite3', [tmp], schema);
      await chmod(tmp, 0o600);
      await rename(tmp, c.sqliteFile);
      this.log.info({ database: c.sqliteFile }, 'DNS: created the gsqlite3 database');
      return;
    }
    const pg = c.pg;
    const schema = await schemaText(c.backend);
    const where = `${pg.name} on ${pg.host}:${pg.port}`;
    try {
      const created = await ensureDatabase(pg.url);
      const pool = createPool(pg.url, 1, this.log);
      try {
        const r = await pool.query<{ t: string | null }>("SELECT to_regclass('public.domains')::text AS t");
        if (r.rows[0]?.t == null) {
          await pool.query(schema);
          this.log.info({ database: where, created }, 'DNS: loaded the gpgsql schema');
        }
      } finally {
        await pool.end();
      }
    } catch (err) {
      throw new DnsServerStartError(DnsProgram.pdns, `its gpgsql database ${where} cannot be prepared (${messageOf(err)})`, undefined, [], { cause: err });
    }
  }

  /** The DoT certificate: self-signed, P-256, for 127.0.0.1 and localhost; made once, again when it nears its end. */
  async #certificate(): Promise<string> {
    const c = this.config as EmbeddedDnsConfig;
    try {
      const cert = new X509Certificate(await readFile(c.certFile));
      if (Date.parse(cert.validTo) > Date.now() + 30 * 86_400_000 && (await exists(c.certKeyFile))) return cert.fingerprint256;
    } catch {
      // missing or unreadable: made below
    }
    await runTool('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', c.certKeyFile, '-out', c.certFile, '-days', '3650',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    await chmod(c.certKeyFile, 0o600);
    this.log.info({ certFile: c.certFile }, 'DNS: made the DNS-over-TLS certificate');
    return new X509Certificate(await readFile(c.certFile)).fingerprint256;
  }

  /** Reuses the daemon when it runs from this run dir with the same configuration and answers; otherwise (re)starts it. */
  async #ensure(d: Daemon): Promise<{ pid: number; outcome: DnsOutcome }> {
    const running = await ourPid(d);
    if (running !== undefined) {
      const same = (await readFile(d.configFile, 'utf8').catch(() => '')) === d.config;
      // A few seconds: dnsdist takes a moment to see a PowerDNS that was just restarted as up again.
      if (same && (await until(d.answers, 5_000))) return { pid: running, outcome: DnsOutcome.reused };
      this.log.warn({ program: d.program, pid: running, sameConfig: same }, 'DNS: running with other settings or not answering; restarting it');
      await stopDaemon(d, this.stopTimeoutMs);
    }
    // One we just stopped may still be closing its sockets when its pid is already reaped (seen with pdns_server's API port).
    const grace = running === undefined ? 0 : 5_000;
    for (const p of d.ports) if (!(await until(() => portFree(p.port, p.udp), grace))) throw new DnsPortInUseError(p.port, p.purpose, p.setting);
    await writeFile(d.configFile, d.config, { mode: 0o600 });
    await chmod(d.configFile, 0o600);
    const logStart = await fileSize(d.logFile);
    const fd = openSync(d.logFile, 'a');
    const child = (() => {
      try {
        // Its own process group: a Ctrl-C in up's terminal reaches only up, which stops it in order.
        return spawn(d.command, d.args, { detached: true, stdio: ['ignore', fd, fd] });
      } finally {
        closeSync(fd);
      }
    })();
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (spawnError !== undefined || child.pid === undefined) {
      const missing = (spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      throw new DnsServerStartError(d.program, missing ? `${d.command} is not installed (run \`bash deploy/setup.sh\`)` : messageOf(spawnError), d.logFile, [], { cause: spawnError });
    }
    const pid = child.pid;
    child.unref();
    let exited: string | undefined;
    let ready = false;
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`;
      if (ready && !this.#stopping) this.log.error({ program: d.program, pid, exit: exited, logFile: d.logFile }, 'DNS: exited on its own');
    });
    this.#started.push(d);
    await writeFile(d.pidFile, `${pid}\n`);
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      if (exited !== undefined) throw new DnsServerStartError(d.program, `it exited with ${exited}`, d.logFile, await tailFile(d.logFile, logStart));
      if (await d.answers()) break;
      if (Date.now() >= deadline) {
        throw new DnsServerStartError(d.program, `no answer within ${this.readyTimeoutMs} ms`, d.logFile, await tailFile(d.logFile, logStart));
      }
      await sleep(200);
    }
    ready = true;
    this.log.info({ program: d.program, pid, logFile: d.logFile }, 'DNS: started');
    return { pid, outcome: DnsOutcome.started };
  }
}

/**
 * What `down` does: stops the embedded dnsdist, then pdns_server, found by their pid files in
 * `<runDir>/dns` (a pid that is no longer theirs is left alone). Resolves with one result per pid
 * file found; the files are removed. The zone database and the API key stay for the next `up`.
 */
export async function stopDnsServer(runDir: string, options: { stopTimeoutMs?: number } = {}): Promise<DnsStopResult[]> {
  const files = daemonFiles(path.join(path.resolve(runDir), 'dns'));
  const results: DnsStopResult[] = [];
  for (const d of [files.dnsdist, files.pdns]) {
    const r = await stopDaemon(d, options.stopTimeoutMs ?? 15_000);
    if (r !== undefined) results.push(r);
  }
  return results;
}

/** Lines for up's output: where DNS and DNS over TLS answer, and where the API and its key are. */
export function formatDnsStatus(s: DnsServerStatus): string {
  if (s.pdns === undefined || s.dot === undefined) {
    return `DNS      PowerDNS at ${s.apiUrl} (from ${DnsEnv.apiUrl}), key in ${s.apiKeyFile}; nothing started; domain ${s.domain}`;
  }
  const p = s.pdns;
  const d = s.dot;
  return [
    `DNS      ${p.address}:${p.port} (UDP, TCP)  pdns_server pid ${p.pid} (${p.outcome}), ${p.backend} ${p.database}; API ${s.apiUrl}, key in ${s.apiKeyFile}`,
    `DoT      ${d.address}:${d.port}  dnsdist pid ${d.pid} (${d.outcome}); kdig @${d.address} -p ${d.port} +tls <name>.${s.domain}`,
    `domain   ${s.domain} (its zone is kept by dns-manager)`,
  ].join('\n');
}

/** The pid in the daemon's pid file, if that process is alive and is it. */
async function ourPid(d: DaemonFiles): Promise<number | undefined> {
  const raw = await readFile(d.pidFile, 'utf8').catch(() => '');
  const pid = Number(raw.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  return d.isOurs(argvOf(pid)) ? pid : undefined;
}

async function stopDaemon(d: DaemonFiles, timeoutMs: number): Promise<DnsStopResult | undefined> {
  const raw = await readFile(d.pidFile, 'utf8').catch(() => undefined);
  if (raw === undefined) return undefined;
  const pid = Number(raw.trim());
  let outcome: DetachedOutcome;
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) outcome = DetachedOutcome.notRunning;
  else if (!d.isOurs(argvOf(pid))) outcome = DetachedOutcome.notOurs;
  else {
    signal(pid, 'SIGTERM');
    if (await gone(pid, timeoutMs)) outcome = DetachedOutcome.stopped;
    else {
      signal(pid, 'SIGKILL');
      await gone(pid, 5_000);
      outcome = DetachedOutcome.killed;
    }
  }
  await rm(d.pidFile, { force: true });
  return { program: d.program, pid, outcome };
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(250);
  }
}

async function apiAnswers(apiUrl: string, key: string): Promise<boolean> {
  try {
    const r = await fetch(`${apiUrl}/api/v1/servers/localhost`, { headers: { 'X-API-Key': key }, signal: AbortSignal.timeout(1_000) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Whether 127.0.0.1:port can be bound for TCP (and UDP) right now. */
async function portFree(port: number, udp: boolean): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  if (!tcp || !udp) return tcp;
  return new Promise<boolean>((resolve) => {
    const u = createSocket('udp4');
    u.once('error', () => resolve(false));
    u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
  });
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function schemaText(backend: PdnsBackend): Promise<string> {
  const file = PDNS_SCHEMAS[backend];
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const pkg = backend === 'gpgsql' ? 'pdns-backend-pgsql' : 'pdns-backend-sqlite3';
    throw new DnsServerStartError(DnsProgram.pdns, `the ${backend} schema ${file} is missing: install ${pkg} (run \`bash deploy/setup.sh\`)`, undefined, [], { cause: err });
  }
}

/** Runs a tool (sqlite3, openssl) to completion; its stderr goes into the error. */
function runTool(command: string, args: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `${command} is not installed (run \`bash deploy/setup.sh\`)` : messageOf(err);
      reject(new DnsServerStartError(command, why, undefined, [], { cause: err }));
    });
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new DnsServerStartError(command, `${command} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, undefined, []));
    });
  });
}
