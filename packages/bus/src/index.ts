export { RdmpClient } from './client';
export type { Command, Outcome, Receipt, RdmpClientOptions, WaitOptions } from './client';
export { connectNats, createPool, defaultNatsUrl, defaultPgUrl, ensureDatabase, jetstreamManager } from './connect';
export {
  BadMessage,
  ErrorCodes,
  Forbidden,
  RdmpError,
  RevisionConflict,
  TaskError,
  TaskFailed,
  Timeout,
  UnknownKind,
  errorFromInfo,
  toErrorInfo,
} from './errors';
export type { ErrorCode } from './errors';
export { TaskModes } from './handlers';
export type {
  ApplyContext,
  ApplyHandler,
  FinalizeContext,
  Handler,
  JsonObject,
  JsonValue,
  PayloadSchema,
  Step,
  StepContext,
  TaskMode,
  TransactionHandler,
  TypedTask,
  UndoContext,
} from './handlers';
export { KeyedQueue } from './keyed-queue';
export { migrate } from './migrate';
export { ensureStreams, removeStreams, resetConsumer } from './streams';
export { BusNames } from './subjects';
export type { StepEvent } from './transaction';
export { RdmpWorker } from './worker';
export type { Authorize, RdmpWorkerOptions } from './worker';
