import os from 'node:os';
import { InvalidConfigError, type ConfigProblem, type ConfigSource } from './errors';

export const LogLevel = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
  silent: 'silent',
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** The runtime settings every service shares. Frozen once loaded. */
export interface ServiceConfig {
  /** NATS server URL(s), comma separated. */
  readonly natsUrl: string;
  /** This process's identity among instances of the same service; a subject token. */
  readonly instanceId: string;
  readonly logLevel: LogLevel;
  /** How long a shutdown may take before runUntilSignal() gives up and exits non-zero. */
  readonly stopTimeoutMs: number;
  /** How long one readiness check may take before it counts as failed. */
  readonly checkTimeoutMs: number;
}

/** The environment variable behind each setting. */
export const ServiceEnv = {
  natsUrl: 'SDMI_NATS_URL',
  instanceId: 'SDMI_INSTANCE_ID',
  logLevel: 'SDMI_LOG_LEVEL',
  stopTimeoutMs: 'SDMI_STOP_TIMEOUT_MS',
  checkTimeoutMs: 'SDMI_CHECK_TIMEOUT_MS',
} as const satisfies Record<keyof ServiceConfig, string>;

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const NATS_SCHEMES = new Set(['nats:', 'tls:']);

type Parser<T> = (raw: unknown) => { ok: true; value: T } | { ok: false; reason: string };

const parsers: { [K in keyof ServiceConfig]: Parser<ServiceConfig[K]> } = {
  natsUrl: (raw) => {
    if (typeof raw !== 'string' || raw.trim() === '') return { ok: false, reason: 'expected one or more NATS URLs, comma separated' };
    const urls = raw.split(',').map((s) => s.trim());
    for (const u of urls) {
      let url: URL;
      try {
        // The client accepts host:port without a scheme; so do we.
        url = new URL(u.includes('://') ? u : `nats://${u}`);
      } catch {
        return { ok: false, reason: `"${u}" is not a URL` };
      }
      if (!NATS_SCHEMES.has(url.protocol)) return { ok: false, reason: `"${u}": scheme must be nats:// or tls://` };
      if (url.hostname === '') return { ok: false, reason: `"${u}" has no host` };
    }
    return { ok: true, value: urls.join(',') };
  },
  instanceId: (raw) =>
    typeof raw === 'string' && INSTANCE_ID.test(raw)
      ? { ok: true, value: raw }
      : { ok: false, reason: 'must be 1-64 letters, digits, "-" or "_", starting with a letter or digit (it is a NATS subject token)' },
  logLevel: (raw) =>
    typeof raw === 'string' && Object.hasOwn(LogLevel, raw)
      ? { ok: true, value: raw as LogLevel }
      : { ok: false, reason: `must be one of ${Object.values(LogLevel).join(', ')}` },
  stopTimeoutMs: positiveMs,
  checkTimeoutMs: positiveMs,
};

function positiveMs(raw: unknown): { ok: true; value: number } | { ok: false; reason: string } {
  const n = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 3_600_000
    ? { ok: true, value: n }
    : { ok: false, reason: 'must be a whole number of milliseconds between 1 and 3600000' };
}

/**
 * A whole-number setting of a service's own (`SDMI_DNS_TTL`, `SDMI_SWITCH_RESYNC_MS`, ...): the
 * default when unset or empty, else the value, refused with the setting and its range.
 */
export function intSetting(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`${name}="${raw}": expected a whole number from ${min} to ${max}`);
  return n;
}

/**
 * A host name turned into a valid instance id (`Web-01.dc1` → `web-01-dc1`): the node-agent runs
 * one instance per host, and the control plane names instances after the host by default.
 */
export function hostInstanceId(hostname: string = os.hostname()): string {
  const id = hostname
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return id === '' ? 'host' : id;
}

function builtInDefaults(): ServiceConfig {
  return {
    natsUrl: DEFAULT_NATS_URL,
    instanceId: `${hostInstanceId().slice(0, 63 - String(process.pid).length)}-${process.pid}`,
    logLevel: LogLevel.info,
    stopTimeoutMs: 10_000,
    checkTimeoutMs: 2_000,
  };
}

/**
 * Reads the runtime settings: environment over `defaults` over built-in defaults. Every invalid
 * value, and every unknown key in `defaults`, is reported at once in one InvalidConfigError.
 */
export function loadServiceConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  defaults: Partial<ServiceConfig> = {},
): ServiceConfig {
  const problems: ConfigProblem[] = [];
  const config: Record<string, unknown> = { ...builtInDefaults() };
  const take = (key: keyof ServiceConfig, raw: unknown, label: string, source: ConfigSource) => {
    const r = parsers[key](raw);
    if (r.ok) config[key] = r.value;
    else problems.push({ key: label, value: raw, reason: r.reason, source });
  };
  for (const [key, value] of Object.entries(defaults)) {
    if (!Object.hasOwn(parsers, key)) {
      problems.push({ key, value, reason: `unknown setting; known: ${Object.keys(parsers).join(', ')}`, source: 'option' });
    } else if (value !== undefined) {
      take(key as keyof ServiceConfig, value, key, 'option');
    }
  }
  for (const key of Object.keys(parsers) as (keyof ServiceConfig)[]) {
    const raw = env[ServiceEnv[key]];
    if (raw !== undefined && raw !== '') take(key, raw, ServiceEnv[key], 'env');
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return Object.freeze(config as unknown as ServiceConfig);
}

export interface UnknownEnvKey {
  readonly key: string;
  /** The known key it most likely misspells, if any is close. */
  readonly suggestion?: string;
}

/**
 * `SDMI_*` variables nobody reads. Not an error: other packages own `SDMI_*` names too (they pass
 * them in `known`), but a misspelt `SDMI_LOG_LEVLE` silently doing nothing is worth a warning.
 */
export function findUnknownEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  known: Iterable<string> = [],
): UnknownEnvKey[] {
  const knownKeys = new Set<string>([...Object.values(ServiceEnv), ...known]);
  return Object.keys(env)
    .filter((k) => k.startsWith('SDMI_') && !knownKeys.has(k))
    .sort()
    .map((key) => {
      let best: string | undefined;
      let bestDistance = 4;
      for (const k of knownKeys) {
        const d = editDistance(key, k);
        if (d < bestDistance) [best, bestDistance] = [k, d];
      }
      return best === undefined ? { key } : { key, suggestion: best };
    });
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
