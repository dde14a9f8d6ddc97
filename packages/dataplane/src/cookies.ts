// Every flow the data plane installs carries a cookie that says which app owns it, what kind of
// flow it is, and which network and interface it serves. A restarted controller reads the switch's
// flows back by the tag alone and decides, flow by flow, what to keep; removing an interface or a
// network deletes its flows by cookie mask without touching anyone else's.
//
//   63      56 55     48 47            32 31                             0
//   | tag 0x5d |  kind   |  network num  |         interface num         |
//
// The widths follow the network store: network numbers are 16 bits, interface numbers 32.

export const COOKIE_TAG = 0x5dn;
export const TAG_MASK = 0xff00_0000_0000_0000n;
export const KIND_MASK = 0xffff_0000_0000_0000n;
export const NETWORK_MASK = 0x0000_ffff_0000_0000n;
export const INTERFACE_MASK = 0x0000_0000_ffff_ffffn;

export const FlowKind = {
  /** Table defaults: drop, or ask the controller. */
  Base: 1,
  /** Anti-spoofing admission of one interface's own MAC/IP (table 0). */
  Admit: 2,
  /** Delivery to a local interface from the networks allowed to reach it (table 1). */
  Local: 3,
  /** Source half of an inter-host pair: towards the destination host over the fabric (table 1). */
  PairOut: 4,
  /** Destination half of an inter-host pair: from the fabric to the interface (table 2). */
  PairIn: 5,
  /** A refused destination, remembered for a while so it stops costing packet-ins (table 1). */
  Deny: 6,
  /** Admission of fabric traffic on the uplink (table 0). */
  Uplink: 7,
  /** Admission of VXLAN traffic on the tunnel port (table 0). */
  Tunnel: 8,
  /** Out of the bridge to a local interface by its MAC (table 3). */
  Egress: 9,
  /** A service address's balancer for clients of one network (table 1); the interface part is the service address's number. */
  Service: 10,
  /** Replies from a service address's network through connection tracking, to undo the translation (table 3). */
  UnNat: 11,
} as const;
export type FlowKind = (typeof FlowKind)[keyof typeof FlowKind];

export interface CookieParts {
  kind: FlowKind;
  network: number;
  iface: number;
}

export function cookie(kind: FlowKind, network = 0, iface = 0): bigint {
  return (COOKIE_TAG << 56n) | (BigInt(kind) << 48n) | (BigInt(network & 0xffff) << 32n) | BigInt(iface >>> 0);
}

/** The parts of one of our cookies, or undefined for a cookie that is not ours. */
export function parseCookie(c: bigint): CookieParts | undefined {
  if ((c & TAG_MASK) >> 56n !== COOKIE_TAG) return undefined;
  return {
    kind: Number((c >> 48n) & 0xffn) as FlowKind,
    network: Number((c >> 32n) & 0xffffn),
    iface: Number(c & INTERFACE_MASK),
  };
}
