// dns-manager's settings, from the environment, refused with a reason when malformed. The API key
// is read from a file (or the environment) and only ever handed to the PowerDNS client.
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { absoluteName } from '@sdmi/powerdns';
import { intSetting } from '@sdmi/service';

export const DnsEnv = {
  /** The cluster's DNS domain, e.g. sdmi.internal. Unset: the cluster has no DNS (dns-manager idles, the scheduler adds no DNS step). */
  domain: 'SDMI_DNS_DOMAIN',
  /** PowerDNS's HTTP API, e.g. http://127.0.0.1:8281. */
  apiUrl: 'SDMI_PDNS_API_URL',
  /** A file holding the API key (preferred: no key in the environment of every child). */
  apiKeyFile: 'SDMI_PDNS_API_KEY_FILE',
  apiKey: 'SDMI_PDNS_API_KEY',
  /** The address the nameserver answers on: ns.<domain>'s A record. Default 127.0.0.1. */
  nsAddress: 'SDMI_DNS_NS_ADDRESS',
  /** TTL of the records dns-manager makes, seconds. Default 10: names follow scaling, caches must not hold them long. */
  ttl: 'SDMI_DNS_TTL',
  /** A full pass at least this often, ms, besides the passes events trigger. Default 3000. */
  resyncMs: 'SDMI_DNS_RESYNC_MS',
} as const;

export interface DnsConfig {
  domain: string;
  apiUrl: string;
  apiKey: string;
  nsAddress: string;
  ttl: number;
  resyncMs: number;
}

/** The configuration, or undefined when SDMI_DNS_DOMAIN is unset (DNS off). */
export function loadDnsConfig(env: NodeJS.ProcessEnv = process.env): DnsConfig | undefined {
  const raw = env[DnsEnv.domain];
  if (raw === undefined || raw === '') return undefined;
  const domain = absoluteName(raw, DnsEnv.domain);
  if (domain.split('.').length < 3) throw new Error(`${DnsEnv.domain}="${raw}": a cluster domain needs at least two labels (e.g. sdmi.internal), not a top-level domain`);
  const apiUrl = env[DnsEnv.apiUrl];
  if (apiUrl === undefined || apiUrl === '') throw new Error(`${DnsEnv.apiUrl} is not set: dns-manager needs PowerDNS's HTTP API when ${DnsEnv.domain} is set`);
  if (!/^https?:\/\/[^/\s]+\/?$/.test(apiUrl)) throw new Error(`${DnsEnv.apiUrl}="${apiUrl}": expected http(s)://host:port`);
  let apiKey = env[DnsEnv.apiKey];
  const keyFile = env[DnsEnv.apiKeyFile];
  if (keyFile !== undefined && keyFile !== '') {
    try {
      apiKey = readFileSync(keyFile, 'utf8').trim();
    } catch (e) {
      throw new Error(`${DnsEnv.apiKeyFile}="${keyFile}": cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  if (apiKey === undefined || apiKey === '') throw new Error(`neither ${DnsEnv.apiKeyFile} nor ${DnsEnv.apiKey} gives PowerDNS's API key`);
  const nsAddress = env[DnsEnv.nsAddress] || '127.0.0.1';
  if (!isIPv4(nsAddress)) throw new Error(`${DnsEnv.nsAddress}="${nsAddress}": expected an IPv4 address`);
  return {
    domain,
    apiUrl: apiUrl.replace(/\/$/, ''),
    apiKey,
    nsAddress,
    ttl: intSetting(DnsEnv.ttl, env[DnsEnv.ttl], 10, 1, 86400),
    resyncMs: intSetting(DnsEnv.resyncMs, env[DnsEnv.resyncMs], 3000, 200, 3_600_000),
  };
}
