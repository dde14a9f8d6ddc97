// Shared by the tests: a real PowerDNS of the test bed, a client on it, and dig/delv against it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tryRun } from '@sdmi/testbed';
import type { PowerDns } from '@sdmi/testbed';
import { PowerDnsClient } from '../src/index';
import type { Logger } from '../src/index';

export function clientFor(pdns: PowerDns, logger?: Logger): PowerDnsClient {
  return new PowerDnsClient({ baseUrl: pdns.apiUrl, apiKey: pdns.apiKey, ...(logger ? { logger } : {}) });
}

/** A logger that records what the client logs, to see whether a request was sent. */
export function recordingLogger(): Logger & { entries: { level: string; obj: object; msg?: string }[] } {
  const entries: { level: string; obj: object; msg?: string }[] = [];
  return {
    entries,
    debug: (obj, msg) => void entries.push({ level: 'debug', obj, ...(msg === undefined ? {} : { msg }) }),
    warn: (obj, msg) => void entries.push({ level: 'warn', obj, ...(msg === undefined ? {} : { msg }) }),
  };
}

/** `dig +short` answer lines for name/type, sorted (+norecurse: an authoritative server answers itself). */
export async function digShort(pdns: PowerDns, name: string, type: string): Promise<string[]> {
  const r = await pdns.dig('+short', '+norecurse', name, type);
  if (r.exitCode !== 0) throw new Error(`dig ${name} ${type} exited ${r.exitCode}: ${r.stderr}${r.stdout}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** The status of the answer (NOERROR, NXDOMAIN, REFUSED …). */
export async function digStatus(pdns: PowerDns, name: string, type: string): Promise<string> {
  const r = await pdns.dig('+norecurse', name, type);
  const m = /status: ([A-Z]+)/.exec(r.stdout);
  if (!m) throw new Error(`dig ${name} ${type} gave no status (exit ${r.exitCode}): ${r.stderr}${r.stdout}`);
  return m[1]!;
}

/**
 * Writes a delv trust-anchor file holding `zone`'s DNSKEY (`257 3 13 <base64>`) as a static key,
 * in the `trust-anchors` syntax of BIND 9.18 (man delv: -a).
 */
export function writeAnchor(dir: string, zone: string, dnskey: string): string {
  const [flags, protocol, algorithm, ...key] = dnskey.split(' ');
  const file = join(dir, `anchor-${zone}key`);
  writeFileSync(file, `trust-anchors {\n  ${zone} static-key ${flags} ${protocol} ${algorithm} "${key.join('')}";\n};\n`);
  return file;
}

/**
 * `delv @127.0.0.1 -p <port> -a <anchor> +root=<anchorZone> name type`: validates the answer from
 * the anchor down. delv exits 0 whether or not validation succeeded; what counts is its output
 * (`; fully validated`, `; unsigned answer`, `resolution failed: …`), so both streams are returned.
 */
export async function delv(pdns: PowerDns, anchorFile: string, anchorZone: string, name: string, type: string): Promise<string> {
  const r = await tryRun('delv', ['@127.0.0.1', '-p', String(pdns.dnsPort), '-a', anchorFile, `+root=${anchorZone}`, name, type], {
    timeoutMs: 30_000,
  });
  return `${r.stdout}${r.stderr}`;
}
