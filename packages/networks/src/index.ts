export {
  BackendNotUsable,
  ChangeWhileInUse,
  ChildOutsideParent,
  CidrOverlap,
  ClusterReferencesTenant,
  CrossTenantReference,
  DependencyCycle,
  DpidTaken,
  DuplicateNetwork,
  HostHasInterfaces,
  HostNotFound,
  IdRangeSyntax,
  IdRangesOverlap,
  InterfaceExists,
  InterfaceNotFound,
  MacNotUsable,
  MacTaken,
  NetworkDependedUpon,
  NetworkError,
  NetworkErrorCode,
  NetworkExists,
  NetworkHasInterfaces,
  NetworkHasServiceAddresses,
  NetworkNotFound,
  NumbersExhausted,
  ParentGatewayInChild,
  ParentPoolOverlapsChild,
  PhysicalIdTaken,
  PortTaken,
  ReservedTenantName,
  RouteViaOutsideCidr,
  ServiceAddressFixed,
  TenantConfigExhausted,
  TenantConfigInUse,
  TenantConfigMissing,
  TenantForbidden,
  TenantPhysicalAttribute,
  UnknownNetworkReference,
  VlanOutOfRange,
  VniOutOfRange,
  hasInfo,
  rebaseInfo,
  withPath,
} from './errors';
export type { ErrorWithInfo, NetworkErrorInfo } from './errors';
export { NetworkGraph } from './graph';
export type { GraphNode } from './graph';
export { NetworkCommandKinds, networkHandlers } from './handlers';
export { NetworkQueries } from './queries';
export type { NetworkCommandKind } from './handlers';
export {
  CLUSTER_SCOPE,
  ClusterNetwork,
  Network,
  NetworkKinds,
  TenantConfig,
  TenantNetwork,
  VLAN_MAX,
  VNI_MAX,
  VniTypes,
  networkId,
  parseIdRanges,
  resolveReference,
  splitId,
  validateTenantConfig,
} from './model';
export type { ClusterNetworkSpec, IdRange, NetworkKind, PhysicalAttributes, TenantConfigSpec, TenantDevice, TenantNetworkSpec, VniType } from './model';
export { NET_CHANGED_CHANNEL, NetworkStore, gatewayMac, interfaceMac, macProblem, migrationsDir, withTransaction } from './store';
export type { AttachRequest, Db, HostRecord, InterfaceRecord, NetworkRecord, NetworkSnapshot, ServiceAddressRecord, ServiceEndpointsRequest } from './store';
export { validateNetwork, validatePhysical, validateTopology } from './validate';
