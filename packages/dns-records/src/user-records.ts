// Record sets of the user's own (putRecords): checked here so that a refusal names the field and
// the rule, and what is stored is already in the form PowerDNS keeps (absolute targets, quoted TXT).
import { isIPv4, isIPv6 } from 'node:net';
import { DnsErrorCodes } from '@sdmi/contracts';
import { absoluteName, InvalidDnsName, isInZone } from '@sdmi/powerdns';
import { nameserverOf, type CustomRRset } from './zones';

export class UserRecordsRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'UserRecordsRefused';
  }
}

function name(value: string, path: string): string {
  try {
    return absoluteName(value, path);
  } catch (e) {
    if (e instanceof InvalidDnsName) throw new UserRecordsRefused(DnsErrorCodes.InvalidDnsName, e.message, path);
    throw e;
  }
}

/** The zone named by a request, if dns-manager keeps it: the cluster domain or `<tenant>.<domain>`. */
export function userZone(zone: string, domain: string): string {
  const z = name(zone, '/zone');
  if (z === domain) return z;
  if (!isInZone(z, domain)) {
    throw new UserRecordsRefused(DnsErrorCodes.ZoneOutsideDomain, `zone ${z} is outside the cluster domain ${domain}: dns-manager keeps ${domain} and the tenant zones below it`, '/zone');
  }
  if (z.slice(0, -domain.length - 1).includes('.')) {
    throw new UserRecordsRefused(DnsErrorCodes.ZoneOutsideDomain, `zone ${z} is not a zone dns-manager keeps: below ${domain} there is one zone per tenant, <tenant>.${domain}`, '/zone');
  }
  return z;
}

/** The owner name of a request: inside its zone, and not in the names dns-manager makes itself. */
export function userName(owner: string, zone: string, domain: string): string {
  const n = name(owner, '/name');
  if (!isInZone(n, zone)) throw new UserRecordsRefused(DnsErrorCodes.NameOutsideZone, `name ${n} is not in zone ${zone}`, '/name');
  const below = n === zone ? [] : n.slice(0, -zone.length - 1).split('.');
  if (zone === domain) {
    if (n === nameserverOf(domain)) throw new UserRecordsRefused(DnsErrorCodes.NameTaken, `${n} is the nameserver's name, which dns-manager keeps`, '/name');
    if (below.length > 1 && !below[below.length - 1]!.startsWith('_')) {
      throw new UserRecordsRefused(DnsErrorCodes.NameOutsideZone, `name ${n} is below tenant zone ${below[below.length - 1]}.${domain}: put it there`, '/name');
    }
  } else if (below.length >= 2 && !below.some((l) => l.startsWith('_'))) {
    // <x>.<network>.<tenant>.<domain> is where replicas and services are named.
    throw new UserRecordsRefused(
      DnsErrorCodes.NameTaken,
      `${n}: names <name>.<network>.${zone} belong to the replicas and services on that network; choose a name one label below the zone (e.g. www.${zone})`,
      '/name',
    );
  }
  return n;
}

function quoteTxt(text: string): string {
  if (/^".*"$/.test(text)) return text;
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const invalid = (i: number, type: string, why: string) => new UserRecordsRefused(DnsErrorCodes.InvalidRecord, `records[${i}] is not ${type === 'A' || type === 'AAAA' ? 'an' : 'a'} ${type} record: ${why}`, `/records/${i}`);

/** Each record's content checked against `type` and normalised. */
export function userContent(type: string, records: readonly string[]): string[] {
  if (type === 'CNAME' && records.length !== 1) {
    throw new UserRecordsRefused(DnsErrorCodes.InvalidRecord, `a CNAME has exactly one target, got ${records.length}`, '/records');
  }
  return records.map((r, i) => {
    const t = r.trim();
    switch (type) {
      case 'A':
        if (!isIPv4(t)) throw invalid(i, type, `${JSON.stringify(r)} is not an IPv4 address`);
        return t;
      case 'AAAA':
        if (!isIPv6(t)) throw invalid(i, type, `${JSON.stringify(r)} is not an IPv6 address`);
        return t.toLowerCase();
      case 'CNAME':
        return name(t, `/records/${i}`);
      case 'TXT':
        if (t.length > 255 && !t.startsWith('"')) throw invalid(i, type, 'a TXT string holds at most 255 characters; give longer text as several quoted strings');
        return quoteTxt(t);
      case 'MX': {
        const m = /^(\d{1,5})\s+(\S+)$/.exec(t);
        if (!m || Number(m[1]) > 65535) throw invalid(i, type, `expected "<preference 0-65535> <host>", got ${JSON.stringify(r)}`);
        return `${Number(m[1])} ${name(m[2]!, `/records/${i}`)}`;
      }
      case 'SRV': {
        const m = /^(\d{1,5})\s+(\d{1,5})\s+(\d{1,5})\s+(\S+)$/.exec(t);
        if (!m || [m[1], m[2], m[3]].some((x) => Number(x) > 65535)) throw invalid(i, type, `expected "<priority> <weight> <port> <target>" (each number 0-65535), got ${JSON.stringify(r)}`);
        return `${Number(m[1])} ${Number(m[2])} ${Number(m[3])} ${name(m[4]!, `/records/${i}`)}`;
      }
      default:
        throw invalid(i, type, `type ${type} is not one users may set`);
    }
  });
}

/**
 * A putRecords request checked and normalised. `others` are the user's other sets at the same
 * name, for the CNAME rule (RFC 1034 §3.6.2: a CNAME is alone at its name).
 */
export function userRecords(req: { zone: string; name: string; type: string; ttl?: number; records: readonly string[] }, domain: string, others: readonly string[]): CustomRRset {
  const zone = userZone(req.zone, domain);
  const owner = userName(req.name, zone, domain);
  if (req.type === 'CNAME' && owner === zone) {
    throw new UserRecordsRefused(DnsErrorCodes.CnameConflict, `${owner} is the zone's apex, which holds its SOA and NS records: a CNAME must be the only data at its name`, '/name');
  }
  const kinds = others.filter((t) => t !== req.type);
  if (req.type === 'CNAME' && kinds.length > 0) {
    throw new UserRecordsRefused(DnsErrorCodes.CnameConflict, `${owner} already has ${kinds.join(', ')} records: a CNAME must be the only data at its name`, '/type');
  }
  if (req.type !== 'CNAME' && kinds.includes('CNAME')) {
    throw new UserRecordsRefused(DnsErrorCodes.CnameConflict, `${owner} is a CNAME: no other records may be at its name`, '/type');
  }
  return { zone, name: owner, type: req.type, ttl: req.ttl ?? 60, records: userContent(req.type, req.records) };
}
