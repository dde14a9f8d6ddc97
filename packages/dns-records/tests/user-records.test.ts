import { DnsErrorCodes } from '@sdmi/contracts';
import { describe, expect, it } from 'vitest';
import { UserRecordsRefused, userContent, userName, userRecords, userZone } from '../src/index';

const DOMAIN = 'sdmi.test.';
const TZ = 'm1.sdmi.test.';

function refused(f: () => unknown): UserRecordsRefused {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserRecordsRefused);
    return e as UserRecordsRefused;
  }
  throw new Error('expected a UserRecordsRefused, nothing was thrown');
}

function expectRefused(f: () => unknown, code: string, path: string, ...says: (string | RegExp)[]): void {
  const e = refused(f);
  expect({ code: e.code, path: e.path }).toEqual({ code, path });
  for (const s of says) expect(e.message).toMatch(s);
}

describe('userZone', () => {
  it('accepts the cluster domain and a tenant zone directly below it, normalised', () => {
    expect(userZone('sdmi.test', DOMAIN)).toBe(DOMAIN);
    expect(userZone('sdmi.test.', DOMAIN)).toBe(DOMAIN);
    expect(userZone('M1.Sdmi.Test', DOMAIN)).toBe(TZ);
  });

  it('refuses a zone outside the cluster domain', () => {
    expectRefused(() => userZone('example.com', DOMAIN), DnsErrorCodes.ZoneOutsideDomain, '/zone', 'zone example.com. is outside the cluster domain sdmi.test.');
    // Sharing the domain's last characters is not being below it.
    expectRefused(() => userZone('xsdmi.test', DOMAIN), DnsErrorCodes.ZoneOutsideDomain, '/zone', 'outside the cluster domain');
    expectRefused(() => userZone('test', DOMAIN), DnsErrorCodes.ZoneOutsideDomain, '/zone');
  });

  it('refuses a name two labels below the domain: that is not a tenant zone', () => {
    expectRefused(() => userZone(`a.b.${DOMAIN}`, DOMAIN), DnsErrorCodes.ZoneOutsideDomain, '/zone', `zone a.b.${DOMAIN} is not a zone dns-manager keeps`, 'one zone per tenant');
  });

  it('refuses a zone that is not a DNS name', () => {
    expectRefused(() => userZone('bad_label.sdmi.test', DOMAIN), DnsErrorCodes.InvalidDnsName, '/zone', '"bad_label"');
    expectRefused(() => userZone('', DOMAIN), DnsErrorCodes.InvalidDnsName, '/zone', 'empty');
  });
});

describe('userName', () => {
  it('accepts a name one label below a tenant zone, and its apex', () => {
    expect(userName('WWW.m1.sdmi.test', TZ, DOMAIN)).toBe(`www.${TZ}`);
    expect(userName(TZ, TZ, DOMAIN)).toBe(TZ);
  });

  it('accepts underscore names below a tenant zone, such as an ACME challenge for a service name', () => {
    expect(userName(`_acme-challenge.app.app.${TZ}`, TZ, DOMAIN)).toBe(`_acme-challenge.app.app.${TZ}`);
    expect(userName(`_sip._udp.${TZ}`, TZ, DOMAIN)).toBe(`_sip._udp.${TZ}`);
  });

  it('accepts names of the cluster zone that no tenant zone holds', () => {
    expect(userName('www.sdmi.test', DOMAIN, DOMAIN)).toBe(`www.${DOMAIN}`);
    expect(userName(`_acme-challenge.${DOMAIN}`, DOMAIN, DOMAIN)).toBe(`_acme-challenge.${DOMAIN}`);
    expect(userName(`_sip._udp.${DOMAIN}`, DOMAIN, DOMAIN)).toBe(`_sip._udp.${DOMAIN}`);
  });

  it('refuses a name outside its zone', () => {
    expectRefused(() => userName('www.example.com', TZ, DOMAIN), DnsErrorCodes.NameOutsideZone, '/name', `name www.example.com. is not in zone ${TZ}`);
    expectRefused(() => userName('www.m2.sdmi.test', TZ, DOMAIN), DnsErrorCodes.NameOutsideZone, '/name', 'is not in zone');
    expectRefused(() => userName(DOMAIN, TZ, DOMAIN), DnsErrorCodes.NameOutsideZone, '/name');
  });

  it('refuses, in the cluster zone, a name that belongs in a tenant zone', () => {
    expectRefused(() => userName(`www.${TZ}`, DOMAIN, DOMAIN), DnsErrorCodes.NameOutsideZone, '/name', `below tenant zone ${TZ}`, 'put it there');
  });

  it('refuses the nameserver’s name in the cluster zone', () => {
    expectRefused(() => userName(`ns.${DOMAIN}`, DOMAIN, DOMAIN), DnsErrorCodes.NameTaken, '/name', `ns.${DOMAIN} is the nameserver's name`);
  });

  it('refuses <x>.<network>.<tenant>.<domain>: the names of replicas and services', () => {
    expectRefused(() => userName(`x.app.${TZ}`, TZ, DOMAIN), DnsErrorCodes.NameTaken, '/name', `x.app.${TZ}`, 'belong to the replicas and services', `www.${TZ}`);
    expectRefused(() => userName(`app-1-r2.app.${TZ}`, TZ, DOMAIN), DnsErrorCodes.NameTaken, '/name');
    expectRefused(() => userName(`a.b.c.${TZ}`, TZ, DOMAIN), DnsErrorCodes.NameTaken, '/name');
  });

  it.each([
    ['bad_label', /"bad_label" holds "_"/],
    ['-x', /"-x" starts or ends with a hyphen/],
    ['x-', /"x-" starts or ends with a hyphen/],
    ['a'.repeat(64), new RegExp(`"${'a'.repeat(64)}" has 64 characters, at most 63`)],
    ['a..b', /empty label/],
  ])('refuses the label %j, naming it and why', (label, why) => {
    expectRefused(() => userName(`${label}.${TZ}`, TZ, DOMAIN), DnsErrorCodes.InvalidDnsName, '/name', why, '/name');
  });

  it('accepts a 63-character label', () => {
    expect(userName(`${'a'.repeat(63)}.${TZ}`, TZ, DOMAIN)).toBe(`${'a'.repeat(63)}.${TZ}`);
  });
});

describe('userContent', () => {
  it('keeps IPv4 addresses, trimmed', () => {
    expect(userContent('A', ['192.0.2.1', ' 192.0.2.2 '])).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('refuses a bad A record, naming which one', () => {
    expectRefused(() => userContent('A', ['1.2.3']), DnsErrorCodes.InvalidRecord, '/records/0', 'records[0] is not an A record: "1.2.3" is not an IPv4 address');
    expectRefused(() => userContent('A', ['192.0.2.1', '192.0.2.256']), DnsErrorCodes.InvalidRecord, '/records/1', 'records[1]', '"192.0.2.256"');
    expectRefused(() => userContent('A', ['fd00::1']), DnsErrorCodes.InvalidRecord, '/records/0', 'not an IPv4 address');
  });

  it('keeps IPv6 addresses in lower case, refuses anything else', () => {
    expect(userContent('AAAA', ['FD00::1'])).toEqual(['fd00::1']);
    expectRefused(() => userContent('AAAA', ['192.0.2.1']), DnsErrorCodes.InvalidRecord, '/records/0', 'records[0] is not an AAAA record: "192.0.2.1" is not an IPv6 address');
    expectRefused(() => userContent('AAAA', ['fd00::g']), DnsErrorCodes.InvalidRecord, '/records/0');
  });

  it('normalises MX records: preference as a number, absolute host', () => {
    expect(userContent('MX', ['10 Mail.Example.com', '010  mx2.example.com.'])).toEqual(['10 mail.example.com.', '10 mx2.example.com.']);
  });

  it('refuses a bad MX record', () => {
    for (const bad of ['mail.example.com', '70000 mail.example.com', '-1 mail.example.com', '10 mail example.com']) {
      expectRefused(() => userContent('MX', [bad]), DnsErrorCodes.InvalidRecord, '/records/0', 'is not a MX record', '<preference 0-65535> <host>', JSON.stringify(bad));
    }
    expectRefused(() => userContent('MX', ['10 bad_host.example.com']), DnsErrorCodes.InvalidDnsName, '/records/0', '"bad_host"');
  });

  it('normalises SRV records', () => {
    expect(userContent('SRV', ['0 5 443 web.m1.sdmi.test', '10 0 65535 Other.Example.'])).toEqual(['0 5 443 web.m1.sdmi.test.', '10 0 65535 other.example.']);
  });

  it('refuses a bad SRV record', () => {
    for (const bad of ['0 5 web.example.com', '0 5 70000 web.example.com', '0 5 443', 'a b c d', '0 5 443 web.example.com extra']) {
      expectRefused(() => userContent('SRV', [bad]), DnsErrorCodes.InvalidRecord, '/records/0', 'is not a SRV record', '<priority> <weight> <port> <target>', JSON.stringify(bad));
    }
    expectRefused(() => userContent('SRV', ['0 5 443 -web.example.com']), DnsErrorCodes.InvalidDnsName, '/records/0', 'starts or ends with a hyphen');
  });

  it('makes a CNAME target absolute, lower case', () => {
    expect(userContent('CNAME', ['App.App.m1.sdmi.test'])).toEqual([`app.app.${TZ}`]);
    expect(userContent('CNAME', ['www.example.com.'])).toEqual(['www.example.com.']);
  });

  it('refuses a CNAME with two targets, or none, or a bad one', () => {
    expectRefused(() => userContent('CNAME', ['a.example.', 'b.example.']), DnsErrorCodes.InvalidRecord, '/records', 'a CNAME has exactly one target, got 2');
    expectRefused(() => userContent('CNAME', []), DnsErrorCodes.InvalidRecord, '/records', 'got 0');
    expectRefused(() => userContent('CNAME', ['not a name']), DnsErrorCodes.InvalidDnsName, '/records/0', '" "');
  });

  it('quotes TXT text, escaping quotes and backslashes; keeps quoted text as it is', () => {
    expect(userContent('TXT', ['hello world'])).toEqual(['"hello world"']);
    expect(userContent('TXT', ['say "hi" \\o/'])).toEqual(['"say \\"hi\\" \\\\o/"']);
    expect(userContent('TXT', ['"v=spf1 -all"', '"part one" "part two"'])).toEqual(['"v=spf1 -all"', '"part one" "part two"']);
    expect(userContent('TXT', ['x'.repeat(255)])).toEqual([`"${'x'.repeat(255)}"`]);
  });

  it('refuses unquoted TXT text longer than one string holds', () => {
    expectRefused(() => userContent('TXT', ['x'.repeat(256)]), DnsErrorCodes.InvalidRecord, '/records/0', 'is not a TXT record', 'at most 255 characters');
  });

  it.each(['PTR', 'NS', 'DS', 'SOA', 'CAA'])('refuses type %s, which users may not set', (type) => {
    expectRefused(() => userContent(type, ['x']), DnsErrorCodes.InvalidRecord, '/records/0', `type ${type} is not one users may set`);
  });
});

describe('userRecords', () => {
  it('checks and normalises a request, with a default ttl of 60', () => {
    expect(userRecords({ zone: 'm1.sdmi.test', name: 'WWW.m1.sdmi.test', type: 'A', records: ['192.0.2.1'] }, DOMAIN, [])).toEqual({
      zone: TZ,
      name: `www.${TZ}`,
      type: 'A',
      ttl: 60,
      records: ['192.0.2.1'],
    });
    expect(userRecords({ zone: TZ, name: `www.${TZ}`, type: 'TXT', ttl: 300, records: ['hi'] }, DOMAIN, ['A']).ttl).toBe(300);
  });

  it('refuses a CNAME beside other data', () => {
    expectRefused(
      () => userRecords({ zone: TZ, name: `www.${TZ}`, type: 'CNAME', records: ['app.app.m1.sdmi.test'] }, DOMAIN, ['A', 'TXT']),
      DnsErrorCodes.CnameConflict,
      '/type',
      `www.${TZ} already has A, TXT records`,
      'a CNAME must be the only data at its name',
    );
  });

  it('refuses other data beside a CNAME', () => {
    expectRefused(() => userRecords({ zone: TZ, name: `www.${TZ}`, type: 'TXT', records: ['hi'] }, DOMAIN, ['CNAME']), DnsErrorCodes.CnameConflict, '/type', `www.${TZ} is a CNAME`, 'no other records');
  });

  it('lets a CNAME replace the CNAME at its name', () => {
    expect(userRecords({ zone: TZ, name: `www.${TZ}`, type: 'CNAME', records: ['other.example'] }, DOMAIN, ['CNAME']).records).toEqual(['other.example.']);
  });

  it('refuses a CNAME at a zone apex, which holds the SOA and NS', () => {
    expectRefused(() => userRecords({ zone: TZ, name: TZ, type: 'CNAME', records: ['elsewhere.example.'] }, DOMAIN, []), DnsErrorCodes.CnameConflict, '/name', 'apex', 'SOA');
    expectRefused(() => userRecords({ zone: DOMAIN, name: DOMAIN, type: 'CNAME', records: ['elsewhere.example.'] }, DOMAIN, []), DnsErrorCodes.CnameConflict, '/name', 'apex');
    // Other types at the apex are fine.
    expect(userRecords({ zone: TZ, name: TZ, type: 'TXT', records: ['v=spf1 -all'] }, DOMAIN, []).records).toEqual(['"v=spf1 -all"']);
  });

  it('passes on the zone’s, the name’s and the content’s refusals', () => {
    expect(refused(() => userRecords({ zone: 'example.com', name: 'www.example.com', type: 'A', records: ['192.0.2.1'] }, DOMAIN, [])).code).toBe(DnsErrorCodes.ZoneOutsideDomain);
    expect(refused(() => userRecords({ zone: TZ, name: `x.app.${TZ}`, type: 'A', records: ['192.0.2.1'] }, DOMAIN, [])).code).toBe(DnsErrorCodes.NameTaken);
    expect(refused(() => userRecords({ zone: TZ, name: `www.${TZ}`, type: 'A', records: ['nope'] }, DOMAIN, [])).path).toBe('/records/0');
  });
});
