export { SdmiService, ServiceState, ExitCode, EndpointScope } from './service';
export type {
  SdmiServiceOptions,
  ReadinessCheck,
  ReadinessCheckOptions,
  ReadinessOutcome,
  HealthCheckResult,
  HealthReply,
  EndpointSpec,
  RegisteredEndpoint,
  RequestContext,
  StartContext,
  StartHook,
  StopHook,
  RunOptions,
} from './service';

export { loadServiceConfig, findUnknownEnv, hostInstanceId, intSetting, LogLevel, ServiceEnv, DEFAULT_NATS_URL } from './config';
export type { ServiceConfig, UnknownEnvKey } from './config';

export { createLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';

export { requestJson, requestHealth, encodeJson, decodeJsonRequest, isNoResponders } from './json';
export type { RequestJsonOptions } from './json';

export { SUBJECT_ROOT, HEALTH_ENDPOINT, endpointSubject, instanceSubject, healthSubject } from './subjects';

export {
  InvalidConfigError,
  ServiceStateError,
  NatsConnectError,
  DuplicateInstanceError,
  ServiceStartError,
  ServiceStopError,
  StopTimeoutError,
  EndpointError,
  RemoteEndpointError,
  MalformedReplyError,
  ErrorCode,
} from './errors';
export type { ConfigProblem, ConfigSource, ErrorInfo } from './errors';

export { attachRdmp, queryAccess, RdmpEnv } from './rdmp';
export { PassLoop } from './pass-loop';
export type { PassLoopOptions } from './pass-loop';
export type { AttachRdmpOptions } from './rdmp';
