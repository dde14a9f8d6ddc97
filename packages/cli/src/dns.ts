// sdmi dns: the cluster's zones, and record sets of the user's own (an alias, a TXT for a
// certificate challenge) in them, through the SDK's cluster.dns (dns-manager over the bus).
import { isUserRecordType, UserRecordTypes, type DnsPass, type DnsZone, type ServiceDnsNames, type UserRecordType } from '@sdmi/sdk';
import { parse, withCluster, type Io } from './commands';
import { CliError, ExitCodes, UsageError } from './exit';
import { age, outputFormat, render, table } from './format';

export const DNS_USAGE = `sdmi dns zones [-o table|json|yaml]
       sdmi dns set <name> <type> <value>... [--zone ZONE] [--ttl SECONDS]
       sdmi dns delete <name> <type> [--zone ZONE]`;

const DNS_HELP = `usage: ${DNS_USAGE}

  <name> is a full name (www.shop.sdmi.internal); without --zone it goes in the tenant zone it is
  below (<tenant>.<domain>), else in the cluster zone <domain>. <type> is one of ${UserRecordTypes.join(', ')}.
  Each <value> is one record (set replaces the whole set): an address, a target name, a TXT string,
  "<preference> <host>" for MX, "<priority> <weight> <port> <target>" for SRV. Put -- before values
  that start with "-". --zone is <domain> or <tenant>.<domain> (see: sdmi dns zones); the names
  <x>.<network>.<tenant>.<domain> are the replicas' and services' own and cannot be set.
  A set or delete is published by dns-manager's next pass, within seconds.
  Exit 65 when dns-manager refuses a name, zone or value (it says which and why), 1 when the name
  is taken or a CNAME would share its name, 69 when the cluster has no DNS.`;

const MAX_TTL = 86_400;
/** How many whitespace-separated fields one record of a type has, where it has several. */
const FIELDS: Partial<Record<UserRecordType, number>> = { MX: 2, SRV: 4 };

function recordType(raw: string): UserRecordType {
  const t = raw.toUpperCase();
  if (!isUserRecordType(t)) throw new CliError(`"${raw}" is not a record type you can set: one of ${UserRecordTypes.join(', ')} (the SOA, NS, PTR and DNSSEC records are dns-manager's and PowerDNS's)`, ExitCodes.DataErr);
  return t;
}

function ttl(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_TTL) throw new CliError(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL}, got "${raw}"`, ExitCodes.DataErr);
  return Number(raw);
}

/**
 * The records of a set. `sdmi dns set mx MX 10 mail.example.` is one MX record, not two: for MX
 * and SRV, values without spaces are grouped into records of that many fields when they divide
 * evenly; a value with spaces (quoted) is one record as it is.
 */
function records(type: UserRecordType, values: readonly string[]): string[] {
  const n = FIELDS[type];
  if (n === undefined || values.some((v) => /\s/.test(v.trim())) || values.length % n !== 0) return [...values];
  const out: string[] = [];
  for (let i = 0; i < values.length; i += n) out.push(values.slice(i, i + n).join(' '));
  return out;
}

export async function dns(args: readonly string[], io: Io): Promise<number> {
  if (args.length === 0 || ['help', '--help', '-h'].includes(args[0]!)) {
    io.out(DNS_HELP);
    return args.length === 0 ? ExitCodes.Usage : ExitCodes.Ok;
  }
  const { values, positionals } = parse(args, { output: { type: 'string', short: 'o' }, zone: { type: 'string', short: 'z' }, ttl: { type: 'string' } }, { min: 1, max: 1 + 2 + 256, usage: DNS_USAGE });
  const [sub, ...rest] = positionals as [string, ...string[]];
  const zone = values.zone as string | undefined;
  switch (sub) {
    case 'zones': {
      if (rest.length > 0) throw new UsageError(`dns zones takes no arguments, got ${rest.join(' ')}\nusage: ${DNS_USAGE}`);
      const format = outputFormat(values.output as string | undefined);
      return withCluster(values, async (c) => {
        const z = await c.dns.zones();
        io.out(render(format, z, () => (z.domain === null ? 'DNS is off: dns-manager runs without a cluster domain (SDMI_DNS_DOMAIN); `sdmi up` sets one (default sdmi.internal)' : zonesTable(z.domain, z.zones, z.lastPass))));
        return ExitCodes.Ok;
      });
    }
    case 'set': {
      if (rest.length < 3) throw new UsageError(`dns set needs a name, a type and at least one value, got ${rest.length} argument(s)\nusage: ${DNS_USAGE}`);
      const [name, rawType, ...vals] = rest as [string, string, ...string[]];
      const type = recordType(rawType);
      const t = ttl(values.ttl as string | undefined);
      return withCluster(values, async (c) => {
        const r = await c.dns.put({ name, type, records: records(type, vals), ...(zone !== undefined ? { zone } : {}), ...(t !== undefined ? { ttl: t } : {}) });
        io.out(`${r.name} ${r.type} ${r.records.join(', ')} (ttl ${r.ttl}): set in zone ${r.zone}; published at dns-manager's next pass`);
        return ExitCodes.Ok;
      });
    }
    case 'delete':
    case 'rm': {
      if (rest.length !== 2) throw new UsageError(`dns delete needs a name and a type, got ${rest.length} argument(s)\nusage: ${DNS_USAGE}`);
      if (values.ttl !== undefined) throw new UsageError(`dns delete takes no --ttl\nusage: ${DNS_USAGE}`);
      const [name, rawType] = rest as [string, string];
      const type = recordType(rawType);
      return withCluster(values, async (c) => {
        const r = await c.dns.delete({ name, type, ...(zone !== undefined ? { zone } : {}) });
        io.out(r.removed ? `${r.name} ${r.type}: deleted from zone ${r.zone}` : `${r.name} ${r.type}: there is no such record set of yours in zone ${r.zone} (see: sdmi dns zones)`);
        return ExitCodes.Ok;
      });
    }
    default:
      throw new UsageError(`unknown dns command "${sub}"\nusage: ${DNS_USAGE}`);
  }
}

function zonesTable(domain: string, zones: readonly DnsZone[], last: DnsPass): string {
  const pass = last === null ? 'no pass yet' : `last pass ${age(last.at)} ago: ${last.ok ? `ok, ${last.changes} change(s)` : `FAILED: ${last.detail}`}`;
  return [table(['ZONE', 'KIND', 'RRSETS', 'DS'], zones.map((z) => [z.name, z.kind, String(z.rrsets), z.ds.join(', ') || '-'])), '', `domain ${domain}, ${pass}`].join('\n');
}

/** The DNS lines of `sdmi describe service`: each network's service name, then its replicas' own names. */
export function dnsLines(names: ServiceDnsNames | null | undefined): string[] {
  const label = 'DNS:        ';
  const indent = ' '.repeat(label.length);
  if (names === undefined) return [`${label}unknown: dns-manager does not answer (is the control plane up? sdmi up starts it)`];
  if (names === null) return [`${label}off (the cluster has no DNS)`];
  if (names.networks.length === 0) return [`${label}none (no network with addresses)`];
  return names.networks.flatMap((n, i) => {
    const head = `${i === 0 ? label : indent}${n.service ?? `no name on ${n.network}: ${n.problem ?? 'unknown reason'}`}`;
    if (n.service === null) return [head];
    const serving = n.replicas.filter((r) => r.serving).length;
    const nameWidth = Math.max(0, ...n.replicas.map((r) => r.name.length));
    return [`${head}  (${n.network}, ${serving} serving)`, ...n.replicas.map((r) => `${indent}  ${r.name.padEnd(nameWidth)}  ${r.replica}${r.serving ? '' : ' (not serving)'}`)];
  });
}
