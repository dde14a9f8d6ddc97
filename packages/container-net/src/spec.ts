// What an attach asks for, its validation (pure: nothing is touched before a spec is valid), and
// the names derived from an interface id.
import { createHash } from 'node:crypto';
import {
  DuplicateInterface,
  GatewayNotOnLink,
  GatewayWithoutAddress,
  InvalidAddress,
  InvalidId,
  InvalidIfName,
  InvalidMac,
  InvalidMtu,
  InvalidPid,
} from './errors';

export interface RouteSpec {
  /** A CIDR, e.g. `10.2.0.0/16` (`default` is set with `gateway`). */
  dst: string;
  /** The next hop, an address in the interface's subnet. */
  via: string;
}

export interface AttachSpec {
  /** The interface's id (IPAM's / the network-controller's); names the OVS port's owner. */
  interfaceId: string;
  containerId: string;
  /** A process in the container's network namespace (its init): `/proc/<pid>/ns/net`. */
  pid: number;
  /** The name inside the container, e.g. `eth0`. */
  ifname: string;
  /** The host end and OVS port name (≤ 15 characters); default `hostIfNameFor(interfaceId)`. */
  hostIfName?: string;
  /** Unicast MAC, e.g. `02:42:0a:01:02:03`. */
  mac: string;
  /** Address with prefix length, or null for an interface without one (IPAM policy `none`). */
  address: string | null;
  /** Default route via this address (the first interface of a container that has one gets it). */
  gateway?: string;
  routes?: readonly RouteSpec[];
  /** Both ends; default: the kernel's (1500). */
  mtu?: number;
  networkId: string;
}

/** An AttachSpec after validation: names resolved, MAC lower case. */
export interface ResolvedSpec extends Omit<AttachSpec, 'hostIfName' | 'routes'> {
  hostIfName: string;
  /** Temporary name of the container end until it is inside and renamed. */
  peerIfName: string;
  routes: readonly RouteSpec[];
}

/** Keys of the OVS Port/Interface external_ids this package writes and reads back. */
export const ExternalIdKeys = {
  InterfaceId: 'sdmi-interface-id',
  ContainerId: 'sdmi-container-id',
  NetworkId: 'sdmi-network-id',
  Address: 'sdmi-address',
  Mac: 'sdmi-mac',
  /** The inside name, so `list()` can say where the interface is without the caller's specs. */
  Ifname: 'sdmi-ifname',
} as const;

/** The ifalias of a host end: `sdmi-cnet <bridge> <interfaceId>`, found by reconcile even when no port refers to it. */
export const ALIAS_PREFIX = 'sdmi-cnet';
export const hostAlias = (bridge: string, interfaceId: string): string => `${ALIAS_PREFIX} ${bridge} ${interfaceId}`;

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const ID = /^[^\s\p{Cc}]{1,253}$/u;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * The host end's name for an interface id: `sv` + 13 hex digits of its SHA-256, 15 characters.
 * Deterministic, so a retry after a crash finds the veth and port of the first attempt.
 */
export function hostIfNameFor(interfaceId: string): string {
  return `sv${createHash('sha256').update(interfaceId).digest('hex').slice(0, 13)}`;
}

/** The container end's name while it is still being moved and renamed. */
export function peerIfNameFor(hostIfName: string): string {
  // Same length as the host name, so it fits whenever the host name does.
  return `${hostIfName.slice(0, -1)}${hostIfName.endsWith('p') ? 'q' : 'p'}`;
}

/** Parses dotted-quad IPv4 to a 32-bit number, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

interface Cidr {
  ip: number;
  prefix: number;
}

function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  if (!m) return undefined;
  const ip = parseIpv4(m[1] ?? '');
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  return { ip, prefix };
}

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
const sameSubnet = (a: number, b: number, prefix: number): boolean => ((a & maskOf(prefix)) >>> 0) === ((b & maskOf(prefix)) >>> 0);

function checkId(path: string, value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value)) throw new InvalidId(path, value);
  return value;
}

function checkIfName(path: string, value: unknown): string {
  if (typeof value !== 'string' || !IFNAME.test(value) || value === '.' || value === '..') throw new InvalidIfName(path, value);
  return value;
}

function checkOnLink(path: string, value: unknown, address: Cidr, addressText: string): string {
  if (typeof value !== 'string') throw new InvalidAddress(path, value, 'is not an IPv4 address (dotted quad)');
  const ip = parseIpv4(value);
  if (ip === undefined) throw new InvalidAddress(path, value, 'is not an IPv4 address (dotted quad)');
  if (ip === address.ip || !sameSubnet(ip, address.ip, address.prefix)) throw new GatewayNotOnLink(path, value, addressText);
  return value;
}

/**
 * Validates one spec (`base` prefixes the JSON pointers, e.g. `/3` for the fourth of a list) and
 * resolves its names. Throws the specific error of the first rule that fails.
 */
export function validateSpec(spec: AttachSpec, base = ''): ResolvedSpec {
  const p = (field: string) => `${base}/${field}`;
  if (spec === null || typeof spec !== 'object') throw new InvalidId(base || '/', spec);
  checkId(p('interfaceId'), spec.interfaceId);
  checkId(p('containerId'), spec.containerId);
  checkId(p('networkId'), spec.networkId);
  if (typeof spec.pid !== 'number' || !Number.isSafeInteger(spec.pid) || spec.pid < 1) throw new InvalidPid(p('pid'), spec.pid);
  const ifname = checkIfName(p('ifname'), spec.ifname);
  if (ifname === 'lo') throw new InvalidIfName(p('ifname'), spec.ifname);
  const hostIfName = spec.hostIfName === undefined ? hostIfNameFor(spec.interfaceId) : checkIfName(p('hostIfName'), spec.hostIfName);
  if (typeof spec.mac !== 'string' || !MAC.test(spec.mac)) throw new InvalidMac(p('mac'), spec.mac, 'is not a MAC address (six hex octets separated by colons)');
  const mac = spec.mac.toLowerCase();
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new InvalidMac(p('mac'), spec.mac, 'is a multicast or broadcast address, not a unicast one');
  if (mac === '00:00:00:00:00:00') throw new InvalidMac(p('mac'), spec.mac, 'is the all-zero address');
  if (spec.mtu !== undefined && (typeof spec.mtu !== 'number' || !Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535)) {
    throw new InvalidMtu(p('mtu'), spec.mtu);
  }
  const routes = spec.routes ?? [];
  if (!Array.isArray(routes)) throw new InvalidAddress(p('routes'), routes, 'is not a list of routes');
  let address: Cidr | undefined;
  if (spec.address !== null) {
    if (typeof spec.address !== 'string') throw new InvalidAddress(p('address'), spec.address, 'is not an IPv4 address with prefix length (e.g. 10.1.2.3/24) or null');
    address = parseCidr(spec.address);
    if (!address) throw new InvalidAddress(p('address'), spec.address, 'is not an IPv4 address with prefix length (e.g. 10.1.2.3/24) or null');
    if (address.prefix === 0) throw new InvalidAddress(p('address'), spec.address, 'needs a prefix length from 1 to 32');
  }
  if (spec.gateway !== undefined) {
    if (!address) throw new GatewayWithoutAddress(p('gateway'));
    checkOnLink(p('gateway'), spec.gateway, address, spec.address as string);
  }
  routes.forEach((r, i) => {
    if (!address) throw new GatewayWithoutAddress(p(`routes/${i}`));
    const dst = r?.dst;
    const cidr = typeof dst === 'string' ? parseCidr(dst) : undefined;
    if (!cidr || ((cidr.ip & maskOf(cidr.prefix)) >>> 0) !== cidr.ip) {
      throw new InvalidAddress(p(`routes/${i}/dst`), dst, 'is not a network in CIDR notation (e.g. 10.2.0.0/16, no host bits set)');
    }
    checkOnLink(p(`routes/${i}/via`), r.via, address, spec.address as string);
  });
  return {
    interfaceId: spec.interfaceId,
    containerId: spec.containerId,
    pid: spec.pid,
    ifname,
    hostIfName,
    peerIfName: peerIfNameFor(hostIfName),
    mac,
    address: spec.address,
    ...(spec.gateway !== undefined ? { gateway: spec.gateway } : {}),
    routes: routes.map((r) => ({ dst: r.dst, via: r.via })),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    networkId: spec.networkId,
  };
}

/** Validates a list of specs: each one, then that no two share an interface, host name, or (container, ifname). */
export function validateSpecs(specs: readonly AttachSpec[]): ResolvedSpec[] {
  const resolved = specs.map((s, i) => validateSpec(s, `/${i}`));
  const seen = new Map<string, number>();
  resolved.forEach((s, i) => {
    const keys: [string, string, string][] = [
      ['interfaceId', 'interface id', s.interfaceId],
      ['hostIfName', 'host interface name', s.hostIfName],
      ['ifname', `interface name in container ${JSON.stringify(s.containerId)}`, s.ifname],
    ];
    for (const [field, what, value] of keys) {
      const key = `${field}\u0000${field === 'ifname' ? `${s.containerId}\u0000` : ''}${value}`;
      const first = seen.get(key);
      if (first !== undefined) throw new DuplicateInterface(`/${i}/${field}`, what, value, first);
      seen.set(key, i);
    }
  });
  return resolved;
}

/** The external_ids written on the OVS port (and its interface). */
export function externalIdsOf(spec: ResolvedSpec): Record<string, string> {
  return {
    [ExternalIdKeys.InterfaceId]: spec.interfaceId,
    [ExternalIdKeys.ContainerId]: spec.containerId,
    [ExternalIdKeys.NetworkId]: spec.networkId,
    [ExternalIdKeys.Address]: spec.address ?? '',
    [ExternalIdKeys.Mac]: spec.mac,
    [ExternalIdKeys.Ifname]: spec.ifname,
  };
}
