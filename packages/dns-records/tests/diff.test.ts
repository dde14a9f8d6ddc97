import type { RRset } from '@sdmi/powerdns';
import { describe, expect, it } from 'vitest';
import { MANAGED_TYPES, managedCount, rrsetChanges, type DesiredRRset } from '../src/index';

const ZONE = 'm1.sdmi.test.';

const rr = (name: string, type: string, ttl: number, contents: string[], disabled: boolean[] = []): RRset => ({
  name,
  type,
  ttl,
  records: contents.map((content, i) => ({ content, disabled: disabled[i] ?? false })),
});

// What PowerDNS holds of its own in a signed zone: none of it is dns-manager's.
const pdnsOwn: RRset[] = [
  rr(ZONE, 'SOA', 3600, ['ns.sdmi.test. hostmaster.sdmi.test. 2024010101 10800 3600 604800 3600']),
  rr(ZONE, 'NS', 3600, ['ns.sdmi.test.']),
  rr(ZONE, 'DNSKEY', 3600, ['257 3 13 AAAA']),
  rr(ZONE, 'RRSIG', 3600, ['SOA 13 3 3600 ...']),
  rr(ZONE, 'NSEC', 3600, ['app-1-r2.app.m1.sdmi.test. A RRSIG NSEC']),
];

const desired: DesiredRRset[] = [
  { name: 'app-1-r2.app.m1.sdmi.test.', type: 'A', ttl: 30, records: ['10.81.2.10'] },
  { name: 'app.app.m1.sdmi.test.', type: 'A', ttl: 30, records: ['10.81.2.10', '10.81.2.11'] },
  { name: '_http._tcp.app.app.m1.sdmi.test.', type: 'SRV', ttl: 30, records: ['0 10 8080 app-1-r2.app.m1.sdmi.test.'] },
];

const asActual = (d: readonly DesiredRRset[]): RRset[] => d.map((s) => rr(s.name, s.type, s.ttl, [...s.records]));

describe('rrsetChanges', () => {
  it('creates every missing set, with its ttl and records', () => {
    expect(rrsetChanges(ZONE, desired, pdnsOwn)).toEqual(desired.map((d) => ({ changetype: 'REPLACE', name: d.name, type: d.type, ttl: d.ttl, records: d.records })));
  });

  it('is empty when the zone holds what is desired', () => {
    expect(rrsetChanges(ZONE, desired, [...pdnsOwn, ...asActual(desired)])).toEqual([]);
  });

  it('does not care in which order the actual set holds its records', () => {
    const actual = [...pdnsOwn, ...asActual(desired)];
    actual[pdnsOwn.length + 1] = rr('app.app.m1.sdmi.test.', 'A', 30, ['10.81.2.11', '10.81.2.10']);
    expect(rrsetChanges(ZONE, desired, actual)).toEqual([]);
  });

  it('deletes a managed set that is not desired any more', () => {
    const actual = [...pdnsOwn, ...asActual(desired), rr('app-2-r2.app.m1.sdmi.test.', 'A', 30, ['10.81.2.11']), rr('old.m1.sdmi.test.', 'TXT', 60, ['"x"'])];
    expect(rrsetChanges(ZONE, desired, actual)).toEqual([
      { changetype: 'DELETE', name: 'app-2-r2.app.m1.sdmi.test.', type: 'A' },
      { changetype: 'DELETE', name: 'old.m1.sdmi.test.', type: 'TXT' },
    ]);
  });

  it('replaces a set whose ttl differs', () => {
    const actual = asActual(desired);
    actual[0] = rr('app-1-r2.app.m1.sdmi.test.', 'A', 300, ['10.81.2.10']);
    expect(rrsetChanges(ZONE, desired, actual)).toEqual([{ changetype: 'REPLACE', name: 'app-1-r2.app.m1.sdmi.test.', type: 'A', ttl: 30, records: ['10.81.2.10'] }]);
  });

  it('replaces a set whose records differ: one changed, one missing, one extra', () => {
    for (const records of [['10.81.2.99', '10.81.2.11'], ['10.81.2.10'], ['10.81.2.10', '10.81.2.11', '10.81.2.12']]) {
      const actual = asActual(desired);
      actual[1] = rr('app.app.m1.sdmi.test.', 'A', 30, records);
      expect(rrsetChanges(ZONE, desired, actual)).toEqual([{ changetype: 'REPLACE', name: 'app.app.m1.sdmi.test.', type: 'A', ttl: 30, records: ['10.81.2.10', '10.81.2.11'] }]);
    }
  });

  it('counts a disabled record as a difference', () => {
    const actual = asActual(desired);
    actual[1] = rr('app.app.m1.sdmi.test.', 'A', 30, ['10.81.2.10', '10.81.2.11'], [false, true]);
    expect(rrsetChanges(ZONE, desired, actual)).toEqual([{ changetype: 'REPLACE', name: 'app.app.m1.sdmi.test.', type: 'A', ttl: 30, records: ['10.81.2.10', '10.81.2.11'] }]);
    // Also when the disabled one is an extra copy of a desired record.
    actual[1] = rr('app.app.m1.sdmi.test.', 'A', 30, ['10.81.2.10', '10.81.2.11', '10.81.2.12'], [false, false, true]);
    expect(rrsetChanges(ZONE, desired, actual)).toHaveLength(1);
  });

  it('never touches the SOA, the apex NS or the DNSSEC records, desired or not', () => {
    expect(rrsetChanges(ZONE, [], pdnsOwn)).toEqual([]);
    const wantsThem: DesiredRRset[] = [
      { name: ZONE, type: 'SOA', ttl: 1, records: ['x'] },
      { name: ZONE, type: 'NS', ttl: 1, records: ['other.'] },
      { name: ZONE, type: 'DNSKEY', ttl: 1, records: ['x'] },
      { name: ZONE, type: 'RRSIG', ttl: 1, records: ['x'] },
      { name: ZONE, type: 'NSEC', ttl: 1, records: ['x'] },
    ];
    expect(rrsetChanges(ZONE, wantsThem, pdnsOwn)).toEqual([]);
    expect(rrsetChanges(ZONE, wantsThem, [])).toEqual([]);
  });

  it('manages an NS below the apex: a tenant zone’s delegation in the cluster zone', () => {
    const cluster = 'sdmi.test.';
    const delegation: DesiredRRset[] = [
      { name: 'm1.sdmi.test.', type: 'NS', ttl: 30, records: ['ns.sdmi.test.'] },
      { name: 'm1.sdmi.test.', type: 'DS', ttl: 30, records: ['12345 13 2 ABCD'] },
    ];
    const apexNs = rr(cluster, 'NS', 3600, ['ns.sdmi.test.']);
    expect(rrsetChanges(cluster, delegation, [apexNs]).map((c) => `${c.changetype} ${c.name} ${c.type}`)).toEqual(['REPLACE m1.sdmi.test. NS', 'REPLACE m1.sdmi.test. DS']);
    expect(rrsetChanges(cluster, [], [apexNs, rr('m2.sdmi.test.', 'NS', 30, ['ns.sdmi.test.'])])).toEqual([{ changetype: 'DELETE', name: 'm2.sdmi.test.', type: 'NS' }]);
  });

  it('leaves types it does not manage alone', () => {
    expect(rrsetChanges(ZONE, [], [rr('x.m1.sdmi.test.', 'CAA', 60, ['0 issue "ca.example"'])])).toEqual([]);
  });

  it('treats the same name with another type as another set', () => {
    const actual = [rr('app-1-r2.app.m1.sdmi.test.', 'AAAA', 30, ['fd00::1'])];
    const changes = rrsetChanges(ZONE, desired.slice(0, 1), actual);
    expect(changes).toContainEqual({ changetype: 'DELETE', name: 'app-1-r2.app.m1.sdmi.test.', type: 'AAAA' });
    expect(changes).toContainEqual({ changetype: 'REPLACE', name: 'app-1-r2.app.m1.sdmi.test.', type: 'A', ttl: 30, records: ['10.81.2.10'] });
    expect(changes).toHaveLength(2);
  });
});

describe('managedCount', () => {
  it('counts the managed sets only', () => {
    expect(managedCount(ZONE, [...pdnsOwn, ...asActual(desired)])).toBe(desired.length);
    expect(managedCount(ZONE, pdnsOwn)).toBe(0);
  });

  it('manages exactly the types dns-manager writes', () => {
    expect([...MANAGED_TYPES].sort()).toEqual(['A', 'AAAA', 'CNAME', 'DS', 'MX', 'NS', 'PTR', 'SRV', 'TXT']);
  });
});
