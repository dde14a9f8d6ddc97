// Nicira (Open vSwitch) extension actions for connection tracking and NAT, and the ct_state bits.
//
// Every layout here is Open vSwitch's own (lib/ofp-actions.c, include/openvswitch/ofp-actions.h),
// checked against the bytes `ovs-ofctl -O OpenFlow13 add-flow` puts on the wire
// (tests/nicira.test.ts). Each action is an OFPAT_EXPERIMENTER action:
//   type 0xffff u16 | len u16 | vendor 0x00002320 u32 | subtype u16 | subtype's body, padded to 8.
//
// Decoding is tolerant: a Nicira action whose fields this codec cannot represent exactly (a zone
// taken from a field, flag bits Open vSwitch does not define, an IPv6 NAT range, a range whose
// parts are inconsistent) stays an opaque EXPERIMENTER action, so re-encoding gives the same
// bytes. Encoding is strict and refuses, as Open vSwitch would, what it does not accept.

import { type Reader, type Writer, fault } from './buffer';
import type { Action } from './actions';
import { OxmClass } from './constants';
import { EncodeError } from './errors';
import { type OxmBasic, ipv4FromString, ipv4ToString } from './oxm';

/** NX_VENDOR_ID: the experimenter id of Nicira extensions. */
export const NX_VENDOR_ID = 0x00002320;

/** enum ofp_raw_action_type: the Nicira subtypes this codec types (others stay opaque). */
export const NxActionSubtype = {
  RESUBMIT_TABLE: 14, // NXAST_RESUBMIT_TABLE, struct nx_action_resubmit
  CT: 35, // NXAST_CT, struct nx_action_conntrack, then nested actions
  NAT: 36, // NXAST_NAT, struct nx_action_nat, then the range parts present
} as const;

/** enum nx_conntrack_flags (nx_action_conntrack.flags). */
export const NxCtFlags = {
  COMMIT: 1 << 0, // commit the connection to the tracker
  FORCE: 1 << 1, // with COMMIT: replace a committed connection seen in the other direction
} as const;

/** enum nx_nat_flags (nx_action_nat.flags). */
export const NxNatFlags = {
  SRC: 1 << 0, // source NAT; exclusive with DST
  DST: 1 << 1, // destination NAT
  PERSISTENT: 1 << 2, // same mapping for a client across connections
  PROTO_HASH: 1 << 3, // port chosen by hash; exclusive with PROTO_RANDOM
  PROTO_RANDOM: 1 << 4, // port chosen at random
} as const;

/** enum nx_nat_range (nx_action_nat.range_present): which optional parts follow, in this order. */
export const NxNatRange = {
  IPV4_MIN: 1 << 0, // ovs_be32
  IPV4_MAX: 1 << 1, // ovs_be32
  IPV6_MIN: 1 << 2, // struct in6_addr (not typed here: kept opaque)
  IPV6_MAX: 1 << 3, // struct in6_addr
  PROTO_MIN: 1 << 4, // ovs_be16
  PROTO_MAX: 1 << 5, // ovs_be16
} as const;

/** NX_CT_RECIRC_NONE (= OFPTT_ALL): a ct action that does not recirculate. */
export const CT_RECIRC_NONE = 0xff;

/** OFPP_IN_PORT in Open vSwitch's 16-bit port space, as nx_action_resubmit.in_port uses it. */
export const NX_IN_PORT = 0xfff8;

/**
 * NXM_NX_CT_STATE bits (lib/packets.h CS_*). Checked against Open vSwitch: `ct_state=+new+trk`
 * is value 0x21 mask 0x21, and `+trk-inv+rpl+snat+dnat+est+rel` is 0xee/0xfe.
 */
export const CtState = {
  NEW: 0x01, // new connection (first packet seen in the original direction)
  EST: 0x02, // established: packets seen in both directions
  REL: 0x04, // related to an existing connection (e.g. ICMP error, FTP data)
  RPL: 0x08, // reply direction
  INV: 0x10, // invalid: the tracker could not make sense of the packet
  TRK: 0x20, // tracked: the packet went through ct()
  SNAT: 0x40, // source address or port was translated
  DNAT: 0x80, // destination address or port was translated
} as const;
export type CtStateFlag = Lowercase<keyof typeof CtState>;

/** NXAST_CT: send the packet through the connection tracker (ct(...) in ovs-ofctl). */
export interface NxCtAction {
  type: 'NX_CT';
  commit: boolean;
  /** Only with commit. */
  force: boolean;
  /** Immediate zone (a zone taken from a field is not typed: it stays an opaque action). */
  zone: number;
  /** Table the tracked packet continues in; CT_RECIRC_NONE (255) for none. */
  recircTable: number;
  /** Application-layer gateway, by well-known port (0 none, 21 FTP, 69 TFTP). */
  alg: number;
  /**
   * Run inside the tracker: NX_NAT and SET_FIELD of CT_MARK (or a raw NXM_NX_CT_LABEL) only, plus
   * opaque Nicira actions passed through as decoded.
   */
  actions: Action[];
}

/** The translation an NX_NAT sets up (IPv4 only here). */
export interface NatRange {
  ipv4Min: string;
  /** Absent: a single address. */
  ipv4Max?: string;
  /** Absent: ports are left alone. */
  protoMin?: number;
  /** Absent: the single port protoMin; needs protoMin. */
  protoMax?: number;
}

/** NXAST_NAT: allowed only inside NX_CT (nat(...) in ovs-ofctl). */
export interface NxNatAction {
  type: 'NX_NAT';
  /**
   * 'src' or 'dst' sets up that translation when the connection is committed. Absent: plain
   * `nat`, which applies the translation the connection already has (the reply direction).
   */
  direction?: 'src' | 'dst';
  persistent: boolean;
  protoHash: boolean;
  protoRandom: boolean;
  /** Needs a direction. */
  range?: NatRange;
}

/** NXAST_RESUBMIT_TABLE: search table `table` as if the packet came in on `inPort`. */
export interface NxResubmitTableAction {
  type: 'NX_RESUBMIT_TABLE';
  /** 16-bit OVS port; NX_IN_PORT (0xfff8) keeps the packet's own in_port. */
  inPort: number;
  /** 255 means the current table. */
  table: number;
}

export type NiciraAction = NxCtAction | NxNatAction | NxResubmitTableAction;
export type NiciraActionType = NiciraAction['type'];

export function isNiciraAction(a: Action): a is NiciraAction {
  return a.type === 'NX_CT' || a.type === 'NX_NAT' || a.type === 'NX_RESUBMIT_TABLE';
}

// ---- builders (the canonical form decode returns) -------------------------------------------

export function nxCt(opts: {
  commit?: boolean;
  force?: boolean;
  zone?: number;
  table?: number;
  alg?: number;
  actions?: Action[];
} = {}): NxCtAction {
  return {
    type: 'NX_CT',
    commit: opts.commit ?? false,
    force: opts.force ?? false,
    zone: opts.zone ?? 0,
    recircTable: opts.table ?? CT_RECIRC_NONE,
    alg: opts.alg ?? 0,
    actions: opts.actions ?? [],
  };
}

export function nxNat(opts: {
  direction?: 'src' | 'dst';
  range?: NatRange;
  persistent?: boolean;
  protoHash?: boolean;
  protoRandom?: boolean;
} = {}): NxNatAction {
  const a: NxNatAction = {
    type: 'NX_NAT',
    persistent: opts.persistent ?? false,
    protoHash: opts.protoHash ?? false,
    protoRandom: opts.protoRandom ?? false,
  };
  if (opts.direction !== undefined) a.direction = opts.direction;
  if (opts.range !== undefined) a.range = opts.range;
  return a;
}

export function nxResubmit(table: number, inPort: number = NX_IN_PORT): NxResubmitTableAction {
  return { type: 'NX_RESUBMIT_TABLE', inPort, table };
}

/**
 * A CT_STATE match from ovs-ofctl's text ("+new+trk", "-trk", "+est-rpl"): '+' bits must be set,
 * '-' bits clear, the rest are wildcarded.
 */
export function ctStateMatch(spec: string): OxmBasic {
  let value = 0;
  let mask = 0;
  const re = /([+-])([a-z]+)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(spec)) !== null) {
    const name = (m[2] ?? '').toUpperCase();
    const bit = (CtState as Record<string, number>)[name];
    if (bit === undefined) {
      throw new EncodeError('ct_state', `"${m[2]}" in "${spec}" is not a ct_state flag (${Object.keys(CtState).join(', ').toLowerCase()})`);
    }
    if (mask & bit) throw new EncodeError('ct_state', `"${m[2]}" appears twice in "${spec}"`);
    mask |= bit;
    if (m[1] === '+') value |= bit;
    at = re.lastIndex;
  }
  if (at !== spec.length || spec.length === 0) {
    throw new EncodeError('ct_state', `"${spec}" is not a list of +flag/-flag (e.g. "+new+trk")`);
  }
  return { field: 'CT_STATE', value, mask };
}

// ---- decode ---------------------------------------------------------------------------------

/**
 * The body of an experimenter action after its vendor id, when the vendor is Nicira. Returns
 * undefined for a subtype or a content this codec does not type; the caller then keeps the bytes
 * opaque (it rewinds `body`). Structural faults (lengths) are reported as such.
 */
export function readNiciraAction(body: Reader, start: number, readNested: (r: Reader) => Action[]): NiciraAction | undefined {
  const subtype = body.u16('nicira subtype');
  switch (subtype) {
    case NxActionSubtype.RESUBMIT_TABLE: {
      const inPort = body.u16('resubmit.in_port');
      const table = body.u8('resubmit.table');
      body.skip(3);
      if (body.remaining !== 0) fault('BAD_LENGTH', start + 2, `nx_action_resubmit is 16 bytes, got ${16 + body.remaining}`);
      return { type: 'NX_RESUBMIT_TABLE', inPort, table };
    }
    case NxActionSubtype.CT: {
      const flags = body.u16('ct.flags');
      const zoneSrc = body.u32('ct.zone_src');
      const zone = body.u16('ct.zone');
      const recircTable = body.u8('ct.recirc_table');
      body.skip(3);
      const alg = body.u16('ct.alg');
      const actions = readNested(body);
      if (zoneSrc !== 0 || (flags & ~(NxCtFlags.COMMIT | NxCtFlags.FORCE)) !== 0) return undefined;
      const a: NxCtAction = {
        type: 'NX_CT',
        commit: (flags & NxCtFlags.COMMIT) !== 0,
        force: (flags & NxCtFlags.FORCE) !== 0,
        zone,
        recircTable,
        alg,
        actions,
      };
      return ctProblem(a, 'ct') === undefined ? a : undefined;
    }
    case NxActionSubtype.NAT: {
      body.skip(2);
      const flags = body.u16('nat.flags');
      const present = body.u16('nat.range_present');
      const known = NxNatFlags.SRC | NxNatFlags.DST | NxNatFlags.PERSISTENT | NxNatFlags.PROTO_HASH | NxNatFlags.PROTO_RANDOM;
      const typedParts = NxNatRange.IPV4_MIN | NxNatRange.IPV4_MAX | NxNatRange.PROTO_MIN | NxNatRange.PROTO_MAX;
      let range: NatRange | undefined;
      if (present & NxNatRange.IPV4_MIN) range = { ipv4Min: ipv4ToString(body.bytes(4, 'nat.ipv4_min')) };
      if (present & NxNatRange.IPV4_MAX) {
        const max = ipv4ToString(body.bytes(4, 'nat.ipv4_max'));
        if (range) range.ipv4Max = max;
      }
      if (present & (NxNatRange.IPV6_MIN | NxNatRange.IPV6_MAX)) return undefined;
      if (present & NxNatRange.PROTO_MIN) {
        const min = body.u16('nat.proto_min');
        if (range) range.protoMin = min;
      }
      if (present & NxNatRange.PROTO_MAX) {
        const max = body.u16('nat.proto_max');
        if (range) range.protoMax = max;
      }
      if (body.remaining >= 8) fault('BAD_LENGTH', start + 2, `nx_action_nat has ${body.remaining} bytes after its range (at most 7 of padding)`);
      body.skip(body.remaining);
      if ((flags & ~known) !== 0 || (present & ~typedParts) !== 0) return undefined;
      // Parts that need another part (a max without its min) have nowhere to go in NatRange.
      if (!(present & NxNatRange.IPV4_MIN) && present !== 0) return undefined;
      if ((present & NxNatRange.PROTO_MAX) && !(present & NxNatRange.PROTO_MIN)) return undefined;
      if ((flags & NxNatFlags.SRC) && (flags & NxNatFlags.DST)) return undefined;
      const a = nxNat({
        persistent: (flags & NxNatFlags.PERSISTENT) !== 0,
        protoHash: (flags & NxNatFlags.PROTO_HASH) !== 0,
        protoRandom: (flags & NxNatFlags.PROTO_RANDOM) !== 0,
        ...(flags & NxNatFlags.SRC ? { direction: 'src' as const } : flags & NxNatFlags.DST ? { direction: 'dst' as const } : {}),
        ...(range ? { range } : {}),
      });
      return natProblem(a, 'nat') === undefined ? a : undefined;
    }
    default:
      return undefined;
  }
}

// ---- validation -----------------------------------------------------------------------------

type Problem = { field: string; detail: string } | undefined;

const isUint = (v: unknown, bits: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** bits;

function ipv4Number(s: string, what: string): number {
  return ipv4FromString(s, what).readUInt32BE(0);
}

/** What Open vSwitch would refuse in a NAT action (decode_NXAST_RAW_NAT, parse_NAT). */
function natProblem(a: NxNatAction, what: string): Problem {
  if (a.direction !== undefined && a.direction !== 'src' && a.direction !== 'dst') {
    return { field: `${what}.direction`, detail: `"${String(a.direction)}" is not 'src' or 'dst'` };
  }
  if (a.protoHash && a.protoRandom) {
    return { field: `${what}.protoHash`, detail: 'protoHash and protoRandom exclude each other' };
  }
  if (a.direction === undefined && (a.persistent || a.protoHash || a.protoRandom || a.range !== undefined)) {
    return {
      field: `${what}.direction`,
      detail: 'persistent, protoHash, protoRandom and a range need direction src or dst (without one, nat applies the translation the connection already has)',
    };
  }
  const r = a.range;
  if (r === undefined) return undefined;
  let min: number;
  try {
    min = ipv4Number(r.ipv4Min, `${what}.range.ipv4Min`);
    if (min === 0) return { field: `${what}.range.ipv4Min`, detail: '0.0.0.0 is not a NAT address (Open vSwitch reads a zero minimum as "no range")' };
    if (r.ipv4Max !== undefined) {
      const max = ipv4Number(r.ipv4Max, `${what}.range.ipv4Max`);
      if (max < min) return { field: `${what}.range.ipv4Max`, detail: `${r.ipv4Max} is below ipv4Min ${r.ipv4Min}` };
    }
  } catch (e) {
    if (e instanceof EncodeError) return { field: e.field, detail: e.message.replace(/^cannot encode [^:]+: /, '') };
    throw e;
  }
  if (r.protoMin !== undefined && (!isUint(r.protoMin, 16) || r.protoMin === 0)) {
    return { field: `${what}.range.protoMin`, detail: `${String(r.protoMin)} is not a port 1..65535` };
  }
  if (r.protoMax !== undefined) {
    if (r.protoMin === undefined) return { field: `${what}.range.protoMax`, detail: 'a port maximum needs protoMin' };
    if (!isUint(r.protoMax, 16)) return { field: `${what}.range.protoMax`, detail: `${String(r.protoMax)} is not a port 1..65535` };
    if (r.protoMax < r.protoMin) return { field: `${what}.range.protoMax`, detail: `${r.protoMax} is below protoMin ${r.protoMin}` };
  }
  return undefined;
}

/** A SET_FIELD that only a ct action may carry: ct_mark, or ct_label (kept raw, NXM_NX_CT_LABEL = 108). */
export function setsCtField(a: Action): boolean {
  if (a.type !== 'SET_FIELD') return false;
  const f = a.field;
  return f.field === 'CT_MARK' || (f.field === 'RAW' && f.oxmClass === OxmClass.NXM_1 && f.oxmField === 108);
}

/** What Open vSwitch would refuse in a ct action (decode_NXAST_RAW_CT, ofpacts_verify_nested). */
function ctProblem(a: NxCtAction, what: string): Problem {
  if (!isUint(a.zone, 16)) {
    return {
      field: `${what}.zone`,
      detail: `${JSON.stringify(a.zone)} is not a zone 0..65535 (a zone taken from a field is not supported)`,
    };
  }
  if (!isUint(a.recircTable, 8)) return { field: `${what}.recircTable`, detail: `${String(a.recircTable)} is not a table 0..254 or 255 (none)` };
  if (!isUint(a.alg, 16)) return { field: `${what}.alg`, detail: `${String(a.alg)} is not a 16-bit port number` };
  if (a.force && !a.commit) return { field: `${what}.force`, detail: 'force needs commit' };
  if (!Array.isArray(a.actions)) return { field: `${what}.actions`, detail: 'expected an array of actions' };
  for (const [i, n] of a.actions.entries()) {
    const at = `${what}.actions[${i}]`;
    if (n.type === 'NX_NAT') {
      const p = natProblem(n, at);
      if (p) return p;
      if (!a.commit && (n.direction !== undefined || n.range !== undefined)) {
        return { field: at, detail: 'a ct without commit may only hold a plain nat (no direction, no range)' };
      }
    } else if (setsCtField(n)) {
      if (!a.commit) return { field: at, detail: 'setting ct_mark or ct_label needs commit' };
    } else if (n.type === 'EXPERIMENTER' && n.experimenter === NX_VENDOR_ID) {
      // An untyped Nicira action (e.g. the NXAST_REG_LOAD Open vSwitch writes for a masked
      // ct_mark): passed through as it came, for Open vSwitch to judge.
    } else {
      return {
        field: `${at}.type`,
        detail: `${n.type} is not allowed inside ct (Open vSwitch accepts only nat and set_field of ct_mark or ct_label there)`,
      };
    }
  }
  return undefined;
}

// ---- encode ---------------------------------------------------------------------------------

/**
 * Writes everything after the action header (type, len) of a Nicira action; the caller patches
 * the length and checks it is a multiple of 8. `outer` is the enclosing action, if any.
 */
export function writeNiciraAction(
  w: Writer,
  a: NiciraAction,
  what: string,
  outer: 'NX_CT' | undefined,
  writeNested: (w: Writer, actions: Action[], what: string, outer: 'NX_CT') => void,
): void {
  const start = w.pos - 4;
  w.u32(NX_VENDOR_ID);
  switch (a.type) {
    case 'NX_RESUBMIT_TABLE':
      w.u16(NxActionSubtype.RESUBMIT_TABLE).u16(a.inPort, `${what}.inPort`).u8(a.table, `${what}.table`).zeros(3);
      return;
    case 'NX_CT': {
      const p = ctProblem(a, what);
      if (p) throw new EncodeError(p.field, p.detail);
      const flags = (a.commit ? NxCtFlags.COMMIT : 0) | (a.force ? NxCtFlags.FORCE : 0);
      w.u16(NxActionSubtype.CT).u16(flags).u32(0).u16(a.zone).u8(a.recircTable).zeros(3).u16(a.alg);
      writeNested(w, a.actions, `${what}.actions`, 'NX_CT');
      return;
    }
    case 'NX_NAT': {
      if (outer !== 'NX_CT') throw new EncodeError(what, 'NX_NAT is allowed only inside an NX_CT action');
      const p = natProblem(a, what);
      if (p) throw new EncodeError(p.field, p.detail);
      const r = a.range;
      let flags = a.direction === 'src' ? NxNatFlags.SRC : a.direction === 'dst' ? NxNatFlags.DST : 0;
      if (a.persistent) flags |= NxNatFlags.PERSISTENT;
      if (a.protoHash) flags |= NxNatFlags.PROTO_HASH;
      if (a.protoRandom) flags |= NxNatFlags.PROTO_RANDOM;
      let present = 0;
      if (r) {
        present |= NxNatRange.IPV4_MIN;
        if (r.ipv4Max !== undefined) present |= NxNatRange.IPV4_MAX;
        if (r.protoMin !== undefined) present |= NxNatRange.PROTO_MIN;
        if (r.protoMax !== undefined) present |= NxNatRange.PROTO_MAX;
      }
      w.u16(NxActionSubtype.NAT).zeros(2).u16(flags).u16(present);
      if (r) {
        w.bytes(ipv4FromString(r.ipv4Min, `${what}.range.ipv4Min`));
        if (r.ipv4Max !== undefined) w.bytes(ipv4FromString(r.ipv4Max, `${what}.range.ipv4Max`));
        if (r.protoMin !== undefined) w.u16(r.protoMin, `${what}.range.protoMin`);
        if (r.protoMax !== undefined) w.u16(r.protoMax, `${what}.range.protoMax`);
      }
      w.pad8(start);
      return;
    }
  }
}
