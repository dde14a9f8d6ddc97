// Byte vectors derived by hand from the structure layouts of the OpenFlow Switch Specification
// 1.3.5 (ONF TS-023) and, for bundles, from Open vSwitch's include/openflow/openflow-1.4.h
// (struct ofp14_bundle_ctrl_msg) and lib/ofp-bundle.c. Expected bytes are literal arrays here —
// never produced by the package's encoder.

import type { OfpMessage } from '@sdmi/openflow';

export interface Vector {
  name: string;
  bytes: Buffer;
  message: OfpMessage;
  /** Substrings `ovs-ofctl ofp-print` must show for these bytes, when cross-checked. */
  ovs?: string[];
}

const b = (...xs: number[]): Buffer => Buffer.from(xs);
const ff4 = [0xff, 0xff, 0xff, 0xff];
const z = (n: number): number[] => new Array<number>(n).fill(0);

// §7.3.4.2 ofp_group_mod + ofp_bucket + §7.2.5 ofp_action_output
const groupModBytes = b(
  0x04, 0x0f, 0x00, 0x30, 0x00, 0x00, 0x00, 0x03, // version 1.3, GROUP_MOD, length 48, xid 3
  0x00, 0x00, // command OFPGC_ADD
  0x01, 0x00, // type OFPGT_SELECT, pad
  0x00, 0x00, 0x00, 0x05, // group_id 5
  0x00, 0x20, 0x00, 0x0a, // ofp_bucket: len 32, weight 10
  ...ff4, ...ff4, // watch_port OFPP_ANY, watch_group OFPG_ANY
  ...z(4), // pad
  0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x03, // ofp_action_output: type 0, len 16, port 3
  0x00, 0x00, ...z(6), // max_len 0, pad 6
);
const groupMod: OfpMessage = {
  type: 'GROUP_MOD',
  xid: 3,
  command: 0,
  groupType: 1,
  groupId: 5,
  buckets: [{ weight: 10, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'OUTPUT', port: 3, maxLen: 0 }] }],
};

export const vectors: Vector[] = [
  {
    name: 'HELLO with a version bitmap (§7.5.1 ofp_hello, ofp_hello_elem_versionbitmap)',
    bytes: b(
      0x04, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, // version 1.3, HELLO, length 16, xid 1
      0x00, 0x01, 0x00, 0x08, // OFPHET_VERSIONBITMAP, length 8
      0x00, 0x00, 0x00, 0x12, // bitmap: bits 1 (1.0) and 4 (1.3)
    ),
    message: { type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', bitmaps: [0x12] }] },
  },
  {
    name: 'HELLO with a two-word bitmap, padded to 8 (§7.5.1: length excludes padding)',
    bytes: b(
      0x04, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x01, // version 1.3, HELLO, length 24, xid 1
      0x00, 0x01, 0x00, 0x0c, // OFPHET_VERSIONBITMAP, length 12
      0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, // bitmaps[0] = 1.3, bitmaps[1] = version 32
      ...z(4), // padding to 8, not counted in the element length
    ),
    message: { type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', bitmaps: [0x10, 0x01] }] },
  },
  {
    name: 'ONF BUNDLE_ADD_MESSAGE with a property: message padded to 8 first (openflow-1.4.h, ofp14_bundle_ctrl_msg)',
    bytes: b(
      0x04, 0x04, 0x00, 0x38, 0x00, 0x00, 0x00, 0x05, // version 1.3, EXPERIMENTER, length 56, xid 5
      0x4f, 0x4e, 0x46, 0x00, 0x00, 0x00, 0x08, 0xfd, // experimenter ONF, exp_type 2301
      0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, // bundle_id 2, type unused, flags ATOMIC
      0x04, 0x09, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x80, // embedded SET_CONFIG (12 bytes)
      ...z(4), // 0..7 bytes of padding to a 64-bit boundary, only because a property follows
      0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x23, 0x20, 0x00, 0x00, 0x00, 0x07, 0xca, 0xfe, 0xba, 0xbe, // ofp14_bundle_prop_experimenter, kept raw
    ),
    message: {
      type: 'BUNDLE_ADD_MESSAGE',
      xid: 5,
      bundleId: 2,
      flags: 1,
      message: { type: 'SET_CONFIG', xid: 5, flags: 0, missSendLen: 128 },
      properties: b(0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x23, 0x20, 0x00, 0x00, 0x00, 0x07, 0xca, 0xfe, 0xba, 0xbe),
    },
  },
  {
    name: 'ERROR FLOW_MOD_FAILED/TABLE_FULL (§7.5.4 ofp_error_msg)',
    bytes: b(
      0x04, 0x01, 0x00, 0x14, 0x00, 0x00, 0x00, 0x09, // version 1.3, ERROR, length 20, xid 9
      0x00, 0x05, 0x00, 0x01, // type OFPET_FLOW_MOD_FAILED, code OFPFMFC_TABLE_FULL
      0x04, 0x0e, 0x00, 0x80, 0x00, 0x00, 0x00, 0x07, // data: start of the offending request
    ),
    message: {
      type: 'ERROR',
      xid: 9,
      errorType: 5,
      code: 1,
      data: b(0x04, 0x0e, 0x00, 0x80, 0x00, 0x00, 0x00, 0x07),
      errorTypeName: 'FLOW_MOD_FAILED',
      codeName: 'TABLE_FULL',
    },
  },
  {
    name: 'experimenter ERROR (§7.5.4 ofp_error_experimenter_msg)',
    bytes: b(
      0x04, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x0a, // version 1.3, ERROR, length 16, xid 10
      0xff, 0xff, 0x00, 0x2a, // type OFPET_EXPERIMENTER, exp_type 42
      0x00, 0x00, 0x23, 0x20, // experimenter 0x2320 (Nicira)
    ),
    message: { type: 'ERROR', xid: 10, errorType: 0xffff, code: 42, experimenter: 0x2320, data: b(), errorTypeName: 'EXPERIMENTER' },
  },
  {
    name: 'ECHO_REQUEST with payload (§7.5.2)',
    bytes: b(0x04, 0x02, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x02, 0xde, 0xad, 0xbe, 0xef), // ECHO_REQUEST, length 12, xid 2, data
    message: { type: 'ECHO_REQUEST', xid: 2, data: b(0xde, 0xad, 0xbe, 0xef) },
  },
  {
    name: 'FEATURES_REPLY (§7.3.1 ofp_switch_features)',
    bytes: b(
      0x04, 0x06, 0x00, 0x20, 0x00, 0x00, 0x00, 0x04, // version 1.3, FEATURES_REPLY, length 32, xid 4
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa1, // datapath_id 0xa1
      0x00, 0x00, 0x01, 0x00, // n_buffers 256
      0xfe, 0x00, 0x00, 0x00, // n_tables 254, auxiliary_id 0, pad 2
      0x00, 0x00, 0x00, 0x4f, // capabilities FLOW|TABLE|PORT|GROUP_STATS|QUEUE_STATS
      0x00, 0x00, 0x00, 0x00, // reserved
    ),
    message: { type: 'FEATURES_REPLY', xid: 4, datapathId: 0xa1n, nBuffers: 256, nTables: 254, auxiliaryId: 0, capabilities: 0x4f, reserved: 0 },
  },
  {
    name: 'SET_CONFIG (§7.3.2 ofp_switch_config)',
    bytes: b(0x04, 0x09, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0xff, 0xff), // SET_CONFIG, length 12; flags FRAG_NORMAL, miss_send_len NO_BUFFER
    message: { type: 'SET_CONFIG', xid: 5, flags: 0, missSendLen: 0xffff },
  },
  {
    name: 'FLOW_MOD with OXM match and instructions (§7.3.4.1 ofp_flow_mod, §7.2.2 ofp_match, §7.2.4)',
    bytes: b(
      0x04, 0x0e, 0x00, 0x80, 0x00, 0x00, 0x00, 0x07, // version 1.3, FLOW_MOD, length 128, xid 7
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, // cookie 0x12
      ...z(8), // cookie_mask 0
      0x00, 0x00, // table_id 0, command OFPFC_ADD
      0x00, 0x1e, 0x00, 0x00, // idle_timeout 30, hard_timeout 0
      0x00, 0x64, // priority 100
      ...ff4, ...ff4, ...ff4, // buffer_id NO_BUFFER, out_port ANY, out_group ANY
      0x00, 0x01, 0x00, 0x00, // flags SEND_FLOW_REM, pad 2
      0x00, 0x01, 0x00, 0x1e, // ofp_match: type OFPMT_OXM, length 30
      0x80, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, // OXM IN_PORT = 1
      0x80, 0x00, 0x0a, 0x02, 0x08, 0x00, // OXM ETH_TYPE = 0x0800
      0x80, 0x00, 0x19, 0x08, 0x0a, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, // OXM IPV4_DST/HM = 10.0.0.0/255.255.255.0
      0x00, 0x00, // match padding to 8
      0x00, 0x04, 0x00, 0x28, ...z(4), // OFPIT_APPLY_ACTIONS, len 40, pad
      0x00, 0x19, 0x00, 0x10, // OFPAT_SET_FIELD, len 16
      0x80, 0x00, 0x06, 0x06, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, // OXM ETH_DST, pad 2
      0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, ...z(6), // OFPAT_OUTPUT port 2, max_len 0
      0x00, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, // OFPIT_GOTO_TABLE table 1
    ),
    message: {
      type: 'FLOW_MOD',
      xid: 7,
      cookie: 0x12n,
      cookieMask: 0n,
      tableId: 0,
      command: 0,
      idleTimeout: 30,
      hardTimeout: 0,
      priority: 100,
      bufferId: 0xffffffff,
      outPort: 0xffffffff,
      outGroup: 0xffffffff,
      flags: 1,
      match: [
        { field: 'IN_PORT', value: 1 },
        { field: 'ETH_TYPE', value: 0x0800 },
        { field: 'IPV4_DST', value: '10.0.0.0', mask: '255.255.255.0' },
      ],
      instructions: [
        {
          type: 'APPLY_ACTIONS',
          actions: [
            { type: 'SET_FIELD', field: { field: 'ETH_DST', value: '00:11:22:33:44:55' } },
            { type: 'OUTPUT', port: 2, maxLen: 0 },
          ],
        },
        { type: 'GOTO_TABLE', tableId: 1 },
      ],
    },
    ovs: [
      'OFPT_FLOW_MOD (OF1.3) (xid=0x7): ADD priority=100,ip,in_port=1,nw_dst=10.0.0.0/24 cookie:0x12 idle:30 send_flow_rem',
      'actions=set_field:00:11:22:33:44:55->eth_dst,output:2,goto_table:1',
    ],
  },
  {
    name: 'PACKET_IN (§7.4.1 ofp_packet_in)',
    bytes: b(
      0x04, 0x0a, 0x00, 0x3a, 0x00, 0x00, 0x00, 0x00, // version 1.3, PACKET_IN, length 58, xid 0
      ...ff4, // buffer_id NO_BUFFER
      0x00, 0x10, 0x00, 0x00, // total_len 16, reason NO_MATCH, table_id 0
      ...z(8), // cookie 0
      0x00, 0x01, 0x00, 0x0c, 0x80, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, ...z(4), // match IN_PORT=1, padded
      0x00, 0x00, // pad 2
      ...ff4, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x06, 0x00, 0x01, // data: frame start
    ),
    message: {
      type: 'PACKET_IN',
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 16,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'IN_PORT', value: 1 }],
      data: Buffer.from('ffffffffffff00112233445508060001', 'hex'),
    },
  },
  {
    name: 'PACKET_OUT (§7.3.7 ofp_packet_out)',
    bytes: b(
      0x04, 0x0d, 0x00, 0x40, 0x00, 0x00, 0x00, 0x03, // version 1.3, PACKET_OUT, length 64, xid 3
      ...ff4, // buffer_id NO_BUFFER
      0xff, 0xff, 0xff, 0xfd, // in_port CONTROLLER
      0x00, 0x18, ...z(6), // actions_len 24, pad 6
      0x00, 0x11, 0x00, 0x08, 0x81, 0x00, 0x00, 0x00, // OFPAT_PUSH_VLAN ethertype 0x8100
      0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0xff, 0xfb, 0x00, 0x00, ...z(6), // OFPAT_OUTPUT FLOOD
      ...ff4, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x06, 0x00, 0x01, // data
    ),
    message: {
      type: 'PACKET_OUT',
      xid: 3,
      bufferId: 0xffffffff,
      inPort: 0xfffffffd,
      actions: [
        { type: 'PUSH_VLAN', ethertype: 0x8100 },
        { type: 'OUTPUT', port: 0xfffffffb, maxLen: 0 },
      ],
      data: Buffer.from('ffffffffffff00112233445508060001', 'hex'),
    },
    ovs: ['OFPT_PACKET_OUT (OF1.3) (xid=0x3)', 'in_port=CONTROLLER', 'actions=push_vlan:0x8100,FLOOD'],
  },
  {
    name: 'GROUP_MOD select with one bucket (§7.3.4.2)',
    bytes: groupModBytes,
    message: groupMod,
    ovs: ['OFPT_GROUP_MOD (OF1.3) (xid=0x3)', 'ADD group_id=5,type=select,bucket=weight:10,actions=output:3'],
  },
  {
    name: 'METER_MOD with DROP and DSCP_REMARK bands (§7.3.4.4)',
    bytes: b(
      0x04, 0x1d, 0x00, 0x30, 0x00, 0x00, 0x00, 0x03, // version 1.3, METER_MOD, length 48, xid 3
      0x00, 0x00, 0x00, 0x05, // command OFPMC_ADD, flags KBPS|BURST
      0x00, 0x00, 0x00, 0x05, // meter_id 5
      0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x64, ...z(4), // DROP rate 1000 burst 100
      0x00, 0x02, 0x00, 0x10, 0x00, 0x00, 0x07, 0xd0, ...z(4), 0x01, 0x00, 0x00, 0x00, // DSCP_REMARK rate 2000 prec 1
    ),
    message: {
      type: 'METER_MOD',
      xid: 3,
      command: 0,
      flags: 5,
      meterId: 5,
      bands: [
        { type: 'DROP', rate: 1000, burstSize: 100 },
        { type: 'DSCP_REMARK', rate: 2000, burstSize: 0, precLevel: 1 },
      ],
    },
    ovs: ['OFPT_METER_MOD (OF1.3) (xid=0x3): ADD meter=5 kbps burst', 'type=drop rate=1000 burst_size=100', 'type=dscp_remark rate=2000 burst_size=0 prec_level=1'],
  },
  {
    name: 'MULTIPART_REQUEST PORT_STATS (§7.3.5.6 ofp_port_stats_request)',
    bytes: b(
      0x04, 0x12, 0x00, 0x18, 0x00, 0x00, 0x00, 0x0b, // version 1.3, MULTIPART_REQUEST, length 24, xid 11
      0x00, 0x04, 0x00, 0x00, ...z(4), // type OFPMP_PORT_STATS, flags 0, pad
      ...ff4, ...z(4), // port_no ANY, pad
    ),
    message: { type: 'MULTIPART_REQUEST', xid: 11, flags: 0, body: { kind: 'PORT_STATS', portNo: 0xffffffff } },
  },
  {
    name: 'MULTIPART_REPLY METER with the MORE flag (§7.3.5.12 ofp_meter_stats)',
    bytes: b(
      0x04, 0x13, 0x00, 0x48, 0x00, 0x00, 0x00, 0x0c, // version 1.3, MULTIPART_REPLY, length 72, xid 12
      0x00, 0x09, 0x00, 0x01, ...z(4), // type OFPMP_METER, flags REPLY_MORE, pad
      0x00, 0x00, 0x00, 0x05, 0x00, 0x38, ...z(6), // meter_id 5, len 56, pad 6
      0x00, 0x00, 0x00, 0x02, // flow_count 2
      ...z(7), 0x0a, // packet_in_count 10
      ...z(6), 0x03, 0xe8, // byte_in_count 1000
      0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, // duration 60 s, 0 ns
      ...z(7), 0x01, ...z(7), 0x40, // band: packet_band_count 1, byte_band_count 64
    ),
    message: {
      type: 'MULTIPART_REPLY',
      xid: 12,
      flags: 1,
      body: {
        kind: 'METER',
        stats: [
          {
            meterId: 5,
            flowCount: 2,
            packetInCount: 10n,
            byteInCount: 1000n,
            durationSec: 60,
            durationNsec: 0,
            bandStats: [{ packetBandCount: 1n, byteBandCount: 64n }],
          },
        ],
      },
    },
  },
  {
    name: 'ROLE_REQUEST MASTER (§7.3.9 ofp_role_request)',
    bytes: b(
      0x04, 0x18, 0x00, 0x18, 0x00, 0x00, 0x00, 0x0d, // version 1.3, ROLE_REQUEST, length 24, xid 13
      0x00, 0x00, 0x00, 0x02, ...z(4), // role OFPCR_ROLE_MASTER, pad
      ...z(7), 0x05, // generation_id 5
    ),
    message: { type: 'ROLE_REQUEST', xid: 13, role: 2, generationId: 5n },
  },
  {
    name: 'PORT_STATUS MODIFY with ofp_port (§7.4.3 ofp_port_status, §7.2.1 ofp_port)',
    bytes: b(
      0x04, 0x0c, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, // version 1.3, PORT_STATUS, length 80, xid 0
      0x02, ...z(7), // reason OFPPR_MODIFY, pad 7
      0x00, 0x00, 0x00, 0x01, ...z(4), // port_no 1, pad 4
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, // hw_addr, pad 2
      0x76, 0x65, 0x74, 0x68, 0x30, ...z(11), // name "veth0", NUL padded to 16
      0x00, 0x00, 0x00, 0x01, // config OFPPC_PORT_DOWN
      0x00, 0x00, 0x00, 0x04, // state OFPPS_LIVE
      0x00, 0x00, 0x28, 0x40, // curr 10GB_FD|COPPER|AUTONEG
      ...z(4), ...z(4), ...z(4), // advertised, supported, peer
      0x00, 0x98, 0x96, 0x80, // curr_speed 10000000 kbps
      0x00, 0x98, 0x96, 0x80, // max_speed
    ),
    message: {
      type: 'PORT_STATUS',
      xid: 0,
      reason: 2,
      desc: {
        portNo: 1,
        hwAddr: '02:00:00:00:00:01',
        name: 'veth0',
        config: 1,
        state: 4,
        curr: 0x2840,
        advertised: 0,
        supported: 0,
        peer: 0,
        currSpeed: 10_000_000,
        maxSpeed: 10_000_000,
      },
    },
    ovs: ['OFPT_PORT_STATUS (OF1.3) (xid=0x0): MOD: 1(veth0): addr:02:00:00:00:00:01', 'config:     PORT_DOWN', 'state:      LIVE', 'current:    10GB-FD COPPER AUTO_NEG'],
  },
  {
    name: 'FLOW_REMOVED idle timeout (§7.4.2 ofp_flow_removed)',
    bytes: b(
      0x04, 0x0b, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, // version 1.3, FLOW_REMOVED, length 64, xid 0
      ...z(7), 0x2a, // cookie 42
      0x00, 0x0a, 0x00, 0x01, // priority 10, reason OFPRR_IDLE_TIMEOUT, table_id 1
      0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x01, 0xf4, // duration 60 s 500 ns
      0x00, 0x1e, 0x00, 0x00, // idle_timeout 30, hard_timeout 0
      ...z(7), 0x03, ...z(6), 0x01, 0x26, // packet_count 3, byte_count 294
      0x00, 0x01, 0x00, 0x0a, 0x80, 0x00, 0x0a, 0x02, 0x08, 0x06, ...z(6), // match ETH_TYPE=0x0806, padded
    ),
    message: {
      type: 'FLOW_REMOVED',
      xid: 0,
      cookie: 42n,
      priority: 10,
      reason: 0,
      tableId: 1,
      durationSec: 60,
      durationNsec: 500,
      idleTimeout: 30,
      hardTimeout: 0,
      packetCount: 3n,
      byteCount: 294n,
      match: [{ field: 'ETH_TYPE', value: 0x0806 }],
    },
    ovs: ['OFPT_FLOW_REMOVED (OF1.3) (xid=0x0): priority=10,arp reason=idle table_id=1 cookie:0x2a duration60.0000005s idle30 pkts3 bytes294'],
  },
  {
    name: 'PORT_MOD (§7.3.4.3 ofp_port_mod)',
    bytes: b(
      0x04, 0x10, 0x00, 0x28, 0x00, 0x00, 0x00, 0x06, // version 1.3, PORT_MOD, length 40, xid 6
      0x00, 0x00, 0x00, 0x02, ...z(4), // port_no 2, pad
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, // hw_addr, pad 2
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // config PORT_DOWN, mask PORT_DOWN
      ...z(4), ...z(4), // advertise 0, pad
    ),
    message: { type: 'PORT_MOD', xid: 6, portNo: 2, hwAddr: '02:00:00:00:00:02', config: 1, mask: 1, advertise: 0 },
    ovs: ['OFPT_PORT_MOD (OF1.3) (xid=0x6): port: 2: addr:02:00:00:00:00:02', 'config: PORT_DOWN', 'mask:   PORT_DOWN'],
  },
  {
    name: 'TABLE_MOD (§7.3.3 ofp_table_mod)',
    bytes: b(0x04, 0x11, 0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0xff, 0x00, 0x00, 0x00, ...z(4)), // TABLE_MOD, length 16; table ALL, config 0
    message: { type: 'TABLE_MOD', xid: 8, tableId: 0xff, config: 0 },
  },
  {
    name: 'GET_ASYNC_REPLY (§7.3.10 ofp_async_config)',
    bytes: b(
      0x04, 0x1b, 0x00, 0x20, 0x00, 0x00, 0x00, 0x0f, // version 1.3, GET_ASYNC_REPLY, length 32, xid 15
      0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, // packet_in_mask master/equal NO_MATCH|ACTION, slave 0
      0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x07, // port_status_mask ADD|DELETE|MODIFY both
      0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, // flow_removed_mask
    ),
    message: { type: 'GET_ASYNC_REPLY', xid: 15, packetInMask: [3, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0] },
  },
  {
    name: 'MULTIPART_REQUEST FLOW (§7.3.5.2 ofp_flow_stats_request)',
    bytes: b(
      0x04, 0x12, 0x00, 0x38, 0x00, 0x00, 0x00, 0x10, // version 1.3, MULTIPART_REQUEST, length 56, xid 16
      0x00, 0x01, 0x00, 0x00, ...z(4), // type OFPMP_FLOW, flags 0, pad
      0xff, 0x00, 0x00, 0x00, // table_id ALL, pad 3
      ...ff4, ...ff4, ...z(4), // out_port ANY, out_group ANY, pad
      ...z(8), ...z(8), // cookie, cookie_mask
      0x00, 0x01, 0x00, 0x04, ...z(4), // empty match, padded
    ),
    message: {
      type: 'MULTIPART_REQUEST',
      xid: 16,
      flags: 0,
      body: { kind: 'FLOW', tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [] },
    },
    ovs: ['OFPST_FLOW request (OF1.3) (xid=0x10):'],
  },
  {
    name: 'MULTIPART_REPLY FLOW with instructions (§7.3.5.2 ofp_flow_stats)',
    bytes: b(
      0x04, 0x13, 0x00, 0x70, 0x00, 0x00, 0x00, 0x10, // version 1.3, MULTIPART_REPLY, length 112, xid 16
      0x00, 0x01, 0x00, 0x00, ...z(4), // type OFPMP_FLOW, flags 0, pad
      0x00, 0x60, 0x00, 0x00, // length 96 (48 + match 8 + instructions 40), table_id 0, pad
      0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, // duration 5 s
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // priority 0, idle 0, hard 0, flags 0
      ...z(4), ...z(8), // pad, cookie
      ...z(7), 0x02, ...z(7), 0x80, // packet_count 2, byte_count 128
      0x00, 0x01, 0x00, 0x04, ...z(4), // empty match
      0x00, 0x02, 0x00, 0x18, ...z(4), // OFPIT_WRITE_METADATA len 24, pad
      ...z(7), 0x01, ...z(7), 0xff, // metadata 1, mask 0xff
      0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, // OFPIT_METER meter 1
      0x00, 0x05, 0x00, 0x08, ...z(4), // OFPIT_CLEAR_ACTIONS
    ),
    message: {
      type: 'MULTIPART_REPLY',
      xid: 16,
      flags: 0,
      body: {
        kind: 'FLOW',
        stats: [
          {
            tableId: 0,
            durationSec: 5,
            durationNsec: 0,
            priority: 0,
            idleTimeout: 0,
            hardTimeout: 0,
            flags: 0,
            cookie: 0n,
            packetCount: 2n,
            byteCount: 128n,
            match: [],
            instructions: [
              { type: 'WRITE_METADATA', metadata: 1n, metadataMask: 0xffn },
              { type: 'METER', meterId: 1 },
              { type: 'CLEAR_ACTIONS' },
            ],
          },
        ],
      },
    },
    ovs: ['OFPST_FLOW reply (OF1.3) (xid=0x10):', 'duration=5s, table=0, n_packets=2, n_bytes=128, priority=0 actions=meter:1,clear_actions,write_metadata:0x1/0xff'],
  },
  {
    name: 'BARRIER_REQUEST (§7.3.8)',
    bytes: b(0x04, 0x14, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0e), // version 1.3, BARRIER_REQUEST, length 8, xid 14
    message: { type: 'BARRIER_REQUEST', xid: 14 },
  },
  {
    name: 'ONF BUNDLE_CONTROL COMMIT_REQUEST (ofp14_bundle_ctrl_msg in an ONF experimenter header)',
    bytes: b(
      0x04, 0x04, 0x00, 0x18, 0x00, 0x00, 0x00, 0x03, // version 1.3, EXPERIMENTER, length 24, xid 3
      0x4f, 0x4e, 0x46, 0x00, // experimenter ONF ("ONF\0")
      0x00, 0x00, 0x08, 0xfc, // exp_type 2300 ONF_ET_BUNDLE_CONTROL
      0x00, 0x00, 0x00, 0x01, // bundle_id 1
      0x00, 0x04, 0x00, 0x01, // type OFPBCT_COMMIT_REQUEST, flags ATOMIC
    ),
    message: { type: 'BUNDLE_CONTROL', xid: 3, bundleId: 1, bundleCtrlType: 4, flags: 1, properties: b() },
    ovs: ['ONFT_BUNDLE_CONTROL (OF1.3) (xid=0x3)', 'bundle_id=0x1 type=COMMIT_REQUEST flags=atomic'],
  },
  {
    name: 'ONF BUNDLE_ADD_MESSAGE carrying a GROUP_MOD (lib/ofp-bundle.c ofputil_encode_bundle_add)',
    bytes: b(
      0x04, 0x04, 0x00, 0x48, 0x00, 0x00, 0x00, 0x03, // version 1.3, EXPERIMENTER, length 72, xid 3 (= inner xid)
      0x4f, 0x4e, 0x46, 0x00, // experimenter ONF
      0x00, 0x00, 0x08, 0xfd, // exp_type 2301 ONF_ET_BUNDLE_ADD_MESSAGE
      0x00, 0x00, 0x00, 0x01, // bundle_id 1
      0x00, 0x00, 0x00, 0x03, // type (unused, zero), flags ATOMIC|ORDERED
      ...groupModBytes, // the embedded message, unpadded, no properties
    ),
    message: { type: 'BUNDLE_ADD_MESSAGE', xid: 3, bundleId: 1, flags: 3, message: groupMod, properties: b() },
    ovs: ['ONFT_BUNDLE_ADD_MESSAGE (OF1.3) (xid=0x3)', 'bundle_id=0x1 flags=atomic ordered', 'OFPT_GROUP_MOD (OF1.3) (xid=0x3)'],
  },
];
