// How SDMI's objects are named in DNS. Replica, service and network ids are SDMI's; the labels
// made of them must be host-name labels, so each is checked and a bad one named in the error.
import { absoluteName, InvalidDnsName } from '@sdmi/powerdns';

const REPLICA_ID = /^([a-z][a-z0-9-]{0,62})\/([a-z][a-z0-9-]{0,62})-([0-9]{1,6})@rev([0-9]{1,9})(?:#([0-9]{1,6}))?$/;

/**
 * The DNS label of a replica: `<service>-<slot>-r<revision>`, with `-<n>` for a `#n` id. The slot
 * alone is not unique: a rolling update runs a slot's old and new revision side by side. A service
 * name too long for the label is cut (the slot and revision are what tell replicas apart).
 */
export function replicaLabel(replicaId: string): string {
  const m = REPLICA_ID.exec(replicaId);
  if (!m) throw new InvalidDnsName(replicaId, 'replicaId', 'it is not a replica id <tenant>/<service>-<slot>@rev<revision>[#n]');
  const suffix = `-${m[3]}-r${m[4]}${m[5] !== undefined ? `-${m[5]}` : ''}`;
  const name = m[2]!.slice(0, 63 - suffix.length).replace(/-+$/, '');
  return `${name}${suffix}`;
}

/** The tenant and name of a `<tenant>/<name>` id (a service id or a network id; `cluster` for a ClusterNetwork). */
export function splitId(id: string): { scope: string; name: string } {
  const i = id.indexOf('/');
  if (i < 0) throw new InvalidDnsName(id, 'id', 'it is not <scope>/<name>');
  return { scope: id.slice(0, i), name: id.slice(i + 1) };
}

/** `label` checked as one label (not a dotted name), lower-cased; refused naming `where`. */
export function checkedLabel(label: string, where: string): string {
  if (label.includes('.')) throw new InvalidDnsName(label, where, 'it holds a dot, but must be a single label');
  return absoluteName(label, where).slice(0, -1);
}

/** The zone of a tenant: `<tenant>.<domain>`. */
export function tenantZone(tenant: string, domain: string): string {
  return `${checkedLabel(tenant, 'tenant')}.${domain}`;
}

/** The name a replica's interface on `networkId` has: `<replica>.<network>.<tenant>.<domain>`. */
export function containerName(replicaId: string, networkId: string, domain: string): string {
  const tenant = splitId(replicaId).scope;
  return absoluteName(`${replicaLabel(replicaId)}.${checkedLabel(splitId(networkId).name, 'network')}.${tenantZone(tenant, domain)}`, 'container name');
}

/** The name of a service on `networkId`: `<service>.<network>.<tenant>.<domain>`. */
export function serviceName(serviceId: string, networkId: string, domain: string): string {
  const { scope: tenant, name } = splitId(serviceId);
  return absoluteName(`${checkedLabel(name, 'service')}.${checkedLabel(splitId(networkId).name, 'network')}.${tenantZone(tenant, domain)}`, 'service name');
}
