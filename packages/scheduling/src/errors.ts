// One class per failure mode, each with a stable UPPER_SNAKE code and a bus-ready `info`
// ({ code, message, path, rule, details }, the shape of the contracts' ErrorInfo). Paths are JSON
// pointers into what was checked (a ServiceSpec, or a command's payload); the message starts with the
// path, so the user reads where, what and why in one line.

/** Bus-ready description of a failure. */
export interface SchedulingErrorInfo {
  code: string;
  message: string;
  path?: string;
  rule?: string;
  details?: Record<string, unknown>;
}

export const SchedulingErrorCode = {
  RESERVED_TENANT_NAME: 'RESERVED_TENANT_NAME',
  NAME_NOT_DNS_LABEL: 'NAME_NOT_DNS_LABEL',
  CROSS_TENANT_NETWORK: 'CROSS_TENANT_NETWORK',
  DUPLICATE_NETWORK_ATTACHMENT: 'DUPLICATE_NETWORK_ATTACHMENT',
  DUPLICATE_IFNAME: 'DUPLICATE_IFNAME',
  IFNAME_RESERVED: 'IFNAME_RESERVED',
  ADDRESSES_NEED_STATIC: 'ADDRESSES_NEED_STATIC',
  SERVICE_ADDRESS_WITHOUT_IP: 'SERVICE_ADDRESS_WITHOUT_IP',
  SERVICE_ADDRESS_CHANGED: 'SERVICE_ADDRESS_CHANGED',
  STATIC_ADDRESS_COUNT: 'STATIC_ADDRESS_COUNT',
  DUPLICATE_STATIC_ADDRESS: 'DUPLICATE_STATIC_ADDRESS',
  HEALTH_TIMEOUT_EXCEEDS_INTERVAL: 'HEALTH_TIMEOUT_EXCEEDS_INTERVAL',
  CONTRADICTORY_CONSTRAINTS: 'CONTRADICTORY_CONSTRAINTS',
  START_FIRST_WITH_STATIC_ADDRESSES: 'START_FIRST_WITH_STATIC_ADDRESSES',
  SERVICE_IDENTITY_CHANGED: 'SERVICE_IDENTITY_CHANGED',
  SCALE_WITH_STATIC_ADDRESSES: 'SCALE_WITH_STATIC_ADDRESSES',
  REVISION_NOT_FOUND: 'REVISION_NOT_FOUND',
  ALREADY_AT_REVISION: 'ALREADY_AT_REVISION',
  NO_EARLIER_REVISION: 'NO_EARLIER_REVISION',
  SERVICE_EXISTS: 'SERVICE_EXISTS',
  SERVICE_NOT_FOUND: 'SERVICE_NOT_FOUND',
  NODE_CAPACITY_INVALID: 'NODE_CAPACITY_INVALID',
  NODE_NOT_FOUND: 'NODE_NOT_FOUND',
  NODE_REMOVAL_REFUSED: 'NODE_REMOVAL_REFUSED',
} as const;
export type SchedulingErrorCode = (typeof SchedulingErrorCode)[keyof typeof SchedulingErrorCode];

/** Base of every error this package throws on purpose; `info` can be put on the bus as is. */
export abstract class SchedulingError extends Error {
  readonly info: SchedulingErrorInfo;
  protected constructor(info: SchedulingErrorInfo & { code: SchedulingErrorCode }) {
    super(info.message);
    this.info = info;
  }
  get code(): SchedulingErrorCode {
    return this.info.code as SchedulingErrorCode;
  }
}

/** "cluster" names the cluster scope in network ids (cluster/<name>), so no tenant may have it. */
export class ReservedTenantName extends SchedulingError {
  override readonly name = 'ReservedTenantName';
  constructor(path: string) {
    super({ code: SchedulingErrorCode.RESERVED_TENANT_NAME, message: `${path}: "cluster" is reserved for cluster networks (ids cluster/<name>) and cannot name a tenant`, path, rule: 'tenant-name-not-reserved' });
  }
}

/**
 * Tenant and service names become DNS labels (<service>.<network>.<tenant>.<domain>), which may
 * not end with a hyphen (RFC 1123); the schema's pattern alone lets one through.
 */
export class NameNotDnsLabel extends SchedulingError {
  override readonly name = 'NameNotDnsLabel';
  constructor(path: string, value: string) {
    super({ code: SchedulingErrorCode.NAME_NOT_DNS_LABEL, message: `${path}: "${value}" ends with a hyphen, so it cannot be a DNS label (its replicas' names would be refused); end it with a letter or digit`, path, rule: 'name-is-dns-label' });
  }
}

/** A service attached to another tenant's network. */
export class CrossTenantNetwork extends SchedulingError {
  override readonly name = 'CrossTenantNetwork';
  constructor(path: string, service: string, network: string) {
    super({
      code: SchedulingErrorCode.CROSS_TENANT_NETWORK,
      message: `${path}: service ${service} may not attach to network ${network}: a service may only use its own tenant's networks and cluster networks`,
      path,
      rule: 'service-networks-own-or-cluster',
      details: { service, network },
    });
  }
}

/** The same network twice: a replica has one interface per network (which one would DNS name?). */
export class DuplicateNetworkAttachment extends SchedulingError {
  override readonly name = 'DuplicateNetworkAttachment';
  constructor(path: string, network: string, otherPath: string) {
    super({
      code: SchedulingErrorCode.DUPLICATE_NETWORK_ATTACHMENT,
      message: `${path}: network ${network} is attached twice (also at ${otherPath}); a replica has one interface per network`,
      path,
      rule: 'networks-unique',
      details: { network, otherPath },
    });
  }
}

/** Two interfaces with one name inside the container (defaults eth<index> included). */
export class DuplicateIfname extends SchedulingError {
  override readonly name = 'DuplicateIfname';
  constructor(path: string, ifname: string, otherPath: string) {
    super({
      code: SchedulingErrorCode.DUPLICATE_IFNAME,
      message: `${path}: interface name ${ifname} is used twice (also by ${otherPath}, default names are eth<index>)`,
      path,
      rule: 'ifnames-unique',
      details: { ifname, otherPath },
    });
  }
}

export class IfnameReserved extends SchedulingError {
  override readonly name = 'IfnameReserved';
  constructor(path: string, ifname: string) {
    super({ code: SchedulingErrorCode.IFNAME_RESERVED, message: `${path}: ${ifname} is the container's loopback interface and cannot name a network interface`, path, rule: 'ifname-not-reserved', details: { ifname } });
  }
}

/** Addresses given for a network whose mode would ignore them: refused rather than silently dropped. */
export class AddressesNeedStatic extends SchedulingError {
  override readonly name = 'AddressesNeedStatic';
  constructor(path: string, mode: string) {
    super({ code: SchedulingErrorCode.ADDRESSES_NEED_STATIC, message: `${path}: addresses are only taken with mode static; this network's mode is ${mode}`, path, rule: 'addresses-only-static', details: { mode } });
  }
}

/** A service address balances over the replicas' addresses on the network: with mode none they have none. */
export class ServiceAddressWithoutIp extends SchedulingError {
  override readonly name = 'ServiceAddressWithoutIp';
  constructor(path: string) {
    super({ code: SchedulingErrorCode.SERVICE_ADDRESS_WITHOUT_IP, message: `${path}: a service address needs replicas with addresses on the network; its ip mode is none`, path, rule: 'service-address-needs-ip' });
  }
}

/** The service address of a network is given out once; clients are configured with it, so an update cannot move it. */
export class ServiceAddressChanged extends SchedulingError {
  override readonly name = 'ServiceAddressChanged';
  constructor(path: string, network: string, from: string | null, to: string | null) {
    super({
      code: SchedulingErrorCode.SERVICE_ADDRESS_CHANGED,
      message: `${path}: the service address on ${network} cannot change while the service is on that network (${from ?? 'picked by IPAM'} -> ${to ?? 'picked by IPAM'}); remove the network from the service first, or deploy a new service`,
      path,
      rule: 'service-address-fixed',
      details: { network, from, to },
    });
  }
}

/** Mode static gives replica slot i the address addresses[i-1], so there must be exactly one per replica. */
export class StaticAddressCount extends SchedulingError {
  override readonly name = 'StaticAddressCount';
  constructor(path: string, replicas: number, addresses: number) {
    super({
      code: SchedulingErrorCode.STATIC_ADDRESS_COUNT,
      message: `${path}: mode static needs one address per replica: ${replicas} replica(s) but ${addresses} address(es)`,
      path,
      rule: 'static-addresses-per-replica',
      details: { replicas, addresses },
    });
  }
}

export class DuplicateStaticAddress extends SchedulingError {
  override readonly name = 'DuplicateStaticAddress';
  constructor(path: string, address: string, otherPath: string) {
    super({ code: SchedulingErrorCode.DUPLICATE_STATIC_ADDRESS, message: `${path}: ${address} is given twice (also at ${otherPath})`, path, rule: 'static-addresses-unique', details: { address, otherPath } });
  }
}

/** A check that may run longer than its interval would overlap the next one. */
export class HealthTimeoutExceedsInterval extends SchedulingError {
  override readonly name = 'HealthTimeoutExceedsInterval';
  constructor(path: string, timeoutMs: number, intervalMs: number) {
    super({
      code: SchedulingErrorCode.HEALTH_TIMEOUT_EXCEEDS_INTERVAL,
      message: `${path}: a check may take ${timeoutMs} ms but runs every ${intervalMs} ms; timeoutMs must not exceed intervalMs`,
      path,
      rule: 'health-timeout-within-interval',
      details: { timeoutMs, intervalMs },
    });
  }
}

/**
 * Constraints that contradict each other, whatever the nodes. Constraints that merely no node
 * satisfies today are not an error: nodes come and go, so the planner reports them as blocked.
 */
export class ContradictoryConstraints extends SchedulingError {
  override readonly name = 'ContradictoryConstraints';
  constructor(path: string, constraint: string, other: string, otherPath: string) {
    super({
      code: SchedulingErrorCode.CONTRADICTORY_CONSTRAINTS,
      message: `${path}: ${constraint} contradicts ${other} at ${otherPath}: no node can satisfy both`,
      path,
      rule: 'constraints-consistent',
      details: { constraint, other, otherPath },
    });
  }
}

/** start-first runs a successor beside its predecessor, and a static address cannot be on both. */
export class StartFirstWithStaticAddresses extends SchedulingError {
  override readonly name = 'StartFirstWithStaticAddresses';
  constructor(path: string, networkPath: string) {
    super({
      code: SchedulingErrorCode.START_FIRST_WITH_STATIC_ADDRESSES,
      message: `${path}: start-first runs a replica's successor while the replica still holds its address, but ${networkPath} gives each replica one static address; use stop-first`,
      path,
      rule: 'static-addresses-stop-first',
      details: { networkPath },
    });
  }
}

export class ServiceIdentityChanged extends SchedulingError {
  override readonly name = 'ServiceIdentityChanged';
  constructor(path: string, id: string, field: 'tenant' | 'name', to: string) {
    super({
      code: SchedulingErrorCode.SERVICE_IDENTITY_CHANGED,
      message: `${path}: an update of ${id} cannot change its ${field} to ${to}; deploy a new service instead`,
      path,
      rule: 'service-identity-fixed',
      details: { id, field, to },
    });
  }
}

/** scaleService on a service with static addresses: the address list has to grow or shrink with it. */
export class ScaleWithStaticAddresses extends SchedulingError {
  override readonly name = 'ScaleWithStaticAddresses';
  constructor(path: string, id: string, replicas: number, networkPath: string, addresses: number) {
    super({
      code: SchedulingErrorCode.SCALE_WITH_STATIC_ADDRESSES,
      message: `${path}: ${id} gives each replica a static address on ${networkPath} (${addresses} listed), so scaling it to ${replicas} needs a new address list: use updateService`,
      path,
      rule: 'static-addresses-scale-by-update',
      details: { id, replicas, networkPath, addresses },
    });
  }
}

export class RevisionNotFound extends SchedulingError {
  override readonly name = 'RevisionNotFound';
  constructor(path: string, id: string, revision: number, known: readonly number[]) {
    super({
      code: SchedulingErrorCode.REVISION_NOT_FOUND,
      message: `${path}: ${id} has no revision ${revision}; its history holds revisions ${known.join(', ')}`,
      path,
      rule: 'revision-exists',
      details: { id, revision, known },
    });
  }
}

export class AlreadyAtRevision extends SchedulingError {
  override readonly name = 'AlreadyAtRevision';
  constructor(path: string, id: string, revision: number) {
    super({ code: SchedulingErrorCode.ALREADY_AT_REVISION, message: `${path}: ${id} is already at revision ${revision}`, path, rule: 'undo-changes-revision', details: { id, revision } });
  }
}

export class NoEarlierRevision extends SchedulingError {
  override readonly name = 'NoEarlierRevision';
  constructor(path: string, id: string, revision: number) {
    super({ code: SchedulingErrorCode.NO_EARLIER_REVISION, message: `${path}: ${id} has had no revision before ${revision} to go back to`, path, rule: 'undo-has-target', details: { id, revision } });
  }
}

export class ServiceExists extends SchedulingError {
  override readonly name = 'ServiceExists';
  constructor(path: string, id: string, revision: number) {
    super({ code: SchedulingErrorCode.SERVICE_EXISTS, message: `${path}: service ${id} already exists (revision ${revision}); use updateService to change it`, path, rule: 'service-new', details: { id, revision } });
  }
}

export class ServiceNotFound extends SchedulingError {
  override readonly name = 'ServiceNotFound';
  constructor(path: string, id: string) {
    super({ code: SchedulingErrorCode.SERVICE_NOT_FOUND, message: `${path}: service ${id} does not exist`, path, rule: 'service-exists', details: { id } });
  }
}

/** A node-agent reporting a capacity the scheduler cannot place against. */
export class NodeCapacityInvalid extends SchedulingError {
  override readonly name = 'NodeCapacityInvalid';
  constructor(path: string, node: string, what: 'cpus' | 'memoryBytes', value: number) {
    super({
      code: SchedulingErrorCode.NODE_CAPACITY_INVALID,
      message: `${path}: node ${node} reports ${value} ${what}; a node's capacity must be a positive finite number`,
      path,
      rule: 'node-capacity-positive',
      details: { node, what, value },
    });
  }
}

export class NodeNotFound extends SchedulingError {
  override readonly name = 'NodeNotFound';
  constructor(path: string, node: string) {
    super({ code: SchedulingErrorCode.NODE_NOT_FOUND, message: `${path}: node ${node} is not a member of the cluster`, path, rule: 'node-exists', details: { node } });
  }
}

/** removeNode without force when the other ready nodes cannot take the node's replicas. */
export class NodeRemovalRefused extends SchedulingError {
  override readonly name = 'NodeRemovalRefused';
  constructor(path: string, node: string, stranded: readonly { replica: string; reason: string }[], total: number) {
    const shown = stranded.slice(0, 3).map((s) => `${s.replica}: ${s.reason}`).join('; ');
    const more = stranded.length > 3 ? `; and ${stranded.length - 3} more` : '';
    super({
      code: SchedulingErrorCode.NODE_REMOVAL_REFUSED,
      message: `${path}: node ${node} cannot be drained: ${stranded.length} of its ${total} replica(s) fit on no other ready node (${shown}${more}); add capacity, or remove it with force`,
      path,
      rule: 'drain-has-room',
      details: { node, stranded, total },
    });
  }
}

/** The same error (same class, so instanceof holds) with its path, and the message's, under `prefix`. */
export function withPath<E extends SchedulingError>(err: E, prefix: string): E {
  if (!prefix) return err;
  const old = err.info.path ?? '';
  const path = old === '/' || old === '' ? prefix : prefix + old;
  const message = old && err.info.message.startsWith(`${old}:`) ? path + err.info.message.slice(old.length) : `${prefix}: ${err.info.message}`;
  const copy = Object.create(Object.getPrototypeOf(err) as object) as E;
  Object.assign(copy, err, { info: { ...err.info, path, message } });
  Object.defineProperty(copy, 'message', { value: message, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: err.stack, enumerable: false, writable: true, configurable: true });
  return copy;
}
