// Public entry of @sdmi/ovsdb: an RFC 7047 (OVSDB) client and typed Open_vSwitch helpers.
export { LockEvents, OvsdbClient } from './client';
export type { ClientOptions, LockEvent } from './client';
export { DEFAULT_OVSDB_TARGET, connectOvsdb, openTransport } from './connect';
export {
  isAtom,
  isNamedUuid,
  isUuid,
  mapEntries,
  mapRecord,
  namedUuid,
  optional,
  optionalValue,
  ovsMap,
  ovsSet,
  parseDatum,
  parseRow,
  setValues,
  uuid,
  uuidSet,
  uuidString,
} from './datum';
export type { Atom, Datum, NamedUuid, OvsMap, OvsSet, Row, Uuid } from './datum';
export {
  BridgeExists,
  BridgeNotFound,
  CommitFailed,
  ConnectFailed,
  ConnectionClosed,
  ConnectionLost,
  FramingError,
  InterfaceFailed,
  InvalidDatum,
  Misuse,
  OfportTimeout,
  OperationFailed,
  OvsdbError,
  PeerUnresponsive,
  PortExists,
  PortNotFound,
  ProtocolError,
  ReconfigureTimeout,
  RequestCanceled,
  RequestTimeout,
  RpcError,
} from './errors';
export { JsonStreamFramer } from './framer';
export type { Logger } from './logger';
export { Monitor } from './monitor';
export type { MonitorRequest, MonitorRequests, MonitorSelect, RowUpdate, TableUpdates } from './monitor';
export { Functions, Mutators, Op, where } from './operations';
export type {
  AbortOp,
  AssertOp,
  CommentOp,
  CommitOp,
  Condition,
  ConditionFunction,
  DeleteOp,
  InsertOp,
  MutateOp,
  Mutation,
  Mutator,
  Operation,
  OperationResult,
  SelectOp,
  UpdateOp,
  WaitOp,
} from './operations';
export { CANCEL_GRACE_MS, JsonRpcConnection } from './rpc';
export type { NotificationHandler, RequestOptions, RpcOptions } from './rpc';
export { AtomicTypes, parseSchema } from './schema';
export type { AtomicType, BaseType, ColumnSchema, ColumnType, DatabaseSchema, TableSchema } from './schema';
export { DatapathTypes, FailModes, InterfaceTypes, OPEN_VSWITCH_DB, OvsSwitch } from './switch';
export type {
  AddPortOptions,
  BridgeInfo,
  CreateBridgeOptions,
  DatapathType,
  FailMode,
  InterfaceInfo,
  InterfaceType,
  OvsSwitchOptions,
  PortHandle,
  PortInfo,
} from './switch';
export { connectTcp } from './tcp';
export { SocketTransport } from './transport';
export type { Connector, StreamSocketLike, Transport, TransportHandlers } from './transport';
export { DEFAULT_OVSDB_SOCKET, connectUnix } from './unix';
export type { ConnectOptions } from './unix';
