export { ControlPlane, ControlPlaneState, SERVICE_NAMES, DEFAULT_ROOT_DIR } from './controlplane';
export type { ControlPlaneOptions, ManagedProcess, ProcessExit, StopResult, ServiceName } from './controlplane';

export { discoverServices, statusOf, formatStatusTable, ServiceStatusValue } from './status';
export type { DiscoveredService, DiscoverOptions, ServiceStatus } from './status';

export { assertNotRunning, stopDetached, DetachedOutcome } from './detached';
export type { DetachedStopResult } from './detached';

export { PID_FILE_NAME, pidFilePath, readPidFile, writePidFile, isAlive, isServiceProcess } from './pidfile';
export type { PidRecord } from './pidfile';

export {
  UnknownServiceError,
  SpawnError,
  ServiceExitedError,
  ServiceNotReadyError,
  ControlPlaneStartError,
  AlreadyRunningError,
  PidFileError,
  ControlPlaneStateError,
} from './errors';
