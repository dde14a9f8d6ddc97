// A fake OpenFlow 1.3 switch pipeline for the fast test tier (Faucet's FakeOFTable, in TypeScript):
// it applies FLOW_MODs the way a switch does and answers "where does this packet go?", so tests
// assert behaviour (delivered to port 3 with these MACs, TTL one less) instead of message lists.
// The real tier (dataplane.test.ts) still runs everything on Open vSwitch; this one only models
// the subset of OpenFlow the data plane uses, and refuses loudly what it does not model, so that a
// flow it cannot judge never passes a test by accident.
//
// Modelled (OpenFlow 1.3.5 section in brackets):
// - FLOW_MOD ADD (replaces the flow with the same table, priority and match; §6.4), DELETE and
//   DELETE_STRICT with cookie mask and out_port filter (§6.4); a batch is all or nothing, like the
//   bundle the app sends.
// - Switch-side validation of a FLOW_MOD: match prerequisites (§7.2.3.8), duplicate fields, masks
//   only on maskable fields, GOTO_TABLE only forward (§5.1), actions consistent with the match
//   (Open vSwitch refuses dec_ttl or set_field ipv4 on a flow that does not match IPv4).
// - The pipeline (§5.1): tables from 0, highest priority match wins (two matching flows of the same
//   priority are undefined behaviour in OpenFlow, so the fake throws), instructions in the spec's
//   fixed order (apply-actions, write-metadata, goto-table) whatever their order in the list, a
//   flow without goto ends the pipeline, a table miss without a miss flow drops (§5.4).
// - Actions: SET_FIELD on Ethernet and IPv4 addresses, DEC_NW_TTL (a TTL of 0 or 1 drops the
//   packet), OUTPUT to a port, to IN_PORT, or to CONTROLLER; output to the input port by number is
//   not done, as on a real switch.
// - Idle and hard timeouts against a clock the test moves (`advance`).
import type { Action, FlowStats, GroupDesc, Instruction, Match, MultipartReplyBody, MultipartRequestBody, OfpPort, OxmBasic } from '@sdmi/openflow';
import { FlowModCommand, FlowModFlags, Group, GroupModCommand, OxmField, Port, Table } from '@sdmi/openflow';
import type { OpenFlowApp, Outgoing, SwitchConnection } from '@sdmi/openflow-controller';
import { EtherType, ipv4ToNumber, type FlowSpec, type HostPorts, type HostView, type InterfaceView, type NetworkView, type Topology, type TopologySnapshot } from '../src/index';

export type FlowMod = Extract<Outgoing, { type: 'FLOW_MOD' }>;
type GroupMod = Extract<Outgoing, { type: 'GROUP_MOD' }>;

export interface SimArp {
  op: number;
  /** Sender hardware (MAC) and protocol (IPv4) address, target hardware and protocol address. */
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export interface SimIpv4 {
  src: string;
  dst: string;
  ttl: number;
  proto?: number;
}

/** The headers of a frame, as far as the pipeline looks at them. */
export interface SimFrame {
  ethSrc: string;
  ethDst: string;
  ethType: number;
  arp?: SimArp;
  ipv4?: SimIpv4;
}

export interface SimPacket extends SimFrame {
  inPort: number;
}

export interface Verdict {
  /** Frames leaving switch ports, in the order the actions sent them, as they were at that moment. */
  outputs: { port: number; packet: SimFrame }[];
  toController: boolean;
  /** Neither output nor sent to the controller. */
  dropped: boolean;
  /** What a PACKET_IN would carry: the frame as it was when sent to the controller, and the flow that sent it. */
  punted?: { tableId: number; cookie: bigint; packet: SimFrame };
  /** One line per table visited and per action taken: the first thing to read when a test fails. */
  trace: string[];
}

/** A FLOW_MOD a real switch would refuse (its OpenFlow error), or one this fake does not model. */
export class FlowModRejected extends Error {
  override readonly name = 'FlowModRejected';
  constructor(
    /** OpenFlow error code name (BAD_PREREQ, DUP_FIELD, …) or UNSUPPORTED for the fake's limits. */
    readonly code: string,
    /** Index of the refused message in the batch. */
    readonly index: number,
    message: string,
  ) {
    super(`flow mod #${index}: ${code}: ${message}`);
  }
}

/** Two flows of one priority match the same packet: OpenFlow leaves the winner undefined. */
export class AmbiguousMatch extends Error {
  override readonly name = 'AmbiguousMatch';
}

interface Entry {
  tableId: number;
  priority: number;
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  match: Match;
  instructions: Instruction[];
  packetCount: bigint;
  /** Increases with every ADD: a flow replaced by an identical one gets a new id. */
  installId: number;
  installedAt: number;
  lastUsed: number;
}

/** What the pipeline knows about a packet in flight: its headers plus the metadata register. */
interface State {
  inPort: number;
  metadata: bigint;
  frame: SimFrame;
}

const SUPPORTED_MATCH = new Set(['IN_PORT', 'METADATA', 'ETH_DST', 'ETH_SRC', 'ETH_TYPE', 'IP_PROTO', 'IPV4_SRC', 'IPV4_DST', 'ARP_OP', 'ARP_SPA', 'ARP_TPA', 'ARP_SHA', 'ARP_THA']);
const SUPPORTED_SET_FIELD = new Set(['ETH_SRC', 'ETH_DST', 'IPV4_SRC', 'IPV4_DST']);
/** §7.2.3.8: the ETH_TYPE a field needs in the same match. */
const PREREQ_ETH_TYPE: Record<string, number> = {
  IP_PROTO: EtherType.IPv4,
  IPV4_SRC: EtherType.IPv4,
  IPV4_DST: EtherType.IPv4,
  ARP_OP: EtherType.ARP,
  ARP_SPA: EtherType.ARP,
  ARP_TPA: EtherType.ARP,
  ARP_SHA: EtherType.ARP,
  ARP_THA: EtherType.ARP,
};
const ALL_ONES_64 = 0xffff_ffff_ffff_ffffn;

const hex = (c: bigint) => `0x${c.toString(16)}`;

function macToBig(mac: string): bigint {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw new Error(`"${mac}" is not a MAC address`);
  return BigInt(`0x${mac.replace(/:/g, '')}`);
}

/** A field's value (and mask) as a number we can AND, whatever its OXM kind. */
function numeric(field: string, v: unknown): bigint {
  const kind = (OxmField as Record<string, { kind: string }>)[field]?.kind;
  if (kind === 'mac') return macToBig(v as string);
  if (kind === 'ipv4') return BigInt(ipv4ToNumber(v as string));
  return BigInt(v as number | bigint);
}

function fullMask(field: string): bigint {
  const kind = (OxmField as Record<string, { kind: string }>)[field]!.kind;
  const bits = { u8: 8, u16: 16, u24: 24, u32: 32, u64: 64, mac: 48, ipv4: 32, ipv6: 128 }[kind]!;
  return (1n << BigInt(bits)) - 1n;
}

/** The packet's value for a match field, or undefined when the packet has no such header. */
function packetValue(s: State, field: string): bigint | undefined {
  const f = s.frame;
  switch (field) {
    case 'IN_PORT':
      return BigInt(s.inPort);
    case 'METADATA':
      return s.metadata;
    case 'ETH_DST':
      return macToBig(f.ethDst);
    case 'ETH_SRC':
      return macToBig(f.ethSrc);
    case 'ETH_TYPE':
      return BigInt(f.ethType);
    case 'IP_PROTO':
      return f.ipv4 ? BigInt(f.ipv4.proto ?? 0) : undefined;
    case 'IPV4_SRC':
      return f.ipv4 ? BigInt(ipv4ToNumber(f.ipv4.src)) : undefined;
    case 'IPV4_DST':
      return f.ipv4 ? BigInt(ipv4ToNumber(f.ipv4.dst)) : undefined;
    case 'ARP_OP':
      return f.arp ? BigInt(f.arp.op) : undefined;
    case 'ARP_SPA':
      return f.arp ? BigInt(ipv4ToNumber(f.arp.spa)) : undefined;
    case 'ARP_TPA':
      return f.arp ? BigInt(ipv4ToNumber(f.arp.tpa)) : undefined;
    case 'ARP_SHA':
      return f.arp ? macToBig(f.arp.sha) : undefined;
    case 'ARP_THA':
      return f.arp ? macToBig(f.arp.tha) : undefined;
    default:
      return undefined;
  }
}

function basic(match: Match): OxmBasic[] {
  return match.filter((m): m is OxmBasic => m.field !== 'RAW');
}

function matches(match: Match, s: State): boolean {
  return basic(match).every((m) => {
    const have = packetValue(s, m.field);
    if (have === undefined) return false;
    const mask = m.mask === undefined ? fullMask(m.field) : numeric(m.field, m.mask);
    return (have & mask) === (numeric(m.field, m.value) & mask);
  });
}

/** Canonical text of a match (field order and letter case do not matter), for ADD and DELETE_STRICT. */
function canon(match: Match): string {
  return basic(match)
    .map((m) => `${m.field}=${hex(numeric(m.field, m.value))}/${hex(m.mask === undefined ? fullMask(m.field) : numeric(m.field, m.mask))}`)
    .sort()
    .join(',');
}

/** Non-strict DELETE (§6.4): the flow's match is the request's match or more specific. */
function covers(request: Match, flow: Match): boolean {
  const mine = new Map(basic(flow).map((m) => [m.field, m]));
  return basic(request).every((r) => {
    const f = mine.get(r.field);
    if (!f) return false;
    const rm = r.mask === undefined ? fullMask(r.field) : numeric(r.field, r.mask);
    const fm = f.mask === undefined ? fullMask(f.field) : numeric(f.field, f.mask);
    return (fm & rm) === rm && (numeric(f.field, f.value) & rm) === (numeric(r.field, r.value) & rm);
  });
}

function describeMatch(match: Match): string {
  return basic(match)
    .map((m) => {
      const text = (v: unknown) => (typeof v === 'bigint' ? hex(v) : m.field === 'ETH_TYPE' ? `0x${(v as number).toString(16).padStart(4, '0')}` : String(v));
      return `${m.field.toLowerCase()}=${text(m.value)}${m.mask === undefined ? '' : `/${text(m.mask)}`}`;
    })
    .join(',');
}

function describeAction(a: Action): string {
  switch (a.type) {
    case 'OUTPUT':
      return a.port === Port.CONTROLLER ? 'output:controller' : a.port === Port.IN_PORT ? 'output:in_port' : `output:${a.port}`;
    case 'SET_FIELD':
      return `set ${a.field.field.toLowerCase()}=${a.field.field === 'RAW' ? '?' : String(a.field.value)}`;
    default:
      return a.type.toLowerCase();
  }
}

function outputsTo(instructions: readonly Instruction[], port: number): boolean {
  return instructions.some((i) => (i.type === 'APPLY_ACTIONS' || i.type === 'WRITE_ACTIONS') && i.actions.some((a) => a.type === 'OUTPUT' && a.port === port));
}

function copyFrame(f: SimFrame): SimFrame {
  return { ethSrc: f.ethSrc, ethDst: f.ethDst, ethType: f.ethType, ...(f.arp ? { arp: { ...f.arp } } : {}), ...(f.ipv4 ? { ipv4: { ...f.ipv4 } } : {}) };
}

/** Throws the switch's refusal of a flow mod; returns when a switch would take it. */
function validate(m: FlowMod, index: number): void {
  const reject = (code: string, why: string): never => {
    throw new FlowModRejected(code, index, why);
  };
  if (m.command === FlowModCommand.ADD && m.tableId > Table.MAX) reject('BAD_TABLE_ID', `ADD into table ${m.tableId}`);
  const seen = new Set<string>();
  let ethType: number | undefined;
  for (const f of m.match) {
    if (f.field === 'RAW') reject('UNSUPPORTED', 'raw OXM fields are not modelled');
    const b = f as OxmBasic;
    if (!SUPPORTED_MATCH.has(b.field)) reject('UNSUPPORTED', `match field ${b.field} is not modelled`);
    if (seen.has(b.field)) reject('DUP_FIELD', `${b.field} appears twice in the match`);
    seen.add(b.field);
    if (b.mask !== undefined && !OxmField[b.field].maskable) reject('BAD_WILDCARDS', `${b.field} cannot be masked`);
    if (b.field === 'ETH_TYPE') ethType = b.value;
  }
  for (const f of basic(m.match)) {
    const need = PREREQ_ETH_TYPE[f.field];
    if (need !== undefined && ethType !== need) reject('BAD_PREREQ', `${f.field} needs ETH_TYPE 0x${need.toString(16).padStart(4, '0')} in the match`);
  }
  if (m.command === FlowModCommand.DELETE || m.command === FlowModCommand.DELETE_STRICT) {
    if (m.outGroup !== Group.ANY) reject('UNSUPPORTED', 'out_group filters are not modelled');
    return;
  }
  if (m.command !== FlowModCommand.ADD) reject('UNSUPPORTED', `flow mod command ${m.command} is not modelled`);
  const kinds = new Set<string>();
  for (const ins of m.instructions) {
    if (kinds.has(ins.type)) reject('DUP_INST', `two ${ins.type} instructions`);
    kinds.add(ins.type);
    if (ins.type === 'GOTO_TABLE') {
      if (ins.tableId <= m.tableId || ins.tableId > Table.MAX) reject('BAD_TABLE_ID', `goto table ${ins.tableId} from table ${m.tableId}`);
    } else if (ins.type === 'APPLY_ACTIONS') {
      for (const a of ins.actions) {
        if (a.type === 'OUTPUT') {
          if (a.port > Port.MAX && a.port !== Port.CONTROLLER && a.port !== Port.IN_PORT) reject('UNSUPPORTED', `output to reserved port 0x${a.port.toString(16)} is not modelled`);
        } else if (a.type === 'DEC_NW_TTL') {
          if (ethType !== EtherType.IPv4) reject('MATCH_INCONSISTENT', 'DEC_NW_TTL on a flow that does not match IPv4');
        } else if (a.type === 'SET_FIELD') {
          const name = a.field.field;
          if (!SUPPORTED_SET_FIELD.has(name)) reject('UNSUPPORTED', `SET_FIELD ${name} is not modelled`);
          if (name.startsWith('IPV4_') && ethType !== EtherType.IPv4) reject('MATCH_INCONSISTENT', `SET_FIELD ${name} on a flow that does not match IPv4`);
        } else {
          reject('UNSUPPORTED', `action ${a.type} is not modelled`);
        }
      }
    } else if (ins.type !== 'WRITE_METADATA') {
      reject('UNSUPPORTED', `instruction ${ins.type} is not modelled`);
    }
  }
}

export interface ApplyResult {
  added: number;
  /** ADDs that replaced a flow with the same table, priority and match. */
  replaced: number;
  removed: number;
}

/** One switch's flow tables. */
export class FakeFlowTable {
  private entries: Entry[] = [];
  private nextInstall = 1;
  /** Seconds on the test's clock. */
  now = 0;

  /** Applies a batch atomically: if any message would be refused, the table is left as it was. */
  apply(mods: readonly FlowMod[]): ApplyResult {
    mods.forEach(validate);
    let entries = [...this.entries];
    const result: ApplyResult = { added: 0, replaced: 0, removed: 0 };
    for (const m of mods) {
      switch (m.command) {
        case FlowModCommand.ADD: {
          const key = canon(m.match);
          const old = entries.find((e) => e.tableId === m.tableId && e.priority === m.priority && canon(e.match) === key);
          if (old) {
            entries = entries.filter((e) => e !== old);
            result.replaced++;
          } else result.added++;
          entries.push({
            tableId: m.tableId, priority: m.priority, cookie: m.cookie, idleTimeout: m.idleTimeout, hardTimeout: m.hardTimeout, flags: m.flags,
            match: structuredClone(m.match), instructions: structuredClone(m.instructions),
            // §6.4: without OFPFF_RESET_COUNTS the replaced flow's counters carry over.
            packetCount: old && (m.flags & FlowModFlags.RESET_COUNTS) === 0 ? old.packetCount : 0n,
            installId: this.nextInstall++, installedAt: this.now, lastUsed: this.now,
          });
          break;
        }
        case FlowModCommand.DELETE:
        case FlowModCommand.DELETE_STRICT: {
          const strict = m.command === FlowModCommand.DELETE_STRICT;
          const key = canon(m.match);
          const gone = entries.filter(
            (e) =>
              (m.tableId === Table.ALL || e.tableId === m.tableId) &&
              (e.cookie & m.cookieMask) === (m.cookie & m.cookieMask) &&
              (m.outPort === Port.ANY || outputsTo(e.instructions, m.outPort)) &&
              (strict ? e.priority === m.priority && canon(e.match) === key : covers(m.match, e.match)),
          );
          entries = entries.filter((e) => !gone.includes(e));
          result.removed += gone.length;
          break;
        }
      }
    }
    this.entries = entries;
    return result;
  }

  /** Adds desired flows the way the app does (FLOW_MOD ADD, no flags). */
  install(flows: readonly FlowSpec[]): ApplyResult {
    return this.apply(flows.map(addMod));
  }

  /** The flows as a FLOW stats reply would list them. */
  dump(): FlowStats[] {
    return this.entries.map((e) => ({
      tableId: e.tableId, durationSec: this.now - e.installedAt, durationNsec: 0, priority: e.priority, idleTimeout: e.idleTimeout, hardTimeout: e.hardTimeout,
      flags: e.flags, cookie: e.cookie, packetCount: e.packetCount, byteCount: 0n, match: structuredClone(e.match), instructions: structuredClone(e.instructions),
    }));
  }

  /** Install ids by flow, to tell a flow left alone from one replaced by an identical copy. */
  installIds(): Map<string, number> {
    return new Map(this.entries.map((e) => [`${e.tableId}/${e.priority}/${canon(e.match)}`, e.installId]));
  }

  get size(): number {
    return this.entries.length;
  }

  /** Moves the clock; flows idle or older than their timeouts expire (§5.5). Returns the expired ones. */
  advance(seconds: number): FlowStats[] {
    const before = this.dump();
    this.now += seconds;
    const expired = (e: Entry) => (e.idleTimeout > 0 && this.now - e.lastUsed >= e.idleTimeout) || (e.hardTimeout > 0 && this.now - e.installedAt >= e.hardTimeout);
    const gone = this.entries.map((e, i) => (expired(e) ? before[i]! : undefined)).filter((f): f is FlowStats => f !== undefined);
    this.entries = this.entries.filter((e) => !expired(e));
    return gone;
  }

  /** Where the switch sends `packet`. */
  process(packet: SimPacket): Verdict {
    checkPacket(packet);
    const s: State = { inPort: packet.inPort, metadata: 0n, frame: copyFrame(packet) };
    const trace: string[] = [];
    const outputs: Verdict['outputs'] = [];
    let toController = false;
    let punted: Verdict['punted'];
    let table: number | undefined = 0;
    walk: while (table !== undefined) {
      const tableId: number = table;
      const hits = this.entries.filter((e) => e.tableId === tableId && matches(e.match, s)).sort((a, b) => b.priority - a.priority);
      const best = hits[0];
      if (!best) {
        trace.push(`table ${tableId}: miss without a miss flow: drop`);
        break;
      }
      const tie = hits[1];
      if (tie && tie.priority === best.priority) {
        throw new AmbiguousMatch(`table ${tableId}: two flows of priority ${best.priority} match (${describeMatch(best.match)}) and (${describeMatch(tie.match)})`);
      }
      best.packetCount++;
      best.lastUsed = this.now;
      trace.push(`table ${tableId}: priority ${best.priority} cookie ${hex(best.cookie)} (${describeMatch(best.match)})`);
      table = undefined;
      // §5.9: the instruction set runs in this order, whatever the order of the list.
      const apply = best.instructions.find((i) => i.type === 'APPLY_ACTIONS');
      const meta = best.instructions.find((i) => i.type === 'WRITE_METADATA');
      const goto = best.instructions.find((i) => i.type === 'GOTO_TABLE');
      for (const a of apply?.actions ?? []) {
        trace.push(`  ${describeAction(a)}`);
        if (a.type === 'OUTPUT') {
          if (a.port === Port.CONTROLLER) {
            toController = true;
            punted ??= { tableId, cookie: best.cookie, packet: copyFrame(s.frame) };
          }
          else if (a.port === Port.IN_PORT) outputs.push({ port: s.inPort, packet: copyFrame(s.frame) });
          else if (a.port === s.inPort) trace.push('  (not sent: output to the input port needs IN_PORT)');
          else outputs.push({ port: a.port, packet: copyFrame(s.frame) });
        } else if (a.type === 'DEC_NW_TTL') {
          const ip = s.frame.ipv4!;
          if (ip.ttl <= 1) {
            trace.push(`  ttl ${ip.ttl} expires: drop`);
            break walk;
          }
          ip.ttl--;
        } else if (a.type === 'SET_FIELD' && a.field.field !== 'RAW') {
          const v = String(a.field.value);
          if (a.field.field === 'ETH_SRC') s.frame.ethSrc = v;
          else if (a.field.field === 'ETH_DST') s.frame.ethDst = v;
          else if (a.field.field === 'IPV4_SRC') s.frame.ipv4!.src = v;
          else if (a.field.field === 'IPV4_DST') s.frame.ipv4!.dst = v;
        }
      }
      if (meta?.type === 'WRITE_METADATA') {
        s.metadata = (s.metadata & ~meta.metadataMask & ALL_ONES_64) | (meta.metadata & meta.metadataMask);
        trace.push(`  metadata=${hex(s.metadata)}`);
      }
      if (goto?.type === 'GOTO_TABLE') table = goto.tableId;
      else if (!apply) trace.push('  no actions: drop');
    }
    return { outputs, toController, dropped: outputs.length === 0 && !toController, trace, ...(punted ? { punted } : {}) };
  }
}

function checkPacket(p: SimPacket): void {
  if ((p.ethType === EtherType.IPv4) !== (p.ipv4 !== undefined)) throw new Error(`packet: ethType 0x${p.ethType.toString(16)} and ipv4 header ${p.ipv4 ? 'present' : 'absent'} disagree`);
  if ((p.ethType === EtherType.ARP) !== (p.arp !== undefined)) throw new Error(`packet: ethType 0x${p.ethType.toString(16)} and arp header ${p.arp ? 'present' : 'absent'} disagree`);
}

/** FLOW_MOD ADD of a desired flow, with the fields the app sends (src/app.ts addFlow). */
export function addMod(f: FlowSpec): FlowMod {
  return {
    type: 'FLOW_MOD', command: FlowModCommand.ADD, cookieMask: 0n, bufferId: 0xffffffff, outPort: Port.ANY, outGroup: Group.ANY, flags: 0,
    tableId: f.tableId, priority: f.priority, cookie: f.cookie, idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, match: f.match, instructions: f.instructions,
  };
}

/** FLOW_MOD DELETE_STRICT of an observed flow, as the app sends it (src/app.ts deleteFlow). */
export function deleteStrictMod(f: FlowStats): FlowMod {
  return {
    type: 'FLOW_MOD', command: FlowModCommand.DELETE_STRICT, cookie: f.cookie, cookieMask: ALL_ONES_64, bufferId: 0xffffffff,
    outPort: Port.ANY, outGroup: Group.ANY, flags: 0, tableId: f.tableId, priority: f.priority, idleTimeout: 0, hardTimeout: 0, match: f.match, instructions: [],
  };
}

/** Non-strict FLOW_MOD DELETE of every flow whose cookie agrees with `cookie` under `mask`. */
export function deleteByCookieMod(cookie: bigint, mask: bigint, tableId: number = Table.ALL): FlowMod {
  return {
    type: 'FLOW_MOD', command: FlowModCommand.DELETE, cookie, cookieMask: mask, bufferId: 0xffffffff,
    outPort: Port.ANY, outGroup: Group.ANY, flags: 0, tableId, priority: 0, idleTimeout: 0, hardTimeout: 0, match: [], instructions: [],
  };
}

/** An IPv4 packet (ICMP unless told otherwise) entering a switch port. */
export function ipv4Packet(inPort: number, ethSrc: string, ethDst: string, src: string, dst: string, ttl = 64): SimPacket {
  return { inPort, ethSrc, ethDst, ethType: EtherType.IPv4, ipv4: { src, dst, ttl, proto: 1 } };
}

/** A broadcast ARP request "who has `tpa`, tell `spa` at `sha`". */
export function arpRequest(inPort: number, sha: string, spa: string, tpa: string): SimPacket {
  return { inPort, ethSrc: sha, ethDst: 'ff:ff:ff:ff:ff:ff', ethType: EtherType.ARP, arp: { op: 1, sha, spa, tha: '00:00:00:00:00:00', tpa } };
}

// ---- several hosts on one L2 fabric ---------------------------------------------------------

export interface FakeHost {
  table: FakeFlowTable;
  uplink: { ofport: number; mac: string };
}

export interface Journey {
  /** Frames that left a host port other than an uplink: the ones a container receives. */
  delivered: { host: string; port: number; packet: SimFrame }[];
  /** Hosts whose pipeline sent the packet to the controller. */
  toController: string[];
  trace: string[];
}

/**
 * Host bridges joined by an L2 fabric that knows only the hosts' uplink MACs (DaoliNet: no
 * encapsulation, the fabric never learns container MACs). A frame out of an uplink goes to the host
 * whose uplink MAC is its destination; any other destination MAC is lost in the fabric.
 */
export class FakeFabric {
  readonly hosts = new Map<string, FakeHost>();

  add(name: string, uplink: { ofport: number; mac: string }): FakeHost {
    const h = { table: new FakeFlowTable(), uplink };
    this.hosts.set(name, h);
    return h;
  }

  send(host: string, packet: SimPacket): Journey {
    const j: Journey = { delivered: [], toController: [], trace: [] };
    this.#walk(host, packet, j, 0);
    return j;
  }

  #walk(host: string, packet: SimPacket, j: Journey, hops: number): void {
    if (hops > 4) throw new Error(`packet still travelling after ${hops} hosts: a forwarding loop (${j.trace.join(' | ')})`);
    const h = this.hosts.get(host)!;
    const v = h.table.process(packet);
    j.trace.push(...v.trace.map((t) => `${host}: ${t}`));
    if (v.toController) j.toController.push(host);
    for (const o of v.outputs) {
      if (o.port !== h.uplink.ofport) {
        j.delivered.push({ host, port: o.port, packet: o.packet });
        continue;
      }
      const next = [...this.hosts].find(([, other]) => other.uplink.mac.toLowerCase() === o.packet.ethDst.toLowerCase());
      if (!next) {
        j.trace.push(`fabric: no host has MAC ${o.packet.ethDst}: lost`);
        continue;
      }
      j.trace.push(`fabric: ${host} → ${next[0]}`);
      this.#walk(next[0], { ...o.packet, inPort: next[1].uplink.ofport }, j, hops + 1);
    }
  }
}

// ---- the test topology ---------------------------------------------------------------------

/**
 * Milestone 1 (lb → app → db, lb does not reach db), plus `acme/app/ops` nested in app's address
 * space that depends on app only, and `acme/mgmt`, isolated, with an interface without an address.
 */
export const networks = {
  lb: { id: 'acme/lb', num: 11, cidr: '10.61.1.0/24', gateway: '10.61.1.1', gatewayMac: '02:5d:00:00:00:0b', dependsOn: ['acme/app'] },
  app: { id: 'acme/app', num: 12, cidr: '10.61.2.0/24', gateway: '10.61.2.1', gatewayMac: '02:5d:00:00:00:0c', dependsOn: ['acme/db'] },
  db: { id: 'acme/db', num: 13, cidr: '10.61.3.0/24', gateway: '10.61.3.1', gatewayMac: '02:5d:00:00:00:0d', dependsOn: [] },
  ops: { id: 'acme/app/ops', num: 14, cidr: '10.61.2.192/26', gateway: '10.61.2.193', gatewayMac: '02:5d:00:00:00:0e', dependsOn: ['acme/app'], parent: 'acme/app' },
  mgmt: { id: 'acme/mgmt', num: 15, cidr: '10.61.9.0/24', gateway: '10.61.9.1', gatewayMac: '02:5d:00:00:00:0f', dependsOn: [] },
} as const satisfies Record<string, NetworkView>;

const mk = (num: number, net: NetworkView, host: string, ip: string | null): InterfaceView => ({
  id: `${net.id}/if${num}`, num, networkId: net.id, host, portName: `veth${num}`, mac: `02:5e:00:00:00:${num.toString(16).padStart(2, '0')}`, ip,
});

/** Interfaces by short name; the OpenFlow port number of `vethN` on its host is N. */
export const ifaces = {
  lb1: mk(1, networks.lb, 'host-a', '10.61.1.11'),
  lb3: mk(3, networks.lb, 'host-a', '10.61.1.13'),
  app1: mk(4, networks.app, 'host-a', '10.61.2.11'),
  db1: mk(5, networks.db, 'host-a', '10.61.3.11'),
  ops1: mk(6, networks.ops, 'host-a', '10.61.2.201'),
  mgmt1: mk(7, networks.mgmt, 'host-a', '10.61.9.11'),
  /** IP policy "none": no address, so no L3 service. */
  raw: mk(8, networks.mgmt, 'host-a', null),
  lb2: mk(21, networks.lb, 'host-b', '10.61.1.12'),
  app2: mk(24, networks.app, 'host-b', '10.61.2.12'),
  db2: mk(25, networks.db, 'host-b', '10.61.3.12'),
  ops2: mk(26, networks.ops, 'host-b', '10.61.2.202'),
} as const;

export const hostViews: HostView[] = [
  { name: 'host-a', dpid: '00000000005d0001', uplinkPort: 'uplink' },
  { name: 'host-b', dpid: '00000000005d0002', uplinkPort: 'uplink' },
];

/** The uplink is port 100 on every host; each host's uplink MAC is its own. */
export const uplinks = {
  'host-a': { ofport: 100, mac: '02:aa:00:00:00:01' },
  'host-b': { ofport: 100, mac: '02:aa:00:00:00:02' },
} as const;

export function snapshot(over: Partial<TopologySnapshot> = {}): TopologySnapshot {
  return { revision: 1, networks: Object.values(networks), interfaces: Object.values(ifaces), hosts: hostViews, ...over };
}

/** A host's bridge ports as the switch would report them: `vethN` is port N, plus the uplink. */
export function portsOf(topo: Topology, host: string): HostPorts {
  const byName = new Map<string, number>(topo.interfacesOn(host).map((i) => [i.portName, Number(/\d+$/.exec(i.portName)![0])]));
  const uplink = topo.hosts.get(host)?.uplinkPort;
  if (uplink) byName.set(uplink, 100);
  return { byName };
}

export function portOf(i: InterfaceView): number {
  return Number(/\d+$/.exec(i.portName)![0]);
}

/** A packet from interface `from` to `to`'s address, addressed at L2 the way ARP told `from` to. */
export function sendTo(topo: Topology, from: InterfaceView, to: InterfaceView, ttl = 64): SimPacket {
  const dstMac = from.networkId === to.networkId ? to.mac : topo.network(from.networkId).gatewayMac;
  return ipv4Packet(portOf(from), from.mac, dstMac, from.ip!, to.ip!, ttl);
}

// ---- frames as bytes, for PACKET_IN and PACKET_OUT (a test-side codec, not src/packet.ts) ----------

const macBytes = (mac: string) => mac.split(':').map((x) => parseInt(x, 16));
const ipBytes = (ip: string) => ip.split('.').map(Number);
const macAt = (b: Buffer, at: number) => [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const ipAt = (b: Buffer, at: number) => [...b.subarray(at, at + 4)].join('.');

/** Ethernet + ARP (28 bytes) or + an IPv4 header (20 bytes, no options) and 8 bytes of ICMP. */
export function frameBytes(f: SimFrame): Buffer {
  const eth = [...macBytes(f.ethDst), ...macBytes(f.ethSrc), f.ethType >> 8, f.ethType & 0xff];
  if (f.arp) {
    const a = f.arp;
    return Buffer.from([...eth, 0, 1, 0x08, 0x00, 6, 4, a.op >> 8, a.op & 0xff, ...macBytes(a.sha), ...ipBytes(a.spa), ...macBytes(a.tha), ...ipBytes(a.tpa)]);
  }
  if (f.ipv4) {
    const ip = f.ipv4;
    return Buffer.from([...eth, 0x45, 0, 0, 28, 0, 0, 0x40, 0, ip.ttl, ip.proto ?? 1, 0, 0, ...ipBytes(ip.src), ...ipBytes(ip.dst), 8, 0, 0, 0, 0, 0, 0, 0]);
  }
  return Buffer.from(eth);
}

export function frameOf(b: Buffer): SimFrame {
  const ethType = b.readUInt16BE(12);
  const f: SimFrame = { ethDst: macAt(b, 0), ethSrc: macAt(b, 6), ethType };
  if (ethType === EtherType.ARP) f.arp = { op: b.readUInt16BE(20), sha: macAt(b, 22), spa: ipAt(b, 28), tha: macAt(b, 32), tpa: ipAt(b, 38) };
  if (ethType === EtherType.IPv4) f.ipv4 = { ttl: b[22]!, proto: b[23]!, src: ipAt(b, 26), dst: ipAt(b, 30) };
  return f;
}

// ---- a switch connection backed by a fake table, to drive DataplaneApp itself -----------------

type PacketOut = Extract<Outgoing, { type: 'PACKET_OUT' }>;

/**
 * The parts of SwitchConnection that DataplaneApp uses, answered from a FakeFlowTable: flow dumps,
 * barriers and bundles (all or nothing, as on Open vSwitch), and PACKET_OUTs, which are kept for
 * the driver (FakeHosts) to carry out.
 */
export class FakeSwitch {
  readonly table = new FakeFlowTable();
  state: 'ready' | 'closed' = 'ready';
  readonly ports = new Map<number, OfpPort>();
  readonly packetOuts: PacketOut[] = [];
  /** Every batch the app sent, as it sent it. */
  readonly batches: Outgoing[][] = [];
  /** Groups are stored and dumped, not executed: a flow that uses one is refused by the table. */
  readonly groups = new Map<number, GroupDesc>();

  constructor(
    readonly dpid: string,
    ports: { portNo: number; name: string; hwAddr?: string }[],
  ) {
    for (const p of ports) this.addPort(p);
  }

  addPort(p: { portNo: number; name: string; hwAddr?: string }): void {
    this.ports.set(p.portNo, { portNo: p.portNo, name: p.name, hwAddr: p.hwAddr ?? `02:99:00:00:${hex2b(p.portNo >> 8)}:${hex2b(p.portNo & 0xff)}`, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 });
  }

  get conn(): SwitchConnection {
    return this as unknown as SwitchConnection;
  }

  async multipart(body: MultipartRequestBody): Promise<MultipartReplyBody[]> {
    if (body.kind === 'GROUP_DESC') return [{ kind: 'GROUP_DESC', groups: [...this.groups.values()] }];
    if (body.kind !== 'FLOW') throw new Error(`fake switch: multipart ${body.kind} is not modelled`);
    return [{ kind: 'FLOW', stats: this.table.dump() }];
  }

  async barrier(msgs: readonly Outgoing[]): Promise<void> {
    this.#batch(msgs);
  }

  async bundle(msgs: readonly Outgoing[]): Promise<void> {
    this.#batch(msgs);
  }

  send(msg: Outgoing): number {
    if (msg.type === 'PACKET_OUT') this.packetOuts.push(msg);
    else this.#batch([msg]);
    return 0;
  }

  #batch(msgs: readonly Outgoing[]): void {
    if (this.state !== 'ready') throw new Error('fake switch: connection closed');
    this.batches.push([...msgs]);
    if (msgs.length > 0 && msgs.every((m) => m.type === 'GROUP_MOD')) {
      for (const m of msgs as GroupMod[]) {
        const exists = this.groups.has(m.groupId);
        if (m.command === GroupModCommand.DELETE) this.groups.delete(m.groupId);
        else if ((m.command === GroupModCommand.ADD) === exists) throw new Error(`fake switch: GROUP_MOD ${m.command === GroupModCommand.ADD ? 'ADD of an existing' : 'MODIFY of a missing'} group ${m.groupId}`);
        else this.groups.set(m.groupId, { groupType: m.groupType, groupId: m.groupId, buckets: m.buckets });
      }
      return;
    }
    const other = msgs.find((m) => m.type !== 'FLOW_MOD');
    if (other) throw new Error(`fake switch: ${other.type} in a batch is not modelled`);
    this.table.apply(msgs as FlowMod[]);
  }
}

const hex2b = (n: number) => n.toString(16).padStart(2, '0');

export interface AppJourney extends Journey {
  /** Frames the controller sent out of a port itself (ARP replies), by host and port. */
  replies: { host: string; port: number; packet: SimFrame }[];
}

/** Host bridges as FakeSwitches on one L2 fabric, with DataplaneApp as their controller. */
export class FakeHosts {
  readonly switches = new Map<string, { sw: FakeSwitch; uplink: { ofport: number; mac: string } }>();

  constructor(public app: OpenFlowApp) {}

  /** A host's bridge connects (or reconnects) to the controller. */
  async connect(host: string, sw: FakeSwitch, uplink: { ofport: number; mac: string }): Promise<void> {
    this.switches.set(host, { sw, uplink });
    await this.app.onSwitchUp?.(sw.conn);
  }

  async send(host: string, packet: SimPacket): Promise<AppJourney> {
    const j: AppJourney = { delivered: [], toController: [], trace: [], replies: [] };
    await this.#walk(host, packet, j, 0);
    return j;
  }

  async #walk(host: string, packet: SimPacket, j: AppJourney, hops: number): Promise<void> {
    if (hops > 6) throw new Error(`packet still travelling after ${hops} steps: a loop (${j.trace.join(' | ')})`);
    const { sw, uplink } = this.switches.get(host)!;
    const v = sw.table.process(packet);
    j.trace.push(...v.trace.map((t) => `${host}: ${t}`));
    for (const o of v.outputs) {
      if (o.port !== uplink.ofport) {
        j.delivered.push({ host, port: o.port, packet: o.packet });
        continue;
      }
      const next = [...this.switches].find(([, h]) => h.uplink.mac.toLowerCase() === o.packet.ethDst.toLowerCase());
      if (!next) {
        j.trace.push(`fabric: no host has MAC ${o.packet.ethDst}: lost`);
        continue;
      }
      await this.#walk(next[0], { ...o.packet, inPort: next[1].uplink.ofport }, j, hops + 1);
    }
    if (!v.punted) return;
    j.toController.push(host);
    const data = frameBytes(v.punted.packet);
    sw.packetOuts.length = 0;
    await this.app.onPacketIn?.(sw.conn, {
      type: 'PACKET_IN', xid: 0, bufferId: 0xffffffff, totalLen: data.length, reason: 1, tableId: v.punted.tableId, cookie: v.punted.cookie, match: [{ field: 'IN_PORT', value: packet.inPort }], data,
    });
    for (const out of sw.packetOuts.splice(0)) {
      const frame = frameOf(out.data);
      for (const a of out.actions) {
        if (a.type !== 'OUTPUT') continue;
        if (a.port === Port.TABLE) {
          j.trace.push(`${host}: controller re-injects the packet (in_port ${out.inPort})`);
          await this.#walk(host, { ...frame, inPort: out.inPort }, j, hops + 1);
        } else {
          j.replies.push({ host, port: a.port, packet: frame });
        }
      }
    }
  }
}
