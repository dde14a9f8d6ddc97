// OpenFlow 1.3 messages as a discriminated union on `type`. Field names are the spec's, in
// camelCase; codes and flags are numbers (use the `as const` tables in constants.ts); 64-bit
// fields are bigints. Padding is never represented: it is written as zeros and ignored on read.

import type { Action, Bucket, Instruction, MeterBand } from './actions';
import type { ErrorTypeName } from './constants';
import type { Match } from './oxm';

/** ofp_hello_elem_* (§7.5.1). The bitmap element is padded to 8 bytes on the wire. */
export type HelloElement =
  | { type: 'VERSIONBITMAP'; bitmaps: number[] }
  | { type: 'UNKNOWN'; elemType: number; data: Buffer };

/** ofp_port (§7.2.1), 64 bytes. */
export interface Port {
  portNo: number;
  hwAddr: string;
  name: string;
  config: number;
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  currSpeed: number;
  maxSpeed: number;
}

/** ofp_desc (§7.3.5.1). */
export interface SwitchDesc {
  mfrDesc: string;
  hwDesc: string;
  swDesc: string;
  serialNum: string;
  dpDesc: string;
}

/** Request body of OFPMP_FLOW and OFPMP_AGGREGATE: ofp_flow_stats_request (§7.3.5.2). */
export interface FlowStatsRequest {
  tableId: number;
  outPort: number;
  outGroup: number;
  cookie: bigint;
  cookieMask: bigint;
  match: Match;
}

/** ofp_flow_stats (§7.3.5.2). */
export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  instructions: Instruction[];
}

/** ofp_table_stats (§7.3.5.4). */
export interface TableStats {
  tableId: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}

/** ofp_port_stats (§7.3.5.6). */
export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  durationSec: number;
  durationNsec: number;
}

/** ofp_group_stats (§7.3.5.9), with its ofp_bucket_counter list. */
export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  bucketStats: { packetCount: bigint; byteCount: bigint }[];
}

/** ofp_group_desc (§7.3.5.10). */
export interface GroupDesc {
  groupType: number;
  groupId: number;
  buckets: Bucket[];
}

/** ofp_meter_stats (§7.3.5.12), with its ofp_meter_band_stats list. */
export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationSec: number;
  durationNsec: number;
  bandStats: { packetBandCount: bigint; byteBandCount: bigint }[];
}

/** ofp_multipart_request body by ofp_multipart_type (§7.3.5). */
export type MultipartRequestBody =
  | { kind: 'DESC' }
  | ({ kind: 'FLOW' } & FlowStatsRequest)
  | ({ kind: 'AGGREGATE' } & FlowStatsRequest)
  | { kind: 'TABLE' }
  | { kind: 'PORT_STATS'; portNo: number } // ofp_port_stats_request
  | { kind: 'PORT_DESC' }
  | { kind: 'GROUP'; groupId: number } // ofp_group_stats_request
  | { kind: 'GROUP_DESC' }
  | { kind: 'METER'; meterId: number } // ofp_meter_multipart_request
  /** Any other multipart type: the body bytes as they are. */
  | { kind: 'RAW'; multipartType: number; data: Buffer };

/** ofp_multipart_reply body by ofp_multipart_type (§7.3.5). */
export type MultipartReplyBody =
  | ({ kind: 'DESC' } & SwitchDesc)
  | { kind: 'FLOW'; stats: FlowStats[] }
  | { kind: 'AGGREGATE'; packetCount: bigint; byteCount: bigint; flowCount: number }
  | { kind: 'TABLE'; stats: TableStats[] }
  | { kind: 'PORT_STATS'; stats: PortStats[] }
  | { kind: 'PORT_DESC'; ports: Port[] }
  | { kind: 'GROUP'; stats: GroupStats[] }
  | { kind: 'GROUP_DESC'; groups: GroupDesc[] }
  | { kind: 'METER'; stats: MeterStats[] }
  | { kind: 'RAW'; multipartType: number; data: Buffer };

/** ofp_async_config (§7.3.10): [0] for master/equal role, [1] for slave role. */
export interface AsyncConfig {
  packetInMask: [number, number];
  portStatusMask: [number, number];
  flowRemovedMask: [number, number];
}

/** The message kinds that carry nothing but the header. */
export type EmptyMessageType =
  | 'FEATURES_REQUEST'
  | 'GET_CONFIG_REQUEST'
  | 'BARRIER_REQUEST'
  | 'BARRIER_REPLY'
  | 'GET_ASYNC_REQUEST';

/** One union member per message type (so `Extract<OfpMessage, { type: T }>` works for each). */
type Each<T extends string, B> = T extends unknown ? { type: T } & B : never;

export type OfpMessage =
  /** HELLO of any version (the header version takes part in negotiation, §6.3.1). */
  | { type: 'HELLO'; xid: number; version: number; elements: HelloElement[] }
  /**
   * ofp_error_msg, or ofp_error_experimenter_msg when errorType is 0xffff (then `code` is the
   * exp_type and `experimenter` is set). The names are filled in by decode when known and
   * ignored by encode.
   */
  | {
      type: 'ERROR';
      xid: number;
      errorType: number;
      code: number;
      experimenter?: number;
      data: Buffer;
      errorTypeName?: ErrorTypeName;
      codeName?: string;
    }
  | { type: 'ECHO_REQUEST'; xid: number; data: Buffer }
  | { type: 'ECHO_REPLY'; xid: number; data: Buffer }
  /** ofp_experimenter_header with any experimenter/exp_type other than the ONF bundle ones. */
  | { type: 'EXPERIMENTER'; xid: number; experimenter: number; expType: number; data: Buffer }
  | Each<EmptyMessageType, { xid: number }>
  | {
      type: 'FEATURES_REPLY';
      xid: number;
      datapathId: bigint;
      nBuffers: number;
      nTables: number;
      auxiliaryId: number;
      capabilities: number;
      reserved: number;
    }
  | Each<'GET_CONFIG_REPLY' | 'SET_CONFIG', { xid: number; flags: number; missSendLen: number }>
  | {
      type: 'PACKET_IN';
      xid: number;
      bufferId: number;
      totalLen: number;
      reason: number;
      tableId: number;
      cookie: bigint;
      match: Match;
      data: Buffer;
    }
  | {
      type: 'FLOW_REMOVED';
      xid: number;
      cookie: bigint;
      priority: number;
      reason: number;
      tableId: number;
      durationSec: number;
      durationNsec: number;
      idleTimeout: number;
      hardTimeout: number;
      packetCount: bigint;
      byteCount: bigint;
      match: Match;
    }
  | { type: 'PORT_STATUS'; xid: number; reason: number; desc: Port }
  | {
      type: 'PACKET_OUT';
      xid: number;
      bufferId: number;
      inPort: number;
      actions: Action[];
      data: Buffer;
    }
  | {
      type: 'FLOW_MOD';
      xid: number;
      cookie: bigint;
      cookieMask: bigint;
      tableId: number;
      command: number;
      idleTimeout: number;
      hardTimeout: number;
      priority: number;
      bufferId: number;
      outPort: number;
      outGroup: number;
      flags: number;
      match: Match;
      instructions: Instruction[];
    }
  | { type: 'GROUP_MOD'; xid: number; command: number; groupType: number; groupId: number; buckets: Bucket[] }
  | {
      type: 'PORT_MOD';
      xid: number;
      portNo: number;
      hwAddr: string;
      config: number;
      mask: number;
      advertise: number;
    }
  | { type: 'TABLE_MOD'; xid: number; tableId: number; config: number }
  | { type: 'METER_MOD'; xid: number; command: number; flags: number; meterId: number; bands: MeterBand[] }
  | { type: 'MULTIPART_REQUEST'; xid: number; flags: number; body: MultipartRequestBody }
  | { type: 'MULTIPART_REPLY'; xid: number; flags: number; body: MultipartReplyBody }
  | Each<'ROLE_REQUEST' | 'ROLE_REPLY', { xid: number; role: number; generationId: bigint }>
  | Each<'GET_ASYNC_REPLY' | 'SET_ASYNC', { xid: number } & AsyncConfig>
  /**
   * ONF bundle control (EXPERIMENTER, experimenter ONF, exp_type 2300) carrying
   * struct ofp14_bundle_ctrl_msg; `properties` are the raw ofp14_bundle_prop bytes.
   */
  | {
      type: 'BUNDLE_CONTROL';
      xid: number;
      bundleId: number;
      bundleCtrlType: number;
      flags: number;
      properties: Buffer;
    }
  /**
   * ONF bundle add (EXPERIMENTER, experimenter ONF, exp_type 2301): bundle id and flags, then a
   * whole OpenFlow 1.3 message whose xid equals the outer xid. The outer xid is `xid`; the inner
   * message's own xid is written as given, so keep them equal (OVS refuses a mismatch with
   * OFPBFC_MSG_BAD_XID).
   */
  | {
      type: 'BUNDLE_ADD_MESSAGE';
      xid: number;
      bundleId: number;
      flags: number;
      message: OfpMessage;
      properties: Buffer;
    };

export type OfpMessageType = OfpMessage['type'];
/** The message variant whose `type` is T. */
export type MessageOf<T extends OfpMessageType> = Extract<OfpMessage, { type: T }>;
