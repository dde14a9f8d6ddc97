export { Contracts, contracts, describeViolation } from './contracts';
export type { CheckResult } from './contracts';
export { ContractViolation, UnknownSchema } from './errors';
export { SchemaIds } from './ids';
export type { SchemaName } from './ids';
export { schemaIdBase, schemasDir } from './schema-files';
export type {
  ErrorInfo,
  HealthReply,
  Principal,
  SubmitReply,
  SubmitRequest,
  Task,
  TaskStatusEvent,
  TaskStatusQuery,
  TaskStatusReply,
} from './generated/types';
