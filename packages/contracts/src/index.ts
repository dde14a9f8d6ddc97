export { Contracts, contracts, describeViolation } from './contracts';
export type { CheckResult } from './contracts';
export { ContractViolation, UnknownSchema } from './errors';
export { SchemaIds } from './ids';
export type { SchemaName } from './ids';
export { schemaIdBase, schemasDir } from './schema-files';
export type {
  AllocationPool,
  AttachInterfacePayload,
  ClusterNetwork,
  CreateNetworksPayload,
  DeleteNetworkPayload,
  DetachInterfacePayload,
  ErrorInfo,
  HealthReply,
  InterfaceIpRequest,
  NetworkRoute,
  Principal,
  RegisterHostPayload,
  SubmitReply,
  SubmitRequest,
  Task,
  TaskStatusEvent,
  TaskStatusQuery,
  TaskStatusReply,
  TenantConfig,
  TenantHostDevice,
  TenantNetwork,
  UnregisterHostPayload,
  UpdateNetworkPayload,
} from './generated/types';
