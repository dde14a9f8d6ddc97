// Wire codes of OpenFlow 1.3 (wire version 0x04), from the OpenFlow Switch Specification 1.3.5
// (ONF TS-023), section 7 "The OpenFlow Protocol" and its C header openflow.h. Section numbers in
// the comments refer to that document.

/** ofp_header.version for OpenFlow 1.3 (§7.1). */
export const OFP_VERSION = 0x04;
/** sizeof(struct ofp_header) (§7.1). */
export const OFP_HEADER_LEN = 8;
/** Largest value ofp_header.length can carry (a uint16). */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

/** ofp_type: message types (§7.1). */
export const MessageType = {
  // Immutable messages.
  HELLO: 0, // symmetric, version negotiation (§7.5.1)
  ERROR: 1, // symmetric (§7.5.4)
  ECHO_REQUEST: 2, // symmetric (§7.5.2)
  ECHO_REPLY: 3, // symmetric (§7.5.3)
  EXPERIMENTER: 4, // symmetric (§7.5.5)
  // Switch configuration messages.
  FEATURES_REQUEST: 5, // controller → switch (§7.3.1)
  FEATURES_REPLY: 6, // switch → controller (§7.3.1)
  GET_CONFIG_REQUEST: 7, // controller → switch (§7.3.2)
  GET_CONFIG_REPLY: 8, // switch → controller (§7.3.2)
  SET_CONFIG: 9, // controller → switch (§7.3.2)
  // Asynchronous messages.
  PACKET_IN: 10, // (§7.4.1)
  FLOW_REMOVED: 11, // (§7.4.2)
  PORT_STATUS: 12, // (§7.4.3)
  // Controller command messages.
  PACKET_OUT: 13, // (§7.3.7)
  FLOW_MOD: 14, // (§7.3.4.1)
  GROUP_MOD: 15, // (§7.3.4.2)
  PORT_MOD: 16, // (§7.3.4.3)
  TABLE_MOD: 17, // (§7.3.3)
  // Multipart messages.
  MULTIPART_REQUEST: 18, // (§7.3.5)
  MULTIPART_REPLY: 19, // (§7.3.5)
  // Barrier messages.
  BARRIER_REQUEST: 20, // (§7.3.8)
  BARRIER_REPLY: 21, // (§7.3.8)
  // Queue configuration messages.
  QUEUE_GET_CONFIG_REQUEST: 22, // (§7.3.6) — not decoded by this package
  QUEUE_GET_CONFIG_REPLY: 23, // (§7.3.6) — not decoded by this package
  // Controller role change request messages.
  ROLE_REQUEST: 24, // (§7.3.9)
  ROLE_REPLY: 25, // (§7.3.9)
  // Asynchronous message configuration.
  GET_ASYNC_REQUEST: 26, // (§7.3.10)
  GET_ASYNC_REPLY: 27, // (§7.3.10)
  SET_ASYNC: 28, // (§7.3.10)
  // Meters and rate limiters configuration messages.
  METER_MOD: 29, // (§7.3.4.4)
} as const;
export type MessageTypeName = keyof typeof MessageType;

/** ofp_hello_elem_type (§7.5.1). */
export const HelloElemType = {
  VERSIONBITMAP: 1, // bitmap of supported versions
} as const;

/** ofp_error_type (§7.5.4). */
export const ErrorType = {
  HELLO_FAILED: 0, // hello protocol failed
  BAD_REQUEST: 1, // request was not understood
  BAD_ACTION: 2, // error in action description
  BAD_INSTRUCTION: 3, // error in instruction list
  BAD_MATCH: 4, // error in match
  FLOW_MOD_FAILED: 5, // problem modifying flow entry
  GROUP_MOD_FAILED: 6, // problem modifying group entry
  PORT_MOD_FAILED: 7, // port mod request failed
  TABLE_MOD_FAILED: 8, // table mod request failed
  QUEUE_OP_FAILED: 9, // queue operation failed
  SWITCH_CONFIG_FAILED: 10, // switch config request failed
  ROLE_REQUEST_FAILED: 11, // controller role request failed
  METER_MOD_FAILED: 12, // error in meter
  TABLE_FEATURES_FAILED: 13, // setting table features failed
  EXPERIMENTER: 0xffff, // experimenter error messages (ofp_error_experimenter_msg)
} as const;
export type ErrorTypeName = keyof typeof ErrorType;

/** Error codes per error type (§7.5.4, enums ofp_*_code). */
export const ErrorCode = {
  HELLO_FAILED: {
    INCOMPATIBLE: 0, // no compatible version
    EPERM: 1, // permissions error
  },
  BAD_REQUEST: {
    BAD_VERSION: 0, // ofp_header.version not supported
    BAD_TYPE: 1, // ofp_header.type not supported
    BAD_MULTIPART: 2, // ofp_multipart_request.type not supported
    BAD_EXPERIMENTER: 3, // experimenter id not supported
    BAD_EXP_TYPE: 4, // experimenter type not supported
    EPERM: 5, // permissions error
    BAD_LEN: 6, // wrong request length for type
    BUFFER_EMPTY: 7, // specified buffer has already been used
    BUFFER_UNKNOWN: 8, // specified buffer does not exist
    BAD_TABLE_ID: 9, // specified table-id invalid or does not exist
    IS_SLAVE: 10, // denied because controller is slave
    BAD_PORT: 11, // invalid port
    BAD_PACKET: 12, // invalid packet in packet-out
    MULTIPART_BUFFER_OVERFLOW: 13, // multipart request overflowed the assigned buffer
  },
  BAD_ACTION: {
    BAD_TYPE: 0, // unknown or unsupported action type
    BAD_LEN: 1, // length problem in actions
    BAD_EXPERIMENTER: 2, // unknown experimenter id specified
    BAD_EXP_TYPE: 3, // unknown action for experimenter id
    BAD_OUT_PORT: 4, // problem validating output port
    BAD_ARGUMENT: 5, // bad action argument
    EPERM: 6, // permissions error
    TOO_MANY: 7, // can't handle this many actions
    BAD_QUEUE: 8, // problem validating output queue
    BAD_OUT_GROUP: 9, // invalid group id in forward action
    MATCH_INCONSISTENT: 10, // action can't apply for this match, or set-field missing prerequisite
    UNSUPPORTED_ORDER: 11, // action order is unsupported for the action list
    BAD_TAG: 12, // actions uses an unsupported tag/encap
    BAD_SET_TYPE: 13, // unsupported type in set-field action
    BAD_SET_LEN: 14, // length problem in set-field action
    BAD_SET_ARGUMENT: 15, // bad argument in set-field action
  },
  BAD_INSTRUCTION: {
    UNKNOWN_INST: 0, // unknown instruction
    UNSUP_INST: 1, // switch or table does not support the instruction
    BAD_TABLE_ID: 2, // invalid table-id specified
    UNSUP_METADATA: 3, // metadata value unsupported by datapath
    UNSUP_METADATA_MASK: 4, // metadata mask value unsupported by datapath
    BAD_EXPERIMENTER: 5, // unknown experimenter id specified
    BAD_EXP_TYPE: 6, // unknown instruction for experimenter id
    BAD_LEN: 7, // length problem in instructions
    EPERM: 8, // permissions error
  },
  BAD_MATCH: {
    BAD_TYPE: 0, // unsupported match type
    BAD_LEN: 1, // length problem in match
    BAD_TAG: 2, // match uses an unsupported tag/encap
    BAD_DL_ADDR_MASK: 3, // unsupported datalink addr mask
    BAD_NW_ADDR_MASK: 4, // unsupported network addr mask
    BAD_WILDCARDS: 5, // unsupported combination of fields masked or omitted
    BAD_FIELD: 6, // unsupported field type in the match
    BAD_VALUE: 7, // unsupported value in a match field
    BAD_MASK: 8, // unsupported mask specified in the match
    BAD_PREREQ: 9, // a prerequisite was not met
    DUP_FIELD: 10, // a field type was duplicated
    EPERM: 11, // permissions error
  },
  FLOW_MOD_FAILED: {
    UNKNOWN: 0, // unspecified error
    TABLE_FULL: 1, // flow not added because table was full
    BAD_TABLE_ID: 2, // table does not exist
    OVERLAP: 3, // attempted to add overlapping flow with CHECK_OVERLAP set
    EPERM: 4, // permissions error
    BAD_TIMEOUT: 5, // flow not added because of unsupported idle/hard timeout
    BAD_COMMAND: 6, // unsupported or unknown command
    BAD_FLAGS: 7, // unsupported or unknown flags
  },
  GROUP_MOD_FAILED: {
    GROUP_EXISTS: 0, // group not added because it already exists
    INVALID_GROUP: 1, // group not added because it is invalid
    WEIGHT_UNSUPPORTED: 2, // switch does not support unequal load sharing
    OUT_OF_GROUPS: 3, // the group table is full
    OUT_OF_BUCKETS: 4, // the maximum number of action buckets was exceeded
    CHAINING_UNSUPPORTED: 5, // switch does not support groups that forward to groups
    WATCH_UNSUPPORTED: 6, // this group cannot watch the watch_port or watch_group
    LOOP: 7, // group entry would cause a loop
    UNKNOWN_GROUP: 8, // group not modified because it does not exist
    CHAINED_GROUP: 9, // group not deleted because another group is forwarding to it
    BAD_TYPE: 10, // unsupported or unknown group type
    BAD_COMMAND: 11, // unsupported or unknown command
    BAD_BUCKET: 12, // error in bucket
    BAD_WATCH: 13, // error in watch port/group
    EPERM: 14, // permissions error
  },
  PORT_MOD_FAILED: {
    BAD_PORT: 0, // specified port number does not exist
    BAD_HW_ADDR: 1, // specified hardware address does not match the port number
    BAD_CONFIG: 2, // specified config is invalid
    BAD_ADVERTISE: 3, // specified advertise is invalid
    EPERM: 4, // permissions error
  },
  TABLE_MOD_FAILED: {
    BAD_TABLE: 0, // specified table does not exist
    BAD_CONFIG: 1, // specified config is invalid
    EPERM: 2, // permissions error
  },
  QUEUE_OP_FAILED: {
    BAD_PORT: 0, // invalid port (or port does not exist)
    BAD_QUEUE: 1, // queue does not exist
    EPERM: 2, // permissions error
  },
  SWITCH_CONFIG_FAILED: {
    BAD_FLAGS: 0, // specified flags is invalid
    BAD_LEN: 1, // specified len is invalid
    EPERM: 2, // permissions error
  },
  ROLE_REQUEST_FAILED: {
    STALE: 0, // stale message: old generation_id
    UNSUP: 1, // controller role change unsupported
    BAD_ROLE: 2, // invalid role
  },
  METER_MOD_FAILED: {
    UNKNOWN: 0, // unspecified error
    METER_EXISTS: 1, // meter not added because a meter ADD attempted to replace an existing meter
    INVALID_METER: 2, // meter not added because meter specified is invalid
    UNKNOWN_METER: 3, // meter not modified because it does not exist
    BAD_COMMAND: 4, // unsupported or unknown command
    BAD_FLAGS: 5, // flag configuration unsupported
    BAD_RATE: 6, // rate unsupported
    BAD_BURST: 7, // burst size unsupported
    BAD_BAND: 8, // band unsupported
    BAD_BAND_VALUE: 9, // band value unsupported
    OUT_OF_METERS: 10, // no more meters available
    OUT_OF_BANDS: 11, // the maximum number of properties for a meter has been exceeded
  },
  TABLE_FEATURES_FAILED: {
    BAD_TABLE: 0, // specified table does not exist
    BAD_METADATA: 1, // invalid metadata mask
    BAD_TYPE: 2, // unknown property type
    BAD_LEN: 3, // length problem in properties
    BAD_ARGUMENT: 4, // unsupported property value
    EPERM: 5, // permissions error
  },
} as const;

/** Names of an error type and code, when this package knows them (§7.5.4). */
export function errorNames(errorType: number, code: number): { errorTypeName?: ErrorTypeName; codeName?: string } {
  const typeName = (Object.keys(ErrorType) as ErrorTypeName[]).find((k) => ErrorType[k] === errorType);
  if (typeName === undefined) return {};
  if (typeName === 'EXPERIMENTER') return { errorTypeName: typeName };
  const codes: Record<string, number> = ErrorCode[typeName];
  const codeName = Object.keys(codes).find((k) => codes[k] === code);
  return codeName === undefined ? { errorTypeName: typeName } : { errorTypeName: typeName, codeName };
}

/** ofp_port_no: reserved port numbers (§7.2.1). */
export const Port = {
  MAX: 0xffffff00, // maximum number of physical and logical switch ports
  IN_PORT: 0xfffffff8, // send the packet out the input port
  TABLE: 0xfffffff9, // submit the packet to the first flow table (packet-out only)
  NORMAL: 0xfffffffa, // forward using non-OpenFlow pipeline
  FLOOD: 0xfffffffb, // flood using non-OpenFlow pipeline
  ALL: 0xfffffffc, // all standard ports except input port
  CONTROLLER: 0xfffffffd, // send to controller
  LOCAL: 0xfffffffe, // local openflow "port"
  ANY: 0xffffffff, // special value used in some requests when no port is specified (wildcarded)
} as const;

/** ofp_table: table numbering (§7.3.3). */
export const Table = {
  MAX: 0xfe, // last usable table number
  ALL: 0xff, // wildcard table used for table config, flow stats and flow deletes
} as const;

/** ofp_group: group numbering (§7.3.4.2). */
export const Group = {
  MAX: 0xffffff00, // last usable group number
  ALL: 0xfffffffc, // represents all groups for group delete commands
  ANY: 0xffffffff, // wildcard group used only for flow stats requests
} as const;

/** ofp_meter: meter numbering (§7.3.4.4). */
export const Meter = {
  MAX: 0xffff0000, // last usable meter
  SLOWPATH: 0xfffffffd, // meter for slow datapath
  CONTROLLER: 0xfffffffe, // meter for controller connection
  ALL: 0xffffffff, // represents all meters for stat requests commands
} as const;

/** OFP_NO_BUFFER: the packet is not buffered on the switch (§7.2.6.1, §7.3.4.1). */
export const NO_BUFFER = 0xffffffff;

/** ofp_controller_max_len (§7.2.5). */
export const ControllerMaxLen = {
  MAX: 0xffe5, // maximum max_len value which can be used to request a specific byte length
  NO_BUFFER: 0xffff, // the packet is not buffered and is sent whole to the controller
} as const;

/** ofp_capabilities: FEATURES_REPLY capabilities bits (§7.3.1). */
export const Capabilities = {
  FLOW_STATS: 1 << 0, // flow statistics
  TABLE_STATS: 1 << 1, // table statistics
  PORT_STATS: 1 << 2, // port statistics
  GROUP_STATS: 1 << 3, // group statistics
  IP_REASM: 1 << 5, // can reassemble IP fragments
  QUEUE_STATS: 1 << 6, // queue statistics
  PORT_BLOCKED: 1 << 8, // switch will block looping ports
} as const;

/** ofp_config_flags: switch configuration flags (§7.3.2). */
export const ConfigFlags = {
  FRAG_NORMAL: 0, // no special handling for fragments
  FRAG_DROP: 1 << 0, // drop fragments
  FRAG_REASM: 1 << 1, // reassemble (only if IP_REASM set)
  FRAG_MASK: 3,
} as const;

/** ofp_table_config (§7.3.3). */
export const TableConfig = {
  DEPRECATED_MASK: 3, // deprecated bits
} as const;

/** ofp_port_config: port administrative flags (§7.2.1). */
export const PortConfig = {
  PORT_DOWN: 1 << 0, // port is administratively down
  NO_RECV: 1 << 2, // drop all packets received by port
  NO_FWD: 1 << 5, // drop packets forwarded to port
  NO_PACKET_IN: 1 << 6, // do not send packet-in msgs for port
} as const;

/** ofp_port_state (§7.2.1). */
export const PortState = {
  LINK_DOWN: 1 << 0, // no physical link present
  BLOCKED: 1 << 1, // port is blocked
  LIVE: 1 << 2, // live for fast failover group
} as const;

/** ofp_port_features (§7.2.1). */
export const PortFeatures = {
  '10MB_HD': 1 << 0,
  '10MB_FD': 1 << 1,
  '100MB_HD': 1 << 2,
  '100MB_FD': 1 << 3,
  '1GB_HD': 1 << 4,
  '1GB_FD': 1 << 5,
  '10GB_FD': 1 << 6,
  '40GB_FD': 1 << 7,
  '100GB_FD': 1 << 8,
  '1TB_FD': 1 << 9,
  OTHER: 1 << 10, // other rate, not in the list
  COPPER: 1 << 11,
  FIBER: 1 << 12,
  AUTONEG: 1 << 13,
  PAUSE: 1 << 14,
  PAUSE_ASYM: 1 << 15,
} as const;

/** ofp_flow_mod_command (§7.3.4.1). */
export const FlowModCommand = {
  ADD: 0, // new flow
  MODIFY: 1, // modify all matching flows
  MODIFY_STRICT: 2, // modify entry strictly matching wildcards and priority
  DELETE: 3, // delete all matching flows
  DELETE_STRICT: 4, // delete entry strictly matching wildcards and priority
} as const;

/** ofp_flow_mod_flags (§7.3.4.1). */
export const FlowModFlags = {
  SEND_FLOW_REM: 1 << 0, // send flow removed message when flow expires or is deleted
  CHECK_OVERLAP: 1 << 1, // check for overlapping entries first
  RESET_COUNTS: 1 << 2, // reset flow packet and byte counts
  NO_PKT_COUNTS: 1 << 3, // don't keep track of packet count
  NO_BYT_COUNTS: 1 << 4, // don't keep track of byte count
} as const;

/** ofp_group_mod_command (§7.3.4.2). */
export const GroupModCommand = {
  ADD: 0, // new group
  MODIFY: 1, // modify all matching groups
  DELETE: 2, // delete all matching groups
} as const;

/** ofp_group_type (§7.3.4.2). */
export const GroupType = {
  ALL: 0, // all (multicast/broadcast) group
  SELECT: 1, // select group
  INDIRECT: 2, // indirect group
  FF: 3, // fast failover group
} as const;

/** ofp_meter_mod_command (§7.3.4.4). */
export const MeterModCommand = {
  ADD: 0, // new meter
  MODIFY: 1, // modify specified meter
  DELETE: 2, // delete specified meter
} as const;

/** ofp_meter_flags (§7.3.4.4). */
export const MeterFlags = {
  KBPS: 1 << 0, // rate value in kb/s (kilo-bit per second)
  PKTPS: 1 << 1, // rate value in packet/sec
  BURST: 1 << 2, // do burst size
  STATS: 1 << 3, // collect statistics
} as const;

/** ofp_meter_band_type (§7.3.4.4). */
export const MeterBandType = {
  DROP: 1, // drop packet
  DSCP_REMARK: 2, // remark DSCP in the IP header
  EXPERIMENTER: 0xffff, // experimenter meter band
} as const;

/** ofp_multipart_type (§7.3.5). */
export const MultipartType = {
  DESC: 0, // description of this OpenFlow switch
  FLOW: 1, // individual flow statistics
  AGGREGATE: 2, // aggregate flow statistics
  TABLE: 3, // flow table statistics
  PORT_STATS: 4, // port statistics
  QUEUE: 5, // queue statistics for a port (raw body here)
  GROUP: 6, // group counter statistics
  GROUP_DESC: 7, // group description
  GROUP_FEATURES: 8, // group features (raw body here)
  METER: 9, // meter statistics
  METER_CONFIG: 10, // meter configuration (raw body here)
  METER_FEATURES: 11, // meter features (raw body here)
  TABLE_FEATURES: 12, // table features (raw body here)
  PORT_DESC: 13, // port description
  EXPERIMENTER: 0xffff, // experimenter extension (raw body here)
} as const;

/** ofp_multipart_request_flags / ofp_multipart_reply_flags (§7.3.5). */
export const MultipartFlags = {
  MORE: 1 << 0, // more requests / replies to follow
} as const;

/** ofp_controller_role (§7.3.9). */
export const ControllerRole = {
  NOCHANGE: 0, // don't change current role
  EQUAL: 1, // default role, full access
  MASTER: 2, // full access, at most one master
  SLAVE: 3, // read-only access
} as const;

/** ofp_packet_in_reason (§7.4.1). */
export const PacketInReason = {
  NO_MATCH: 0, // no matching flow (table-miss flow entry)
  ACTION: 1, // action explicitly output to controller
  INVALID_TTL: 2, // packet has invalid TTL
} as const;

/** ofp_port_reason (§7.4.3). */
export const PortReason = {
  ADD: 0, // the port was added
  DELETE: 1, // the port was removed
  MODIFY: 2, // some attribute of the port has changed
} as const;

/** ofp_flow_removed_reason (§7.4.2). */
export const FlowRemovedReason = {
  IDLE_TIMEOUT: 0, // flow idle time exceeded idle_timeout
  HARD_TIMEOUT: 1, // time exceeded hard_timeout
  DELETE: 2, // evicted by a DELETE flow mod
  GROUP_DELETE: 3, // group was removed
} as const;

/** ofp_match_type (§7.2.2). Only OXM is valid in 1.3. */
export const MatchType = {
  STANDARD: 0, // deprecated (OpenFlow 1.1)
  OXM: 1, // OpenFlow Extensible Match
} as const;

/** ofp_oxm_class (§7.2.2.1). */
export const OxmClass = {
  NXM_0: 0x0000, // backward compatibility with NXM
  NXM_1: 0x0001, // backward compatibility with NXM
  OPENFLOW_BASIC: 0x8000, // basic class for OpenFlow
  EXPERIMENTER: 0xffff, // experimenter class
} as const;

/** OFPVID_PRESENT / OFPVID_NONE: vlan_vid flags (§7.2.2.7). */
export const VlanId = {
  PRESENT: 0x1000, // bit that indicates that a VLAN id is set
  NONE: 0x0000, // no VLAN id was set
} as const;

/** ofp_ipv6exthdr_flags (§7.2.2.8). */
export const Ipv6ExtHdrFlags = {
  NONEXT: 1 << 0, // "No next header" encountered
  ESP: 1 << 1, // Encrypted Sec Payload header present
  AUTH: 1 << 2, // Authentication header present
  DEST: 1 << 3, // 1 or 2 dest headers present
  FRAG: 1 << 4, // Fragment header present
  ROUTER: 1 << 5, // Router header present
  HOP: 1 << 6, // Hop-by-hop header present
  UNREP: 1 << 7, // Unexpected repeats encountered
  UNSEQ: 1 << 8, // Unexpected sequencing encountered
} as const;

/** ofp_instruction_type (§7.2.4). */
export const InstructionType = {
  GOTO_TABLE: 1, // setup the next table in the lookup pipeline
  WRITE_METADATA: 2, // setup the metadata field for use later in pipeline
  WRITE_ACTIONS: 3, // write the action(s) onto the datapath action set
  APPLY_ACTIONS: 4, // applies the action(s) immediately
  CLEAR_ACTIONS: 5, // clears all actions from the datapath action set
  METER: 6, // apply meter (rate limiter)
  EXPERIMENTER: 0xffff, // experimenter instruction
} as const;

/** ofp_action_type (§7.2.5). */
export const ActionType = {
  OUTPUT: 0, // output to switch port
  COPY_TTL_OUT: 11, // copy TTL "outwards" -- from next-to-outermost to outermost
  COPY_TTL_IN: 12, // copy TTL "inwards" -- from outermost to next-to-outermost
  SET_MPLS_TTL: 15, // MPLS TTL
  DEC_MPLS_TTL: 16, // decrement MPLS TTL
  PUSH_VLAN: 17, // push a new VLAN tag
  POP_VLAN: 18, // pop the outer VLAN tag
  PUSH_MPLS: 19, // push a new MPLS tag
  POP_MPLS: 20, // pop the outer MPLS tag
  SET_QUEUE: 21, // set queue id when outputting to a port
  GROUP: 22, // apply group
  SET_NW_TTL: 23, // IP TTL
  DEC_NW_TTL: 24, // decrement IP TTL
  SET_FIELD: 25, // set a header field using OXM TLV format
  PUSH_PBB: 26, // push a new PBB service tag (I-TAG)
  POP_PBB: 27, // pop the outer PBB service tag (I-TAG)
  EXPERIMENTER: 0xffff,
} as const;

// ---------------------------------------------------------------------------------------------
// ONF bundle extension for OpenFlow 1.3 (ONF EXT-230), as Open vSwitch implements it.
// Source: openvswitch/ovs include/openflow/openflow-1.4.h (enum ofp14_bundle_ctrl_type,
// enum ofp14_bundle_flags, struct ofp14_bundle_ctrl_msg) and lib/ofp-bundle.c
// (ofputil_encode_bundle_ctrl_request: OFPRAW_ONFT13_BUNDLE_CONTROL for OFP13_VERSION).

/** ONF experimenter id: "ONF\0" (include/openflow/openflow-common.h ONF_VENDOR_ID). */
export const ONF_EXPERIMENTER_ID = 0x4f4e4600;

/** exp_type values of the ONF experimenter messages used for bundles in OpenFlow 1.3. */
export const OnfExpType = {
  BUNDLE_CONTROL: 2300, // ONF_ET_BUNDLE_CONTROL, body ofp14_bundle_ctrl_msg
  BUNDLE_ADD_MESSAGE: 2301, // ONF_ET_BUNDLE_ADD_MESSAGE, body ofp14_bundle_ctrl_msg + message
} as const;

/** enum ofp14_bundle_ctrl_type (OpenFlow 1.4 §7.3.9.1). */
export const BundleCtrlType = {
  OPEN_REQUEST: 0,
  OPEN_REPLY: 1,
  CLOSE_REQUEST: 2,
  CLOSE_REPLY: 3,
  COMMIT_REQUEST: 4,
  COMMIT_REPLY: 5,
  DISCARD_REQUEST: 6,
  DISCARD_REPLY: 7,
} as const;

/** enum ofp14_bundle_flags (OpenFlow 1.4 §7.3.9.1). */
export const BundleFlags = {
  ATOMIC: 1 << 0, // execute atomically
  ORDERED: 1 << 1, // execute in specified order
} as const;
