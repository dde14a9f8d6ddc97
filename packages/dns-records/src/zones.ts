// What PowerDNS should hold for a cluster, from what the scheduler and the network-controller say:
// a pure function of its input, so the reconciler only fetches, computes and applies.
import type { ServicePort } from '@sdmi/contracts';
import { containerName, serviceName, splitId, tenantZone } from './names';
import { reverseName, reverseZonesFor } from './reverse';

export const ZoneKinds = { Cluster: 'cluster', Tenant: 'tenant', Reverse: 'reverse' } as const;
export type ZoneKindName = (typeof ZoneKinds)[keyof typeof ZoneKinds];

export interface DesiredRRset {
  name: string;
  type: string;
  ttl: number;
  /** Sorted, so that two sets compare as strings. */
  records: string[];
}

export interface DesiredZone {
  name: string;
  kind: ZoneKindName;
  rrsets: DesiredRRset[];
}

export interface ReplicaInput {
  id: string;
  service: string;
  /** Whether it is in its service's names (takes new connections). */
  serving: boolean;
  interfaces: readonly { network: string; ip: string | null }[];
}

export interface ServiceInput {
  id: string;
  ports: readonly ServicePort[];
}

export interface NetworkInput {
  id: string;
  cidr: string;
}

export interface CustomRRset {
  zone: string;
  name: string;
  type: string;
  ttl: number;
  records: readonly string[];
}

export interface ClusterDnsInput {
  /** Absolute, lower case. */
  domain: string;
  /** Where the nameserver answers: the A record of `ns.<domain>`. */
  nsAddress: string;
  ttl: number;
  /** Tenants that have a zone (a TenantConfig, a network or a service of theirs). */
  tenants: readonly string[];
  networks: readonly NetworkInput[];
  /** Replicas that have names now (running, or registered by their start transaction). */
  replicas: readonly ReplicaInput[];
  services: readonly ServiceInput[];
  custom: readonly CustomRRset[];
  /** DS RDATA of each tenant zone's key, for its delegation; a zone without one is delegated unsigned until it has. */
  ds: ReadonlyMap<string, readonly string[]>;
}

export interface DesiredDns {
  zones: DesiredZone[];
  /** Each replica's container names, as published. */
  replicaNames: Map<string, string[]>;
  /** What could not be named (a bad label, an address outside every reverse zone): left out, reported. */
  problems: string[];
}

/** The nameserver's name: every zone's NS. */
export function nameserverOf(domain: string): string {
  return `ns.${domain}`;
}

/** The account dns-manager marks its zones with, so it never touches a zone it did not make. */
export function zoneAccount(domain: string): string {
  return `sdmi:${domain.replace(/\.$/, '')}`;
}

class ZoneBuilder {
  readonly sets = new Map<string, { name: string; type: string; ttl: number; records: Set<string> }>();
  constructor(
    readonly name: string,
    readonly kind: ZoneKindName,
  ) {}
  add(name: string, type: string, ttl: number, content: string): void {
    const k = `${name}\n${type}`;
    let s = this.sets.get(k);
    if (!s) this.sets.set(k, (s = { name, type, ttl, records: new Set() }));
    s.records.add(content);
  }
  build(): DesiredZone {
    const rrsets = [...this.sets.values()]
      .map((s) => ({ name: s.name, type: s.type, ttl: s.ttl, records: [...s.records].sort() }))
      .sort((a, b) => (a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name)));
    return { name: this.name, kind: this.kind, rrsets };
  }
}

/** The zone (of `zones`, absolute names) that holds `name`: the longest one it is in. */
export function zoneOf(name: string, zones: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const z of zones) if ((name === z || name.endsWith(`.${z}`)) && (best === undefined || z.length > best.length)) best = z;
  return best;
}

export function desiredDns(input: ClusterDnsInput): DesiredDns {
  const { domain, ttl } = input;
  const problems: string[] = [];
  const zones = new Map<string, ZoneBuilder>();
  const zone = (name: string, kind: ZoneKindName) => {
    let z = zones.get(name);
    if (!z) zones.set(name, (z = new ZoneBuilder(name, kind)));
    return z;
  };
  const cluster = zone(domain, ZoneKinds.Cluster);
  const ns = nameserverOf(domain);
  cluster.add(ns, 'A', ttl, input.nsAddress);

  for (const t of [...new Set(input.tenants)].sort()) {
    let tz: string;
    try {
      tz = tenantZone(t, domain);
    } catch (e) {
      problems.push(`tenant ${t}: ${(e as Error).message}`);
      continue;
    }
    zone(tz, ZoneKinds.Tenant);
    // The delegation: the tenant zone answers for itself, and its DS lets a resolver follow the
    // chain from the cluster domain's key.
    cluster.add(tz, 'NS', ttl, ns);
    for (const ds of input.ds.get(tz) ?? []) cluster.add(tz, 'DS', ttl, ds);
  }
  for (const n of [...input.networks].sort((a, b) => a.id.localeCompare(b.id))) {
    try {
      for (const rz of reverseZonesFor(n.cidr)) zone(rz, ZoneKinds.Reverse);
    } catch (e) {
      problems.push(`network ${n.id}: ${(e as Error).message}`);
    }
  }
  const reverseZones = [...zones.values()].filter((z) => z.kind === ZoneKinds.Reverse).map((z) => z.name);
  const ports = new Map(input.services.map((s) => [s.id, s.ports]));
  const replicaNames = new Map<string, string[]>();

  for (const r of [...input.replicas].sort((a, b) => a.id.localeCompare(b.id))) {
    const names: string[] = [];
    for (const i of r.interfaces) {
      if (i.ip === null) continue;
      let own: string;
      let svc: string;
      try {
        own = containerName(r.id, i.network, domain);
        svc = serviceName(r.service, i.network, domain);
      } catch (e) {
        problems.push(`replica ${r.id} on ${i.network}: ${(e as Error).message}`);
        continue;
      }
      const tz = zones.get(tenantZone(splitId(r.service).scope, domain));
      if (!tz) {
        problems.push(`replica ${r.id}: its tenant has no zone`);
        continue;
      }
      const type = i.ip.includes(':') ? 'AAAA' : 'A';
      tz.add(own, type, ttl, i.ip);
      names.push(own);
      if (type === 'A') {
        const ptr = reverseName(i.ip);
        const rz = zoneOf(ptr, reverseZones);
        if (rz) zones.get(rz)!.add(ptr, 'PTR', ttl, own);
        else problems.push(`replica ${r.id}: ${i.ip} on ${i.network} is in no network's reverse zone`);
      }
      if (r.serving) {
        tz.add(svc, type, ttl, i.ip);
        for (const p of ports.get(r.service) ?? []) {
          tz.add(`_${p.name}._${p.protocol ?? 'tcp'}.${svc}`, 'SRV', ttl, `0 10 ${p.port} ${own}`);
        }
      }
    }
    if (names.length > 0) replicaNames.set(r.id, names);
  }
  const customOrder = (c: CustomRRset) => `${c.zone}\n${c.name}\n${c.type}`;
  for (const c of [...input.custom].sort((a, b) => customOrder(a).localeCompare(customOrder(b)))) {
    const z = zones.get(c.zone);
    if (!z) {
      problems.push(`records ${c.name} ${c.type}: zone ${c.zone} is not kept (its tenant is gone)`);
      continue;
    }
    if (z.sets.has(`${c.name}\n${c.type}`)) {
      problems.push(`records ${c.name} ${c.type}: the name is dns-manager's own, the user's set is left out`);
      continue;
    }
    // PowerDNS refuses a CNAME beside any other set (the apex has the SOA and NS), failing the whole change.
    if (c.type === 'CNAME' && (c.name === c.zone || [...z.sets.values()].some((s) => s.name === c.name))) {
      problems.push(`records ${c.name} CNAME: ${c.name === c.zone ? 'the zone apex holds its SOA and NS' : "dns-manager has other records at the name"}, and a CNAME must be alone at its name; the user's set is left out`);
      continue;
    }
    for (const content of c.records) z.add(c.name, c.type, c.ttl, content);
  }
  return { zones: [...zones.values()].map((z) => z.build()).sort((a, b) => a.name.localeCompare(b.name)), replicaNames, problems };
}


