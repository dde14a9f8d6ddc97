// Public entry of @sdmi/dns-records: what a cluster's DNS should hold, as pure functions.
export { MANAGED_TYPES, managedCount, rrsetChanges } from './diff';
export { checkedLabel, containerName, replicaLabel, serviceName, splitId, tenantZone } from './names';
export { MIN_REVERSE_PREFIX, reverseName, reverseZonesFor } from './reverse';
export { UserRecordsRefused, userContent, userName, userRecords, userZone } from './user-records';
export { ZoneKinds, desiredDns, nameserverOf, zoneAccount, zoneOf } from './zones';
export type { ClusterDnsInput, CustomRRset, DesiredDns, DesiredRRset, DesiredZone, NetworkInput, ReplicaInput, ServiceInput, ZoneKindName } from './zones';
