export { Dnsdist, spkiPin, startDnsdist } from './dnsdist';
export type { DnsdistOptions } from './dnsdist';
export { DockerHost, docker, dockerPing, mainDocker, startDockerHost } from './docker';
export type { DockerEndpoint, DockerHostOptions } from './docker';
export {
  AlreadyDisposed,
  CommandFailed,
  CommandNotFound,
  ComponentUnavailable,
  DaemonNotReady,
  InvalidName,
  TeardownFailed,
} from './errors';
export { run, tryRun } from './exec';
export type { RunOptions, RunResult } from './exec';
export { BASE_IMAGE, buildBaseImage, buildDebianImage, imageExists } from './images';
export type { BaseImageOptions, DebianImageOptions } from './images';
export { describeInventory, inventory, inventoryIsEmpty, sweepLeftovers } from './inventory';
export type { Inventory, InventoryOptions, SweepOptions } from './inventory';
export { TestStream, createStream, natsUrl } from './jetstream';
export type { StreamOptions } from './jetstream';
export { kdig, parseKdig } from './kdig';
export type { KdigRecord, KdigResult, KdigTarget } from './kdig';
export {
  MAX_IFNAME,
  TEST_DB_PREFIX,
  TEST_NAME_PATTERN,
  TEST_PREFIX,
  checkIfName,
  ownerAlive,
  runId,
  tagOf,
  testDatabaseName,
  testName,
} from './names';
export { NATS_SERVER, NatsServer, startNatsServer } from './nats-server';
export type { NatsServerOptions, NatsServerPlace } from './nats-server';
export { NETCONFD, NETCONF_SUBSYSTEM, Netconfd, SSHD, startNetconfd } from './netconfd';
export type { NetconfdOptions } from './netconfd';
export { NetNamespace, createNamespace, listNamespaces } from './netns';
export type { NamespaceOptions } from './netns';
export { FailMode, OvsBridge, createBridge, deleteLink, listBridges } from './ovs';
export type { BridgeOptions, PortOptions, VethPort } from './ovs';
export { OvsInNamespace, createOvsHost } from './ovs-netns';
export type { HostBridgeOptions, HostLink, LinkOptions, OvsHostOptions } from './ovs-netns';
export { TestDatabase, createDatabase, pgAdminUrl } from './postgres';
export type { DatabaseOptions } from './postgres';
export { PDNS_SQLITE_SCHEMA, PowerDns, startPowerDns } from './powerdns';
export type { PowerDnsOptions } from './powerdns';
export { freePort } from './ports';
export { PKCS11_TOOL, SOFTHSM2_MODULE, SoftHsmToken } from './softhsm';
export type { SoftHsmTokenOptions, TokenKeyPlace } from './softhsm';
export { findProcesses } from './procs';
export type { ProcessInfo } from './procs';
export { assertComponentsReachable, checkComponents } from './reachability';
export type { ComponentStatus } from './reachability';
export type { TestResource } from './resource';
export { Testbed } from './testbed';
export type { Disposer } from './testbed';
export { SecretLedgerEnv, keepLog, keepLogFile, keepRunDirs, readLedger, recordSecret, recordSeedsIn, scanForSecrets } from './secrets';
export type { SecretScan } from './secrets';
