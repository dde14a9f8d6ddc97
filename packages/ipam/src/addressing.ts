// Semantic validation of one network's addressing, pure. The allocator and the networks package
// both use it, so a network that passes here is one the allocator can serve.
import {
  CidrTooSmall,
  GatewayOutsideCidr,
  GatewayReserved,
  InvalidId,
  IpamError,
  NoPools,
  PoolOutsideCidr,
  PoolRangeInverted,
  PoolWithoutUsableAddress,
  PoolsOverlap,
} from './errors';
import { type Cidr, cidrContains, formatIpv4, parseCidr, parseIpv4 } from './ipv4';

export interface PoolSpec {
  start: string;
  end: string;
}

export interface AddressingSpec {
  id: string;
  cidr: string;
  gateway: string;
  pools: readonly PoolSpec[];
}

/** A validated AddressingSpec in numbers. */
export interface Addressing {
  id: string;
  cidr: Cidr;
  gateway: number;
  /** In the order dynamic allocation walks them. */
  pools: readonly { first: number; last: number }[];
}

// Ids come from the networks package (`cluster/db`, `acme/web`) and from container runtimes;
// anything printable goes, but not whitespace, which never survives a log line or a CLI intact.
const ID = /^[^\s\p{Cc}]{1,253}$/u;

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}

/** Throws InvalidId at `path` unless `id` is a valid network or interface id. */
export function checkId(id: unknown, path: string): string {
  if (!isValidId(id)) throw new InvalidId(path, id);
  return id;
}

export const poolText = (p: { first: number; last: number }): string => `${formatIpv4(p.first)}-${formatIpv4(p.last)}`;

/** Addresses never handed out: network, broadcast and gateway. */
export function reservedAddresses(cidr: Cidr, gateway: number): number[] {
  return [cidr.first, gateway, cidr.last];
}

/** What a reserved address is reserved as, or undefined for an ordinary host address. */
export function reservedAs(cidr: Cidr, gateway: number, address: number): 'network' | 'broadcast' | 'gateway' | undefined {
  if (address === cidr.first) return 'network';
  if (address === cidr.last) return 'broadcast';
  if (address === gateway) return 'gateway';
  return undefined;
}

/** Addresses of a pool that dynamic allocation may hand out. */
export function usableInPool(pool: { first: number; last: number }, cidr: Cidr, gateway: number): number {
  const reserved = new Set(reservedAddresses(cidr, gateway));
  let n = pool.last - pool.first + 1;
  for (const r of reserved) if (r >= pool.first && r <= pool.last) n--;
  return n;
}

function attempt<T>(errors: IpamError[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof IpamError) {
      errors.push(err);
      return undefined;
    }
    throw err;
  }
}

/**
 * Every problem found (empty = valid), each an IpamError with a JSON-pointer path. Rules: id
 * syntax; CIDR syntax and at least /30; gateway inside the CIDR and a host address; at least one
 * pool; each pool's start and end valid, start <= end, inside the CIDR, with at least one address
 * to hand out; pools pairwise disjoint. A pool may contain the network, broadcast or gateway
 * address: those are simply never handed out.
 */
export function validateAddressing(spec: AddressingSpec): IpamError[] {
  const errors: IpamError[] = [];
  const s = (spec ?? {}) as Partial<AddressingSpec>;
  const id = attempt(errors, () => checkId(s.id, '/id'));
  let cidr = attempt(errors, () => parseCidr(s.cidr as string, '/cidr'));
  if (cidr && cidr.prefix > 30) {
    errors.push(new CidrTooSmall(cidr.text));
    cidr = undefined;
  }
  const gateway = attempt(errors, () => parseIpv4(s.gateway as string, '/gateway'));
  if (cidr && gateway !== undefined) {
    if (!cidrContains(cidr, gateway)) errors.push(new GatewayOutsideCidr(formatIpv4(gateway), cidr.text));
    else if (gateway === cidr.first) errors.push(new GatewayReserved(formatIpv4(gateway), cidr.text, 'network'));
    else if (gateway === cidr.last) errors.push(new GatewayReserved(formatIpv4(gateway), cidr.text, 'broadcast'));
  }
  const pools = Array.isArray(s.pools) ? s.pools : [];
  if (pools.length === 0) errors.push(new NoPools(id ?? String(s.id)));
  const parsed: { index: number; first: number; last: number }[] = [];
  pools.forEach((p, index) => {
    const first = attempt(errors, () => parseIpv4((p as Partial<PoolSpec> | undefined)?.start as string, `/pools/${index}/start`));
    const last = attempt(errors, () => parseIpv4((p as Partial<PoolSpec> | undefined)?.end as string, `/pools/${index}/end`));
    if (first === undefined || last === undefined) return;
    if (first > last) {
      errors.push(new PoolRangeInverted(index, formatIpv4(first), formatIpv4(last)));
      return;
    }
    const pool = { index, first, last };
    if (cidr) {
      if (!cidrContains(cidr, first) || !cidrContains(cidr, last)) {
        errors.push(new PoolOutsideCidr(index, poolText(pool), cidr.text));
      } else if (gateway !== undefined && usableInPool(pool, cidr, gateway) === 0) {
        errors.push(new PoolWithoutUsableAddress(index, poolText(pool)));
      }
    }
    parsed.push(pool);
  });
  // Sorted by start, a pool overlaps an earlier one iff it starts at or before the furthest end
  // seen so far; blaming the later index matches how people read a list.
  const byStart = [...parsed].sort((a, b) => a.first - b.first || a.index - b.index);
  let reach: (typeof parsed)[number] | undefined;
  const overlaps: PoolsOverlap[] = [];
  for (const p of byStart) {
    if (reach && p.first <= reach.last) {
      const [first, second] = reach.index < p.index ? [reach, p] : [p, reach];
      overlaps.push(new PoolsOverlap({ index: first.index, pool: poolText(first) }, { index: second.index, pool: poolText(second) }));
    }
    if (!reach || p.last > reach.last) reach = p;
  }
  overlaps.sort((a, b) => (a.info.details!.second as { index: number }).index - (b.info.details!.second as { index: number }).index);
  errors.push(...overlaps);
  return errors;
}

/** Validates and converts; throws the first problem found (validateAddressing lists them all). */
export function resolveAddressing(spec: AddressingSpec): Addressing {
  const errors = validateAddressing(spec);
  if (errors.length > 0) throw errors[0]!;
  return {
    id: spec.id,
    cidr: parseCidr(spec.cidr),
    gateway: parseIpv4(spec.gateway),
    pools: spec.pools.map((p) => ({ first: parseIpv4(p.start), last: parseIpv4(p.end) })),
  };
}
