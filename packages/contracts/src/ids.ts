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
} as const;

export type SchemaName = keyof typeof SchemaIds;
