// What the example prints of DNS: the names dns-manager keeps for its services, and one of them
// resolved over DNS over TLS (dnsdist in front of PowerDNS, as `sdmi up` starts them) with its
// signature, the way a client in the cluster would ask.
import { spawnSync } from 'node:child_process';
import { DnsQueries } from '@sdmi/contracts';
import { serviceName } from '@sdmi/dns-records';
import type { Cluster } from '@sdmi/sdk';

export interface DnsView {
  domain: string;
  /** service id -> its names, one per network. */
  names: Map<string, string[]>;
}

/** The cluster's DNS names of `tenant`'s services, or undefined when the cluster has no DNS. */
export async function dnsNames(cluster: Cluster, services: readonly { id: string; spec: { networks: readonly { network: string }[] } }[], tenant: string): Promise<DnsView | undefined> {
  const zones = await cluster.client.query('dns-manager', DnsQueries.listZones, {}).catch(() => undefined);
  if (!zones?.domain) return undefined;
  const names = new Map<string, string[]>();
  for (const s of services) {
    names.set(
      s.id,
      s.spec.networks.map((n) => serviceName(s.id, n.network.includes('/') ? n.network : `${tenant}/${n.network}`, zones.domain!)),
    );
  }
  return { domain: zones.domain, names };
}

/**
 * `kdig +tls +dnssec` of `name` at the DoT port: its A records and whether they came signed, or
 * why not (kdig missing, nothing answering).
 */
export function resolveOverTls(name: string, port: number): { addresses: string[]; signed: boolean } | { error: string } {
  const r = spawnSync('kdig', ['@127.0.0.1', '-p', String(port), '+tls', '+dnssec', '+timeout=3', name, 'A'], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return { error: `kdig: ${r.error.message}` };
  const status = /status: ([A-Z]+)/.exec(r.stdout)?.[1];
  if (status !== 'NOERROR') return { error: `kdig exited ${r.status}, status ${status ?? 'none'}: ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0]}` };
  const lines = r.stdout.split('\n').filter((l) => l.startsWith(name));
  return {
    addresses: lines.filter((l) => /\sIN\s+A\s/.test(l)).map((l) => l.trim().split(/\s+/).pop()!).sort(),
    signed: lines.some((l) => /\sIN\s+RRSIG\s+A\s/.test(l)),
  };
}
