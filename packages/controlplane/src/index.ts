export { ControlPlane, ControlPlaneState, SERVICE_NAMES, DEFAULT_ROOT_DIR } from './controlplane';
export type { ControlPlaneOptions, ManagedProcess, ProcessExit, StopResult, ServiceName } from './controlplane';

export { ContainerControlPlane, ContainerOutcome, CONTROLPLANE_LABEL, SERVICE_LABEL, INSTANCE_LABEL, SERVICE_CONTAINER_USER, containerLogFile, containerName, listContainers, stopContainers, serviceContainerSpec } from './containers';
export type { ContainerControlPlaneOptions, ManagedContainer, ContainerExit, ContainerStopResult, ContainerDownResult, LabelledContainer, ServiceContainerSpec } from './containers';

export { buildControlPlaneImages, readContext, dockerIgnore, serviceImageName, serviceDockerfile, BASE_IMAGE_NAME, DEBIAN_PACKAGES } from './images';
export type { ControlPlaneImagesOptions, ControlPlaneImages, BuiltImage, BuildContext } from './images';

export { discoverServices, statusOf, formatStatusTable, ServiceStatusValue } from './status';
export type { DiscoveredService, DiscoverOptions, ServiceStatus } from './status';

export { DnsServer, DnsOutcome, DnsProgram, formatDnsStatus, stopDnsServer } from './dns-server';
export type { DnsServerOptions, DnsServerStatus, DnsProcessStatus, DnsStopResult } from './dns-server';
export { DnsEnv, DEFAULT_DNS_DOMAIN, DEFAULT_DNS_PORTS, DNS_ADDRESS, PdnsBackend, PDNS_SCHEMAS, dnsServiceEnv, renderDnsdistConf, renderPdnsConf, resolveDnsConfig } from './dns-config';
export type { DnsConfig, DnsConfigOptions, EmbeddedDnsConfig, ExternalDnsConfig, GpgsqlDatabase } from './dns-config';
export { Rcode, dnsQuery, dotProbe, replyRcode, udpProbe } from './dns-probe';

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
  ContainersAlreadyRunningError,
  DockerCommandError,
  ImageBuildError,
  DnsConfigError,
  DnsPortInUseError,
  DnsServerStartError,
} from './errors';
export { CredentialsEnv, CredentialsMissingError, adminSeedFile, containerSeedCopy, nodeNameOf, removeContainerSeedCopies, serviceCredentials } from './credentials';
