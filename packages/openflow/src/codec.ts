// decode(bytes) → DecodeResult and encode(message) → Buffer for OpenFlow 1.3 (OpenFlow Switch
// Specification 1.3.5, section 7). Structure sizes are the spec's OFP_ASSERTs.

import {
  readActions,
  readBuckets,
  readInstructions,
  readMeterBands,
  writeActions,
  writeBuckets,
  writeInstructions,
  writeMeterBands,
} from './actions';
import { ReadFault, Reader, Writer, fault } from './buffer';
import {
  ErrorType,
  HelloElemType,
  MessageType,
  type MessageTypeName,
  MultipartType,
  OFP_HEADER_LEN,
  OFP_VERSION,
  ONF_EXPERIMENTER_ID,
  OnfExpType,
  errorNames,
} from './constants';
import { DecodeError, EncodeError } from './errors';
import type {
  FlowStatsRequest,
  HelloElement,
  MultipartReplyBody,
  MultipartRequestBody,
  OfpMessage,
  Port,
} from './messages';
import { macFromString, macToString, readMatch, writeMatch } from './oxm';

export type DecodeResult = { ok: true; message: OfpMessage } | { ok: false; error: DecodeError };

/** ofp_header (§7.1). */
export interface OfpHeader {
  version: number;
  type: number;
  length: number;
  xid: number;
}

const TYPE_NAMES = new Map<number, MessageTypeName>(
  (Object.keys(MessageType) as MessageTypeName[]).map((k) => [MessageType[k], k]),
);

/** Reads the 8-byte header; undefined when fewer than 8 bytes are given. */
export function peekHeader(buf: Uint8Array, at = 0): OfpHeader | undefined {
  if (buf.length - at < OFP_HEADER_LEN) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset + at, OFP_HEADER_LEN);
  return { version: v.getUint8(0), type: v.getUint8(1), length: v.getUint16(2), xid: v.getUint32(4) };
}

/**
 * Decodes exactly one message: `buf` must hold the whole message and nothing else. Never throws;
 * a malformed or truncated message gives `{ ok: false, error: DecodeError }`.
 */
export function decode(buf: Uint8Array): DecodeResult {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = peekHeader(b);
  if (h === undefined) {
    return { ok: false, error: new DecodeError('TRUNCATED', b.length, `ofp_header needs 8 bytes, got ${b.length}`) };
  }
  const header = { xid: h.xid, messageType: h.type };
  if (h.length < OFP_HEADER_LEN) {
    return { ok: false, error: new DecodeError('BAD_LENGTH', 2, `ofp_header.length ${h.length} < 8`, header) };
  }
  if (h.length > b.length) {
    return {
      ok: false,
      error: new DecodeError('TRUNCATED', b.length, `ofp_header.length ${h.length} but ${b.length} bytes given`, header),
    };
  }
  if (h.length < b.length) {
    return {
      ok: false,
      error: new DecodeError('BAD_LENGTH', h.length, `${b.length - h.length} bytes after the message`, header),
    };
  }
  try {
    return { ok: true, message: readMessage(Reader.of(b)) };
  } catch (e) {
    if (e instanceof ReadFault) return { ok: false, error: e.toDecodeError(0, header) };
    throw e;
  }
}

/** Reads one message (header and body) from r; faults with ReadFault. */
export function readMessage(r: Reader, requireVersion?: number): OfpMessage {
  const start = r.pos;
  const version = r.u8('version');
  const type = r.u8('type');
  const length = r.u16('length');
  const xid = r.u32('xid');
  if (length < OFP_HEADER_LEN) fault('BAD_LENGTH', start + 2, `ofp_header.length ${length} < 8`);
  const body = r.sub(length - OFP_HEADER_LEN, `message body (ofp_header.length ${length})`);
  const name = TYPE_NAMES.get(type);
  if (name !== 'HELLO' && version !== (requireVersion ?? OFP_VERSION)) {
    fault('BAD_VERSION', start, `version 0x${version.toString(16)} is not OpenFlow 1.3 (0x04)`);
  }
  const msg = readBody(name, type, version, xid, body, start);
  if (body.remaining !== 0) {
    fault('BAD_LENGTH', body.pos, `${name ?? type} has ${body.remaining} unexpected trailing bytes`);
  }
  return msg;
}

function readPort(r: Reader): Port {
  const portNo = r.u32('port_no');
  r.skip(4);
  const hwAddr = macToString(r.bytes(6, 'hw_addr'));
  r.skip(2);
  return {
    portNo,
    hwAddr,
    name: r.str(16, 'name'),
    config: r.u32(),
    state: r.u32(),
    curr: r.u32(),
    advertised: r.u32(),
    supported: r.u32(),
    peer: r.u32(),
    currSpeed: r.u32(),
    maxSpeed: r.u32(),
  };
}

function readFlowStatsRequest(r: Reader): FlowStatsRequest {
  const tableId = r.u8('table_id');
  r.skip(3);
  const outPort = r.u32('out_port');
  const outGroup = r.u32('out_group');
  r.skip(4);
  return { tableId, outPort, outGroup, cookie: r.u64('cookie'), cookieMask: r.u64('cookie_mask'), match: readMatch(r) };
}

function expectEmpty(r: Reader, what: string): void {
  if (r.remaining !== 0) fault('BAD_LENGTH', r.pos, `${what} has a ${r.remaining}-byte body, expected none`);
}

function readList<T>(r: Reader, item: (r: Reader) => T): T[] {
  const out: T[] = [];
  while (r.remaining > 0) out.push(item(r));
  return out;
}

/** An element with its own u16 length at its start: returns a reader over the whole element. */
function lengthPrefixed(r: Reader, what: string, min: number): Reader {
  const start = r.pos;
  const len = r.u16(`${what} length`);
  if (len < min) fault('BAD_LENGTH', start, `${what} length ${len} < ${min}`);
  r.pos = start;
  const sub = r.sub(len, what);
  sub.skip(2);
  return sub;
}

function readMultipartRequest(mpType: number, r: Reader): MultipartRequestBody {
  switch (mpType) {
    case MultipartType.DESC:
      expectEmpty(r, 'OFPMP_DESC request');
      return { kind: 'DESC' };
    case MultipartType.FLOW:
      return { kind: 'FLOW', ...readFlowStatsRequest(r) };
    case MultipartType.AGGREGATE:
      return { kind: 'AGGREGATE', ...readFlowStatsRequest(r) };
    case MultipartType.TABLE:
      expectEmpty(r, 'OFPMP_TABLE request');
      return { kind: 'TABLE' };
    case MultipartType.PORT_STATS: {
      const portNo = r.u32('port_no');
      r.skip(4);
      return { kind: 'PORT_STATS', portNo };
    }
    case MultipartType.PORT_DESC:
      expectEmpty(r, 'OFPMP_PORT_DESC request');
      return { kind: 'PORT_DESC' };
    case MultipartType.GROUP: {
      const groupId = r.u32('group_id');
      r.skip(4);
      return { kind: 'GROUP', groupId };
    }
    case MultipartType.GROUP_DESC:
      expectEmpty(r, 'OFPMP_GROUP_DESC request');
      return { kind: 'GROUP_DESC' };
    case MultipartType.METER: {
      const meterId = r.u32('meter_id');
      r.skip(4);
      return { kind: 'METER', meterId };
    }
    default:
      return { kind: 'RAW', multipartType: mpType, data: r.rest() };
  }
}

function readMultipartReply(mpType: number, r: Reader): MultipartReplyBody {
  switch (mpType) {
    case MultipartType.DESC:
      return {
        kind: 'DESC',
        mfrDesc: r.str(256, 'mfr_desc'),
        hwDesc: r.str(256, 'hw_desc'),
        swDesc: r.str(256, 'sw_desc'),
        serialNum: r.str(32, 'serial_num'),
        dpDesc: r.str(256, 'dp_desc'),
      };
    case MultipartType.FLOW:
      return {
        kind: 'FLOW',
        stats: readList(r, (rr) => {
          const e = lengthPrefixed(rr, 'ofp_flow_stats', 56);
          const tableId = e.u8('table_id');
          e.skip(1);
          const durationSec = e.u32();
          const durationNsec = e.u32();
          const priority = e.u16();
          const idleTimeout = e.u16();
          const hardTimeout = e.u16();
          const flags = e.u16();
          e.skip(4);
          const cookie = e.u64();
          const packetCount = e.u64();
          const byteCount = e.u64();
          const match = readMatch(e);
          const instructions = readInstructions(e);
          return {
            tableId,
            durationSec,
            durationNsec,
            priority,
            idleTimeout,
            hardTimeout,
            flags,
            cookie,
            packetCount,
            byteCount,
            match,
            instructions,
          };
        }),
      };
    case MultipartType.AGGREGATE: {
      const packetCount = r.u64('packet_count');
      const byteCount = r.u64('byte_count');
      const flowCount = r.u32('flow_count');
      r.skip(4);
      return { kind: 'AGGREGATE', packetCount, byteCount, flowCount };
    }
    case MultipartType.TABLE:
      return {
        kind: 'TABLE',
        stats: readList(r, (rr) => {
          const tableId = rr.u8('table_id');
          rr.skip(3);
          return { tableId, activeCount: rr.u32(), lookupCount: rr.u64(), matchedCount: rr.u64() };
        }),
      };
    case MultipartType.PORT_STATS:
      return {
        kind: 'PORT_STATS',
        stats: readList(r, (rr) => {
          const portNo = rr.u32('port_no');
          rr.skip(4);
          return {
            portNo,
            rxPackets: rr.u64(),
            txPackets: rr.u64(),
            rxBytes: rr.u64(),
            txBytes: rr.u64(),
            rxDropped: rr.u64(),
            txDropped: rr.u64(),
            rxErrors: rr.u64(),
            txErrors: rr.u64(),
            rxFrameErr: rr.u64(),
            rxOverErr: rr.u64(),
            rxCrcErr: rr.u64(),
            collisions: rr.u64(),
            durationSec: rr.u32(),
            durationNsec: rr.u32(),
          };
        }),
      };
    case MultipartType.PORT_DESC:
      return { kind: 'PORT_DESC', ports: readList(r, readPort) };
    case MultipartType.GROUP:
      return {
        kind: 'GROUP',
        stats: readList(r, (rr) => {
          const e = lengthPrefixed(rr, 'ofp_group_stats', 40);
          e.skip(2);
          const groupId = e.u32();
          const refCount = e.u32();
          e.skip(4);
          const packetCount = e.u64();
          const byteCount = e.u64();
          const durationSec = e.u32();
          const durationNsec = e.u32();
          if (e.remaining % 16 !== 0) fault('BAD_LENGTH', e.pos, 'ofp_bucket_counter list is not a multiple of 16');
          const bucketStats = readList(e, (x) => ({ packetCount: x.u64(), byteCount: x.u64() }));
          return { groupId, refCount, packetCount, byteCount, durationSec, durationNsec, bucketStats };
        }),
      };
    case MultipartType.GROUP_DESC:
      return {
        kind: 'GROUP_DESC',
        groups: readList(r, (rr) => {
          const e = lengthPrefixed(rr, 'ofp_group_desc', 8);
          const groupType = e.u8('type');
          e.skip(1);
          const groupId = e.u32('group_id');
          return { groupType, groupId, buckets: readBuckets(e) };
        }),
      };
    case MultipartType.METER:
      return {
        kind: 'METER',
        stats: readList(r, (rr) => {
          // ofp_meter_stats: meter_id comes before len, so the length is at offset 4.
          const start = rr.pos;
          const meterId = rr.u32('meter_id');
          const len = rr.u16('len');
          if (len < 40) fault('BAD_LENGTH', start + 4, `ofp_meter_stats len ${len} < 40`);
          const e = rr.sub(len - 6, 'ofp_meter_stats');
          e.skip(6);
          const flowCount = e.u32();
          const packetInCount = e.u64();
          const byteInCount = e.u64();
          const durationSec = e.u32();
          const durationNsec = e.u32();
          if (e.remaining % 16 !== 0) fault('BAD_LENGTH', e.pos, 'ofp_meter_band_stats list is not a multiple of 16');
          const bandStats = readList(e, (x) => ({ packetBandCount: x.u64(), byteBandCount: x.u64() }));
          return { meterId, flowCount, packetInCount, byteInCount, durationSec, durationNsec, bandStats };
        }),
      };
    default:
      return { kind: 'RAW', multipartType: mpType, data: r.rest() };
  }
}

function readHelloElements(r: Reader): HelloElement[] {
  const out: HelloElement[] = [];
  while (r.remaining > 0) {
    const start = r.pos;
    const elemType = r.u16('hello element type');
    const len = r.u16('hello element length');
    if (len < 4) fault('BAD_LENGTH', start + 2, `hello element length ${len} < 4`);
    const e = r.sub(len - 4, 'hello element');
    // Elements are padded to 8 bytes; the padding is not counted in `length` (§7.5.1).
    r.skip((8 - (len % 8)) % 8, 'hello element padding');
    if (elemType === HelloElemType.VERSIONBITMAP) {
      if (e.remaining % 4 !== 0) fault('BAD_LENGTH', start + 2, 'version bitmap is not a multiple of 4 bytes');
      out.push({ type: 'VERSIONBITMAP', bitmaps: readList(e, (x) => x.u32('bitmap')) });
    } else {
      out.push({ type: 'UNKNOWN', elemType, data: e.rest() });
    }
  }
  return out;
}

function readBody(
  name: MessageTypeName | undefined,
  type: number,
  version: number,
  xid: number,
  r: Reader,
  start: number,
): OfpMessage {
  switch (name) {
    case 'HELLO':
      return { type: name, xid, version, elements: readHelloElements(r) };
    case 'ERROR': {
      const errorType = r.u16('error type');
      const code = r.u16('error code');
      if (errorType === ErrorType.EXPERIMENTER) {
        const experimenter = r.u32('experimenter');
        return { type: name, xid, errorType, code, experimenter, data: r.rest(), errorTypeName: 'EXPERIMENTER' };
      }
      return { type: name, xid, errorType, code, data: r.rest(), ...errorNames(errorType, code) };
    }
    case 'ECHO_REQUEST':
    case 'ECHO_REPLY':
      return { type: name, xid, data: r.rest() };
    case 'EXPERIMENTER': {
      const experimenter = r.u32('experimenter');
      const expType = r.u32('exp_type');
      if (experimenter === ONF_EXPERIMENTER_ID && expType === OnfExpType.BUNDLE_CONTROL) {
        // struct ofp14_bundle_ctrl_msg (openvswitch include/openflow/openflow-1.4.h).
        const bundleId = r.u32('bundle_id');
        const bundleCtrlType = r.u16('bundle ctrl type');
        const flags = r.u16('bundle flags');
        return { type: 'BUNDLE_CONTROL', xid, bundleId, bundleCtrlType, flags, properties: r.rest() };
      }
      if (experimenter === ONF_EXPERIMENTER_ID && expType === OnfExpType.BUNDLE_ADD_MESSAGE) {
        // ofp14_bundle_ctrl_msg with `type` unused (OVS writes zero, lib/ofp-bundle.c
        // ofputil_encode_bundle_add), then the embedded message; properties, if any, follow
        // after padding the message to 8 bytes (openflow-1.4.h comment on ofp14_bundle_ctrl_msg).
        const bundleId = r.u32('bundle_id');
        r.skip(2, 'bundle add type (unused)');
        const flags = r.u16('bundle flags');
        const inner = peekInnerLength(r);
        const message = readMessage(r.sub(inner, 'embedded message'), version);
        let properties: Buffer = Buffer.alloc(0);
        if (r.remaining > 0) {
          r.skip((8 - ((r.pos - start) % 8)) % 8, 'padding before bundle properties');
          if (r.remaining === 0) fault('BAD_LENGTH', r.pos, 'padding after the embedded message but no properties');
          properties = r.rest();
        }
        return { type: 'BUNDLE_ADD_MESSAGE', xid, bundleId, flags, message, properties };
      }
      return { type: name, xid, experimenter, expType, data: r.rest() };
    }
    case 'FEATURES_REQUEST':
    case 'GET_CONFIG_REQUEST':
    case 'BARRIER_REQUEST':
    case 'BARRIER_REPLY':
    case 'GET_ASYNC_REQUEST':
      return { type: name, xid };
    case 'FEATURES_REPLY': {
      const datapathId = r.u64('datapath_id');
      const nBuffers = r.u32('n_buffers');
      const nTables = r.u8('n_tables');
      const auxiliaryId = r.u8('auxiliary_id');
      r.skip(2);
      return { type: name, xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities: r.u32(), reserved: r.u32() };
    }
    case 'GET_CONFIG_REPLY':
    case 'SET_CONFIG':
      return { type: name, xid, flags: r.u16('flags'), missSendLen: r.u16('miss_send_len') };
    case 'PACKET_IN': {
      const bufferId = r.u32('buffer_id');
      const totalLen = r.u16('total_len');
      const reason = r.u8('reason');
      const tableId = r.u8('table_id');
      const cookie = r.u64('cookie');
      const match = readMatch(r);
      r.skip(2);
      return { type: name, xid, bufferId, totalLen, reason, tableId, cookie, match, data: r.rest() };
    }
    case 'FLOW_REMOVED':
      return {
        type: name,
        xid,
        cookie: r.u64('cookie'),
        priority: r.u16('priority'),
        reason: r.u8('reason'),
        tableId: r.u8('table_id'),
        durationSec: r.u32(),
        durationNsec: r.u32(),
        idleTimeout: r.u16(),
        hardTimeout: r.u16(),
        packetCount: r.u64(),
        byteCount: r.u64(),
        match: readMatch(r),
      };
    case 'PORT_STATUS': {
      const reason = r.u8('reason');
      r.skip(7);
      return { type: name, xid, reason, desc: readPort(r) };
    }
    case 'PACKET_OUT': {
      const bufferId = r.u32('buffer_id');
      const inPort = r.u32('in_port');
      const actionsLen = r.u16('actions_len');
      r.skip(6);
      const actions = readActions(r.sub(actionsLen, `actions (actions_len ${actionsLen})`));
      return { type: name, xid, bufferId, inPort, actions, data: r.rest() };
    }
    case 'FLOW_MOD': {
      const cookie = r.u64('cookie');
      const cookieMask = r.u64('cookie_mask');
      const tableId = r.u8('table_id');
      const command = r.u8('command');
      const idleTimeout = r.u16();
      const hardTimeout = r.u16();
      const priority = r.u16();
      const bufferId = r.u32();
      const outPort = r.u32();
      const outGroup = r.u32();
      const flags = r.u16();
      r.skip(2);
      const match = readMatch(r);
      return {
        type: name,
        xid,
        cookie,
        cookieMask,
        tableId,
        command,
        idleTimeout,
        hardTimeout,
        priority,
        bufferId,
        outPort,
        outGroup,
        flags,
        match,
        instructions: readInstructions(r),
      };
    }
    case 'GROUP_MOD': {
      const command = r.u16('command');
      const groupType = r.u8('type');
      r.skip(1);
      const groupId = r.u32('group_id');
      return { type: name, xid, command, groupType, groupId, buckets: readBuckets(r) };
    }
    case 'PORT_MOD': {
      const portNo = r.u32('port_no');
      r.skip(4);
      const hwAddr = macToString(r.bytes(6, 'hw_addr'));
      r.skip(2);
      const config = r.u32('config');
      const mask = r.u32('mask');
      const advertise = r.u32('advertise');
      r.skip(4);
      return { type: name, xid, portNo, hwAddr, config, mask, advertise };
    }
    case 'TABLE_MOD': {
      const tableId = r.u8('table_id');
      r.skip(3);
      return { type: name, xid, tableId, config: r.u32('config') };
    }
    case 'METER_MOD': {
      const command = r.u16('command');
      const flags = r.u16('flags');
      const meterId = r.u32('meter_id');
      return { type: name, xid, command, flags, meterId, bands: readMeterBands(r) };
    }
    case 'MULTIPART_REQUEST':
    case 'MULTIPART_REPLY': {
      const mpType = r.u16('multipart type');
      const flags = r.u16('flags');
      r.skip(4);
      return name === 'MULTIPART_REQUEST'
        ? { type: name, xid, flags, body: readMultipartRequest(mpType, r) }
        : { type: name, xid, flags, body: readMultipartReply(mpType, r) };
    }
    case 'ROLE_REQUEST':
    case 'ROLE_REPLY': {
      const role = r.u32('role');
      r.skip(4);
      return { type: name, xid, role, generationId: r.u64('generation_id') };
    }
    case 'GET_ASYNC_REPLY':
    case 'SET_ASYNC':
      return {
        type: name,
        xid,
        packetInMask: [r.u32(), r.u32()],
        portStatusMask: [r.u32(), r.u32()],
        flowRemovedMask: [r.u32(), r.u32()],
      };
    default:
      return fault('UNSUPPORTED_TYPE', start + 1, `message type ${type} is not decoded by this codec`);
  }
}

function peekInnerLength(r: Reader): number {
  if (r.remaining < OFP_HEADER_LEN) fault('TRUNCATED', r.pos, 'embedded message needs an 8-byte ofp_header');
  const len = r.peekU16(r.pos + 2);
  if (len < OFP_HEADER_LEN) fault('BAD_LENGTH', r.pos + 2, `embedded ofp_header.length ${len} < 8`);
  if (len > r.remaining) fault('TRUNCATED', r.pos + 2, `embedded message of ${len} bytes, ${r.remaining} left`);
  return len;
}

// ---- encode --------------------------------------------------------------------------------

/**
 * Encodes one message. Throws EncodeError when a field does not fit its wire size or the
 * message would exceed 65535 bytes.
 */
export function encode(msg: OfpMessage): Buffer {
  const w = new Writer();
  writeMessage(w, msg);
  return w.finish();
}

function writePort(w: Writer, p: Port, what: string): void {
  w.u32(p.portNo, `${what}.portNo`).zeros(4);
  w.bytes(macFromString(p.hwAddr, `${what}.hwAddr`)).zeros(2);
  w.str(p.name, 16, `${what}.name`);
  w.u32(p.config, `${what}.config`).u32(p.state, `${what}.state`).u32(p.curr, `${what}.curr`);
  w.u32(p.advertised, `${what}.advertised`).u32(p.supported, `${what}.supported`).u32(p.peer, `${what}.peer`);
  w.u32(p.currSpeed, `${what}.currSpeed`).u32(p.maxSpeed, `${what}.maxSpeed`);
}

function writeFlowStatsRequest(w: Writer, q: FlowStatsRequest): void {
  w.u8(q.tableId, 'body.tableId').zeros(3).u32(q.outPort, 'body.outPort').u32(q.outGroup, 'body.outGroup').zeros(4);
  w.u64(q.cookie, 'body.cookie').u64(q.cookieMask, 'body.cookieMask');
  writeMatch(w, q.match, 'body.match');
}

function multipartCode(body: MultipartRequestBody | MultipartReplyBody): number {
  return body.kind === 'RAW' ? body.multipartType : MultipartType[body.kind];
}

function writeMultipartRequest(w: Writer, body: MultipartRequestBody): void {
  switch (body.kind) {
    case 'DESC':
    case 'TABLE':
    case 'PORT_DESC':
    case 'GROUP_DESC':
      return;
    case 'FLOW':
    case 'AGGREGATE':
      writeFlowStatsRequest(w, body);
      return;
    case 'PORT_STATS':
      w.u32(body.portNo, 'body.portNo').zeros(4);
      return;
    case 'GROUP':
      w.u32(body.groupId, 'body.groupId').zeros(4);
      return;
    case 'METER':
      w.u32(body.meterId, 'body.meterId').zeros(4);
      return;
    case 'RAW':
      w.bytes(body.data);
      return;
  }
}

function writeMultipartReply(w: Writer, body: MultipartReplyBody): void {
  switch (body.kind) {
    case 'DESC':
      w.str(body.mfrDesc, 256, 'body.mfrDesc').str(body.hwDesc, 256, 'body.hwDesc');
      w.str(body.swDesc, 256, 'body.swDesc').str(body.serialNum, 32, 'body.serialNum');
      w.str(body.dpDesc, 256, 'body.dpDesc');
      return;
    case 'FLOW':
      body.stats.forEach((s, i) => {
        const at = `body.stats[${i}]`;
        const start = w.pos;
        const lenAt = w.reserve16();
        w.u8(s.tableId, `${at}.tableId`).zeros(1).u32(s.durationSec, `${at}.durationSec`);
        w.u32(s.durationNsec, `${at}.durationNsec`).u16(s.priority, `${at}.priority`);
        w.u16(s.idleTimeout, `${at}.idleTimeout`).u16(s.hardTimeout, `${at}.hardTimeout`);
        w.u16(s.flags, `${at}.flags`).zeros(4).u64(s.cookie, `${at}.cookie`);
        w.u64(s.packetCount, `${at}.packetCount`).u64(s.byteCount, `${at}.byteCount`);
        writeMatch(w, s.match, `${at}.match`);
        writeInstructions(w, s.instructions, `${at}.instructions`);
        w.patch16(lenAt, w.pos - start, `${at}.length`);
      });
      return;
    case 'AGGREGATE':
      w.u64(body.packetCount, 'body.packetCount').u64(body.byteCount, 'body.byteCount');
      w.u32(body.flowCount, 'body.flowCount').zeros(4);
      return;
    case 'TABLE':
      body.stats.forEach((s, i) => {
        const at = `body.stats[${i}]`;
        w.u8(s.tableId, `${at}.tableId`).zeros(3).u32(s.activeCount, `${at}.activeCount`);
        w.u64(s.lookupCount, `${at}.lookupCount`).u64(s.matchedCount, `${at}.matchedCount`);
      });
      return;
    case 'PORT_STATS':
      body.stats.forEach((s, i) => {
        const at = `body.stats[${i}]`;
        w.u32(s.portNo, `${at}.portNo`).zeros(4);
        for (const k of [
          'rxPackets',
          'txPackets',
          'rxBytes',
          'txBytes',
          'rxDropped',
          'txDropped',
          'rxErrors',
          'txErrors',
          'rxFrameErr',
          'rxOverErr',
          'rxCrcErr',
          'collisions',
        ] as const) {
          w.u64(s[k], `${at}.${k}`);
        }
        w.u32(s.durationSec, `${at}.durationSec`).u32(s.durationNsec, `${at}.durationNsec`);
      });
      return;
    case 'PORT_DESC':
      body.ports.forEach((p, i) => writePort(w, p, `body.ports[${i}]`));
      return;
    case 'GROUP':
      body.stats.forEach((s, i) => {
        const at = `body.stats[${i}]`;
        const start = w.pos;
        const lenAt = w.reserve16();
        w.zeros(2).u32(s.groupId, `${at}.groupId`).u32(s.refCount, `${at}.refCount`).zeros(4);
        w.u64(s.packetCount, `${at}.packetCount`).u64(s.byteCount, `${at}.byteCount`);
        w.u32(s.durationSec, `${at}.durationSec`).u32(s.durationNsec, `${at}.durationNsec`);
        s.bucketStats.forEach((b, j) => {
          w.u64(b.packetCount, `${at}.bucketStats[${j}].packetCount`);
          w.u64(b.byteCount, `${at}.bucketStats[${j}].byteCount`);
        });
        w.patch16(lenAt, w.pos - start, `${at}.length`);
      });
      return;
    case 'GROUP_DESC':
      body.groups.forEach((g, i) => {
        const at = `body.groups[${i}]`;
        const start = w.pos;
        const lenAt = w.reserve16();
        w.u8(g.groupType, `${at}.groupType`).zeros(1).u32(g.groupId, `${at}.groupId`);
        writeBuckets(w, g.buckets, `${at}.buckets`);
        w.patch16(lenAt, w.pos - start, `${at}.length`);
      });
      return;
    case 'METER':
      body.stats.forEach((s, i) => {
        const at = `body.stats[${i}]`;
        const start = w.pos;
        w.u32(s.meterId, `${at}.meterId`);
        const lenAt = w.reserve16();
        w.zeros(6).u32(s.flowCount, `${at}.flowCount`);
        w.u64(s.packetInCount, `${at}.packetInCount`).u64(s.byteInCount, `${at}.byteInCount`);
        w.u32(s.durationSec, `${at}.durationSec`).u32(s.durationNsec, `${at}.durationNsec`);
        s.bandStats.forEach((b, j) => {
          w.u64(b.packetBandCount, `${at}.bandStats[${j}].packetBandCount`);
          w.u64(b.byteBandCount, `${at}.bandStats[${j}].byteBandCount`);
        });
        w.patch16(lenAt, w.pos - start, `${at}.len`);
      });
      return;
    case 'RAW':
      w.bytes(body.data);
      return;
  }
}

function wireType(msg: OfpMessage): number {
  if (msg.type === 'BUNDLE_CONTROL' || msg.type === 'BUNDLE_ADD_MESSAGE') return MessageType.EXPERIMENTER;
  const code = (MessageType as Record<string, number>)[msg.type];
  if (code === undefined) throw new EncodeError('type', `unknown message type ${String(msg.type)}`);
  return code;
}

export function writeMessage(w: Writer, msg: OfpMessage): void {
  const start = w.pos;
  w.u8(msg.type === 'HELLO' ? msg.version : OFP_VERSION, 'version');
  w.u8(wireType(msg));
  const lenAt = w.reserve16();
  w.u32(msg.xid, 'xid');
  switch (msg.type) {
    case 'HELLO':
      msg.elements.forEach((e, i) => {
        const elStart = w.pos;
        if (e.type === 'VERSIONBITMAP') {
          w.u16(HelloElemType.VERSIONBITMAP);
          const l = w.reserve16();
          e.bitmaps.forEach((b, j) => w.u32(b, `elements[${i}].bitmaps[${j}]`));
          w.patch16(l, w.pos - elStart, `elements[${i}].length`);
        } else {
          w.u16(e.elemType, `elements[${i}].elemType`);
          const l = w.reserve16();
          w.bytes(e.data);
          w.patch16(l, w.pos - elStart, `elements[${i}].length`);
        }
        w.pad8(elStart);
      });
      break;
    case 'ERROR':
      w.u16(msg.errorType, 'errorType').u16(msg.code, 'code');
      if (msg.errorType === ErrorType.EXPERIMENTER) {
        if (msg.experimenter === undefined) {
          throw new EncodeError('experimenter', 'an experimenter error (errorType 0xffff) needs an experimenter id');
        }
        w.u32(msg.experimenter, 'experimenter');
      }
      w.bytes(msg.data);
      break;
    case 'ECHO_REQUEST':
    case 'ECHO_REPLY':
      w.bytes(msg.data);
      break;
    case 'EXPERIMENTER':
      w.u32(msg.experimenter, 'experimenter').u32(msg.expType, 'expType').bytes(msg.data);
      break;
    case 'FEATURES_REQUEST':
    case 'GET_CONFIG_REQUEST':
    case 'BARRIER_REQUEST':
    case 'BARRIER_REPLY':
    case 'GET_ASYNC_REQUEST':
      break;
    case 'FEATURES_REPLY':
      w.u64(msg.datapathId, 'datapathId').u32(msg.nBuffers, 'nBuffers').u8(msg.nTables, 'nTables');
      w.u8(msg.auxiliaryId, 'auxiliaryId').zeros(2).u32(msg.capabilities, 'capabilities').u32(msg.reserved, 'reserved');
      break;
    case 'GET_CONFIG_REPLY':
    case 'SET_CONFIG':
      w.u16(msg.flags, 'flags').u16(msg.missSendLen, 'missSendLen');
      break;
    case 'PACKET_IN':
      w.u32(msg.bufferId, 'bufferId').u16(msg.totalLen, 'totalLen').u8(msg.reason, 'reason');
      w.u8(msg.tableId, 'tableId').u64(msg.cookie, 'cookie');
      writeMatch(w, msg.match);
      w.zeros(2).bytes(msg.data);
      break;
    case 'FLOW_REMOVED':
      w.u64(msg.cookie, 'cookie').u16(msg.priority, 'priority').u8(msg.reason, 'reason').u8(msg.tableId, 'tableId');
      w.u32(msg.durationSec, 'durationSec').u32(msg.durationNsec, 'durationNsec');
      w.u16(msg.idleTimeout, 'idleTimeout').u16(msg.hardTimeout, 'hardTimeout');
      w.u64(msg.packetCount, 'packetCount').u64(msg.byteCount, 'byteCount');
      writeMatch(w, msg.match);
      break;
    case 'PORT_STATUS':
      w.u8(msg.reason, 'reason').zeros(7);
      writePort(w, msg.desc, 'desc');
      break;
    case 'PACKET_OUT': {
      w.u32(msg.bufferId, 'bufferId').u32(msg.inPort, 'inPort');
      const actionsLenAt = w.reserve16();
      w.zeros(6);
      const actionsStart = w.pos;
      writeActions(w, msg.actions);
      w.patch16(actionsLenAt, w.pos - actionsStart, 'actions length');
      w.bytes(msg.data);
      break;
    }
    case 'FLOW_MOD':
      w.u64(msg.cookie, 'cookie').u64(msg.cookieMask, 'cookieMask').u8(msg.tableId, 'tableId');
      w.u8(msg.command, 'command').u16(msg.idleTimeout, 'idleTimeout').u16(msg.hardTimeout, 'hardTimeout');
      w.u16(msg.priority, 'priority').u32(msg.bufferId, 'bufferId').u32(msg.outPort, 'outPort');
      w.u32(msg.outGroup, 'outGroup').u16(msg.flags, 'flags').zeros(2);
      writeMatch(w, msg.match);
      writeInstructions(w, msg.instructions);
      break;
    case 'GROUP_MOD':
      w.u16(msg.command, 'command').u8(msg.groupType, 'groupType').zeros(1).u32(msg.groupId, 'groupId');
      writeBuckets(w, msg.buckets);
      break;
    case 'PORT_MOD':
      w.u32(msg.portNo, 'portNo').zeros(4).bytes(macFromString(msg.hwAddr, 'hwAddr')).zeros(2);
      w.u32(msg.config, 'config').u32(msg.mask, 'mask').u32(msg.advertise, 'advertise').zeros(4);
      break;
    case 'TABLE_MOD':
      w.u8(msg.tableId, 'tableId').zeros(3).u32(msg.config, 'config');
      break;
    case 'METER_MOD':
      w.u16(msg.command, 'command').u16(msg.flags, 'flags').u32(msg.meterId, 'meterId');
      writeMeterBands(w, msg.bands);
      break;
    case 'MULTIPART_REQUEST':
      w.u16(multipartCode(msg.body), 'body.multipartType').u16(msg.flags, 'flags').zeros(4);
      writeMultipartRequest(w, msg.body);
      break;
    case 'MULTIPART_REPLY':
      w.u16(multipartCode(msg.body), 'body.multipartType').u16(msg.flags, 'flags').zeros(4);
      writeMultipartReply(w, msg.body);
      break;
    case 'ROLE_REQUEST':
    case 'ROLE_REPLY':
      w.u32(msg.role, 'role').zeros(4).u64(msg.generationId, 'generationId');
      break;
    case 'GET_ASYNC_REPLY':
    case 'SET_ASYNC':
      for (const k of ['packetInMask', 'portStatusMask', 'flowRemovedMask'] as const) {
        w.u32(msg[k][0], `${k}[0]`).u32(msg[k][1], `${k}[1]`);
      }
      break;
    case 'BUNDLE_CONTROL':
      w.u32(ONF_EXPERIMENTER_ID).u32(OnfExpType.BUNDLE_CONTROL);
      w.u32(msg.bundleId, 'bundleId').u16(msg.bundleCtrlType, 'bundleCtrlType').u16(msg.flags, 'flags');
      w.bytes(msg.properties);
      break;
    case 'BUNDLE_ADD_MESSAGE': {
      w.u32(ONF_EXPERIMENTER_ID).u32(OnfExpType.BUNDLE_ADD_MESSAGE);
      w.u32(msg.bundleId, 'bundleId').zeros(2).u16(msg.flags, 'flags');
      if (msg.message.type === 'HELLO' && msg.message.version !== OFP_VERSION) {
        throw new EncodeError('message.version', 'the embedded message must be OpenFlow 1.3');
      }
      writeMessage(w, msg.message);
      if (msg.properties.length > 0) {
        w.pad8(start);
        w.bytes(msg.properties);
      }
      break;
    }
  }
  const len = w.pos - start;
  if (len > 0xffff) throw new EncodeError('length', `message of ${len} bytes exceeds 65535`);
  w.patch16(lenAt, len);
}
