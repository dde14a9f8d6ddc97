export { RdmpClient } from './client';
export { LeaderLock } from './lease';
export { asyncQueue } from './async-queue';
export type { AsyncQueue } from './async-queue';
export { EventFeed, mayRead } from './event-feed';
export type { CanRead, EventFeedOptions } from './event-feed';
export type { Command, Outcome, QueryOptions, Receipt, RdmpClientOptions, WaitOptions } from './client';
export { connectNats, createPool, defaultNatsUrl, defaultPgUrl, ensureDatabase, jetstreamManager } from './connect';
export { NatsCredentialsEnv, NatsCredentialsError, inboxPrefixFor, natsCredentialOptions, natsCredentials, readNkeySeedFile, signerAuthenticator } from './credentials';
export { DEFAULT_MAX_SKEW_MS, SignatureHeaders, bindSigner, signRequest, signedText, signerFromSeed, signerOf, verifyRequest } from './signature';
export type { Signer, Verification } from './signature';
export type { NatsCredentialOptions, NatsCredentials, NkeySeed } from './credentials';
export {
  BadMessage,
  ErrorCodes,
  Forbidden,
  QueryFailed,
  RdmpError,
  RevisionConflict,
  TaskError,
  TaskFailed,
  Timeout,
  Unauthenticated,
  UnknownKind,
  UnknownQuery,
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
export { PgListener } from './listen';
export type { PgListenerOptions } from './listen';
export { isTransientConnectError, migrate } from './migrate';
export type { MigrateOptions } from './migrate';
export { QueryServer, serveQuery } from './query';
export type { QueryContext, QueryHandler, QueryServerOptions, ReadScope } from './query';
export { ensureStreams, removeStreams, resetConsumer } from './streams';
export { BusNames, MetricsKinds, metricsToken } from './subjects';
export type { MetricsKind } from './subjects';
export type { StepEvent } from './transaction';
export { RdmpWorker } from './worker';
export type { AdmissionRecord, Audit, Authenticate, Authentication, Authorize, RdmpWorkerOptions, SignedRequest } from './worker';
