// Public entry of @sdmi/docker: one Docker host's engine through its unix socket — containers
// without Docker networking, SDMI's labels, health, events, logs, capacity.
export { DOCKER_API_VERSION, DockerEngine } from './engine';
export type { ConnectOptions, NodeInfo } from './engine';
export { ContainerStates, MIN_CPUS, MIN_MEMORY_BYTES } from './containers';
export type {
  ContainerInfo,
  ContainerLimits,
  ContainerSpec,
  ContainerState,
  ContainerSummary,
  CreatedContainer,
  ExecOptions,
  ExecResult,
  HealthCheckSpec,
  ListOptions,
  RemoveOptions,
} from './containers';
export { ContainerActions, EventStream, HealthStates } from './events';
export type { ContainerAction, ContainerEvent, EventFilters, EventsOptions, HealthState } from './events';
export { parseStats, statsUsage } from './stats';
export type { ContainerStats, StatsUsage } from './stats';
export { Labels, MANAGED_LABEL, MANAGED_VALUE } from './labels';
export { DEFAULT_MAX_LINE_BYTES, LogStream, formatTimeNs, parseTimeNs } from './logs';
export type { LogEntry, LogsOptions } from './logs';
export {
  ContainerNameTaken,
  ContainerNotFound,
  ContainerNotManaged,
  ContainerNotRunning,
  ContainerRunning,
  DockerApiError,
  DockerError,
  DockerErrorCode,
  EngineClosed,
  EngineUnreachable,
  EventStreamLost,
  EventStreamMalformed,
  ExecTimeout,
  ImageNotFound,
  InvalidArgument,
  InvalidContainerSpec,
  InvalidSocketPath,
  LogStreamMalformed,
  Misuse,
} from './errors';
export type { DockerErrorInfo } from './errors';
export type { Logger } from './logger';
