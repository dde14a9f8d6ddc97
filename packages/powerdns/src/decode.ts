// Turns PowerDNS's JSON (unknown until checked) into the types of ./types. A field we expose that is
// missing or of the wrong type is a BadShape, which the client reports as UnexpectedResponse.
import { KeyType } from './types';
import type { CryptoKey, DnsRecord, RRset, ServerInfo, Zone, ZoneSummary } from './types';

export class BadShape extends Error {
  override name = 'BadShape';
}

type Obj = Record<string, unknown>;

function obj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadShape(`${at} is not an object`);
  return v as Obj;
}

function list(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new BadShape(`${at} is not an array`);
  return v;
}

function str(o: Obj, key: string, at: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new BadShape(`${at}.${key} is not a string`);
  return v;
}

function optStr(o: Obj, key: string, at: string): string {
  return o[key] === undefined ? '' : str(o, key, at);
}

function num(o: Obj, key: string, at: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadShape(`${at}.${key} is not a number`);
  return v;
}

function optNum(o: Obj, key: string, at: string): number {
  return o[key] === undefined ? 0 : num(o, key, at);
}

function bool(o: Obj, key: string, at: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new BadShape(`${at}.${key} is not a boolean`);
  return v;
}

export function decodeServer(v: unknown): ServerInfo {
  const o = obj(v, 'server');
  return { id: str(o, 'id', 'server'), daemonType: str(o, 'daemon_type', 'server'), version: str(o, 'version', 'server') };
}

export function decodeZoneSummary(v: unknown, at = 'zone'): ZoneSummary {
  const o = obj(v, at);
  return {
    id: str(o, 'id', at),
    name: str(o, 'name', at),
    kind: str(o, 'kind', at),
    serial: optNum(o, 'serial', at),
    editedSerial: optNum(o, 'edited_serial', at),
    notifiedSerial: optNum(o, 'notified_serial', at),
    dnssec: bool(o, 'dnssec', at),
    account: optStr(o, 'account', at),
  };
}

function decodeRecord(v: unknown, at: string): DnsRecord {
  const o = obj(v, at);
  return { content: str(o, 'content', at), disabled: bool(o, 'disabled', at) };
}

function decodeRRset(v: unknown, at: string): RRset {
  const o = obj(v, at);
  return {
    name: str(o, 'name', at),
    type: str(o, 'type', at),
    ttl: num(o, 'ttl', at),
    records: list(o.records, `${at}.records`).map((r, i) => decodeRecord(r, `${at}.records[${i}]`)),
  };
}

export function decodeZone(v: unknown): Zone {
  const o = obj(v, 'zone');
  return {
    ...decodeZoneSummary(o),
    apiRectify: o.api_rectify === undefined ? false : bool(o, 'api_rectify', 'zone'),
    soaEditApi: optStr(o, 'soa_edit_api', 'zone'),
    soaEdit: optStr(o, 'soa_edit', 'zone'),
    nsec3param: optStr(o, 'nsec3param', 'zone'),
    rrsets: list(o.rrsets, 'zone.rrsets').map((r, i) => decodeRRset(r, `zone.rrsets[${i}]`)),
  };
}

export function decodeZoneList(v: unknown): ZoneSummary[] {
  return list(v, 'zones').map((z, i) => decodeZoneSummary(z, `zones[${i}]`));
}

const KEY_TYPES: readonly string[] = Object.values(KeyType);

/** Drops `privatekey` on purpose (see CryptoKey). */
export function decodeCryptoKey(v: unknown, at = 'cryptokey'): CryptoKey {
  const o = obj(v, at);
  const keytype = str(o, 'keytype', at);
  if (!KEY_TYPES.includes(keytype)) throw new BadShape(`${at}.keytype is ${JSON.stringify(keytype)}, not one of ${KEY_TYPES.join(', ')}`);
  const dnskey = str(o, 'dnskey', at);
  const algorithmNumber = Number(dnskey.split(' ')[2]);
  if (!Number.isInteger(algorithmNumber)) throw new BadShape(`${at}.dnskey ${JSON.stringify(dnskey.slice(0, 20))} has no algorithm number`);
  return {
    id: num(o, 'id', at),
    keytype: keytype as KeyType,
    active: bool(o, 'active', at),
    published: o.published === undefined ? true : bool(o, 'published', at),
    algorithm: str(o, 'algorithm', at),
    algorithmNumber,
    bits: optNum(o, 'bits', at),
    flags: num(o, 'flags', at),
    dnskey,
    ds: o.ds === undefined ? [] : list(o.ds, `${at}.ds`).map((d, i) => {
      if (typeof d !== 'string') throw new BadShape(`${at}.ds[${i}] is not a string`);
      return d;
    }),
  };
}

export function decodeCryptoKeyList(v: unknown): CryptoKey[] {
  return list(v, 'cryptokeys').map((k, i) => decodeCryptoKey(k, `cryptokeys[${i}]`));
}

/** `{ kind, metadata: [...] }` → the values. */
export function decodeMetadata(v: unknown): string[] {
  const o = obj(v, 'metadata');
  return list(o.metadata, 'metadata.metadata').map((m, i) => {
    if (typeof m !== 'string') throw new BadShape(`metadata.metadata[${i}] is not a string`);
    return m;
  });
}

/** `{ count, result }` of a cache flush → the count. */
export function decodeFlush(v: unknown): number {
  return num(obj(v, 'flush'), 'count', 'flush');
}
