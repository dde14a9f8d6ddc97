import { isIPv4, isIPv6 } from 'node:net';
import {
  BadShape,
  decodeCryptoKey,
  decodeCryptoKeyList,
  decodeFlush,
  decodeMetadata,
  decodeServer,
  decodeZone,
  decodeZoneList,
} from './decode';
import {
  InvalidClientOptions,
  InvalidRequest,
  PowerDnsError,
  PowerDnsUnreachable,
  UnexpectedResponse,
} from './errors';
import { silentLogger } from './logger';
import type { Logger } from './logger';
import { absoluteName, nameInZone } from './names';
import { DnssecAlgorithm, KeyType, SoaEditApi, ZoneKind } from './types';
import type {
  CreateCryptoKeyRequest,
  CreateZoneRequest,
  CryptoKey,
  RecordInput,
  RRsetChange,
  ServerInfo,
  Zone,
  ZoneSummary,
} from './types';

export interface PowerDnsClientOptions {
  /** Where the webserver listens, e.g. `http://127.0.0.1:8081` (the client adds `/api/v1`). */
  baseUrl: string;
  /** The `api-key` of pdns.conf, sent as `X-API-Key`. Never logged, never in an error. */
  apiKey: string;
  /** Default `localhost`, the only server id of an Authoritative Server. */
  serverId?: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  logger?: Logger;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Wire form of an RRset in a PATCH. */
interface WireRRset {
  name: string;
  type: string;
  changetype: 'REPLACE' | 'DELETE';
  ttl?: number;
  records?: { content: string; disabled: boolean }[];
}

const MAX_TTL = 2 ** 31 - 1; // RFC 2181 §8
const RECORD_TYPE = /^[A-Z][A-Z0-9]*$/;
// PowerDNS makes these itself from the zone's keys; records of these types sent by us would be wrong.
const DNSSEC_MANAGED = new Set(['DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM', 'CDS', 'CDNSKEY']);
// Types whose content is one domain name: normalised like owner names, so `ns1.example` works.
const NAME_CONTENT = new Set(['NS', 'CNAME', 'PTR', 'DNAME']);
const ZONE_KINDS: readonly string[] = Object.values(ZoneKind);
const SOA_EDITS: readonly string[] = Object.values(SoaEditApi);
const KEY_TYPES: readonly string[] = Object.values(KeyType);
const ALGORITHMS: readonly string[] = Object.values(DnssecAlgorithm);
// Metadata kinds are upper-case words with hyphens (SOA-EDIT-API, X-… for our own).
const METADATA_KIND = /^[A-Z0-9]+(?:-[A-Z0-9]+)*$/;

function checkRecordType(type: string, where: string): string {
  if (typeof type !== 'string' || !RECORD_TYPE.test(type.toUpperCase())) {
    throw new InvalidRequest(where, `record type ${JSON.stringify(type)} is not a type mnemonic such as A, AAAA, SRV`);
  }
  const t = type.toUpperCase();
  if (DNSSEC_MANAGED.has(t)) throw new InvalidRequest(where, `${t} records are made by PowerDNS from the zone's cryptokeys, not sent`);
  return t;
}

function checkTtl(ttl: number, where: string): number {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) throw new InvalidRequest(where, `TTL ${ttl} is not an integer from 0 to ${MAX_TTL}`);
  return ttl;
}

function checkContent(type: string, record: RecordInput, where: string): { content: string; disabled: boolean } {
  const r = typeof record === 'string' ? { content: record, disabled: false } : { content: record.content, disabled: record.disabled ?? false };
  if (typeof r.content !== 'string' || r.content.trim() === '') throw new InvalidRequest(where, 'record content is empty');
  if (/[\r\n\0]/.test(r.content)) throw new InvalidRequest(where, `record content ${JSON.stringify(r.content)} holds a line break or NUL`);
  if (type === 'A' && !isIPv4(r.content)) throw new InvalidRequest(where, `A record content ${JSON.stringify(r.content)} is not an IPv4 address`);
  if (type === 'AAAA' && !isIPv6(r.content)) throw new InvalidRequest(where, `AAAA record content ${JSON.stringify(r.content)} is not an IPv6 address`);
  if (NAME_CONTENT.has(type)) r.content = absoluteName(r.content, where);
  return r;
}

function describeFailure(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  const cause = e instanceof Error ? e.cause : undefined;
  if (cause instanceof Error) return `${e instanceof Error ? e.message : String(e)} (${cause.message})`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * A client of the PowerDNS Authoritative HTTP API: zones, RRsets, DNSSEC keys, rectify, metadata.
 * Every name is normalised to lower case with a trailing dot and checked before any request; the
 * API key is kept in a private field (not printed with the object) and sent only as a header.
 */
export class PowerDnsClient {
  readonly baseUrl: string;
  readonly serverId: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #log: Logger;

  constructor(options: PowerDnsClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new InvalidClientOptions('baseUrl', `${JSON.stringify(options.baseUrl)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidClientOptions('baseUrl', `${url.protocol} is not http: or https:`);
    if (url.username || url.password) throw new InvalidClientOptions('baseUrl', 'credentials do not belong in the URL: pass apiKey');
    if (typeof options.apiKey !== 'string' || options.apiKey === '') throw new InvalidClientOptions('apiKey', 'it is empty');
    if (/[\r\n]/.test(options.apiKey)) throw new InvalidClientOptions('apiKey', 'it holds a line break');
    const serverId = options.serverId ?? 'localhost';
    if (!/^[A-Za-z0-9._-]+$/.test(serverId)) throw new InvalidClientOptions('serverId', `${JSON.stringify(serverId)} is not a server id`);
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidClientOptions('timeoutMs', `${timeoutMs} is not a positive number of milliseconds`);
    this.baseUrl = url.origin + url.pathname.replace(/\/+$/, '');
    this.serverId = serverId;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = timeoutMs;
    this.#log = options.logger ?? silentLogger;
  }

  /** Sends one request; resolves with the parsed body (undefined when there is none). */
  async #call(operation: string, method: Method, path: string, body?: unknown): Promise<unknown> {
    const fullPath = `/api/v1/servers/${this.serverId}${path}`;
    const headers: Record<string, string> = { 'X-API-Key': this.#apiKey, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}${fullPath}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (e) {
      this.#log.warn({ operation, method, path: fullPath, err: describeFailure(e, this.#timeoutMs) }, 'PowerDNS API unreachable');
      throw new PowerDnsUnreachable(operation, this.baseUrl, describeFailure(e, this.#timeoutMs), { cause: e });
    }
    this.#log.debug({ operation, method, path: fullPath, status: response.status }, 'PowerDNS API');
    if (!response.ok) {
      let pdnsError = text.trim().slice(0, 500);
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed === 'object' && parsed !== null && 'error' in parsed && typeof parsed.error === 'string') pdnsError = parsed.error;
      } catch {
        // not JSON (404 "Not Found", 401 "Unauthorized"): the body is the message
      }
      throw new PowerDnsError(operation, method, fullPath, response.status, pdnsError);
    }
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UnexpectedResponse(operation, method, fullPath, `body is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
    }
  }

  async #decoded<T>(operation: string, method: Method, path: string, body: unknown, decode: (v: unknown) => T): Promise<T> {
    const v = await this.#call(operation, method, path, body);
    try {
      return decode(v);
    } catch (e) {
      if (e instanceof BadShape) throw new UnexpectedResponse(operation, method, `/api/v1/servers/${this.serverId}${path}`, e.message);
      throw e;
    }
  }

  static #zonePath(zone: string): string {
    return `/zones/${encodeURIComponent(zone)}`;
  }

  /** The server's id, daemon type and version. */
  async server(): Promise<ServerInfo> {
    return this.#decoded('server info', 'GET', '', undefined, decodeServer);
  }

  /** All zones (without records). */
  async listZones(): Promise<ZoneSummary[]> {
    return this.#decoded('list zones', 'GET', '/zones', undefined, decodeZoneList);
  }

  /** One zone with its RRsets; a PowerDnsError with status 404 when there is no such zone. */
  async getZone(name: string): Promise<Zone> {
    const zone = absoluteName(name, 'getZone: name');
    return this.#decoded(`get zone ${zone}`, 'GET', PowerDnsClient.#zonePath(zone), undefined, decodeZone);
  }

  /** Like {@link getZone}, but undefined when PowerDNS has no such zone. */
  async findZone(name: string): Promise<Zone | undefined> {
    try {
      return await this.getZone(name);
    } catch (e) {
      if (e instanceof PowerDnsError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Creates a zone (Native, SOA-EDIT-API DEFAULT, api_rectify on, unless asked otherwise). */
  async createZone(request: CreateZoneRequest): Promise<Zone> {
    const zone = absoluteName(request.name, 'createZone: name');
    const kind = request.kind ?? ZoneKind.Native;
    if (!ZONE_KINDS.includes(kind)) throw new InvalidRequest('createZone: kind', `${JSON.stringify(kind)} is not one of ${ZONE_KINDS.join(', ')}`);
    const soaEditApi = request.soaEditApi ?? SoaEditApi.Default;
    if (!SOA_EDITS.includes(soaEditApi)) {
      throw new InvalidRequest('createZone: soaEditApi', `${JSON.stringify(soaEditApi)} is not one of ${SOA_EDITS.join(', ')}`);
    }
    const nameservers = (request.nameservers ?? []).map((ns, i) => absoluteName(ns, `createZone: nameservers[${i}]`));
    const body = {
      name: zone,
      kind,
      nameservers,
      soa_edit_api: soaEditApi,
      api_rectify: request.apiRectify ?? true,
      ...(request.account !== undefined ? { account: request.account } : {}),
    };
    return this.#decoded(`create zone ${zone}`, 'POST', '/zones', body, decodeZone);
  }

  /** Deletes a zone with all its records, keys and metadata. */
  async deleteZone(name: string): Promise<void> {
    const zone = absoluteName(name, 'deleteZone: name');
    await this.#call(`delete zone ${zone}`, 'DELETE', PowerDnsClient.#zonePath(zone));
  }

  /**
   * Applies RRset changes to a zone in one PATCH: PowerDNS applies all of them or none. Every name
   * must be in the zone, every (name, type) appear once; all is checked before the request.
   */
  async patchRRsets(zoneName: string, changes: readonly RRsetChange[]): Promise<void> {
    const zone = absoluteName(zoneName, 'patchRRsets: zone');
    if (!Array.isArray(changes as unknown) || changes.length === 0) throw new InvalidRequest('patchRRsets: changes', 'there are no changes');
    const seen = new Set<string>();
    const rrsets: WireRRset[] = changes.map((c, i) => {
      const where = `patchRRsets(${zone}): changes[${i}]`;
      const name = nameInZone(c.name, zone, `${where}.name`);
      const type = checkRecordType(c.type, `${where}.type`);
      const key = `${name} ${type}`;
      if (seen.has(key)) throw new InvalidRequest(where, `${name} ${type} is changed twice in one request`);
      seen.add(key);
      if (c.changetype === 'DELETE') return { name, type, changetype: 'DELETE' };
      if (c.changetype !== 'REPLACE') throw new InvalidRequest(`${where}.changetype`, `${JSON.stringify((c as { changetype: unknown }).changetype)} is neither REPLACE nor DELETE`);
      if (!Array.isArray(c.records as unknown)) throw new InvalidRequest(`${where}.records`, 'records is not a list');
      const records = c.records.map((r, j) => checkContent(type, r, `${where}.records[${j}]`));
      const contents = new Set(records.map((r) => r.content));
      if (contents.size !== records.length) throw new InvalidRequest(`${where}.records`, 'a record is given twice');
      return { name, type, changetype: 'REPLACE', ttl: checkTtl(c.ttl, `${where}.ttl`), records };
    });
    await this.#call(`change ${rrsets.length} RRset(s) in zone ${zone}`, 'PATCH', PowerDnsClient.#zonePath(zone), { rrsets });
  }

  /** Replaces all records of `name`/`type` in `zone` (creating the RRset if needed). */
  async replaceRRset(zone: string, rrset: { name: string; type: string; ttl: number; records: readonly RecordInput[] }): Promise<void> {
    return this.patchRRsets(zone, [{ changetype: 'REPLACE', ...rrset }]);
  }

  /** Deletes all records of `name`/`type` in `zone`; nothing to delete is fine. */
  async deleteRRset(zone: string, name: string, type: string): Promise<void> {
    return this.patchRRsets(zone, [{ changetype: 'DELETE', name, type }]);
  }

  /** Recomputes ordering and auth fields (NSEC chain, delegations) of a signed zone. */
  async rectifyZone(name: string): Promise<void> {
    const zone = absoluteName(name, 'rectifyZone: name');
    await this.#call(`rectify zone ${zone}`, 'PUT', `${PowerDnsClient.#zonePath(zone)}/rectify`);
  }

  /**
   * Drops what PowerDNS's packet and query caches hold for `name` and the names below it; resolves
   * with the number of entries dropped.
   */
  async flushCache(name: string): Promise<number> {
    const n = absoluteName(name, 'flushCache: name');
    return this.#decoded(`flush cache of ${n}`, 'PUT', `/cache/flush?domain=${encodeURIComponent(n)}`, undefined, decodeFlush);
  }

  /** The zone's DNSSEC keys. */
  async listCryptoKeys(name: string): Promise<CryptoKey[]> {
    const zone = absoluteName(name, 'listCryptoKeys: zone');
    return this.#decoded(`list cryptokeys of zone ${zone}`, 'GET', `${PowerDnsClient.#zonePath(zone)}/cryptokeys`, undefined, decodeCryptoKeyList);
  }

  /**
   * Generates a key for the zone: by default an active, published ECDSA P-256 (13) CSK, so the zone
   * is signed at once; then rectifies the zone (when the key is active) and flushes its cached
   * answers (see below).
   */
  async createCryptoKey(name: string, request: CreateCryptoKeyRequest = {}): Promise<CryptoKey> {
    const zone = absoluteName(name, 'createCryptoKey: zone');
    const keytype = request.keytype ?? KeyType.Csk;
    if (!KEY_TYPES.includes(keytype)) throw new InvalidRequest('createCryptoKey: keytype', `${JSON.stringify(keytype)} is not one of ${KEY_TYPES.join(', ')}`);
    const algorithm = request.algorithm ?? DnssecAlgorithm.EcdsaP256Sha256;
    if (!ALGORITHMS.includes(algorithm)) {
      throw new InvalidRequest('createCryptoKey: algorithm', `${JSON.stringify(algorithm)} is not one of ${ALGORITHMS.join(', ')}`);
    }
    const body = { keytype, active: request.active ?? true, published: request.published ?? true, algorithm };
    const key = await this.#decoded(`create cryptokey for zone ${zone}`, 'POST', `${PowerDnsClient.#zonePath(zone)}/cryptokeys`, body, (v) => decodeCryptoKey(v));
    // The NSEC chain (ordernames) is built by rectify only for a signed zone: names rectified before
    // the first key, a delegation among them, would be missing from it, so a DS absence could not
    // be proven. `pdnsutil secure-zone` is followed by rectify-zone for the same reason.
    if (body.active) await this.rectifyZone(zone);
    await this.#flushAfterKeyChange(zone, `creating cryptokey ${key.id}`);
    return key;
  }

  /**
   * PowerDNS 4.7 purges its caches after a PATCH, but not after a cryptokey change: without this,
   * answers cached before a key was added stay unsigned, and after a key was removed keep its
   * RRSIGs, for up to cache-ttl (20 s by default). The key change itself has happened, so a failed
   * flush is logged, not thrown: the caches then catch up on their own.
   */
  async #flushAfterKeyChange(zone: string, what: string): Promise<void> {
    try {
      await this.flushCache(zone);
    } catch (e) {
      this.#log.warn({ zone, err: e instanceof Error ? e.message : String(e) }, `cache flush after ${what} failed; answers may lag up to cache-ttl`);
    }
  }

  /** Removes a key from the zone (unsigned once its last active key is gone), then flushes its cached answers. */
  async deleteCryptoKey(name: string, id: number): Promise<void> {
    const zone = absoluteName(name, 'deleteCryptoKey: zone');
    if (!Number.isInteger(id) || id < 0) throw new InvalidRequest('deleteCryptoKey: id', `${id} is not a key id`);
    await this.#call(`delete cryptokey ${id} of zone ${zone}`, 'DELETE', `${PowerDnsClient.#zonePath(zone)}/cryptokeys/${id}`);
    await this.#flushAfterKeyChange(zone, `deleting cryptokey ${id}`);
  }

  /** The values of one metadata kind of the zone (empty when unset). */
  async getMetadata(name: string, kind: string): Promise<string[]> {
    const zone = absoluteName(name, 'getMetadata: zone');
    const k = checkMetadataKind(kind, 'getMetadata: kind');
    return this.#decoded(`get metadata ${k} of zone ${zone}`, 'GET', `${PowerDnsClient.#zonePath(zone)}/metadata/${k}`, undefined, decodeMetadata);
  }

  /** Sets (replaces) the values of one metadata kind of the zone. */
  async setMetadata(name: string, kind: string, values: readonly string[]): Promise<void> {
    const zone = absoluteName(name, 'setMetadata: zone');
    const k = checkMetadataKind(kind, 'setMetadata: kind');
    values.forEach((v, i) => {
      if (typeof v !== 'string' || /[\r\n\0]/.test(v)) throw new InvalidRequest(`setMetadata: values[${i}]`, 'not a single-line string');
    });
    await this.#call(`set metadata ${k} of zone ${zone}`, 'PUT', `${PowerDnsClient.#zonePath(zone)}/metadata/${k}`, { kind: k, metadata: values });
  }

  /** Removes one metadata kind from the zone. */
  async deleteMetadata(name: string, kind: string): Promise<void> {
    const zone = absoluteName(name, 'deleteMetadata: zone');
    const k = checkMetadataKind(kind, 'deleteMetadata: kind');
    await this.#call(`delete metadata ${k} of zone ${zone}`, 'DELETE', `${PowerDnsClient.#zonePath(zone)}/metadata/${k}`);
  }
}

function checkMetadataKind(kind: string, where: string): string {
  if (typeof kind !== 'string' || !METADATA_KIND.test(kind)) {
    throw new InvalidRequest(where, `${JSON.stringify(kind)} is not a metadata kind such as SOA-EDIT-API or X-SDMI-OWNER`);
  }
  return kind;
}
