export {
  FramingError,
  NetconfError,
  ProtocolError,
  RpcError,
  RpcTimeout,
  SessionClosed,
  XmlBuildError,
} from './errors';
export type { RpcErrorDetail } from './errors';
export { Deframer, EOM, MAX_CHUNK_SIZE, encode, encodeChunked, encodeEom } from './framing';
export type { Framing } from './framing';
export {
  BASE_1_0,
  BASE_1_1,
  CAP_CANDIDATE,
  CAP_CONFIRMED_COMMIT_1_1,
  CAP_VALIDATE_1_1,
  NUDGE_MS,
  NetconfSession,
  PROBE,
  connectNetconf,
  operation,
  parseRpcError,
} from './session';
export type {
  DataReply,
  Datastore,
  DefaultOperation,
  EditOperation,
  ErrorOption,
  RpcReply,
  SessionOptions,
  SshOptions,
  TestOption,
} from './session';
export { ATTR, NETCONF_BASE_NS, asArray, buildXml, checkXmlText, checkXmlTree, escapeXml, isXmlName, parseXml, textOf } from './xml';
export type { ParsedXml, XmlTree, XmlValue } from './xml';
export { SDMI_VLAN_MODULE, SDMI_VLAN_NS, SDMI_VLAN_YANG } from './yang';
