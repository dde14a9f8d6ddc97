// What the control plane's DNS server is, decided from the environment before anything starts: an
// external PowerDNS the user names, or the embedded pdns_server + dnsdist on loopback ports; and
// the configuration files of the embedded one. Pure: no file, process or socket is touched here.
import path from 'node:path';
import { DnsConfigError } from './errors';

/**
 * The environment of the DNS server. The first four are what every service gets (the contract
 * dns-manager reads); the others choose how the embedded server runs.
 */
export const DnsEnv = {
  /** The cluster's DNS domain, e.g. `sdmi.internal`; a value the user set is kept. */
  domain: 'SDMI_DNS_DOMAIN',
  /** Base URL of the PowerDNS HTTP API (the API is below `/api/v1`). Set by the user: that PowerDNS is used and nothing is started. */
  apiUrl: 'SDMI_PDNS_API_URL',
  /** Path of a file holding the API key, and nothing else. The key itself is never in the environment. */
  apiKeyFile: 'SDMI_PDNS_API_KEY_FILE',
  /** The address the name server answers DNS on. */
  nsAddress: 'SDMI_DNS_NS_ADDRESS',
  /** Embedded: PowerDNS's DNS port (UDP and TCP) on 127.0.0.1. */
  dnsPort: 'SDMI_DNS_PORT',
  /** Embedded: PowerDNS's HTTP API port on 127.0.0.1. */
  apiPort: 'SDMI_PDNS_API_PORT',
  /** Embedded: dnsdist's DNS-over-TLS port on 127.0.0.1. */
  dotPort: 'SDMI_DOT_PORT',
  /** Embedded: `gsqlite3` (default, a database file in the run dir) or `gpgsql` (a database on SDMI_PG_URL's server). */
  backend: 'SDMI_PDNS_BACKEND',
  /** Embedded with gpgsql: the database's name; default `<SDMI_PG_URL's database>_pdns`. */
  pgDatabase: 'SDMI_PDNS_PG_DATABASE',
} as const;

export const DEFAULT_DNS_DOMAIN = 'sdmi.internal';
/** The embedded server answers on loopback only. */
export const DNS_ADDRESS = '127.0.0.1';
/**
 * Fixed, so a user's resolver or stub can be pointed at them once: not 53 (a host resolver may
 * hold it) and not 8080/8081 (PowerDNS's own defaults, and often taken). 5853 reads as "DoT's 853".
 */
export const DEFAULT_DNS_PORTS = { dns: 5300, api: 5380, dot: 5853 } as const;

export const PdnsBackend = { gsqlite3: 'gsqlite3', gpgsql: 'gpgsql' } as const;
export type PdnsBackend = (typeof PdnsBackend)[keyof typeof PdnsBackend];

/** Where Debian's backend packages put their schemas. */
export const PDNS_SCHEMAS = {
  gsqlite3: '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql',
  gpgsql: '/usr/share/pdns-backend-pgsql/schema/schema.pgsql.sql',
} as const;

export interface DnsConfigOptions {
  /** The run dir of the control plane; the embedded server keeps its files in `<runDir>/dns`. */
  runDir: string;
  /** Where the settings come from; default process.env. Options below win over it. */
  env?: Readonly<Record<string, string | undefined>>;
  dnsPort?: number;
  apiPort?: number;
  dotPort?: number;
  backend?: PdnsBackend;
  domain?: string;
  /** The server for gpgsql; default SDMI_PG_URL, then postgres://postgres@127.0.0.1:5432/sdmi. */
  pgUrl?: string;
}

export interface ExternalDnsConfig {
  mode: 'external';
  domain: string;
  apiUrl: string;
  apiKeyFile: string;
  nsAddress: string | undefined;
}

export interface GpgsqlDatabase {
  /** Where the database is created (the URL of SDMI_PG_URL's server with this database). */
  url: string;
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface EmbeddedDnsConfig {
  mode: 'embedded';
  domain: string;
  dir: string;
  logDir: string;
  apiKeyFile: string;
  address: typeof DNS_ADDRESS;
  dnsPort: number;
  apiPort: number;
  dotPort: number;
  backend: PdnsBackend;
  /** gsqlite3: the database file. */
  sqliteFile: string;
  /** gpgsql: the database. */
  pg: GpgsqlDatabase | undefined;
  pdnsConfigFile: string;
  dnsdistConfigFile: string;
  certFile: string;
  certKeyFile: string;
}

export type DnsConfig = ExternalDnsConfig | EmbeddedDnsConfig;

/** A DNS name of host-name labels, 1-63 characters each, 253 in all; a trailing dot is dropped. */
function domainFrom(raw: string): string {
  const name = raw.replace(/\.$/, '').toLowerCase();
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  if (name.length === 0 || name.length > 253 || !name.split('.').every((l) => label.test(l))) {
    throw new DnsConfigError(DnsEnv.domain, raw, 'must be a DNS name of letters, digits and inner hyphens, e.g. sdmi.internal');
  }
  return name;
}

function portFrom(key: string, raw: string | number | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new DnsConfigError(key, String(raw), 'must be a port number 1-65535');
  return n;
}

function gpgsqlDatabase(pgUrl: string, named: string | undefined): GpgsqlDatabase {
  let url: URL;
  try {
    url = new URL(pgUrl);
  } catch {
    throw new DnsConfigError('SDMI_PG_URL', '(not shown)', 'is not a URL, so gpgsql has no PostgreSQL to use');
  }
  const main = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const name = named || `${main}_pdns`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new DnsConfigError(DnsEnv.pgDatabase, name, 'must be a lower-case PostgreSQL identifier (letters, digits, _), at most 63 characters');
  }
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    password: decodeURIComponent(url.password),
  };
}

/** Decides the DNS server from the environment and options; refuses bad settings before anything starts. */
export function resolveDnsConfig(options: DnsConfigOptions): DnsConfig {
  const env = options.env ?? process.env;
  const domain = domainFrom(options.domain ?? (env[DnsEnv.domain] || DEFAULT_DNS_DOMAIN));
  const external = env[DnsEnv.apiUrl];
  if (external) {
    let url: URL;
    try {
      url = new URL(external);
    } catch {
      throw new DnsConfigError(DnsEnv.apiUrl, external, 'must be a URL such as http://127.0.0.1:8081');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DnsConfigError(DnsEnv.apiUrl, external, 'must be an http or https URL');
    const keyFile = env[DnsEnv.apiKeyFile];
    if (!keyFile) throw new DnsConfigError(DnsEnv.apiKeyFile, '', `must name the file holding the API key of the PowerDNS that ${DnsEnv.apiUrl} names`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const literal = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
    return { mode: 'external', domain, apiUrl: external, apiKeyFile: path.resolve(keyFile), nsAddress: env[DnsEnv.nsAddress] || (literal ? host : undefined) };
  }
  const backendRaw = options.backend ?? (env[DnsEnv.backend] || PdnsBackend.gsqlite3);
  if (backendRaw !== PdnsBackend.gsqlite3 && backendRaw !== PdnsBackend.gpgsql) {
    throw new DnsConfigError(DnsEnv.backend, backendRaw, 'must be gsqlite3 or gpgsql');
  }
  const dnsPort = portFrom(DnsEnv.dnsPort, options.dnsPort ?? env[DnsEnv.dnsPort], DEFAULT_DNS_PORTS.dns);
  const apiPort = portFrom(DnsEnv.apiPort, options.apiPort ?? env[DnsEnv.apiPort], DEFAULT_DNS_PORTS.api);
  const dotPort = portFrom(DnsEnv.dotPort, options.dotPort ?? env[DnsEnv.dotPort], DEFAULT_DNS_PORTS.dot);
  if (new Set([dnsPort, apiPort, dotPort]).size !== 3) {
    throw new DnsConfigError(`${DnsEnv.dnsPort}/${DnsEnv.apiPort}/${DnsEnv.dotPort}`, `${dnsPort}/${apiPort}/${dotPort}`, 'must be three different ports');
  }
  const dir = path.join(path.resolve(options.runDir), 'dns');
  const pgUrl = options.pgUrl ?? (env.SDMI_PG_URL || 'postgres://postgres@127.0.0.1:5432/sdmi');
  return {
    mode: 'embedded',
    domain,
    dir,
    logDir: path.join(path.resolve(options.runDir), 'logs'),
    apiKeyFile: path.join(dir, 'api-key'),
    address: DNS_ADDRESS,
    dnsPort,
    apiPort,
    dotPort,
    backend: backendRaw,
    sqliteFile: path.join(dir, 'pdns.sqlite3'),
    pg: backendRaw === PdnsBackend.gpgsql ? gpgsqlDatabase(pgUrl, env[DnsEnv.pgDatabase]) : undefined,
    pdnsConfigFile: path.join(dir, 'pdns.conf'),
    dnsdistConfigFile: path.join(dir, 'dnsdist.conf'),
    certFile: path.join(dir, 'dot-cert.pem'),
    certKeyFile: path.join(dir, 'dot-key.pem'),
  };
}

/** The contract every service gets: where the API is, the file with its key, the domain, the name server's address. */
export function dnsServiceEnv(config: DnsConfig): Record<string, string> {
  const env: Record<string, string> = {
    [DnsEnv.domain]: config.domain,
    [DnsEnv.apiUrl]: config.mode === 'external' ? config.apiUrl : apiUrlOf(config),
    [DnsEnv.apiKeyFile]: config.apiKeyFile,
  };
  const ns = config.mode === 'external' ? config.nsAddress : config.address;
  if (ns !== undefined) env[DnsEnv.nsAddress] = ns;
  return env;
}

export function apiUrlOf(config: EmbeddedDnsConfig): string {
  return `http://${config.address}:${config.apiPort}`;
}

/**
 * pdns.conf of the embedded server (it holds the API key and a database password: written 0600).
 * Its text is also what tells a running pdns_server of ours is configured as wanted.
 */
export function renderPdnsConf(config: EmbeddedDnsConfig, apiKey: string): string {
  const backend: Record<string, string> =
    config.pg === undefined
      ? { launch: 'gsqlite3', 'gsqlite3-database': config.sqliteFile, 'gsqlite3-dnssec': 'yes' }
      : {
          launch: 'gpgsql',
          'gpgsql-host': config.pg.host,
          'gpgsql-port': String(config.pg.port),
          'gpgsql-dbname': config.pg.name,
          'gpgsql-user': config.pg.user,
          'gpgsql-password': config.pg.password,
          'gpgsql-dnssec': 'yes',
        };
  const settings: Record<string, string> = {
    ...backend,
    'local-address': config.address,
    'local-port': String(config.dnsPort),
    api: 'yes',
    'api-key': apiKey,
    webserver: 'yes',
    'webserver-address': config.address,
    'webserver-port': String(config.apiPort),
    'webserver-allow-from': '127.0.0.1',
    // "detailed" would write request headers, the API key among them, to the log.
    'webserver-loglevel': 'normal',
    // The default security poll is a DNS query to the outside world.
    'security-poll-suffix': '',
    // Without it new zones get the SOA "a.misconfigured.dns.server.invalid.".
    'default-soa-content': 'ns1.@ hostmaster.@ 0 10800 3600 604800 3600',
    // The control plane keeps its own pid file (written at spawn, before pdns gets that far).
    'write-pid': 'no',
  };
  return `# SDMI control plane: embedded PowerDNS (written by up; changes are overwritten)\n${Object.entries(settings)
    .map(([k, v]) => {
      if (/[\r\n]/.test(v)) throw new DnsConfigError(k, '(not shown)', 'must not hold a newline');
      return `${k}=${v}`;
    })
    .join('\n')}\n`;
}

/** dnsdist.conf of the embedded server: DNS over TLS on `dotPort`, forwarding to PowerDNS. */
export function renderDnsdistConf(config: EmbeddedDnsConfig): string {
  const lua = (s: string) => JSON.stringify(s);
  return [
    '-- SDMI control plane: DNS over TLS in front of the embedded PowerDNS (written by up; changes are overwritten)',
    // The default security poll is a DNS query to the outside world.
    "setSecurityPollSuffix('')",
    `newServer({ address = ${lua(`${config.address}:${config.dnsPort}`)}, name = 'pdns' })`,
    // This listener only: with none at all dnsdist would take 127.0.0.1:53.
    `addTLSLocal(${lua(`${config.address}:${config.dotPort}`)}, ${lua(config.certFile)}, ${lua(config.certKeyFile)}, { provider = 'openssl' })`,
    '',
  ].join('\n');
}
