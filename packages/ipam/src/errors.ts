// One class per failure mode, each with a stable UPPER_SNAKE code and a bus-ready `info`
// ({ code, message, path, rule, details }, the shape of the contracts' ErrorInfo), so a command
// handler can fail its task with `err.info` as is.

/** Bus-ready description of an IPAM failure (same shape as the contracts' ErrorInfo). */
export interface IpamErrorInfo {
  /** Stable UPPER_SNAKE code; one per error class. */
  code: string;
  message: string;
  /** JSON pointer to the offending input field, when one is to blame. */
  path?: string;
  /** The validation rule that failed, for validation errors. */
  rule?: string;
  details?: Record<string, unknown>;
}

export const IpamErrorCode = {
  INVALID_ADDRESS: 'INVALID_ADDRESS',
  INVALID_ID: 'INVALID_ID',
  CIDR_TOO_SMALL: 'CIDR_TOO_SMALL',
  NO_POOLS: 'NO_POOLS',
  POOL_RANGE_INVERTED: 'POOL_RANGE_INVERTED',
  POOL_OUTSIDE_CIDR: 'POOL_OUTSIDE_CIDR',
  POOL_WITHOUT_USABLE_ADDRESS: 'POOL_WITHOUT_USABLE_ADDRESS',
  POOLS_OVERLAP: 'POOLS_OVERLAP',
  GATEWAY_OUTSIDE_CIDR: 'GATEWAY_OUTSIDE_CIDR',
  GATEWAY_RESERVED: 'GATEWAY_RESERVED',
  NETWORK_NOT_FOUND: 'NETWORK_NOT_FOUND',
  NETWORK_IN_USE: 'NETWORK_IN_USE',
  INVALID_ALLOCATION: 'INVALID_ALLOCATION',
  ADDRESS_OUTSIDE_CIDR: 'ADDRESS_OUTSIDE_CIDR',
  ADDRESS_RESERVED: 'ADDRESS_RESERVED',
  ADDRESS_TAKEN: 'ADDRESS_TAKEN',
  INTERFACE_ALREADY_ALLOCATED: 'INTERFACE_ALREADY_ALLOCATED',
  POOL_EXHAUSTED: 'POOL_EXHAUSTED',
  ALLOCATION_CONTENDED: 'ALLOCATION_CONTENDED',
} as const;
export type IpamErrorCode = (typeof IpamErrorCode)[keyof typeof IpamErrorCode];

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Base of every IPAM error; `info` can be put on the bus as is. */
export abstract class IpamError extends Error {
  readonly info: IpamErrorInfo;
  protected constructor(info: IpamErrorInfo & { code: IpamErrorCode }, options?: { cause?: unknown }) {
    super(info.message, options);
    this.info = info;
  }
  get code(): IpamErrorCode {
    return this.info.code as IpamErrorCode;
  }
}

/** An address or CIDR that is not valid IPv4 syntax (or a CIDR with host bits set). */
export class InvalidAddress extends IpamError {
  override readonly name = 'InvalidAddress';
  constructor(path: string, value: unknown, reason: string) {
    super({
      code: IpamErrorCode.INVALID_ADDRESS,
      message: `${path}: ${show(value)} ${reason}`,
      path,
      rule: 'ipv4-syntax',
      details: { value },
    });
  }
}

/** A network or interface id that is not a non-empty printable string. */
export class InvalidId extends IpamError {
  override readonly name = 'InvalidId';
  constructor(path: string, value: unknown) {
    super({
      code: IpamErrorCode.INVALID_ID,
      message: `${path}: ${show(value)} is not a valid id (a string of 1 to 253 characters without whitespace or control characters)`,
      path,
      rule: 'id-syntax',
      details: { value },
    });
  }
}

/** A /31 or /32: with network and broadcast reserved there is no host address left for a gateway. */
export class CidrTooSmall extends IpamError {
  override readonly name = 'CidrTooSmall';
  constructor(cidr: string) {
    super({
      code: IpamErrorCode.CIDR_TOO_SMALL,
      message: `/cidr: ${cidr} is too small: a network needs a prefix of /30 or shorter (network, gateway, one host, broadcast)`,
      path: '/cidr',
      rule: 'cidr-has-hosts',
      details: { cidr },
    });
  }
}

/** A network definition without any allocation pool. */
export class NoPools extends IpamError {
  override readonly name = 'NoPools';
  constructor(networkId: string) {
    super({
      code: IpamErrorCode.NO_POOLS,
      message: `/pools: network ${networkId} needs at least one allocation pool`,
      path: '/pools',
      rule: 'pools-required',
      details: { networkId },
    });
  }
}

/** A pool whose start is above its end. */
export class PoolRangeInverted extends IpamError {
  override readonly name = 'PoolRangeInverted';
  constructor(index: number, start: string, end: string) {
    super({
      code: IpamErrorCode.POOL_RANGE_INVERTED,
      message: `/pools/${index}: start ${start} is above end ${end}`,
      path: `/pools/${index}`,
      rule: 'pool-start-not-above-end',
      details: { index, start, end },
    });
  }
}

/** A pool that is not entirely inside the network's CIDR. */
export class PoolOutsideCidr extends IpamError {
  override readonly name = 'PoolOutsideCidr';
  constructor(index: number, pool: string, cidr: string) {
    super({
      code: IpamErrorCode.POOL_OUTSIDE_CIDR,
      message: `/pools/${index}: pool ${pool} is not inside the network's CIDR ${cidr}`,
      path: `/pools/${index}`,
      rule: 'pool-inside-cidr',
      details: { index, pool, cidr },
    });
  }
}

/** A pool made only of addresses that are never handed out (network, broadcast, gateway). */
export class PoolWithoutUsableAddress extends IpamError {
  override readonly name = 'PoolWithoutUsableAddress';
  constructor(index: number, pool: string) {
    super({
      code: IpamErrorCode.POOL_WITHOUT_USABLE_ADDRESS,
      message: `/pools/${index}: pool ${pool} has no address to hand out (network, broadcast and gateway addresses never are)`,
      path: `/pools/${index}`,
      rule: 'pool-has-usable-address',
      details: { index, pool },
    });
  }
}

/** Two pools of one network that share at least one address. */
export class PoolsOverlap extends IpamError {
  override readonly name = 'PoolsOverlap';
  constructor(first: { index: number; pool: string }, second: { index: number; pool: string }) {
    super({
      code: IpamErrorCode.POOLS_OVERLAP,
      message: `/pools/${second.index}: pool ${second.pool} overlaps pool ${first.index} (${first.pool})`,
      path: `/pools/${second.index}`,
      rule: 'pools-disjoint',
      details: { first, second },
    });
  }
}

/** A gateway that is not inside the network's CIDR. */
export class GatewayOutsideCidr extends IpamError {
  override readonly name = 'GatewayOutsideCidr';
  constructor(gateway: string, cidr: string) {
    super({
      code: IpamErrorCode.GATEWAY_OUTSIDE_CIDR,
      message: `/gateway: gateway ${gateway} is not inside the network's CIDR ${cidr}`,
      path: '/gateway',
      rule: 'gateway-inside-cidr',
      details: { gateway, cidr },
    });
  }
}

/** A gateway that is the network or the broadcast address of its CIDR. */
export class GatewayReserved extends IpamError {
  override readonly name = 'GatewayReserved';
  constructor(gateway: string, cidr: string, what: 'network' | 'broadcast') {
    super({
      code: IpamErrorCode.GATEWAY_RESERVED,
      message: `/gateway: gateway ${gateway} is the ${what} address of ${cidr}, not a host address`,
      path: '/gateway',
      rule: 'gateway-is-host',
      details: { gateway, cidr, reservedAs: what },
    });
  }
}

/** An operation on a network that was never defined (or was removed). */
export class NetworkNotFound extends IpamError {
  override readonly name = 'NetworkNotFound';
  constructor(networkId: string) {
    super({
      code: IpamErrorCode.NETWORK_NOT_FOUND,
      message: `/networkId: network ${networkId} is not defined in IPAM`,
      path: '/networkId',
      details: { networkId },
    });
  }
}

/** One allocation that stands in the way of changing or removing its network. */
export interface AllocationConflict {
  interfaceId: string;
  address: string;
  mode: string;
  reason: string;
}

/**
 * A redefinition that would leave existing allocations outside the new addressing, or a removal
 * while allocations exist. Nothing was changed.
 */
export class NetworkInUse extends IpamError {
  override readonly name = 'NetworkInUse';
  constructor(networkId: string, action: 'change' | 'remove', conflicts: readonly AllocationConflict[]) {
    // Five are enough to act on; all of them are in details.
    const shown = conflicts
      .slice(0, 5)
      .map((c) => `${c.interfaceId} holds ${c.address} (${c.mode}, ${c.reason})`)
      .join('; ');
    const more = conflicts.length > 5 ? `; and ${conflicts.length - 5} more` : '';
    const what =
      action === 'change'
        ? `cannot be changed this way: ${conflicts.length} existing allocation(s) would have to be re-addressed`
        : `cannot be removed: ${conflicts.length} interface(s) still hold addresses on it`;
    super({
      code: IpamErrorCode.NETWORK_IN_USE,
      message: `network ${networkId} ${what}: ${shown}${more}; release them first`,
      details: { networkId, action, conflicts },
    });
  }
}

/** An allocation request that is malformed (unknown mode, missing or superfluous address). */
export class InvalidAllocation extends IpamError {
  override readonly name = 'InvalidAllocation';
  constructor(path: string, reason: string) {
    super({
      code: IpamErrorCode.INVALID_ALLOCATION,
      message: `${path}: ${reason}`,
      path,
      rule: 'allocation-request',
    });
  }
}

/** A static address outside the network's CIDR. */
export class AddressOutsideCidr extends IpamError {
  override readonly name = 'AddressOutsideCidr';
  constructor(networkId: string, address: string, cidr: string) {
    super({
      code: IpamErrorCode.ADDRESS_OUTSIDE_CIDR,
      message: `/address: ${address} is not inside ${cidr}, the CIDR of network ${networkId}`,
      path: '/address',
      rule: 'address-inside-cidr',
      details: { networkId, address, cidr },
    });
  }
}

/** A static address that is the gateway, the network or the broadcast address. */
export class AddressReserved extends IpamError {
  override readonly name = 'AddressReserved';
  constructor(networkId: string, address: string, what: 'gateway' | 'network' | 'broadcast') {
    super({
      code: IpamErrorCode.ADDRESS_RESERVED,
      message: `/address: ${address} is the ${what} address of network ${networkId} and is never handed out`,
      path: '/address',
      rule: 'address-not-reserved',
      details: { networkId, address, reservedAs: what },
    });
  }
}

/** A static address already held by another interface. */
export class AddressTaken extends IpamError {
  override readonly name = 'AddressTaken';
  constructor(networkId: string, address: string, holder: string) {
    super({
      code: IpamErrorCode.ADDRESS_TAKEN,
      message: `/address: ${address} on network ${networkId} is already held by interface ${holder}`,
      path: '/address',
      rule: 'address-free',
      details: { networkId, address, holder },
    });
  }
}

/** An interface asking for a different address (or none) while it already holds one. */
export class InterfaceAlreadyAllocated extends IpamError {
  override readonly name = 'InterfaceAlreadyAllocated';
  constructor(networkId: string, interfaceId: string, held: { mode: string; address: string }, requested: string) {
    super({
      code: IpamErrorCode.INTERFACE_ALREADY_ALLOCATED,
      message: `interface ${interfaceId} already holds ${held.address} (${held.mode}) on network ${networkId} and asked for ${requested}; release it first`,
      details: { networkId, interfaceId, held, requested },
    });
  }
}

/** Every usable address of every pool of a network is allocated. */
export class PoolExhausted extends IpamError {
  override readonly name = 'PoolExhausted';
  constructor(networkId: string, pools: readonly { range: string; usable: number }[]) {
    const total = pools.reduce((n, p) => n + p.usable, 0);
    super({
      code: IpamErrorCode.POOL_EXHAUSTED,
      message:
        `network ${networkId} has no free address: all ${total} usable addresses of its ${pools.length} pool(s) are allocated ` +
        `(${pools.map((p) => `${p.range}: ${p.usable}`).join(', ')})`,
      details: { networkId, usable: total, pools },
    });
  }
}

/**
 * The allocation lost to concurrent allocations in a way it cannot recover from inside the
 * caller's transaction: its snapshot cannot see the winner (REPEATABLE READ or SERIALIZABLE,
 * where PostgreSQL reports a serialization failure), or it kept losing without progress.
 */
export class AllocationContended extends IpamError {
  override readonly name = 'AllocationContended';
  constructor(networkId: string, interfaceId: string, why: string, options?: { cause?: unknown }) {
    super(
      {
        code: IpamErrorCode.ALLOCATION_CONTENDED,
        message: `interface ${interfaceId} on network ${networkId}: ${why}; retry the whole transaction`,
        details: { networkId, interfaceId },
      },
      options,
    );
  }
}
