// Public entry of @sdmi/powerdns: a typed client of the PowerDNS Authoritative HTTP API.
export { PowerDnsClient } from './client';
export type { PowerDnsClientOptions } from './client';
export {
  InvalidClientOptions,
  InvalidDnsName,
  InvalidRequest,
  NameOutsideZone,
  PowerDnsClientError,
  PowerDnsError,
  PowerDnsUnreachable,
  UnexpectedResponse,
} from './errors';
export type { Logger } from './logger';
export { MAX_LABEL_LENGTH, MAX_NAME_LENGTH, absoluteName, isInZone, isValidLabel } from './names';
export { DnssecAlgorithm, KeyType, SoaEditApi, ZoneKind } from './types';
export type {
  CreateCryptoKeyRequest,
  CreateZoneRequest,
  CryptoKey,
  DeleteRRset,
  DnsRecord,
  RecordInput,
  ReplaceRRset,
  RRset,
  RRsetChange,
  ServerInfo,
  Zone,
  ZoneSummary,
} from './types';
