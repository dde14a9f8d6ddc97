// The scheduler's queries as contracts (name, request and reply schema): the scheduler serves
// them and clients (the CLI) ask them, both from this one definition.
import {
  SchemaIds,
  queryContract,
  type GetServiceQuery,
  type GetServiceReply,
  type ListNodesQuery,
  type ListNodesReply,
  type ListReplicasQuery,
  type ListReplicasReply,
  type ListServicesQuery,
  type ListServicesReply,
  type RolloutStatusQuery,
  type RolloutStatusReply,
} from '@sdmi/contracts';

export const SchedulerQueries = {
  /** One service: spec, revision, desired and actual counts, rollout. SERVICE_NOT_FOUND when there is none. */
  getService: queryContract<GetServiceQuery, GetServiceReply>('getService', SchemaIds.GetServiceQuery, SchemaIds.GetServiceReply),
  /** Every service, or one tenant's. */
  listServices: queryContract<ListServicesQuery, ListServicesReply>('listServices', SchemaIds.ListServicesQuery, SchemaIds.ListServicesReply),
  /** One service's rollout: revisions, counts per revision, state and reason. */
  rolloutStatus: queryContract<RolloutStatusQuery, RolloutStatusReply>('rolloutStatus', SchemaIds.RolloutStatusQuery, SchemaIds.RolloutStatusReply),
  /** The replicas the scheduler has placed, of a service and/or on a node. */
  listReplicas: queryContract<ListReplicasQuery, ListReplicasReply>('listReplicas', SchemaIds.ListReplicasQuery, SchemaIds.ListReplicasReply),
  /** The nodes, admitted or only announcing themselves (unadmitted), or one of them: admin state, last announcement, what is placed there. */
  listNodes: queryContract<ListNodesQuery, ListNodesReply>('listNodes', SchemaIds.ListNodesQuery, SchemaIds.ListNodesReply),
} as const;
