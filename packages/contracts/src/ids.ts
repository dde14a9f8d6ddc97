import { schemaIdBase } from './schema-files';

/** `$id` of every named contract, by its generated type name. */
export const SchemaIds = {
  ErrorInfo: `${schemaIdBase}common/error.schema.json`,
  SubmitRequest: `${schemaIdBase}rdmp/submit-request.schema.json`,
  SubmitReply: `${schemaIdBase}rdmp/submit-reply.schema.json`,
  Task: `${schemaIdBase}rdmp/task.schema.json`,
  TaskStatusEvent: `${schemaIdBase}rdmp/task-status-event.schema.json`,
  TaskStatusQuery: `${schemaIdBase}rdmp/task-status-query.schema.json`,
  TaskStatusReply: `${schemaIdBase}rdmp/task-status-reply.schema.json`,
  HealthReply: `${schemaIdBase}service/health-reply.schema.json`,
  TenantConfig: `${schemaIdBase}network/tenant-config.schema.json`,
  ClusterNetwork: `${schemaIdBase}network/cluster-network.schema.json`,
  TenantNetwork: `${schemaIdBase}network/tenant-network.schema.json`,
  CreateNetworksPayload: `${schemaIdBase}network/create-networks.schema.json`,
  UpdateNetworkPayload: `${schemaIdBase}network/update-network.schema.json`,
  DeleteNetworkPayload: `${schemaIdBase}network/delete-network.schema.json`,
  AttachInterfacePayload: `${schemaIdBase}network/attach-interface.schema.json`,
  DetachInterfacePayload: `${schemaIdBase}network/detach-interface.schema.json`,
  RegisterHostPayload: `${schemaIdBase}network/register-host.schema.json`,
  UnregisterHostPayload: `${schemaIdBase}network/unregister-host.schema.json`,
  ServiceSpec: `${schemaIdBase}workload/service.schema.json`,
  DeployServicePayload: `${schemaIdBase}workload/deploy-service.schema.json`,
  ScaleServicePayload: `${schemaIdBase}workload/scale-service.schema.json`,
  UpdateServicePayload: `${schemaIdBase}workload/update-service.schema.json`,
  RemoveServicePayload: `${schemaIdBase}workload/remove-service.schema.json`,
  RolloutUndoPayload: `${schemaIdBase}workload/rollout-undo.schema.json`,
  AddNodePayload: `${schemaIdBase}workload/add-node.schema.json`,
  RemoveNodePayload: `${schemaIdBase}workload/remove-node.schema.json`,
  StartReplicaPayload: `${schemaIdBase}workload/start-replica.schema.json`,
  StopReplicaPayload: `${schemaIdBase}workload/stop-replica.schema.json`,
  RunReplicaPayload: `${schemaIdBase}node/run-replica.schema.json`,
  RemoveReplicaPayload: `${schemaIdBase}node/remove-replica.schema.json`,
  NodeStatusEvent: `${schemaIdBase}node/node-status-event.schema.json`,
  NodeContainerEvent: `${schemaIdBase}node/node-container-event.schema.json`,
} as const;

export type SchemaName = keyof typeof SchemaIds;
