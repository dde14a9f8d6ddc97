export { ServiceCommandKinds, applyServiceCommand, serviceCommandKey } from './commands';
export type { ServiceCommand, ServiceCommandKind } from './commands';
export {
  AddressesNeedStatic,
  ServiceAddressChanged,
  ServiceAddressWithoutIp,
  AlreadyAtRevision,
  ContradictoryConstraints,
  CrossTenantNetwork,
  DuplicateIfname,
  DuplicateNetworkAttachment,
  DuplicateStaticAddress,
  HealthTimeoutExceedsInterval,
  IfnameReserved,
  NoEarlierRevision,
  NodeCapacityInvalid,
  NodeNotFound,
  NodeRemovalRefused,
  NameNotDnsLabel,
  ReservedTenantName,
  RevisionNotFound,
  ScaleWithStaticAddresses,
  SchedulingError,
  SchedulingErrorCode,
  ServiceExists,
  ServiceIdentityChanged,
  ServiceNotFound,
  StartFirstWithStaticAddresses,
  StaticAddressCount,
  withPath,
} from './errors';
export type { SchedulingErrorInfo } from './errors';
export {
  DEFAULT_MONITOR_MS,
  FailureActions,
  NO_RESOURCES,
  Node,
  NodeStates,
  PlacementStrategies,
  Replica,
  ReplicaStates,
  RolloutStates,
  Service,
  UpdateOrders,
  canonicalJson,
  newReplicaId,
  replicaLabel,
  resolveNetwork,
  resolveUpdatePolicy,
  serviceId,
  templateOf,
} from './model';
export type { HealthCheck, PlacementConstraint, PlacementPolicy, ServiceNetworkAttachment, UpdatePolicy } from '@sdmi/contracts';
export type {
  FailureAction,
  NodeSpec,
  NodeState,
  PlacementStrategy,
  ReplicaRecord,
  ReplicaState,
  ResolvedNetworkAttachment,
  ResolvedUpdatePolicy,
  Resources,
  RolloutRecord,
  RolloutState,
  ServiceRecord,
  ServiceRevision,
  ServiceSpec,
  UpdateOrder,
} from './model';
export { checkNodeRemoval } from './nodes';
export type { NodeRemovalCheck } from './nodes';
export { UnplaceableCode, place } from './placement';
export type { PlacedReplica, Placement, PlacementRequest, Unplaceable } from './placement';
export { planHasActions, reconcile } from './reconcile';
export type {
  BlockedItem,
  IgnoreItem,
  NewReplica,
  Observed,
  Plan,
  PlaceAction,
  ReconcileOptions,
  ReplaceAction,
  StopAction,
  UpdateAction,
} from './reconcile';
export { RolloutPhases, nextRolloutStep, startDeadline } from './rollout';
export type { RolloutOptions, RolloutPhase, RolloutStart, RolloutStep, RolloutStop } from './rollout';
export { SchedulerQueries } from './queries';
export { nodeStatuses, replicaStatus, revisionCounts, rolloutStatus, serviceAddresses, serviceStatus } from './status';
export type { AdmittedNodeRecord, AppliedServiceAddress, NodeAnnouncement } from './status';
export { validateServiceSpec } from './validate';
