// How the dns-manager's commands and queries are named and addressed. They live beside their
// contracts because their callers (the scheduler's start and stop transactions, the SDK) share no
// other package with the dns-manager.
import type { ListZonesQuery, ListZonesReply, ReplicaRecordsQuery, ReplicaRecordsReply } from './generated/types';
import { SchemaIds } from './ids';
import { replicaKey } from './node-commands';
import { queryContract } from './queries';

export const DnsCommandKinds = {
  RegisterReplica: 'registerReplica',
  DeregisterReplica: 'deregisterReplica',
  PutRecords: 'putRecords',
  DeleteRecords: 'deleteRecords',
} as const;
export type DnsCommandKind = (typeof DnsCommandKinds)[keyof typeof DnsCommandKinds];

export const DnsQueries = {
  /** Whether a replica's container names are in PowerDNS (the start transaction's DNS step waits on it). */
  replicaRecords: queryContract<ReplicaRecordsQuery, ReplicaRecordsReply>('replicaRecords', SchemaIds.ReplicaRecordsQuery, SchemaIds.ReplicaRecordsReply),
  /** The zones dns-manager keeps, with their keys, and its last pass. */
  listZones: queryContract<ListZonesQuery, ListZonesReply>('listZones', SchemaIds.ListZonesQuery, SchemaIds.ListZonesReply),
} as const;

/** Codes the dns-manager's commands fail with, besides the bus's own. */
export const DnsErrorCodes = {
  /** dns-manager runs without a cluster domain (SDMI_DNS_DOMAIN unset): the cluster has no DNS. */
  DnsOff: 'DNS_OFF',
  InvalidDnsName: 'INVALID_DNS_NAME',
  ZoneOutsideDomain: 'ZONE_OUTSIDE_DOMAIN',
  NameOutsideZone: 'NAME_OUTSIDE_ZONE',
  NameTaken: 'NAME_TAKEN',
  InvalidRecord: 'INVALID_RECORD',
  CnameConflict: 'CNAME_CONFLICT',
} as const;

/**
 * The RDMP key of a replica's DNS commands: in order per replica, in parallel across replicas.
 * The same key as its node commands ('#' of a `#n` id is not a key character).
 */
export function dnsReplicaKey(replicaId: string): string {
  return replicaKey(replicaId);
}

/** The RDMP key of a zone's user records. */
export function dnsZoneKey(zone: string): string {
  return `zone/${zone.toLowerCase().replace(/\.$/, '')}`;
}
