// The RRset changes that make a zone in PowerDNS equal what is desired, touching only the types
// dns-manager manages: the SOA, the apex NS and the DNSSEC records are PowerDNS's.
import type { RRset, RRsetChange } from '@sdmi/powerdns';
import type { DesiredRRset } from './zones';

export const MANAGED_TYPES: ReadonlySet<string> = new Set(['A', 'AAAA', 'PTR', 'SRV', 'CNAME', 'TXT', 'MX', 'NS', 'DS']);

export function rrsetChanges(zone: string, desired: readonly DesiredRRset[], actual: readonly RRset[]): RRsetChange[] {
  const managed = (name: string, type: string) => MANAGED_TYPES.has(type) && !(type === 'NS' && name === zone);
  const want = new Map(desired.filter((d) => managed(d.name, d.type)).map((d) => [`${d.name}\n${d.type}`, d]));
  const out: RRsetChange[] = [];
  for (const a of actual) {
    if (!managed(a.name, a.type)) continue;
    const k = `${a.name}\n${a.type}`;
    const d = want.get(k);
    if (!d) {
      out.push({ changetype: 'DELETE', name: a.name, type: a.type });
      continue;
    }
    want.delete(k);
    const have = a.records.filter((r) => !r.disabled).map((r) => r.content).sort();
    if (a.ttl !== d.ttl || have.join('\n') !== d.records.join('\n') || have.length !== a.records.length) {
      out.push({ changetype: 'REPLACE', name: d.name, type: d.type, ttl: d.ttl, records: d.records });
    }
  }
  for (const d of want.values()) out.push({ changetype: 'REPLACE', name: d.name, type: d.type, ttl: d.ttl, records: d.records });
  return out;
}

/** How many RRsets of a zone dns-manager manages. */
export function managedCount(zone: string, rrsets: readonly RRset[]): number {
  return rrsets.filter((a) => MANAGED_TYPES.has(a.type) && !(a.type === 'NS' && a.name === zone)).length;
}
