// One class per failure mode, each with a stable UPPER_SNAKE code and a bus-ready `info`
// ({ code, message, path, rule, details }, the shape of the contracts' ErrorInfo), so the
// node-agent can fail its task with `err.info` as is.

/** Bus-ready description of a failure (same shape as the contracts' ErrorInfo). */
export interface ContainerNetErrorInfo {
  /** Stable UPPER_SNAKE code; one per error class. */
  code: string;
  message: string;
  /** JSON pointer to the offending input field, when one is to blame. */
  path?: string;
  /** The validation rule that failed, for validation errors. */
  rule?: string;
  details?: Record<string, unknown>;
}

export const ContainerNetErrorCode = {
  INVALID_ID: 'INVALID_ID',
  INVALID_PID: 'INVALID_PID',
  INVALID_IFNAME: 'INVALID_IFNAME',
  INVALID_MAC: 'INVALID_MAC',
  INVALID_ADDRESS: 'INVALID_ADDRESS',
  INVALID_MTU: 'INVALID_MTU',
  GATEWAY_WITHOUT_ADDRESS: 'GATEWAY_WITHOUT_ADDRESS',
  GATEWAY_NOT_ON_LINK: 'GATEWAY_NOT_ON_LINK',
  DUPLICATE_INTERFACE: 'DUPLICATE_INTERFACE',
  NETNS_NOT_FOUND: 'NETNS_NOT_FOUND',
  NETNS_IS_HOST: 'NETNS_IS_HOST',
  BRIDGE_NOT_FOUND: 'BRIDGE_NOT_FOUND',
  PORT_CONFLICT: 'PORT_CONFLICT',
  PORT_ON_OTHER_BRIDGE: 'PORT_ON_OTHER_BRIDGE',
  HOST_LINK_CONFLICT: 'HOST_LINK_CONFLICT',
  IFNAME_TAKEN: 'IFNAME_TAKEN',
  INTERFACE_FAILED: 'INTERFACE_FAILED',
  NETLINK_COMMAND_FAILED: 'NETLINK_COMMAND_FAILED',
  NETLINK_TOOL_MISSING: 'NETLINK_TOOL_MISSING',
} as const;
export type ContainerNetErrorCode = (typeof ContainerNetErrorCode)[keyof typeof ContainerNetErrorCode];

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Base of every error of this package; `info` can be put on the bus as is. */
export abstract class ContainerNetError extends Error {
  readonly info: ContainerNetErrorInfo;
  protected constructor(info: ContainerNetErrorInfo & { code: ContainerNetErrorCode }, options?: { cause?: unknown }) {
    super(info.message, options);
    this.info = info;
  }
  get code(): ContainerNetErrorCode {
    return this.info.code as ContainerNetErrorCode;
  }
}

// ---- validation of an attach spec (nothing has been touched when these are thrown) ----

/** interfaceId, containerId or networkId that is not a non-empty printable string. */
export class InvalidId extends ContainerNetError {
  override readonly name = 'InvalidId';
  constructor(path: string, value: unknown) {
    super({
      code: ContainerNetErrorCode.INVALID_ID,
      message: `${path}: ${show(value)} is not a valid id (a string of 1 to 253 characters without whitespace or control characters)`,
      path,
      rule: 'id-syntax',
      details: { value },
    });
  }
}

/** The container's pid is not a positive integer. */
export class InvalidPid extends ContainerNetError {
  override readonly name = 'InvalidPid';
  constructor(path: string, value: unknown) {
    super({
      code: ContainerNetErrorCode.INVALID_PID,
      message: `${path}: ${show(value)} is not a process id (a positive integer)`,
      path,
      rule: 'pid',
      details: { value },
    });
  }
}

/** A Linux interface name that the kernel would refuse (1 to 15 bytes, no '/', ':', whitespace, not '.' or '..'). */
export class InvalidIfName extends ContainerNetError {
  override readonly name = 'InvalidIfName';
  constructor(path: string, value: unknown) {
    super({
      code: ContainerNetErrorCode.INVALID_IFNAME,
      message: `${path}: ${show(value)} is not a valid interface name (1 to 15 characters of letters, digits, '-', '_' or '.', not '.' or '..')`,
      path,
      rule: 'ifname-syntax',
      details: { value },
    });
  }
}

/** A MAC that is not six colon-separated hex octets, or is multicast/broadcast or all zero. */
export class InvalidMac extends ContainerNetError {
  override readonly name = 'InvalidMac';
  constructor(path: string, value: unknown, reason: string) {
    super({
      code: ContainerNetErrorCode.INVALID_MAC,
      message: `${path}: ${show(value)} ${reason}`,
      path,
      rule: 'unicast-mac',
      details: { value },
    });
  }
}

/** An IPv4 address or CIDR that is not valid syntax. */
export class InvalidAddress extends ContainerNetError {
  override readonly name = 'InvalidAddress';
  constructor(path: string, value: unknown, reason: string) {
    super({
      code: ContainerNetErrorCode.INVALID_ADDRESS,
      message: `${path}: ${show(value)} ${reason}`,
      path,
      rule: 'ipv4-syntax',
      details: { value },
    });
  }
}

/** MTU outside what Ethernet over veth accepts (68 to 65535, the veth limits). */
export class InvalidMtu extends ContainerNetError {
  override readonly name = 'InvalidMtu';
  constructor(path: string, value: unknown) {
    super({
      code: ContainerNetErrorCode.INVALID_MTU,
      message: `${path}: ${show(value)} is not a valid MTU (an integer from 68 to 65535)`,
      path,
      rule: 'mtu-range',
      details: { value },
    });
  }
}

/** A gateway or routes on an interface without an address: the kernel has no on-link subnet for them. */
export class GatewayWithoutAddress extends ContainerNetError {
  override readonly name = 'GatewayWithoutAddress';
  constructor(path: string) {
    super({
      code: ContainerNetErrorCode.GATEWAY_WITHOUT_ADDRESS,
      message: `${path}: an interface without an address cannot have a gateway or routes`,
      path,
      rule: 'gateway-needs-address',
    });
  }
}

/** A gateway (or route `via`) outside the interface's subnet, or equal to the interface's own address. */
export class GatewayNotOnLink extends ContainerNetError {
  override readonly name = 'GatewayNotOnLink';
  constructor(path: string, value: string, address: string) {
    super({
      code: ContainerNetErrorCode.GATEWAY_NOT_ON_LINK,
      message: `${path}: ${show(value)} is not another address in the subnet of ${address}, so it cannot be reached on this link`,
      path,
      rule: 'gateway-on-link',
      details: { value, address },
    });
  }
}

/** Two specs of one call name the same interface, host interface, or (container, ifname). */
export class DuplicateInterface extends ContainerNetError {
  override readonly name = 'DuplicateInterface';
  constructor(path: string, what: string, value: string, firstIndex: number) {
    super({
      code: ContainerNetErrorCode.DUPLICATE_INTERFACE,
      message: `${path}: ${what} ${show(value)} is already used by /${firstIndex}`,
      path,
      rule: 'unique',
      details: { what, value, firstIndex },
    });
  }
}

// ---- state of the host that makes an attach impossible (nothing has been changed) ----

/** The container's network namespace (`/proc/<pid>/ns/net`) does not exist: the process is gone. */
export class NetnsNotFound extends ContainerNetError {
  override readonly name = 'NetnsNotFound';
  constructor(pid: number, containerId: string) {
    super({
      code: ContainerNetErrorCode.NETNS_NOT_FOUND,
      message: `network namespace /proc/${pid}/ns/net of container ${show(containerId)} does not exist (is the container running?)`,
      path: '/pid',
      details: { pid, containerId },
    });
  }
}

/** The pid is in the host's own network namespace: the host end and the container end would meet. */
export class NetnsIsHost extends ContainerNetError {
  override readonly name = 'NetnsIsHost';
  constructor(pid: number, containerId: string) {
    super({
      code: ContainerNetErrorCode.NETNS_IS_HOST,
      message: `process ${pid} of container ${show(containerId)} is in the host's network namespace, not a container's (was it started with --network host?)`,
      path: '/pid',
      details: { pid, containerId },
    });
  }
}

/** The plumber's bridge does not exist in Open vSwitch. */
export class BridgeNotFound extends ContainerNetError {
  override readonly name = 'BridgeNotFound';
  constructor(bridge: string, options?: { cause?: unknown }) {
    super({ code: ContainerNetErrorCode.BRIDGE_NOT_FOUND, message: `bridge ${show(bridge)} does not exist in Open vSwitch`, details: { bridge } }, options);
  }
}

/** An OVS port of the host interface's name exists on our bridge but belongs to another interface (or to nobody of ours). */
export class PortConflict extends ContainerNetError {
  override readonly name = 'PortConflict';
  constructor(port: string, interfaceId: string, owner: string | undefined) {
    super({
      code: ContainerNetErrorCode.PORT_CONFLICT,
      message:
        owner === undefined
          ? `port ${show(port)} exists and was not made for interface ${show(interfaceId)} (it has no sdmi-interface-id)`
          : `port ${show(port)} belongs to interface ${show(owner)}, not ${show(interfaceId)}`,
      path: '/hostIfName',
      details: { port, interfaceId, owner: owner ?? null },
    });
  }
}

/** An OVS port of the host interface's name exists on another bridge (port names are unique in OVS). */
export class PortOnOtherBridge extends ContainerNetError {
  override readonly name = 'PortOnOtherBridge';
  constructor(port: string, bridge: string, otherBridge: string) {
    super({
      code: ContainerNetErrorCode.PORT_ON_OTHER_BRIDGE,
      message: `port ${show(port)} is on bridge ${show(otherBridge)}, not on ${show(bridge)}`,
      path: '/hostIfName',
      details: { port, bridge, otherBridge },
    });
  }
}

/** A host link of the host interface's (or its temporary peer's) name exists and is not our veth. */
export class HostLinkConflict extends ContainerNetError {
  override readonly name = 'HostLinkConflict';
  constructor(link: string, reason: string) {
    super({
      code: ContainerNetErrorCode.HOST_LINK_CONFLICT,
      message: `host link ${show(link)} ${reason}`,
      path: '/hostIfName',
      details: { link, reason },
    });
  }
}

/** Inside the container an interface of the requested name exists and is not this interface's veth. */
export class IfnameTaken extends ContainerNetError {
  override readonly name = 'IfnameTaken';
  constructor(ifname: string, containerId: string) {
    super({
      code: ContainerNetErrorCode.IFNAME_TAKEN,
      message: `container ${show(containerId)} already has an interface ${show(ifname)} that is not the veth of this interface`,
      path: '/ifname',
      details: { ifname, containerId },
    });
  }
}

/** ovs-vswitchd could not open the port's device (ofport -1) or gave it no OpenFlow port. */
export class InterfaceFailed extends ContainerNetError {
  override readonly name = 'InterfaceFailed';
  constructor(port: string, reason: string, options?: { cause?: unknown }) {
    super({ code: ContainerNetErrorCode.INTERFACE_FAILED, message: `port ${show(port)} did not come up in ovs-vswitchd: ${reason}`, details: { port, reason } }, options);
  }
}

// ---- the netlink back-end ----

/** An `ip`/`ethtool`/`nsenter` command exited non-zero; carries the argv and stderr. */
export class NetlinkCommandFailed extends ContainerNetError {
  override readonly name = 'NetlinkCommandFailed';
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super({
      code: ContainerNetErrorCode.NETLINK_COMMAND_FAILED,
      message: `${command.join(' ')} failed (${exitCode === null ? 'killed' : `exit ${exitCode}`}): ${stderr.trim() || 'no output'}`,
      details: { command, exitCode, stderr },
    });
  }
}

/** A binary the netlink back-end needs (`ip`, `nsenter`, `ethtool`) is not installed. */
export class NetlinkToolMissing extends ContainerNetError {
  override readonly name = 'NetlinkToolMissing';
  constructor(tool: string, options?: { cause?: unknown }) {
    super({
      code: ContainerNetErrorCode.NETLINK_TOOL_MISSING,
      message: `${show(tool)} is not installed (container-net needs iproute2, util-linux nsenter and ethtool)`,
      details: { tool },
    }, options);
  }
}
