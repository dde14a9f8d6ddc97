// dns-manager's queries: reads of its rows and of PowerDNS, answered by any instance.
import { serveQuery, type QueryHandler } from '@sdmi/bus';
import { DnsQueries, tenantOfId, type DnsZoneStatus } from '@sdmi/contracts';
import { containerName, managedCount, ZoneKinds, zoneAccount } from '@sdmi/dns-records';
import type { PowerDnsClient } from '@sdmi/powerdns';
import type pg from 'pg';
import type { DnsConfig } from './config';
import type { DnsStore } from './store';

export function dnsQueries(store: DnsStore, pool: pg.Pool, config: DnsConfig | undefined, pdns: PowerDnsClient | undefined): QueryHandler[] {
  return [
    serveQuery(DnsQueries.replicaRecords, async ({ replicaId }, ctx) => {
      // Another tenant's replica is answered as unknown: its names are that tenant's business.
      if (!ctx.canRead(tenantOfId(replicaId))) {
        return { replicaId, registered: false, published: false, names: [], reason: null };
      }
      const reg = await store.registration(pool, replicaId);
      const published = await store.published(pool, replicaId);
      const last = await store.lastPass(pool);
      const names = published ?? (reg && config ? reg.interfaces.filter((i) => i.ip !== null).map((i) => containerName(replicaId, i.network, config.domain)) : []);
      const reason = config === undefined ? 'DNS is off (SDMI_DNS_DOMAIN is not set)' : last && !last.ok ? last.detail : null;
      return { replicaId, registered: reg !== undefined, published: published !== undefined, names, reason };
    }),
    serveQuery(DnsQueries.listZones, async (_q, ctx) => {
      const last = await store.lastPass(pool);
      const lastPass = last ? { at: last.at.toISOString(), ok: last.ok, detail: last.detail, changes: last.changes } : null;
      if (!config || !pdns) return { domain: null, zones: [], lastPass };
      const account = zoneAccount(config.domain);
      const zones: DnsZoneStatus[] = [];
      for (const z of (await pdns.listZones()).filter((x) => x.account === account).sort((a, b) => a.name.localeCompare(b.name))) {
        const kind = z.name === config.domain ? ZoneKinds.Cluster : z.name.endsWith('.in-addr.arpa.') ? ZoneKinds.Reverse : ZoneKinds.Tenant;
        // A tenant zone <tenant>.<domain> to its tenant's readers; the cluster's and reverse zones to the cluster's.
        const tenant = kind === ZoneKinds.Tenant ? z.name.slice(0, z.name.indexOf('.')) : undefined;
        if (!ctx.canRead(tenant)) continue;
        const full = await pdns.getZone(z.name);
        const keys = (await pdns.listCryptoKeys(z.name)).filter((k) => k.active);
        zones.push({ name: z.name, kind, rrsets: managedCount(z.name, full.rrsets), dnskeys: keys.map((k) => k.dnskey), ds: keys.flatMap((k) => k.ds) });
      }
      return { domain: config.domain, zones, lastPass };
    }),
  ];
}
