// IPv4 addresses as plain numbers 0 .. 2^32-1. Arithmetic, never bitwise operators: JavaScript's
// bitwise operators work on signed 32-bit integers and would turn 128.0.0.0 and above negative.
import { InvalidAddress } from './errors';

export const IPV4_MAX = 2 ** 32 - 1;

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const SYNTAX = 'is not a dotted-quad IPv4 address such as 10.0.0.1';

/** The number of a dotted quad, or the reason it is not one (shared by address and CIDR parsing). */
function quad(text: unknown): number | string {
  if (typeof text !== 'string') return SYNTAX;
  const m = QUAD.exec(text);
  if (!m) return SYNTAX;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    // "010" is 8 to inet_aton and 10 to most other parsers: refuse rather than guess.
    if (part.length > 1 && part.startsWith('0')) return `is not a valid IPv4 address: octet ${i} "${part}" has a leading zero`;
    const octet = Number(part);
    if (octet > 255) return `is not a valid IPv4 address: octet ${i} is ${octet}, above 255`;
    n = n * 256 + octet;
  }
  return n;
}

/** Parses a strict dotted quad (no leading zeros, no shorthand); throws InvalidAddress at `path`. */
export function parseIpv4(text: string, path = '/address'): number {
  const n = quad(text);
  if (typeof n === 'string') throw new InvalidAddress(path, text, n);
  return n;
}

export function formatIpv4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > IPV4_MAX) throw new RangeError(`${n} is not an IPv4 address number (0 to ${IPV4_MAX})`);
  return `${Math.floor(n / 16777216)}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

export interface Cidr {
  /** Canonical text, e.g. "10.0.0.0/24". */
  text: string;
  network: number;
  prefix: number;
  /** The network address (same as `network`). */
  first: number;
  /** The broadcast address. */
  last: number;
  /** Number of addresses, 2^(32-prefix). */
  size: number;
}

/** Builds a Cidr from numbers known to be valid (network aligned to prefix). */
export function cidrOf(network: number, prefix: number): Cidr {
  const size = 2 ** (32 - prefix);
  return { text: `${formatIpv4(network)}/${prefix}`, network, prefix, first: network, last: network + size - 1, size };
}

/** Parses "a.b.c.d/n"; refuses bad syntax, a prefix outside 0..32 and host bits set (InvalidAddress at `path`). */
export function parseCidr(text: string, path = '/cidr'): Cidr {
  const slash = typeof text === 'string' ? text.indexOf('/') : -1;
  if (slash < 0) throw new InvalidAddress(path, text, 'is not a CIDR such as 10.0.0.0/24');
  const addr = quad(text.slice(0, slash));
  if (typeof addr === 'string') {
    throw new InvalidAddress(path, text, addr === SYNTAX ? 'is not a CIDR such as 10.0.0.0/24' : addr.replace('IPv4 address', 'CIDR'));
  }
  const p = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(p)) throw new InvalidAddress(path, text, 'is not a CIDR such as 10.0.0.0/24: the prefix length must be a number from 0 to 32');
  const prefix = Number(p);
  if (prefix > 32) throw new InvalidAddress(path, text, `is not a valid CIDR: prefix /${prefix} is above 32`);
  const size = 2 ** (32 - prefix);
  const network = Math.floor(addr / size) * size;
  if (network !== addr) {
    throw new InvalidAddress(path, text, `has host bits set: the /${prefix} network containing ${formatIpv4(addr)} is ${formatIpv4(network)}/${prefix}`);
  }
  return cidrOf(network, prefix);
}

export function cidrContains(c: Cidr, address: number): boolean {
  return address >= c.first && address <= c.last;
}

/** True iff every address of `inner` is in `outer` (a CIDR is within itself). */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.first >= outer.first && inner.last <= outer.last;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.first <= b.last && b.first <= a.last;
}
