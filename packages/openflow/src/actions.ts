// Actions (§7.2.5), instructions (§7.2.4), group buckets (§7.3.4.2) and meter bands (§7.3.4.4)
// of OpenFlow 1.3.5. Every TLV starts with type u16 | len u16, len a multiple of 8.

import { type Reader, type Writer, fault } from './buffer';
import { ActionType, InstructionType, MeterBandType } from './constants';
import { EncodeError } from './errors';
import { type NiciraAction, NX_VENDOR_ID, isNiciraAction, readNiciraAction, setsCtField, writeNiciraAction } from './nicira';
import { type Oxm, readOxm, writeOxm } from './oxm';

export type Action =
  | { type: 'OUTPUT'; port: number; maxLen: number } // ofp_action_output, 16 bytes
  | { type: 'COPY_TTL_OUT' } // ofp_action_generic, 8 bytes
  | { type: 'COPY_TTL_IN' }
  | { type: 'SET_MPLS_TTL'; mplsTtl: number } // ofp_action_mpls_ttl, 8 bytes
  | { type: 'DEC_MPLS_TTL' }
  | { type: 'PUSH_VLAN'; ethertype: number } // ofp_action_push, 8 bytes
  | { type: 'POP_VLAN' }
  | { type: 'PUSH_MPLS'; ethertype: number }
  | { type: 'POP_MPLS'; ethertype: number } // ofp_action_pop_mpls, 8 bytes
  | { type: 'SET_QUEUE'; queueId: number } // ofp_action_set_queue, 8 bytes
  | { type: 'GROUP'; groupId: number } // ofp_action_group, 8 bytes
  | { type: 'SET_NW_TTL'; nwTtl: number } // ofp_action_nw_ttl, 8 bytes
  | { type: 'DEC_NW_TTL' }
  | { type: 'SET_FIELD'; field: Oxm } // ofp_action_set_field, OXM padded to 8
  | { type: 'PUSH_PBB'; ethertype: number }
  | { type: 'POP_PBB' }
  /** Nicira extensions this codec types (nicira.ts): NX_CT, NX_NAT, NX_RESUBMIT_TABLE. */
  | NiciraAction
  /** ofp_action_experimenter_header: experimenter id, then opaque bytes (kept as is). */
  | { type: 'EXPERIMENTER'; experimenter: number; data: Buffer }
  /** An action type OpenFlow 1.3 does not define: kept as is. */
  | { type: 'UNKNOWN'; actionType: number; data: Buffer };

export type Instruction =
  | { type: 'GOTO_TABLE'; tableId: number } // ofp_instruction_goto_table, 8 bytes
  | { type: 'WRITE_METADATA'; metadata: bigint; metadataMask: bigint } // 24 bytes
  | { type: 'WRITE_ACTIONS'; actions: Action[] } // ofp_instruction_actions
  | { type: 'APPLY_ACTIONS'; actions: Action[] }
  | { type: 'CLEAR_ACTIONS' } // ofp_instruction_actions with no actions, 8 bytes
  | { type: 'METER'; meterId: number } // ofp_instruction_meter, 8 bytes
  | { type: 'EXPERIMENTER'; experimenter: number; data: Buffer } // ofp_instruction_experimenter
  | { type: 'UNKNOWN'; instructionType: number; data: Buffer };

/** ofp_bucket (§7.3.4.2): len u16, weight u16, watch_port u32, watch_group u32, pad 4, actions. */
export interface Bucket {
  weight: number;
  watchPort: number;
  watchGroup: number;
  actions: Action[];
}

/** ofp_meter_band_* (§7.3.4.4): type u16, len u16, rate u32, burst_size u32, then per type. */
export type MeterBand =
  | { type: 'DROP'; rate: number; burstSize: number } // pad 4
  | { type: 'DSCP_REMARK'; rate: number; burstSize: number; precLevel: number } // u8 + pad 3
  | { type: 'EXPERIMENTER'; rate: number; burstSize: number; experimenter: number; data: Buffer };

const ACTION_NAMES = new Map<number, string>(Object.entries(ActionType).map(([k, v]) => [v, k]));

function tlvHeader(r: Reader, what: string, min: number): { type: number; body: Reader; start: number } {
  const start = r.pos;
  const type = r.u16(`${what} type`);
  const len = r.u16(`${what} len`);
  if (len < min) fault('BAD_LENGTH', start + 2, `${what} len ${len} < ${min}`);
  if (len % 8 !== 0) fault('BAD_LENGTH', start + 2, `${what} len ${len} is not a multiple of 8`);
  return { type, body: r.sub(len - 4, `${what} body`), start };
}

function done(body: Reader, what: string): void {
  if (body.remaining !== 0) fault('BAD_LENGTH', body.pos, `${what} has ${body.remaining} unexpected trailing bytes`);
}

export function readAction(r: Reader): Action {
  const { type, body, start } = tlvHeader(r, 'action', 8);
  const name = ACTION_NAMES.get(type);
  let a: Action;
  switch (name) {
    case 'OUTPUT':
      a = { type: 'OUTPUT', port: body.u32('output.port'), maxLen: body.u16('output.max_len') };
      body.skip(6);
      break;
    case 'COPY_TTL_OUT':
    case 'COPY_TTL_IN':
    case 'DEC_MPLS_TTL':
    case 'POP_VLAN':
    case 'DEC_NW_TTL':
    case 'POP_PBB':
      body.skip(4);
      a = { type: name };
      break;
    case 'SET_MPLS_TTL':
      a = { type: name, mplsTtl: body.u8('mpls_ttl') };
      body.skip(3);
      break;
    case 'SET_NW_TTL':
      a = { type: name, nwTtl: body.u8('nw_ttl') };
      body.skip(3);
      break;
    case 'PUSH_VLAN':
    case 'PUSH_MPLS':
    case 'POP_MPLS':
    case 'PUSH_PBB':
      a = { type: name, ethertype: body.u16('ethertype') };
      body.skip(2);
      break;
    case 'SET_QUEUE':
      a = { type: name, queueId: body.u32('queue_id') };
      break;
    case 'GROUP':
      a = { type: name, groupId: body.u32('group_id') };
      break;
    case 'SET_FIELD': {
      a = { type: name, field: readOxm(body) };
      // The OXM is followed by zero padding to make the whole action a multiple of 8 (§7.2.5).
      if (body.remaining >= 8) fault('BAD_LENGTH', start + 2, 'set_field action has more than 7 bytes of padding');
      body.skip(body.remaining);
      break;
    }
    case 'EXPERIMENTER': {
      const experimenter = body.u32('experimenter');
      const mark = body.pos;
      const nx = experimenter === NX_VENDOR_ID && body.remaining >= 2 ? readNiciraAction(body, start, readActions) : undefined;
      if (nx !== undefined) {
        a = nx;
        break;
      }
      body.pos = mark;
      a = { type: name, experimenter, data: body.rest() };
      break;
    }
    default:
      a = { type: 'UNKNOWN', actionType: type, data: body.rest() };
  }
  done(body, `action ${name ?? type}`);
  return a;
}

export function readActions(r: Reader): Action[] {
  const out: Action[] = [];
  while (r.remaining > 0) out.push(readAction(r));
  return out;
}

/** `outer` is the action this one is nested in (only NX_CT nests actions). */
export function writeAction(w: Writer, a: Action, what = 'action', outer?: 'NX_CT'): void {
  const start = w.pos;
  const typeCode = a.type === 'UNKNOWN' ? a.actionType : isNiciraAction(a) ? ActionType.EXPERIMENTER : ActionType[a.type];
  if (typeCode === undefined) throw new EncodeError(`${what}.type`, `unknown action type ${String(a.type)}`);
  w.u16(typeCode, `${what}.type`);
  const lenAt = w.reserve16();
  switch (a.type) {
    case 'OUTPUT':
      w.u32(a.port, `${what}.port`).u16(a.maxLen, `${what}.maxLen`).zeros(6);
      break;
    case 'COPY_TTL_OUT':
    case 'COPY_TTL_IN':
    case 'DEC_MPLS_TTL':
    case 'POP_VLAN':
    case 'DEC_NW_TTL':
    case 'POP_PBB':
      w.zeros(4);
      break;
    case 'SET_MPLS_TTL':
      w.u8(a.mplsTtl, `${what}.mplsTtl`).zeros(3);
      break;
    case 'SET_NW_TTL':
      w.u8(a.nwTtl, `${what}.nwTtl`).zeros(3);
      break;
    case 'PUSH_VLAN':
    case 'PUSH_MPLS':
    case 'POP_MPLS':
    case 'PUSH_PBB':
      w.u16(a.ethertype, `${what}.ethertype`).zeros(2);
      break;
    case 'SET_QUEUE':
      w.u32(a.queueId, `${what}.queueId`);
      break;
    case 'GROUP':
      w.u32(a.groupId, `${what}.groupId`);
      break;
    case 'SET_FIELD':
      // Open vSwitch refuses ct_mark and ct_label writes outside ct (ofpacts_verify_nested).
      if (outer !== 'NX_CT' && setsCtField(a)) throw new EncodeError(`${what}.field`, 'ct_mark and ct_label can only be set inside an NX_CT action');
      writeOxm(w, a.field, `${what}.field`);
      w.pad8(start);
      break;
    case 'NX_CT':
    case 'NX_NAT':
    case 'NX_RESUBMIT_TABLE':
      writeNiciraAction(w, a, what, outer, writeActions);
      break;
    case 'EXPERIMENTER':
      w.u32(a.experimenter, `${what}.experimenter`).bytes(a.data);
      break;
    case 'UNKNOWN':
      w.bytes(a.data);
      break;
  }
  const len = w.pos - start;
  if (len % 8 !== 0) throw new EncodeError(`${what}.data`, `action length ${len} is not a multiple of 8`);
  w.patch16(lenAt, len, `${what}.len`);
}

export function writeActions(w: Writer, actions: Action[], what = 'actions', outer?: 'NX_CT'): void {
  actions.forEach((a, i) => writeAction(w, a, `${what}[${i}]`, outer));
}

const INSTRUCTION_NAMES = new Map<number, string>(Object.entries(InstructionType).map(([k, v]) => [v, k]));

export function readInstruction(r: Reader): Instruction {
  const { type, body } = tlvHeader(r, 'instruction', 8);
  const name = INSTRUCTION_NAMES.get(type);
  let ins: Instruction;
  switch (name) {
    case 'GOTO_TABLE':
      ins = { type: name, tableId: body.u8('table_id') };
      body.skip(3);
      break;
    case 'WRITE_METADATA':
      body.skip(4);
      ins = { type: name, metadata: body.u64('metadata'), metadataMask: body.u64('metadata_mask') };
      break;
    case 'WRITE_ACTIONS':
    case 'APPLY_ACTIONS':
      body.skip(4);
      ins = { type: name, actions: readActions(body) };
      break;
    case 'CLEAR_ACTIONS':
      body.skip(4);
      ins = { type: name };
      break;
    case 'METER':
      ins = { type: name, meterId: body.u32('meter_id') };
      break;
    case 'EXPERIMENTER':
      ins = { type: name, experimenter: body.u32('experimenter'), data: body.rest() };
      break;
    default:
      ins = { type: 'UNKNOWN', instructionType: type, data: body.rest() };
  }
  done(body, `instruction ${name ?? type}`);
  return ins;
}

export function readInstructions(r: Reader): Instruction[] {
  const out: Instruction[] = [];
  while (r.remaining > 0) out.push(readInstruction(r));
  return out;
}

export function writeInstruction(w: Writer, ins: Instruction, what = 'instruction'): void {
  const start = w.pos;
  const typeCode = ins.type === 'UNKNOWN' ? ins.instructionType : InstructionType[ins.type];
  if (typeCode === undefined) throw new EncodeError(`${what}.type`, `unknown instruction type ${String(ins.type)}`);
  w.u16(typeCode, `${what}.type`);
  const lenAt = w.reserve16();
  switch (ins.type) {
    case 'GOTO_TABLE':
      w.u8(ins.tableId, `${what}.tableId`).zeros(3);
      break;
    case 'WRITE_METADATA':
      w.zeros(4).u64(ins.metadata, `${what}.metadata`).u64(ins.metadataMask, `${what}.metadataMask`);
      break;
    case 'WRITE_ACTIONS':
    case 'APPLY_ACTIONS':
      w.zeros(4);
      writeActions(w, ins.actions, `${what}.actions`);
      break;
    case 'CLEAR_ACTIONS':
      w.zeros(4);
      break;
    case 'METER':
      w.u32(ins.meterId, `${what}.meterId`);
      break;
    case 'EXPERIMENTER':
      w.u32(ins.experimenter, `${what}.experimenter`).bytes(ins.data);
      break;
    case 'UNKNOWN':
      w.bytes(ins.data);
      break;
  }
  const len = w.pos - start;
  if (len % 8 !== 0) throw new EncodeError(`${what}.data`, `instruction length ${len} is not a multiple of 8`);
  w.patch16(lenAt, len, `${what}.len`);
}

export function writeInstructions(w: Writer, list: Instruction[], what = 'instructions'): void {
  list.forEach((ins, i) => writeInstruction(w, ins, `${what}[${i}]`));
}

export function readBucket(r: Reader): Bucket {
  const start = r.pos;
  const len = r.u16('bucket len');
  if (len < 16 || len % 8 !== 0) fault('BAD_LENGTH', start, `ofp_bucket len ${len} is < 16 or not a multiple of 8`);
  const body = r.sub(len - 2, 'ofp_bucket');
  const weight = body.u16('weight');
  const watchPort = body.u32('watch_port');
  const watchGroup = body.u32('watch_group');
  body.skip(4);
  return { weight, watchPort, watchGroup, actions: readActions(body) };
}

export function readBuckets(r: Reader): Bucket[] {
  const out: Bucket[] = [];
  while (r.remaining > 0) out.push(readBucket(r));
  return out;
}

export function writeBuckets(w: Writer, buckets: Bucket[], what = 'buckets'): void {
  buckets.forEach((b, i) => {
    const start = w.pos;
    const lenAt = w.reserve16();
    w.u16(b.weight, `${what}[${i}].weight`);
    w.u32(b.watchPort, `${what}[${i}].watchPort`);
    w.u32(b.watchGroup, `${what}[${i}].watchGroup`);
    w.zeros(4);
    writeActions(w, b.actions, `${what}[${i}].actions`);
    w.patch16(lenAt, w.pos - start, `${what}[${i}].len`);
  });
}

export function readMeterBand(r: Reader): MeterBand {
  const { type, body } = tlvHeader(r, 'meter band', 16);
  const rate = body.u32('rate');
  const burstSize = body.u32('burst_size');
  let band: MeterBand;
  switch (type) {
    case MeterBandType.DROP:
      body.skip(4);
      band = { type: 'DROP', rate, burstSize };
      break;
    case MeterBandType.DSCP_REMARK:
      band = { type: 'DSCP_REMARK', rate, burstSize, precLevel: body.u8('prec_level') };
      body.skip(3);
      break;
    case MeterBandType.EXPERIMENTER:
      band = { type: 'EXPERIMENTER', rate, burstSize, experimenter: body.u32('experimenter'), data: body.rest() };
      break;
    default:
      fault('BAD_VALUE', body.pos - 12, `unknown meter band type ${type}`);
  }
  done(body, 'meter band');
  return band;
}

export function readMeterBands(r: Reader): MeterBand[] {
  const out: MeterBand[] = [];
  while (r.remaining > 0) out.push(readMeterBand(r));
  return out;
}

export function writeMeterBands(w: Writer, bands: MeterBand[], what = 'bands'): void {
  bands.forEach((b, i) => {
    const at = `${what}[${i}]`;
    const start = w.pos;
    const code = MeterBandType[b.type];
    if (code === undefined) throw new EncodeError(`${at}.type`, `unknown meter band type ${String(b.type)}`);
    w.u16(code);
    const lenAt = w.reserve16();
    w.u32(b.rate, `${at}.rate`).u32(b.burstSize, `${at}.burstSize`);
    switch (b.type) {
      case 'DROP':
        w.zeros(4);
        break;
      case 'DSCP_REMARK':
        w.u8(b.precLevel, `${at}.precLevel`).zeros(3);
        break;
      case 'EXPERIMENTER':
        w.u32(b.experimenter, `${at}.experimenter`).bytes(b.data);
        break;
    }
    const len = w.pos - start;
    if (len % 8 !== 0) throw new EncodeError(`${at}.data`, `meter band length ${len} is not a multiple of 8`);
    w.patch16(lenAt, len, `${at}.len`);
  });
}
