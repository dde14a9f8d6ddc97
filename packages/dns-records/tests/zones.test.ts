import { describe, expect, it } from 'vitest';
import { desiredDns, nameserverOf, zoneAccount, zoneOf, ZoneKinds, type ClusterDnsInput, type DesiredDns, type DesiredZone } from '../src/index';

const DOMAIN = 'sdmi.test.';
const TZ = 'm1.sdmi.test.';
const DS = '12345 13 2 3b8c2f0a9e4d6c1b7a5f2e8d0c9b6a3f1e4d7c2b5a8f0e3d6c9b2a5f8e1d4c7';

function input(over: Partial<ClusterDnsInput> = {}): ClusterDnsInput {
  return {
    domain: DOMAIN,
    nsAddress: '192.0.2.53',
    ttl: 30,
    tenants: ['m1'],
    networks: [
      { id: 'm1/app', cidr: '10.81.2.0/24' },
      { id: 'cluster/mgmt', cidr: '10.90.0.0/16' },
    ],
    services: [
      {
        id: 'm1/app',
        ports: [
          { name: 'http', port: 8080 },
          { name: 'dns', port: 5353, protocol: 'udp' },
        ],
      },
    ],
    replicas: [
      // Serving, on both networks.
      { id: 'm1/app-1@rev2', service: 'm1/app', serving: true, interfaces: [{ network: 'm1/app', ip: '10.81.2.10' }, { network: 'cluster/mgmt', ip: '10.90.0.10' }] },
      // Serving, with no address on mgmt yet.
      { id: 'm1/app-2@rev2', service: 'm1/app', serving: true, interfaces: [{ network: 'm1/app', ip: '10.81.2.11' }, { network: 'cluster/mgmt', ip: null }] },
      // The new revision of slot 1, started but not serving yet.
      { id: 'm1/app-1@rev3', service: 'm1/app', serving: false, interfaces: [{ network: 'm1/app', ip: '10.81.2.12' }, { network: 'cluster/mgmt', ip: '10.90.1.12' }] },
    ],
    custom: [{ zone: TZ, name: `www.${TZ}`, type: 'CNAME', ttl: 120, records: [`app.app.${TZ}`] }],
    ds: new Map([[TZ, [DS]]]),
    ...over,
  };
}

function zone(d: DesiredDns, name: string): DesiredZone {
  const z = d.zones.find((x) => x.name === name);
  if (!z) throw new Error(`no zone ${name} in ${d.zones.map((x) => x.name).join(', ')}`);
  return z;
}

function records(d: DesiredDns, zoneName: string, name: string, type: string): string[] | undefined {
  return zone(d, zoneName).rrsets.find((s) => s.name === name && s.type === type)?.records;
}

describe('nameserverOf, zoneAccount, zoneOf', () => {
  it('names the nameserver ns.<domain> and the account sdmi:<domain>', () => {
    expect(nameserverOf(DOMAIN)).toBe('ns.sdmi.test.');
    expect(zoneAccount(DOMAIN)).toBe('sdmi:sdmi.test');
  });

  it('finds the longest zone a name is in, and no zone that only shares a suffix', () => {
    const zones = ['sdmi.test.', 'm1.sdmi.test.', '2.81.10.in-addr.arpa.'];
    expect(zoneOf('x.app.m1.sdmi.test.', zones)).toBe('m1.sdmi.test.');
    expect(zoneOf('m1.sdmi.test.', zones)).toBe('m1.sdmi.test.');
    expect(zoneOf('ns.sdmi.test.', zones)).toBe('sdmi.test.');
    expect(zoneOf('xm1.sdmi.test.', zones)).toBe('sdmi.test.');
    expect(zoneOf('5.12.81.10.in-addr.arpa.', zones)).toBeUndefined();
    expect(zoneOf('5.2.81.10.in-addr.arpa.', zones)).toBe('2.81.10.in-addr.arpa.');
  });
});

describe('desiredDns', () => {
  const d = desiredDns(input());

  it('keeps the cluster zone, one zone per tenant and the networks’ reverse zones, sorted by name', () => {
    expect(d.zones.map((z) => [z.name, z.kind])).toEqual([
      ['2.81.10.in-addr.arpa.', ZoneKinds.Reverse],
      ['90.10.in-addr.arpa.', ZoneKinds.Reverse],
      [TZ, ZoneKinds.Tenant],
      [DOMAIN, ZoneKinds.Cluster],
    ]);
    expect(d.problems).toEqual([]);
  });

  it('puts the nameserver’s A and each tenant zone’s delegation (NS and DS) in the cluster zone', () => {
    expect(zone(d, DOMAIN).rrsets).toEqual([
      { name: TZ, type: 'DS', ttl: 30, records: [DS] },
      { name: TZ, type: 'NS', ttl: 30, records: ['ns.sdmi.test.'] },
      { name: 'ns.sdmi.test.', type: 'A', ttl: 30, records: ['192.0.2.53'] },
    ]);
  });

  it('delegates a tenant zone without a DS unsigned, and every tenant once', () => {
    const e = desiredDns(input({ tenants: ['m1', 't2', 'm1'], ds: new Map() }));
    expect(zone(e, DOMAIN).rrsets).toEqual([
      { name: TZ, type: 'NS', ttl: 30, records: ['ns.sdmi.test.'] },
      { name: 'ns.sdmi.test.', type: 'A', ttl: 30, records: ['192.0.2.53'] },
      { name: 't2.sdmi.test.', type: 'NS', ttl: 30, records: ['ns.sdmi.test.'] },
    ]);
    expect(zone(e, 't2.sdmi.test.')).toEqual({ name: 't2.sdmi.test.', kind: ZoneKinds.Tenant, rrsets: [] });
  });

  it('gives every addressed interface of every replica its container name, serving or not', () => {
    expect(records(d, TZ, `app-1-r2.app.${TZ}`, 'A')).toEqual(['10.81.2.10']);
    expect(records(d, TZ, `app-1-r2.mgmt.${TZ}`, 'A')).toEqual(['10.90.0.10']);
    expect(records(d, TZ, `app-2-r2.app.${TZ}`, 'A')).toEqual(['10.81.2.11']);
    expect(records(d, TZ, `app-1-r3.app.${TZ}`, 'A')).toEqual(['10.81.2.12']);
    expect(records(d, TZ, `app-1-r3.mgmt.${TZ}`, 'A')).toEqual(['10.90.1.12']);
  });

  it('gives an interface without an address no name', () => {
    expect(records(d, TZ, `app-2-r2.mgmt.${TZ}`, 'A')).toBeUndefined();
    expect(zone(d, TZ).rrsets.some((s) => s.name.startsWith('app-2-r2.mgmt.'))).toBe(false);
  });

  it('puts the serving replicas only in the service’s A set on each network', () => {
    expect(records(d, TZ, `app.app.${TZ}`, 'A')).toEqual(['10.81.2.10', '10.81.2.11']);
    expect(records(d, TZ, `app.mgmt.${TZ}`, 'A')).toEqual(['10.90.0.10']);
  });

  it('publishes an SRV per port of the service, to the serving replicas’ container names', () => {
    expect(records(d, TZ, `_http._tcp.app.app.${TZ}`, 'SRV')).toEqual([`0 10 8080 app-1-r2.app.${TZ}`, `0 10 8080 app-2-r2.app.${TZ}`]);
    expect(records(d, TZ, `_dns._udp.app.app.${TZ}`, 'SRV')).toEqual([`0 10 5353 app-1-r2.app.${TZ}`, `0 10 5353 app-2-r2.app.${TZ}`]);
    expect(records(d, TZ, `_http._tcp.app.mgmt.${TZ}`, 'SRV')).toEqual([`0 10 8080 app-1-r2.mgmt.${TZ}`]);
    const srv = zone(d, TZ).rrsets.filter((s) => s.type === 'SRV').flatMap((s) => s.records);
    expect(srv.some((r) => r.includes('app-1-r3'))).toBe(false);
  });

  it('publishes no SRV for a service without ports', () => {
    const e = desiredDns(input({ services: [{ id: 'm1/app', ports: [] }] }));
    expect(zone(e, TZ).rrsets.filter((s) => s.type === 'SRV')).toEqual([]);
    expect(records(e, TZ, `app.app.${TZ}`, 'A')).toEqual(['10.81.2.10', '10.81.2.11']);
  });

  it('gives every named IPv4 interface a PTR in its network’s reverse zone, serving or not', () => {
    expect(zone(d, '2.81.10.in-addr.arpa.').rrsets).toEqual([
      { name: '10.2.81.10.in-addr.arpa.', type: 'PTR', ttl: 30, records: [`app-1-r2.app.${TZ}`] },
      { name: '11.2.81.10.in-addr.arpa.', type: 'PTR', ttl: 30, records: [`app-2-r2.app.${TZ}`] },
      { name: '12.2.81.10.in-addr.arpa.', type: 'PTR', ttl: 30, records: [`app-1-r3.app.${TZ}`] },
    ]);
    expect(zone(d, '90.10.in-addr.arpa.').rrsets).toEqual([
      { name: '10.0.90.10.in-addr.arpa.', type: 'PTR', ttl: 30, records: [`app-1-r2.mgmt.${TZ}`] },
      { name: '12.1.90.10.in-addr.arpa.', type: 'PTR', ttl: 30, records: [`app-1-r3.mgmt.${TZ}`] },
    ]);
  });

  it('reports each replica’s container names, in its interfaces’ order', () => {
    expect([...d.replicaNames]).toEqual([
      ['m1/app-1@rev2', [`app-1-r2.app.${TZ}`, `app-1-r2.mgmt.${TZ}`]],
      ['m1/app-1@rev3', [`app-1-r3.app.${TZ}`, `app-1-r3.mgmt.${TZ}`]],
      ['m1/app-2@rev2', [`app-2-r2.app.${TZ}`]],
    ]);
  });

  it('leaves a replica with no address out of replicaNames', () => {
    const e = desiredDns(input({ replicas: [{ id: 'm1/app-3@rev2', service: 'm1/app', serving: true, interfaces: [{ network: 'm1/app', ip: null }] }] }));
    expect(e.replicaNames.size).toBe(0);
    expect(records(e, TZ, `app.app.${TZ}`, 'A')).toBeUndefined();
  });

  it('puts a custom set into its zone, with its own ttl', () => {
    expect(zone(d, TZ).rrsets.find((s) => s.name === `www.${TZ}`)).toEqual({ name: `www.${TZ}`, type: 'CNAME', ttl: 120, records: [`app.app.${TZ}`] });
    const e = desiredDns(input({ custom: [{ zone: DOMAIN, name: `_acme-challenge.${DOMAIN}`, type: 'TXT', ttl: 60, records: ['"b"', '"a"'] }] }));
    expect(zone(e, DOMAIN).rrsets).toContainEqual({ name: `_acme-challenge.${DOMAIN}`, type: 'TXT', ttl: 60, records: ['"a"', '"b"'] });
  });

  it('drops a custom set whose name and type dns-manager makes, saying so', () => {
    const theirs = ['0 0 1 elsewhere.example.'];
    const e = desiredDns(input({ custom: [{ zone: TZ, name: `_http._tcp.app.app.${TZ}`, type: 'SRV', ttl: 60, records: theirs }, { zone: DOMAIN, name: 'ns.sdmi.test.', type: 'A', ttl: 60, records: ['192.0.2.99'] }] }));
    expect(records(e, TZ, `_http._tcp.app.app.${TZ}`, 'SRV')).toEqual([`0 10 8080 app-1-r2.app.${TZ}`, `0 10 8080 app-2-r2.app.${TZ}`]);
    expect(records(e, DOMAIN, 'ns.sdmi.test.', 'A')).toEqual(['192.0.2.53']);
    expect(e.problems).toHaveLength(2);
    expect(e.problems).toContainEqual(expect.stringContaining(`records _http._tcp.app.app.${TZ} SRV: the name is dns-manager's own`));
    expect(e.problems).toContainEqual(expect.stringContaining('records ns.sdmi.test. A: the name is dns-manager\'s own'));
  });

  // PowerDNS refuses a CNAME beside any other set at its name ("Conflicts with pre-existing RRset"),
  // which would fail the whole zone's PATCH: such a custom CNAME must be left out, not sent.
  it('drops a custom CNAME at a name where dns-manager has a set of another type, or at a zone apex', () => {
    const e = desiredDns(
      input({
        custom: [
          { zone: TZ, name: `_http._tcp.app.app.${TZ}`, type: 'CNAME', ttl: 60, records: ['elsewhere.example.'] },
          { zone: DOMAIN, name: TZ, type: 'CNAME', ttl: 60, records: ['elsewhere.example.'] },
          { zone: TZ, name: TZ, type: 'CNAME', ttl: 60, records: ['elsewhere.example.'] },
          { zone: TZ, name: `www.${TZ}`, type: 'CNAME', ttl: 60, records: ['elsewhere.example.'] },
        ],
      }),
    );
    for (const z of e.zones) {
      const byName = new Map<string, string[]>();
      for (const s of z.rrsets) byName.set(s.name, [...(byName.get(s.name) ?? []), s.type]);
      for (const [n, types] of byName) if (types.includes('CNAME')) expect(types, `${n} in ${z.name}`).toEqual(['CNAME']);
      expect(z.rrsets.some((s) => s.name === z.name && s.type === 'CNAME')).toBe(false);
    }
    expect(records(e, TZ, `www.${TZ}`, 'CNAME')).toEqual(['elsewhere.example.']);
    expect(e.problems).toHaveLength(3);
    expect(e.problems).toContainEqual(expect.stringContaining(`records _http._tcp.app.app.${TZ} CNAME`));
    expect(e.problems).toContainEqual(expect.stringContaining(`records ${TZ} CNAME`));
    expect(e.problems).toContainEqual(expect.stringContaining('the zone apex holds its SOA and NS'));
    expect(e.problems).toContainEqual(expect.stringContaining('dns-manager has other records at the name'));
    expect(e.problems.every((p) => p.includes('CNAME'))).toBe(true);
  });

  it('drops a custom set whose zone is not kept, saying so', () => {
    const e = desiredDns(input({ custom: [{ zone: 'gone.sdmi.test.', name: 'www.gone.sdmi.test.', type: 'A', ttl: 60, records: ['192.0.2.1'] }] }));
    expect(e.zones.some((z) => z.rrsets.some((s) => s.name === 'www.gone.sdmi.test.'))).toBe(false);
    expect(e.problems).toEqual(['records www.gone.sdmi.test. A: zone gone.sdmi.test. is not kept (its tenant is gone)']);
  });

  it('publishes the name of a replica whose address is in no reverse zone, and reports the missing PTR', () => {
    const e = desiredDns(
      input({
        replicas: [{ id: 'm1/app-1@rev2', service: 'm1/app', serving: true, interfaces: [{ network: 'm1/other', ip: '10.99.0.5' }] }],
      }),
    );
    expect(records(e, TZ, `app-1-r2.other.${TZ}`, 'A')).toEqual(['10.99.0.5']);
    expect(e.zones.some((z) => z.kind === ZoneKinds.Reverse && z.rrsets.length > 0)).toBe(false);
    expect(e.problems).toEqual(["replica m1/app-1@rev2: 10.99.0.5 on m1/other is in no network's reverse zone"]);
  });

  it('gives an IPv6 interface an AAAA and no PTR', () => {
    const e = desiredDns(input({ replicas: [{ id: 'm1/app-1@rev2', service: 'm1/app', serving: true, interfaces: [{ network: 'm1/app', ip: 'fd00::5' }] }] }));
    expect(records(e, TZ, `app-1-r2.app.${TZ}`, 'AAAA')).toEqual(['fd00::5']);
    expect(records(e, TZ, `app.app.${TZ}`, 'AAAA')).toEqual(['fd00::5']);
    expect(zone(e, '2.81.10.in-addr.arpa.').rrsets).toEqual([]);
    expect(e.problems).toEqual([]);
  });

  it('reports, and leaves out, what cannot be named; the rest is still published', () => {
    const e = desiredDns(
      input({
        tenants: ['m1', 'bad-'],
        networks: [...input().networks, { id: 'm1/big', cidr: '10.0.0.0/8' }],
        replicas: [
          ...input().replicas,
          { id: 'm1/app-5@rev2', service: 'm1/app', serving: true, interfaces: [{ network: 'm1/net-', ip: '10.81.2.50' }] },
          { id: 't9/web-1@rev1', service: 't9/web', serving: true, interfaces: [{ network: 't9/web', ip: '10.81.2.60' }] },
        ],
      }),
    );
    expect(e.problems).toHaveLength(4);
    expect(e.problems).toContainEqual(expect.stringMatching(/^tenant bad-: .*"bad-".*starts or ends with a hyphen/));
    expect(e.problems).toContainEqual(expect.stringMatching(/^network m1\/big: .*prefixes of \/16 or longer/));
    expect(e.problems).toContainEqual(expect.stringMatching(/^replica m1\/app-5@rev2 on m1\/net-: .*"net-"/));
    expect(e.problems).toContainEqual('replica t9/web-1@rev1: its tenant has no zone');
    expect(e.zones.some((z) => z.name.includes('bad-'))).toBe(false);
    expect(e.zones.some((z) => z.rrsets.some((s) => s.records.includes('10.81.2.50') || s.records.includes('10.81.2.60')))).toBe(false);
    expect(e.replicaNames.has('m1/app-5@rev2')).toBe(false);
    expect(e.replicaNames.has('t9/web-1@rev1')).toBe(false);
    // Everything else is as before.
    expect(zone(e, TZ)).toEqual(zone(d, TZ));
  });

  it('gives the same output for the same input in another order', () => {
    const base = input({
      tenants: ['m1', 't2', 'bad-'],
      networks: [...input().networks, { id: 'm1/big', cidr: '10.0.0.0/8' }, { id: 't2/huge', cidr: '172.16.0.0/12' }],
      custom: [
        ...input().custom,
        { zone: 't2.sdmi.test.', name: 'a.t2.sdmi.test.', type: 'A', ttl: 60, records: ['192.0.2.2', '192.0.2.1'] },
        { zone: 'gone.sdmi.test.', name: 'x.gone.sdmi.test.', type: 'A', ttl: 60, records: ['192.0.2.1'] },
        { zone: 'old.sdmi.test.', name: 'y.old.sdmi.test.', type: 'TXT', ttl: 60, records: ['"y"'] },
      ],
      ds: new Map([
        [TZ, [DS, '54321 13 2 00ff']],
        ['t2.sdmi.test.', ['1 13 2 aa']],
      ]),
    });
    const shuffled: ClusterDnsInput = {
      ...base,
      tenants: [...base.tenants].reverse(),
      networks: [...base.networks].reverse(),
      services: base.services.map((s) => ({ ...s, ports: [...s.ports].reverse() })).reverse(),
      replicas: [...base.replicas].reverse(),
      custom: [...base.custom].reverse(),
      ds: new Map([...base.ds].reverse().map(([k, v]) => [k, [...v].reverse()])),
    };
    const a = desiredDns(base);
    const b = desiredDns(shuffled);
    expect(b.zones).toEqual(a.zones);
    expect([...b.replicaNames]).toEqual([...a.replicaNames]);
    expect(b.problems).toEqual(a.problems);
    expect(a.problems.length).toBeGreaterThanOrEqual(4);
    for (const z of a.zones) {
      const keys = z.rrsets.map((s) => `${s.name} ${s.type}`);
      expect(new Set(keys).size).toBe(keys.length);
      for (const s of z.rrsets) expect(s.records).toEqual([...s.records].sort());
    }
  });
});
