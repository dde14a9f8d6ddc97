import { DnsCommandKinds, DnsQueries, dnsZoneKey, type DeleteRecordsPayload, type ListZonesReply, type PutRecordsPayload, type ServiceSpec } from '@sdmi/contracts';
import { containerName, serviceName } from '@sdmi/dns-records';
import { Services, type Cluster } from './cluster';
import type { ReplicaStatus } from './service';
import { isString, resultField } from './results';

export type DnsZone = ListZonesReply['zones'][number];
export type DnsPass = ListZonesReply['lastPass'];
export type UserRecordType = PutRecordsPayload['type'];

/** The record types a user may set, in the order help text lists them. */
export const UserRecordTypes = ['A', 'AAAA', 'CNAME', 'TXT', 'SRV', 'MX'] as const satisfies readonly UserRecordType[];
// Fails to compile when the schema gains a type this list does not have.
const coversAllTypes: Exclude<UserRecordType, (typeof UserRecordTypes)[number]> extends never ? true : never = true;
void coversAllTypes;

export function isUserRecordType(t: string): t is UserRecordType {
  return (UserRecordTypes as readonly string[]).includes(t);
}

/** A record set to put; without `zone`, the zone is the one the name is in (see {@link defaultZone}). */
export type RecordSet = Omit<PutRecordsPayload, 'zone' | 'records'> & { zone?: string; records: readonly string[] };
export type RecordSetRef = Omit<DeleteRecordsPayload, 'zone'> & { zone?: string };

/** What dns-manager recorded: names absolute and lower case, content normalised (absolute targets, quoted TXT). */
export interface PutRecordsResult {
  zone: string;
  name: string;
  type: UserRecordType;
  ttl: number;
  records: string[];
}

export interface DeleteRecordsResult {
  zone: string;
  name: string;
  type: UserRecordType;
  /** false when there was no such set (deleting is idempotent). */
  removed: boolean;
}

/** A service's names on one of its networks. */
export interface NetworkDnsNames {
  network: string;
  /** `<service>.<network>.<tenant>.<domain>`: the serving replicas' addresses; null when it cannot be a DNS name (see `problem`). */
  service: string | null;
  /** Its replicas' own names `<replica>.<network>.<tenant>.<domain>` (those running with an address there). */
  replicas: { replica: string; name: string; serving: boolean }[];
  problem?: string;
}

export interface ServiceDnsNames {
  domain: string;
  networks: NetworkDnsNames[];
}

/** The replica states in which dns-manager publishes a replica's own names (the scheduler lists it running). */
const NAMED = new Set(['running', 'healthy', 'unhealthy']);

const absolute = (name: string): string => {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
};

/**
 * The zone dns-manager keeps that `name` belongs in: `<tenant>.<domain>` when the name lies below
 * a tenant zone, the cluster zone otherwise. `_`-labels directly under the domain (SRV owners, ACME
 * challenges) belong to the cluster zone. The name is not checked here: a name outside the domain
 * gets the cluster zone, so dns-manager's refusal says what is wrong with it.
 */
export function defaultZone(name: string, domain: string): string {
  const n = absolute(name);
  const d = absolute(domain);
  if (!n.endsWith(`.${d}`)) return d;
  const below = n.slice(0, -d.length - 1).split('.');
  const last = below[below.length - 1]!;
  return below.length >= 2 && !last.startsWith('_') ? `${last}.${d}` : d;
}

/** `networks[i].network` of a spec as the id replicas' interfaces carry: a bare name is the tenant's. */
export function networkIdOf(tenant: string, ref: string): string {
  return ref.includes('/') ? ref : `${tenant}/${ref}`;
}

/**
 * A service's DNS names under `domain`, computed with dns-manager's own naming functions from its
 * spec and its replicas as the scheduler lists them. A network with `ip.mode: none` has no names
 * (nothing to resolve to).
 */
export function serviceDnsNames(domain: string, spec: { tenant: string; name: string; networks: readonly ServiceSpec['networks'][number][] }, replicas: readonly ReplicaStatus[]): ServiceDnsNames {
  const id = `${spec.tenant}/${spec.name}`;
  const networks = spec.networks
    .filter((n) => n.ip.mode !== 'none')
    .map((n): NetworkDnsNames => {
      const network = networkIdOf(spec.tenant, n.network);
      let service: string;
      try {
        service = serviceName(id, network, domain);
      } catch (e) {
        // dns-manager refuses to register replicas of such a service: say why instead of a name.
        return { network, service: null, replicas: [], problem: (e as Error).message };
      }
      const named = replicas
        .filter((r) => NAMED.has(r.state))
        .flatMap((r) => r.interfaces.filter((i) => i.network === network && i.ip !== null).map(() => ({ replica: r.id, name: containerName(r.id, network, domain), serving: r.serving })))
        .sort((a, b) => a.name.localeCompare(b.name));
      return { network, service, replicas: named };
    });
  return { domain, networks };
}

/**
 * The cluster's DNS, kept by dns-manager: its zones, and record sets of the user's own in them.
 * Changes are tasks to dns-manager (key `zone/<zone>`), awaited to their outcome; a refusal is
 * thrown as the bus's TaskFailed with dns-manager's code (INVALID_DNS_NAME, ZONE_OUTSIDE_DOMAIN,
 * NAME_OUTSIDE_ZONE, NAME_TAKEN, INVALID_RECORD, CNAME_CONFLICT, DNS_OFF), message and path.
 * A completed change is published by dns-manager's next pass, within seconds.
 */
export class Dns {
  constructor(private readonly cluster: Cluster) {}

  /** The cluster domain, its tenant and reverse zones with their keys, and dns-manager's last pass. `domain` is null when DNS is off. */
  async zones(): Promise<ListZonesReply> {
    return this.cluster.client.query(Services.DnsManager, DnsQueries.listZones, {});
  }

  /** The cluster domain (absolute), or null when the cluster has no DNS. */
  async domain(): Promise<string | null> {
    return (await this.zones()).domain;
  }

  /** Puts a record set, replacing the one of that name and type. */
  async put(set: RecordSet): Promise<PutRecordsResult> {
    const zone = set.zone ?? (await this.zoneFor(set.name));
    const records = [...set.records];
    const outcome = await this.cluster.run(Services.DnsManager, DnsCommandKinds.PutRecords, dnsZoneKey(zone), { ...set, zone, records });
    return putResult(outcome.result);
  }

  async delete(ref: RecordSetRef): Promise<DeleteRecordsResult> {
    const zone = ref.zone ?? (await this.zoneFor(ref.name));
    const outcome = await this.cluster.run(Services.DnsManager, DnsCommandKinds.DeleteRecords, dnsZoneKey(zone), { zone, name: ref.name, type: ref.type });
    return deleteResult(outcome.result);
  }

  /** The zone a name goes in by default. Without DNS there is no cluster zone: the name itself is sent, for dns-manager to answer DNS_OFF. */
  private async zoneFor(name: string): Promise<string> {
    const domain = await this.domain();
    return domain === null ? absolute(name) : defaultZone(name, domain);
  }
}

const field = <T>(r: Record<string, unknown> | undefined, k: string, ok: (v: unknown) => v is T): T => resultField('dns-manager', r, k, ok);
const isType = (v: unknown): v is UserRecordType => typeof v === 'string' && isUserRecordType(v);

function putResult(r: Record<string, unknown> | undefined): PutRecordsResult {
  return {
    zone: field(r, 'zone', isString),
    name: field(r, 'name', isString),
    type: field(r, 'type', isType),
    ttl: field(r, 'ttl', (v): v is number => typeof v === 'number'),
    records: field(r, 'records', (v): v is string[] => Array.isArray(v) && v.every(isString)),
  };
}

function deleteResult(r: Record<string, unknown> | undefined): DeleteRecordsResult {
  return {
    zone: field(r, 'zone', isString),
    name: field(r, 'name', isString),
    type: field(r, 'type', isType),
    removed: field(r, 'removed', (v): v is boolean => typeof v === 'boolean'),
  };
}
