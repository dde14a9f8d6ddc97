export { IPV4_MAX, cidrContains, cidrOf, cidrWithin, cidrsOverlap, formatIpv4, parseCidr, parseIpv4 } from './ipv4';
export type { Cidr } from './ipv4';
export { checkId, isValidId, reservedAddresses, reservedAs, resolveAddressing, usableInPool, validateAddressing } from './addressing';
export type { Addressing, AddressingSpec, PoolSpec } from './addressing';
export { AllocationModes, Ipam } from './ipam';
export type { Allocation, AllocationMode, AllocationRequest, IpamOptions, Queryable, Usage } from './ipam';
export {
  AddressOutsideCidr,
  AddressReserved,
  AddressTaken,
  AllocationContended,
  CidrTooSmall,
  GatewayOutsideCidr,
  GatewayReserved,
  InterfaceAlreadyAllocated,
  InvalidAddress,
  InvalidAllocation,
  InvalidId,
  IpamError,
  IpamErrorCode,
  NetworkInUse,
  NetworkNotFound,
  NoPools,
  PoolExhausted,
  PoolOutsideCidr,
  PoolRangeInverted,
  PoolWithoutUsableAddress,
  PoolsOverlap,
} from './errors';
export type { AllocationConflict, IpamErrorInfo } from './errors';
