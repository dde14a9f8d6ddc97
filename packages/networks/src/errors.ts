// One class per failure mode, each with a stable UPPER_SNAKE code and a bus-ready `info`. Paths are
// JSON pointers relative to the resource being checked; withPath() rebases them onto the place the
// resource had in a command (e.g. /tenantNetworks/2), so the submitter sees where the fault is.

/** Bus-ready description of a failure (the shape of the contracts' ErrorInfo). */
export interface NetworkErrorInfo {
  code: string;
  message: string;
  path?: string;
  rule?: string;
  details?: Record<string, unknown>;
}

export const NetworkErrorCode = {
  ID_RANGE_SYNTAX: 'ID_RANGE_SYNTAX',
  VLAN_OUT_OF_RANGE: 'VLAN_OUT_OF_RANGE',
  VNI_OUT_OF_RANGE: 'VNI_OUT_OF_RANGE',
  ID_RANGES_OVERLAP: 'ID_RANGES_OVERLAP',
  RESERVED_TENANT_NAME: 'RESERVED_TENANT_NAME',
  TENANT_PHYSICAL_ATTRIBUTE: 'TENANT_PHYSICAL_ATTRIBUTE',
  TENANT_CONFIG_MISSING: 'TENANT_CONFIG_MISSING',
  TENANT_CONFIG_EXHAUSTED: 'TENANT_CONFIG_EXHAUSTED',
  TENANT_CONFIG_IN_USE: 'TENANT_CONFIG_IN_USE',
  PHYSICAL_ID_TAKEN: 'PHYSICAL_ID_TAKEN',
  ROUTE_VIA_OUTSIDE_CIDR: 'ROUTE_VIA_OUTSIDE_CIDR',
  CROSS_TENANT_REFERENCE: 'CROSS_TENANT_REFERENCE',
  CLUSTER_REFERENCES_TENANT: 'CLUSTER_REFERENCES_TENANT',
  UNKNOWN_NETWORK_REFERENCE: 'UNKNOWN_NETWORK_REFERENCE',
  DEPENDENCY_CYCLE: 'DEPENDENCY_CYCLE',
  CHILD_OUTSIDE_PARENT: 'CHILD_OUTSIDE_PARENT',
  PARENT_POOL_OVERLAPS_CHILD: 'PARENT_POOL_OVERLAPS_CHILD',
  PARENT_GATEWAY_IN_CHILD: 'PARENT_GATEWAY_IN_CHILD',
  CIDR_OVERLAP: 'CIDR_OVERLAP',
  NETWORK_EXISTS: 'NETWORK_EXISTS',
  DUPLICATE_NETWORK: 'DUPLICATE_NETWORK',
  NETWORK_NOT_FOUND: 'NETWORK_NOT_FOUND',
  NETWORK_HAS_INTERFACES: 'NETWORK_HAS_INTERFACES',
  NETWORK_DEPENDED_UPON: 'NETWORK_DEPENDED_UPON',
  CHANGE_WHILE_IN_USE: 'CHANGE_WHILE_IN_USE',
  TENANT_FORBIDDEN: 'TENANT_FORBIDDEN',
  INTERFACE_EXISTS: 'INTERFACE_EXISTS',
  INTERFACE_NOT_FOUND: 'INTERFACE_NOT_FOUND',
  HOST_NOT_FOUND: 'HOST_NOT_FOUND',
  HOST_HAS_INTERFACES: 'HOST_HAS_INTERFACES',
  BACKEND_NOT_USABLE: 'BACKEND_NOT_USABLE',
  NETWORK_HAS_SERVICE_ADDRESSES: 'NETWORK_HAS_SERVICE_ADDRESSES',
  SERVICE_ADDRESS_FIXED: 'SERVICE_ADDRESS_FIXED',
  DPID_TAKEN: 'DPID_TAKEN',
  VTEP_TAKEN: 'VTEP_TAKEN',
  PORT_TAKEN: 'PORT_TAKEN',
  MAC_TAKEN: 'MAC_TAKEN',
  MAC_NOT_USABLE: 'MAC_NOT_USABLE',
  NUMBERS_EXHAUSTED: 'NUMBERS_EXHAUSTED',
} as const;
export type NetworkErrorCode = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];

/** Base of every error this package throws on purpose; `info` can be put on the bus as is. */
export abstract class NetworkError extends Error {
  readonly info: NetworkErrorInfo;
  protected constructor(info: NetworkErrorInfo & { code: NetworkErrorCode }) {
    super(info.message);
    this.info = info;
  }
  get code(): NetworkErrorCode {
    return this.info.code as NetworkErrorCode;
  }
}

/** Anything with a bus-ready info: our errors and IPAM's. */
export type ErrorWithInfo = Error & { readonly info: NetworkErrorInfo };

export function hasInfo(err: unknown): err is ErrorWithInfo {
  const info = (err as { info?: { code?: unknown; message?: unknown } } | null)?.info;
  return err instanceof Error && typeof info?.code === 'string' && typeof info.message === 'string';
}

/** Rebases an info's path (and the path its message starts with) onto `prefix`. */
export function rebaseInfo(info: NetworkErrorInfo, prefix: string): NetworkErrorInfo {
  if (!prefix) return info;
  const old = info.path ?? '';
  const path = old === '/' ? prefix : prefix + old;
  let message = info.message;
  if (old && message.startsWith(`${old}:`)) message = path + message.slice(old.length);
  else if (!old) message = `${prefix}: ${message}`;
  return { ...info, path, message };
}

/** The same error (same class, so instanceof holds), its path rebased onto `prefix`. */
export function withPath<E extends ErrorWithInfo>(err: E, prefix: string): E {
  if (!prefix) return err;
  const info = rebaseInfo(err.info, prefix);
  const copy = Object.create(Object.getPrototypeOf(err) as object) as E;
  Object.assign(copy, err, { info });
  Object.defineProperty(copy, 'message', { value: info.message, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: err.stack, enumerable: false, writable: true, configurable: true });
  return copy;
}

const range = (r: readonly [number, number]) => (r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`);

/** A TenantConfig vniRange that is not a comma-separated list of ids and inclusive ranges. */
export class IdRangeSyntax extends NetworkError {
  override readonly name = 'IdRangeSyntax';
  constructor(path: string, text: string, reason: string) {
    super({ code: NetworkErrorCode.ID_RANGE_SYNTAX, message: `${path}: "${text}" is not a list of ids and ranges such as 700-710,720: ${reason}`, path, rule: 'id-range-syntax', details: { text, reason } });
  }
}

/** A VLAN id outside 1..4094 (0 and 4095 are reserved by 802.1Q). */
export class VlanOutOfRange extends NetworkError {
  override readonly name = 'VlanOutOfRange';
  constructor(path: string, value: number) {
    super({ code: NetworkErrorCode.VLAN_OUT_OF_RANGE, message: `${path}: VLAN id ${value} is outside 1..4094 (0 and 4095 are reserved by 802.1Q)`, path, rule: 'vlan-range', details: { value, min: 1, max: 4094 } });
  }
}

/** A VXLAN network identifier outside 1..16777215 (24 bits, 0 unused). */
export class VniOutOfRange extends NetworkError {
  override readonly name = 'VniOutOfRange';
  constructor(path: string, value: number) {
    super({ code: NetworkErrorCode.VNI_OUT_OF_RANGE, message: `${path}: VNI ${value} is outside 1..16777215`, path, rule: 'vni-range', details: { value, min: 1, max: 16777215 } });
  }
}

/** Two ranges of one device and type in a TenantConfig that share ids. */
export class IdRangesOverlap extends NetworkError {
  override readonly name = 'IdRangesOverlap';
  constructor(path: string, device: string, type: string, a: readonly [number, number], b: readonly [number, number], otherPath: string) {
    super({
      code: NetworkErrorCode.ID_RANGES_OVERLAP,
      message: `${path}: ${type} ids ${range(a)} of device ${device} overlap ${range(b)} given at ${otherPath}`,
      path,
      rule: 'id-ranges-disjoint',
      details: { device, type, range: range(a), overlaps: range(b), otherPath },
    });
  }
}

/** "cluster" names the cluster scope in network ids (cluster/<name>), so no tenant may have it. */
export class ReservedTenantName extends NetworkError {
  override readonly name = 'ReservedTenantName';
  constructor(path: string) {
    super({ code: NetworkErrorCode.RESERVED_TENANT_NAME, message: `${path}: "cluster" is reserved for cluster networks (ids cluster/<name>) and cannot name a tenant`, path, rule: 'tenant-name-not-reserved' });
  }
}

/** A TenantNetwork that sets vlan, vni or hostDevice: those come from the tenant's TenantConfig. */
export class TenantPhysicalAttribute extends NetworkError {
  override readonly name = 'TenantPhysicalAttribute';
  constructor(path: string, attribute: string, tenant: string) {
    super({
      code: NetworkErrorCode.TENANT_PHYSICAL_ATTRIBUTE,
      message: `${path}: a TenantNetwork may not set ${attribute}; VLAN, VNI and host device are assigned from tenant ${tenant}'s TenantConfig`,
      path,
      rule: 'tenant-no-physical-attributes',
      details: { attribute, tenant },
    });
  }
}

/** A tenant network for a tenant that has no TenantConfig to take physical attributes from. */
export class TenantConfigMissing extends NetworkError {
  override readonly name = 'TenantConfigMissing';
  constructor(path: string, tenant: string, networkId: string) {
    super({
      code: NetworkErrorCode.TENANT_CONFIG_MISSING,
      message: `${path}: tenant ${tenant} has no TenantConfig, so network ${networkId} cannot be given a VLAN or VNI; a cluster admin must put one first`,
      path,
      rule: 'tenant-config-exists',
      details: { tenant, networkId },
    });
  }
}

/** Every id the tenant's TenantConfig offers is used by some network. */
export class TenantConfigExhausted extends NetworkError {
  override readonly name = 'TenantConfigExhausted';
  constructor(path: string, tenant: string, networkId: string, offered: readonly { device: string; type: string; range: string }[]) {
    const list = offered.map((o) => `${o.device} ${o.type} ${o.range}`).join('; ');
    super({
      code: NetworkErrorCode.TENANT_CONFIG_EXHAUSTED,
      message: `${path}: tenant ${tenant}'s TenantConfig is exhausted: every id it offers (${list}) is in use, so network ${networkId} cannot be given one`,
      path,
      rule: 'tenant-config-has-free-id',
      details: { tenant, networkId, offered },
    });
  }
}

/** A new TenantConfig that no longer offers ids that existing networks of the tenant were given. */
export class TenantConfigInUse extends NetworkError {
  override readonly name = 'TenantConfigInUse';
  constructor(path: string, tenant: string, used: readonly { networkId: string; device: string; type: string; id: number }[]) {
    const list = used.map((u) => `${u.networkId} (${u.device} ${u.type} ${u.id})`).join(', ');
    super({
      code: NetworkErrorCode.TENANT_CONFIG_IN_USE,
      message: `${path}: the new TenantConfig of ${tenant} no longer offers ids that its networks use: ${list}; delete those networks first`,
      path,
      rule: 'tenant-config-keeps-used-ids',
      details: { tenant, used },
    });
  }
}

/** A VLAN id or VNI on a device that another network already uses: they would share one segment. */
export class PhysicalIdTaken extends NetworkError {
  override readonly name = 'PhysicalIdTaken';
  constructor(path: string, what: 'VLAN' | 'VNI', id: number, device: string | null, holder: string) {
    super({
      code: NetworkErrorCode.PHYSICAL_ID_TAKEN,
      message: `${path}: ${what} ${id}${device ? ` on device ${device}` : ''} is already used by network ${holder}`,
      path,
      rule: 'physical-id-unique',
      details: { what, id, device, holder },
    });
  }
}

/** A route whose next hop is not on the network itself. */
export class RouteViaOutsideCidr extends NetworkError {
  override readonly name = 'RouteViaOutsideCidr';
  constructor(path: string, via: string, cidr: string) {
    super({ code: NetworkErrorCode.ROUTE_VIA_OUTSIDE_CIDR, message: `${path}: next hop ${via} is not inside the network's CIDR ${cidr}`, path, rule: 'route-via-inside-cidr', details: { via, cidr } });
  }
}

/** A tenant network referring to another tenant's network. */
export class CrossTenantReference extends NetworkError {
  override readonly name = 'CrossTenantReference';
  constructor(path: string, from: string, to: string) {
    super({
      code: NetworkErrorCode.CROSS_TENANT_REFERENCE,
      message: `${path}: network ${from} may not reference ${to}: a tenant network may only reference its own tenant's networks and cluster networks`,
      path,
      rule: 'tenant-references-own-or-cluster',
      details: { from, to },
    });
  }
}

/** A cluster network depending on or nesting in a tenant network. */
export class ClusterReferencesTenant extends NetworkError {
  override readonly name = 'ClusterReferencesTenant';
  constructor(path: string, from: string, to: string, relation: 'depend on' | 'nest in') {
    super({
      code: NetworkErrorCode.CLUSTER_REFERENCES_TENANT,
      message: `${path}: cluster network ${from} may not ${relation} tenant network ${to}: cluster networks may only reference cluster networks`,
      path,
      rule: 'cluster-references-cluster',
      details: { from, to, relation },
    });
  }
}

/** A reference to a network that neither exists nor is created by the same command. */
export class UnknownNetworkReference extends NetworkError {
  override readonly name = 'UnknownNetworkReference';
  constructor(path: string, from: string, to: string, relation: 'depends on' | 'nests in') {
    super({
      code: NetworkErrorCode.UNKNOWN_NETWORK_REFERENCE,
      message: `${path}: network ${from} ${relation} ${to}, which neither exists nor is created by this command`,
      path,
      rule: 'reference-exists',
      details: { from, to, relation },
    });
  }
}

/** dependsOn and parent edges that come back to where they started: no creation order exists. */
export class DependencyCycle extends NetworkError {
  override readonly name = 'DependencyCycle';
  constructor(path: string, cycle: readonly string[]) {
    super({ code: NetworkErrorCode.DEPENDENCY_CYCLE, message: `${path}: dependency cycle: ${cycle.join(' -> ')}`, path, rule: 'acyclic', details: { cycle } });
  }
}

/** A nested network whose CIDR is not inside its parent's. */
export class ChildOutsideParent extends NetworkError {
  override readonly name = 'ChildOutsideParent';
  constructor(path: string, child: string, childCidr: string, parent: string, parentCidr: string) {
    super({
      code: NetworkErrorCode.CHILD_OUTSIDE_PARENT,
      message: `${path}: ${childCidr} of ${child} is not inside ${parentCidr} of its parent ${parent}`,
      path,
      rule: 'child-inside-parent',
      details: { child, childCidr, parent, parentCidr },
    });
  }
}

/** A parent pool that covers a child's addresses: IPAM could hand one address out on both. */
export class ParentPoolOverlapsChild extends NetworkError {
  override readonly name = 'ParentPoolOverlapsChild';
  constructor(path: string, parent: string, poolIndex: number, pool: string, child: string, childCidr: string) {
    super({
      code: NetworkErrorCode.PARENT_POOL_OVERLAPS_CHILD,
      message: `${path}: pool ${poolIndex} (${pool}) of ${parent} overlaps ${childCidr} of its child ${child}: IPAM could hand out one address on both networks; the parent's pools must leave the child's CIDR out`,
      path,
      rule: 'parent-pools-outside-children',
      details: { parent, poolIndex, pool, child, childCidr },
    });
  }
}

/** A parent whose gateway address falls inside a child's CIDR. */
export class ParentGatewayInChild extends NetworkError {
  override readonly name = 'ParentGatewayInChild';
  constructor(path: string, parent: string, gateway: string, child: string, childCidr: string) {
    super({
      code: NetworkErrorCode.PARENT_GATEWAY_IN_CHILD,
      message: `${path}: gateway ${gateway} of ${parent} is inside ${childCidr} of its child ${child}; a parent's gateway must lie outside its children`,
      path,
      rule: 'parent-gateway-outside-children',
      details: { parent, gateway, child, childCidr },
    });
  }
}

/** Two networks, neither nested in the other, whose CIDRs share addresses. */
export class CidrOverlap extends NetworkError {
  override readonly name = 'CidrOverlap';
  constructor(path: string, network: string, cidr: string, other: string, otherCidr: string) {
    super({
      code: NetworkErrorCode.CIDR_OVERLAP,
      message: `${path}: ${cidr} of ${network} overlaps ${otherCidr} of ${other}; addresses are unique cluster wide, so only a network nested in another (parent) may share its addresses`,
      path,
      rule: 'cidrs-disjoint',
      details: { network, cidr, other, otherCidr },
    });
  }
}

export class NetworkExists extends NetworkError {
  override readonly name = 'NetworkExists';
  constructor(path: string, id: string) {
    super({ code: NetworkErrorCode.NETWORK_EXISTS, message: `${path}: network ${id} already exists`, path, rule: 'network-new', details: { id } });
  }
}

/** The same network twice in one createNetworks command. */
export class DuplicateNetwork extends NetworkError {
  override readonly name = 'DuplicateNetwork';
  constructor(path: string, id: string, firstPath: string) {
    super({ code: NetworkErrorCode.DUPLICATE_NETWORK, message: `${path}: network ${id} appears twice in this command (first at ${firstPath})`, path, rule: 'network-once', details: { id, firstPath } });
  }
}

export class NetworkNotFound extends NetworkError {
  override readonly name = 'NetworkNotFound';
  constructor(path: string, id: string) {
    super({ code: NetworkErrorCode.NETWORK_NOT_FOUND, message: `${path}: network ${id} does not exist`, path, rule: 'network-exists', details: { id } });
  }
}

export class NetworkHasInterfaces extends NetworkError {
  override readonly name = 'NetworkHasInterfaces';
  constructor(path: string, id: string, interfaces: readonly string[]) {
    super({
      code: NetworkErrorCode.NETWORK_HAS_INTERFACES,
      message: `${path}: network ${id} cannot be deleted: ${interfaces.length} interface(s) are attached (${shortList(interfaces)}); detach them first`,
      path,
      rule: 'network-unused',
      details: { id, interfaces },
    });
  }
}

/** A network that others depend on or nest in cannot go: they would be left dangling. */
export class NetworkDependedUpon extends NetworkError {
  override readonly name = 'NetworkDependedUpon';
  constructor(path: string, id: string, dependents: readonly string[], children: readonly string[]) {
    const parts = [
      ...(dependents.length ? [`${shortList(dependents)} depend(s) on it`] : []),
      ...(children.length ? [`${shortList(children)} nest(s) in it`] : []),
    ];
    super({
      code: NetworkErrorCode.NETWORK_DEPENDED_UPON,
      message: `${path}: network ${id} cannot be deleted: ${parts.join('; ')}`,
      path,
      rule: 'network-not-referenced',
      details: { id, dependents, children },
    });
  }
}

/** A change that running interfaces would not survive (their segment or address space moves). */
export class ChangeWhileInUse extends NetworkError {
  override readonly name = 'ChangeWhileInUse';
  constructor(path: string, id: string, field: string, from: unknown, to: unknown, interfaces: readonly string[]) {
    const show = (v: unknown) => (v === null || v === undefined ? 'none' : String(v));
    super({
      code: NetworkErrorCode.CHANGE_WHILE_IN_USE,
      message: `${path}: ${field} of network ${id} cannot change from ${show(from)} to ${show(to)} while ${interfaces.length} interface(s) are attached (${shortList(interfaces)}); detach them first`,
      path,
      rule: 'no-change-under-interfaces',
      details: { id, field, from: from ?? null, to: to ?? null, interfaces },
    });
  }
}

/** A principal bound to a tenant acting on a network outside that tenant. */
export class TenantForbidden extends NetworkError {
  override readonly name = 'TenantForbidden';
  constructor(path: string, principal: string, tenant: string, networkId: string) {
    super({
      code: NetworkErrorCode.TENANT_FORBIDDEN,
      message: `${path}: principal ${principal} of tenant ${tenant} may not manage network ${networkId}: it is not a network of tenant ${tenant}`,
      path,
      rule: 'tenant-scope',
      details: { principal, tenant, networkId },
    });
  }
}

export class InterfaceExists extends NetworkError {
  override readonly name = 'InterfaceExists';
  constructor(path: string, id: string, networkId: string, host: string) {
    super({ code: NetworkErrorCode.INTERFACE_EXISTS, message: `${path}: interface ${id} is already attached to network ${networkId} on host ${host}`, path, rule: 'interface-new', details: { id, networkId, host } });
  }
}

export class InterfaceNotFound extends NetworkError {
  override readonly name = 'InterfaceNotFound';
  constructor(path: string, id: string) {
    super({ code: NetworkErrorCode.INTERFACE_NOT_FOUND, message: `${path}: interface ${id} is not attached to any network`, path, rule: 'interface-exists', details: { id } });
  }
}

export class HostNotFound extends NetworkError {
  override readonly name = 'HostNotFound';
  constructor(path: string, name: string) {
    super({ code: NetworkErrorCode.HOST_NOT_FOUND, message: `${path}: host ${name} is not registered; register it first`, path, rule: 'host-exists', details: { name } });
  }
}

export class HostHasInterfaces extends NetworkError {
  override readonly name = 'HostHasInterfaces';
  constructor(path: string, name: string, interfaces: readonly string[]) {
    super({
      code: NetworkErrorCode.HOST_HAS_INTERFACES,
      message: `${path}: host ${name} cannot be unregistered: ${interfaces.length} interface(s) are attached on it (${shortList(interfaces)}); detach them first`,
      path,
      rule: 'host-unused',
      details: { name, interfaces },
    });
  }
}

export class DpidTaken extends NetworkError {
  override readonly name = 'DpidTaken';
  constructor(path: string, dpid: string, holder: string) {
    super({ code: NetworkErrorCode.DPID_TAKEN, message: `${path}: datapath id ${dpid} is already registered for host ${holder}`, path, rule: 'dpid-unique', details: { dpid, holder } });
  }
}

export class VtepTaken extends NetworkError {
  override readonly name = 'VtepTaken';
  constructor(path: string, ip: string, holder: string) {
    super({ code: NetworkErrorCode.VTEP_TAKEN, message: `${path}: tunnel endpoint ${ip} is already the VTEP of host ${holder}; each host needs its own`, path, rule: 'vtep-unique', details: { ip, holder } });
  }
}

export class PortTaken extends NetworkError {
  override readonly name = 'PortTaken';
  constructor(path: string, host: string, port: string, holder: string) {
    super({ code: NetworkErrorCode.PORT_TAKEN, message: `${path}: port ${port} on host ${host} already carries interface ${holder}`, path, rule: 'port-unique', details: { host, port, holder } });
  }
}

export class MacTaken extends NetworkError {
  override readonly name = 'MacTaken';
  constructor(path: string, mac: string, holder: string) {
    super({ code: NetworkErrorCode.MAC_TAKEN, message: `${path}: MAC ${mac} is already used by interface ${holder}`, path, rule: 'mac-unique', details: { mac, holder } });
  }
}

/** A MAC that is multicast, or inside the blocks this package generates gateway and interface MACs from. */
export class MacNotUsable extends NetworkError {
  override readonly name = 'MacNotUsable';
  constructor(path: string, mac: string, reason: string) {
    super({ code: NetworkErrorCode.MAC_NOT_USABLE, message: `${path}: MAC ${mac} cannot be used: ${reason}`, path, rule: 'mac-usable', details: { mac, reason } });
  }
}

/** The per-network (16 bit) or per-interface (32 bit) number space is used up; numbers are never reused. */
export class NumbersExhausted extends NetworkError {
  override readonly name = 'NumbersExhausted';
  constructor(what: 'network' | 'interface', max: number) {
    super({ code: NetworkErrorCode.NUMBERS_EXHAUSTED, message: `every ${what} number 1..${max} has been given out once, and numbers are never reused`, rule: 'number-available', details: { what, max } });
  }
}

function shortList(items: readonly string[]): string {
  return items.length > 5 ? `${items.slice(0, 5).join(', ')} and ${items.length - 5} more` : items.join(', ');
}

/** A service's backend must be an interface with an address on the service address's network. */
export class BackendNotUsable extends NetworkError {
  override readonly name = 'BackendNotUsable';
  constructor(path: string, service: string, networkId: string, interfaceId: string, why: string) {
    super({
      code: NetworkErrorCode.BACKEND_NOT_USABLE,
      message: `${path}: interface ${interfaceId} cannot serve ${service} on ${networkId}: ${why}`,
      path,
      rule: 'backend-on-network',
      details: { service, networkId, interfaceId, why },
    });
  }
}

export class NetworkHasServiceAddresses extends NetworkError {
  override readonly name = 'NetworkHasServiceAddresses';
  constructor(path: string, id: string, services: readonly string[]) {
    super({
      code: NetworkErrorCode.NETWORK_HAS_SERVICE_ADDRESSES,
      message: `${path}: network ${id} cannot be deleted: ${services.length} service address(es) are held on it (${shortList(services)}); release them first (releaseServiceAddress)`,
      path,
      rule: 'network-unused',
      details: { id, services },
    });
  }
}

/** Clients hold a service address (in DNS answers and caches): once given out it does not move. */
export class ServiceAddressFixed extends NetworkError {
  override readonly name = 'ServiceAddressFixed';
  constructor(path: string, service: string, networkId: string, held: string, asked: string) {
    super({
      code: NetworkErrorCode.SERVICE_ADDRESS_FIXED,
      message: `${path}: ${service} already holds ${held} on ${networkId}; its address cannot change to ${asked} (release it first, or leave address out)`,
      path,
      rule: 'service-address-stable',
      details: { service, networkId, held, asked },
    });
  }
}
