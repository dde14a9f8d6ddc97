// OXM (OpenFlow Extensible Match) TLVs and ofp_match (OpenFlow 1.3.5 §7.2.2).
//
// OXM header (§7.2.2.1): oxm_class u16 | oxm_field u7 | oxm_hasmask u1 | oxm_length u8, then the
// value and, when hasmask is set, a mask of the same size (oxm_length = 2 × value size).

import { type Reader, type Writer, fault } from './buffer';
import { EncodeError } from './errors';
import { MatchType, OxmClass } from './constants';

type Kind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';
interface KindValue {
  u8: number;
  u16: number;
  u24: number;
  u32: number;
  u64: bigint;
  mac: string;
  ipv4: string;
  ipv6: string;
}
const KIND_SIZE: Record<Kind, number> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };
/** `oxmClass` is OPENFLOW_BASIC unless given. */
interface FieldDef {
  code: number;
  kind: Kind;
  maskable: boolean;
  oxmClass?: number;
}

/**
 * oxm_ofb_match_fields (§7.2.2.7, table 12): field code, value kind (its size follows), and
 * whether the spec allows a mask (the HM bit); then the few Nicira fields we name.
 */
export const OxmField = {
  IN_PORT: { code: 0, kind: 'u32', maskable: false }, // switch input port
  IN_PHY_PORT: { code: 1, kind: 'u32', maskable: false }, // switch physical input port
  METADATA: { code: 2, kind: 'u64', maskable: true }, // metadata passed between tables
  ETH_DST: { code: 3, kind: 'mac', maskable: true }, // ethernet destination address
  ETH_SRC: { code: 4, kind: 'mac', maskable: true }, // ethernet source address
  ETH_TYPE: { code: 5, kind: 'u16', maskable: false }, // ethernet frame type
  VLAN_VID: { code: 6, kind: 'u16', maskable: true }, // VLAN id (13 bits incl. OFPVID_PRESENT)
  VLAN_PCP: { code: 7, kind: 'u8', maskable: false }, // VLAN priority (3 bits)
  IP_DSCP: { code: 8, kind: 'u8', maskable: false }, // IP DSCP (6 bits in ToS field)
  IP_ECN: { code: 9, kind: 'u8', maskable: false }, // IP ECN (2 bits in ToS field)
  IP_PROTO: { code: 10, kind: 'u8', maskable: false }, // IP protocol
  IPV4_SRC: { code: 11, kind: 'ipv4', maskable: true }, // IPv4 source address
  IPV4_DST: { code: 12, kind: 'ipv4', maskable: true }, // IPv4 destination address
  TCP_SRC: { code: 13, kind: 'u16', maskable: false }, // TCP source port
  TCP_DST: { code: 14, kind: 'u16', maskable: false }, // TCP destination port
  UDP_SRC: { code: 15, kind: 'u16', maskable: false }, // UDP source port
  UDP_DST: { code: 16, kind: 'u16', maskable: false }, // UDP destination port
  SCTP_SRC: { code: 17, kind: 'u16', maskable: false }, // SCTP source port
  SCTP_DST: { code: 18, kind: 'u16', maskable: false }, // SCTP destination port
  ICMPV4_TYPE: { code: 19, kind: 'u8', maskable: false }, // ICMP type
  ICMPV4_CODE: { code: 20, kind: 'u8', maskable: false }, // ICMP code
  ARP_OP: { code: 21, kind: 'u16', maskable: false }, // ARP opcode
  ARP_SPA: { code: 22, kind: 'ipv4', maskable: true }, // ARP source IPv4 address
  ARP_TPA: { code: 23, kind: 'ipv4', maskable: true }, // ARP target IPv4 address
  ARP_SHA: { code: 24, kind: 'mac', maskable: true }, // ARP source hardware address
  ARP_THA: { code: 25, kind: 'mac', maskable: true }, // ARP target hardware address
  IPV6_SRC: { code: 26, kind: 'ipv6', maskable: true }, // IPv6 source address
  IPV6_DST: { code: 27, kind: 'ipv6', maskable: true }, // IPv6 destination address
  IPV6_FLABEL: { code: 28, kind: 'u32', maskable: true }, // IPv6 flow label (20 bits)
  ICMPV6_TYPE: { code: 29, kind: 'u8', maskable: false }, // ICMPv6 type
  ICMPV6_CODE: { code: 30, kind: 'u8', maskable: false }, // ICMPv6 code
  IPV6_ND_TARGET: { code: 31, kind: 'ipv6', maskable: false }, // target address for ND
  IPV6_ND_SLL: { code: 32, kind: 'mac', maskable: false }, // source link-layer for ND
  IPV6_ND_TLL: { code: 33, kind: 'mac', maskable: false }, // target link-layer for ND
  MPLS_LABEL: { code: 34, kind: 'u32', maskable: false }, // MPLS label (20 bits)
  MPLS_TC: { code: 35, kind: 'u8', maskable: false }, // MPLS TC (3 bits)
  MPLS_BOS: { code: 36, kind: 'u8', maskable: false }, // MPLS BoS bit
  PBB_ISID: { code: 37, kind: 'u24', maskable: true }, // PBB I-SID (24 bits)
  TUNNEL_ID: { code: 38, kind: 'u64', maskable: true }, // logical port metadata
  IPV6_EXTHDR: { code: 39, kind: 'u16', maskable: true }, // IPv6 extension header pseudo-field (9 bits)
  // Open vSwitch's connection-tracking fields, class NXM_1 (meta-flow.h: NXM_NX_CT_*). Open vSwitch
  // sends and accepts them in OpenFlow 1.3 matches as they are, so they are named like the basic ones.
  CT_STATE: { code: 105, kind: 'u32', maskable: true, oxmClass: OxmClass.NXM_1 }, // NXM_NX_CT_STATE: CtState bits
  CT_ZONE: { code: 106, kind: 'u16', maskable: false, oxmClass: OxmClass.NXM_1 }, // NXM_NX_CT_ZONE
  CT_MARK: { code: 107, kind: 'u32', maskable: true, oxmClass: OxmClass.NXM_1 }, // NXM_NX_CT_MARK
} as const satisfies Record<string, FieldDef>;
export type OxmFieldName = keyof typeof OxmField;

type ValueOf<K extends OxmFieldName> = KindValue[(typeof OxmField)[K]['kind']];

/** A decoded OPENFLOW_BASIC match field; `mask` present only when the HM bit was set. */
export type OxmBasic = {
  [K in OxmFieldName]: { field: K; value: ValueOf<K>; mask?: ValueOf<K> };
}[OxmFieldName];

/** Any other OXM (other classes and fields, experimenter): kept as raw bytes. */
export interface OxmRaw {
  field: 'RAW';
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  /** Everything after the 4-byte OXM header (value, mask, experimenter id…). */
  payload: Buffer;
}

export type Oxm = OxmBasic | OxmRaw;
/** ofp_match: the list of OXM TLVs (type OFPMT_OXM). */
export type Match = Oxm[];

const FIELD_DEFS: Record<string, FieldDef> = OxmField;
const classOf = (def: FieldDef): number => def.oxmClass ?? OxmClass.OPENFLOW_BASIC;
/** Keyed by class × 128 + field (the field number is 7 bits). */
const BY_CODE = new Map<number, OxmFieldName>(
  (Object.keys(OxmField) as OxmFieldName[]).map((name) => [classOf(FIELD_DEFS[name]!) * 128 + OxmField[name].code, name]),
);

// ---- text forms of addresses ---------------------------------------------------------------

export function macToString(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function macFromString(s: string, what = 'mac'): Buffer {
  const m = /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/.test(s);
  if (!m) throw new EncodeError(what, `"${s}" is not a MAC address aa:bb:cc:dd:ee:ff`);
  return Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
}

export function ipv4ToString(b: Uint8Array): string {
  return Array.from(b).join('.');
}

export function ipv4FromString(s: string, what = 'ipv4'): Buffer {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
    throw new EncodeError(what, `"${s}" is not a dotted IPv4 address`);
  }
  return Buffer.from(parts.map(Number));
}

/** RFC 5952 canonical text: lower case, longest run (≥2) of zero groups as "::", first wins. */
export function ipv6ToString(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function ipv6FromString(s: string, what = 'ipv6'): Buffer {
  const bad = (): never => {
    throw new EncodeError(what, `"${s}" is not an IPv6 address`);
  };
  let text = s;
  // An embedded dotted IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    const v4 = ipv4FromString(text.slice(lastColon + 1), what);
    text = `${text.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) bad();
  const parse = (h: string): number[] =>
    h === ''
      ? []
      : h.split(':').map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) bad();
          return parseInt(g, 16);
        });
  const head = parse(halves[0] ?? '');
  let groups: number[];
  if (halves.length === 2) {
    const back = parse(halves[1] ?? '');
    const fill = 8 - head.length - back.length;
    if (fill < 1) bad();
    groups = [...head, ...new Array<number>(fill).fill(0), ...back];
  } else {
    groups = head;
  }
  if (groups.length !== 8) bad();
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

// ---- values --------------------------------------------------------------------------------

function readValue(r: Reader, kind: Kind): number | bigint | string {
  switch (kind) {
    case 'u8':
      return r.u8();
    case 'u16':
      return r.u16();
    case 'u24':
      return r.u24();
    case 'u32':
      return r.u32();
    case 'u64':
      return r.u64();
    case 'mac':
      return macToString(r.bytes(6));
    case 'ipv4':
      return ipv4ToString(r.bytes(4));
    case 'ipv6':
      return ipv6ToString(r.bytes(16));
  }
}

function writeValue(w: Writer, kind: Kind, v: unknown, what: string): void {
  const num = (): number => {
    if (typeof v !== 'number') throw new EncodeError(what, `expected a number, got ${typeof v}`);
    return v;
  };
  const str = (): string => {
    if (typeof v !== 'string') throw new EncodeError(what, `expected a string, got ${typeof v}`);
    return v;
  };
  switch (kind) {
    case 'u8':
      w.u8(num(), what);
      return;
    case 'u16':
      w.u16(num(), what);
      return;
    case 'u24':
      w.u24(num(), what);
      return;
    case 'u32':
      w.u32(num(), what);
      return;
    case 'u64':
      if (typeof v !== 'bigint') throw new EncodeError(what, `expected a bigint, got ${typeof v}`);
      w.u64(v, what);
      return;
    case 'mac':
      w.bytes(macFromString(str(), what));
      return;
    case 'ipv4':
      w.bytes(ipv4FromString(str(), what));
      return;
    case 'ipv6':
      w.bytes(ipv6FromString(str(), what));
      return;
  }
}

// ---- one OXM TLV ---------------------------------------------------------------------------

export function readOxm(r: Reader): Oxm {
  const start = r.pos;
  const oxmClass = r.u16('oxm_class');
  const fieldAndMask = r.u8('oxm_field');
  const length = r.u8('oxm_length');
  const oxmField = fieldAndMask >> 1;
  const hasMask = (fieldAndMask & 1) === 1;
  const body = r.sub(length, `OXM payload (oxm_length ${length})`);
  const name = BY_CODE.get(oxmClass * 128 + oxmField);
  if (name === undefined) return { field: 'RAW', oxmClass, oxmField, hasMask, payload: body.rest() };
  const def: FieldDef = OxmField[name];
  const size = KIND_SIZE[def.kind];
  if (hasMask && !def.maskable) fault('BAD_VALUE', start, `OXM ${name} cannot be masked`);
  if (length !== (hasMask ? 2 * size : size)) {
    fault('BAD_LENGTH', start, `OXM ${name} has oxm_length ${length}, expected ${hasMask ? 2 * size : size}`);
  }
  const value = readValue(body, def.kind);
  if (!hasMask) return { field: name, value } as OxmBasic;
  return { field: name, value, mask: readValue(body, def.kind) } as OxmBasic;
}

export function writeOxm(w: Writer, oxm: Oxm, what = 'oxm'): void {
  if (oxm.field === 'RAW') {
    w.u16(oxm.oxmClass, `${what}.oxmClass`);
    if (!Number.isInteger(oxm.oxmField) || oxm.oxmField < 0 || oxm.oxmField > 127) {
      throw new EncodeError(`${what}.oxmField`, `${oxm.oxmField} is not a 7-bit field number`);
    }
    w.u8((oxm.oxmField << 1) | (oxm.hasMask ? 1 : 0));
    w.u8(oxm.payload.length, `${what}.payload.length`);
    w.bytes(oxm.payload);
    return;
  }
  const def = FIELD_DEFS[oxm.field];
  if (def === undefined) throw new EncodeError(`${what}.field`, `unknown OXM field ${String(oxm.field)}`);
  const hasMask = oxm.mask !== undefined;
  if (hasMask && !def.maskable) throw new EncodeError(`${what}.mask`, `OXM ${oxm.field} cannot be masked`);
  const size = KIND_SIZE[def.kind];
  w.u16(classOf(def));
  w.u8((def.code << 1) | (hasMask ? 1 : 0));
  w.u8(hasMask ? 2 * size : size);
  writeValue(w, def.kind, oxm.value, `${what}.value`);
  if (hasMask) writeValue(w, def.kind, oxm.mask, `${what}.mask`);
}

// ---- ofp_match -----------------------------------------------------------------------------

/** ofp_match (§7.2.2): type u16 (OFPMT_OXM), length u16 (excluding padding), OXMs, pad to 8. */
export function readMatch(r: Reader): Match {
  const start = r.pos;
  const type = r.u16('ofp_match.type');
  const length = r.u16('ofp_match.length');
  if (type !== MatchType.OXM) fault('BAD_VALUE', start, `ofp_match.type ${type} is not OFPMT_OXM (1)`);
  if (length < 4) fault('BAD_LENGTH', start + 2, `ofp_match.length ${length} < 4`);
  const body = r.sub(length - 4, 'ofp_match OXM fields');
  const fields: Match = [];
  while (body.remaining > 0) fields.push(readOxm(body));
  r.skip((8 - (length % 8)) % 8, 'ofp_match padding');
  return fields;
}

export function writeMatch(w: Writer, match: Match, what = 'match'): void {
  const start = w.pos;
  w.u16(MatchType.OXM);
  const lenAt = w.reserve16();
  match.forEach((oxm, i) => writeOxm(w, oxm, `${what}[${i}]`));
  w.patch16(lenAt, w.pos - start, `${what}.length`);
  w.pad8(start);
}
