// Public entry of @sdmi/container-net: a container's interfaces as veths into its network
// namespace, their host ends ports of the host's OVS bridge.
export {
  BridgeNotFound,
  ContainerNetError,
  ContainerNetErrorCode,
  DuplicateInterface,
  GatewayNotOnLink,
  GatewayWithoutAddress,
  HostLinkConflict,
  IfnameTaken,
  InterfaceFailed,
  InvalidAddress,
  InvalidId,
  InvalidIfName,
  InvalidMac,
  InvalidMtu,
  InvalidPid,
  NetlinkCommandFailed,
  NetlinkToolMissing,
  NetnsIsHost,
  NetnsNotFound,
  PortConflict,
  PortOnOtherBridge,
} from './errors';
export type { ContainerNetErrorInfo } from './errors';
export { IpRoute2Netlink } from './netlink';
export type { IpRoute2Options, LinkState, Netlink, NetnsPid, RouteState } from './netlink';
export { ContainerPlumber } from './plumber';
export type { AttachResult, AttachedInterface, DetachResult, Logger, PlumberOptions, ReconcileResult } from './plumber';
export { planReconcile } from './reconcile';
export type { ReconcilePlan } from './reconcile';
export { ALIAS_PREFIX, ExternalIdKeys, hostAlias, hostIfNameFor, peerIfNameFor, validateSpec, validateSpecs } from './spec';
export type { AttachSpec, ResolvedSpec, RouteSpec } from './spec';
