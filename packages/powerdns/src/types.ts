// The requests and answers of the PowerDNS Authoritative HTTP API (api/v1) that this client uses,
// in camelCase. Names are always absolute, lower case, with the trailing dot.
// https://doc.powerdns.com/authoritative/http-api/

/** Zone kinds (https://doc.powerdns.com/authoritative/modes-of-operation.html). */
export const ZoneKind = {
  /** Replicated by the database backend, no AXFR/NOTIFY: what a single gsqlite3 or gpgsql setup wants. */
  Native: 'Native',
  /** Sends NOTIFY and serves AXFR to secondaries. */
  Master: 'Master',
} as const;
export type ZoneKind = (typeof ZoneKind)[keyof typeof ZoneKind];

/**
 * How PowerDNS bumps the SOA serial when the API changes a zone (SOA-EDIT-API metadata).
 * https://doc.powerdns.com/authoritative/dnsupdate.html#soa-edit-dnsupdate-settings
 */
export const SoaEditApi = {
  /** Today's date as YYYYMMDD01, incremented when that would not increase it. */
  Default: 'DEFAULT',
  /** Serial + 1. */
  Increase: 'INCREASE',
  /** Seconds since 1970. */
  Epoch: 'EPOCH',
  /** Follows the zone's SOA-EDIT. */
  SoaEdit: 'SOA-EDIT',
  /** SOA-EDIT, but never lower than serial + 1. */
  SoaEditIncrease: 'SOA-EDIT-INCREASE',
} as const;
export type SoaEditApi = (typeof SoaEditApi)[keyof typeof SoaEditApi];

/** DNSSEC key roles: a combined signing key (one key signs everything), or a KSK/ZSK pair. */
export const KeyType = { Csk: 'csk', Ksk: 'ksk', Zsk: 'zsk' } as const;
export type KeyType = (typeof KeyType)[keyof typeof KeyType];

/**
 * Algorithms for new keys, as the cryptokeys API names them; the comment gives the DNSSEC algorithm
 * number (https://www.iana.org/assignments/dns-sec-alg-numbers/).
 */
export const DnssecAlgorithm = {
  /** 13: ECDSA Curve P-256 with SHA-256, the choice. */
  EcdsaP256Sha256: 'ecdsa256',
  /** 14: ECDSA Curve P-384 with SHA-384. */
  EcdsaP384Sha384: 'ecdsa384',
  /** 15: Ed25519. */
  Ed25519: 'ed25519',
} as const;
export type DnssecAlgorithm = (typeof DnssecAlgorithm)[keyof typeof DnssecAlgorithm];

/** What the server says of itself (`GET /servers/{id}`). */
export interface ServerInfo {
  id: string;
  daemonType: string;
  version: string;
}

/** A zone as listed (`GET /servers/{id}/zones`): no records. */
export interface ZoneSummary {
  /** The zone's id in URLs; for the names this client accepts it equals `name`. */
  id: string;
  name: string;
  kind: string;
  serial: number;
  editedSerial: number;
  notifiedSerial: number;
  /** Whether the zone has at least one active cryptokey (it is signed). */
  dnssec: boolean;
  account: string;
}

/** One record of an RRset. */
export interface DnsRecord {
  content: string;
  disabled: boolean;
}

/** All records of one name and type, with their TTL. */
export interface RRset {
  name: string;
  type: string;
  ttl: number;
  records: DnsRecord[];
}

/** A zone with its records (`GET /servers/{id}/zones/{zone}`). */
export interface Zone extends ZoneSummary {
  /** Whether PowerDNS rectifies the zone after each API change (needed for DNSSEC: NSEC chains, auth bits). */
  apiRectify: boolean;
  soaEditApi: string;
  soaEdit: string;
  nsec3param: string;
  rrsets: RRset[];
}

export interface CreateZoneRequest {
  /** The zone's name, e.g. `t3f9a.sdmi.test` (the trailing dot is added). */
  name: string;
  /** Default Native. */
  kind?: ZoneKind;
  /** Names of the NS RRset PowerDNS creates at the apex; default none. */
  nameservers?: readonly string[];
  /** Default {@link SoaEditApi.Default}; PowerDNS's own default for API-created zones too. */
  soaEditApi?: SoaEditApi;
  /** Rectify after every API change; default true, as a signed zone needs it. */
  apiRectify?: boolean;
  /** Free text PowerDNS keeps with the zone: who owns it (dns-manager marks its zones with it). */
  account?: string;
}

/** A record given to {@link RRsetChange}: its content, or content and whether it is disabled. */
export type RecordInput = string | { content: string; disabled?: boolean };

/** Replace (or create) all records of `name`/`type` with `records`; an empty list removes them. */
export interface ReplaceRRset {
  changetype: 'REPLACE';
  name: string;
  type: string;
  ttl: number;
  records: readonly RecordInput[];
}

/** Remove all records of `name`/`type`. */
export interface DeleteRRset {
  changetype: 'DELETE';
  name: string;
  type: string;
}

export type RRsetChange = ReplaceRRset | DeleteRRset;

/**
 * A DNSSEC key of a zone. The private key, which PowerDNS returns when a key is created, is not
 * kept: nothing of ours needs it outside PowerDNS.
 */
export interface CryptoKey {
  id: number;
  keytype: KeyType;
  active: boolean;
  published: boolean;
  /** As PowerDNS spells it, e.g. `ECDSAP256SHA256`. */
  algorithm: string;
  /** The DNSSEC algorithm number from the DNSKEY, e.g. 13. */
  algorithmNumber: number;
  bits: number;
  /** 257 for a KSK or CSK (SEP bit), 256 for a ZSK. */
  flags: number;
  /** The DNSKEY RDATA, e.g. `257 3 13 kSHD…`. */
  dnskey: string;
  /** The DS RDATA for the parent, one per digest type, e.g. `49689 13 2 82da…`; empty for a ZSK. */
  ds: string[];
}

export interface CreateCryptoKeyRequest {
  /** Default csk. */
  keytype?: KeyType;
  /** Default true: the zone is signed at once. */
  active?: boolean;
  /** Default true. */
  published?: boolean;
  /** Default ECDSA P-256 (13). */
  algorithm?: DnssecAlgorithm;
}
