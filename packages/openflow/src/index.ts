// @sdmi/openflow — OpenFlow 1.3 (wire version 0x04) codec. Pure: no sockets, no I/O.

export { decode, encode, peekHeader } from './codec';
export type { DecodeResult, OfpHeader } from './codec';
export { Framer } from './framer';
export type { FramerOptions } from './framer';
export { DecodeError, DecodeErrorReason, EncodeError } from './errors';
export {
  ActionType,
  BundleCtrlType,
  BundleFlags,
  Capabilities,
  ConfigFlags,
  ControllerMaxLen,
  ControllerRole,
  ErrorCode,
  ErrorType,
  FlowModCommand,
  FlowModFlags,
  FlowRemovedReason,
  Group,
  GroupModCommand,
  GroupType,
  HelloElemType,
  InstructionType,
  Ipv6ExtHdrFlags,
  MatchType,
  MessageType,
  Meter,
  MeterBandType,
  MeterFlags,
  MeterModCommand,
  MultipartFlags,
  MultipartType,
  NO_BUFFER,
  OFP_HEADER_LEN,
  OFP_MAX_MESSAGE_LEN,
  OFP_VERSION,
  ONF_EXPERIMENTER_ID,
  OnfExpType,
  OxmClass,
  PacketInReason,
  Port,
  PortConfig,
  PortFeatures,
  PortReason,
  PortState,
  Table,
  TableConfig,
  VlanId,
  errorNames,
} from './constants';
export type { ErrorTypeName, MessageTypeName } from './constants';
export { OxmField, ipv4FromString, ipv4ToString, ipv6FromString, ipv6ToString, macFromString, macToString } from './oxm';
export type { Match, Oxm, OxmBasic, OxmFieldName, OxmRaw } from './oxm';
export type { Action, Bucket, Instruction, MeterBand } from './actions';
export {
  CT_RECIRC_NONE,
  CtState,
  NX_IN_PORT,
  NX_VENDOR_ID,
  NxActionSubtype,
  NxCtFlags,
  NxNatFlags,
  NxNatRange,
  ctStateMatch,
  isNiciraAction,
  nxCt,
  nxNat,
  nxResubmit,
} from './nicira';
export type {
  CtStateFlag,
  NatRange,
  NiciraAction,
  NiciraActionType,
  NxCtAction,
  NxNatAction,
  NxResubmitTableAction,
} from './nicira';
export type {
  AsyncConfig,
  EmptyMessageType,
  FlowStats,
  FlowStatsRequest,
  GroupDesc,
  GroupStats,
  HelloElement,
  MessageOf,
  MeterStats,
  MultipartReplyBody,
  MultipartRequestBody,
  OfpMessage,
  OfpMessageType,
  Port as OfpPort,
  PortStats,
  SwitchDesc,
  TableStats,
} from './messages';
