// DNS over TLS: dnsdist in front of a real PowerDNS, queried with kdig +tls (knot-dnsutils) as a
// user would; the zone and its record are made through PowerDnsClient.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testbed, kdig, runId, tryRun } from '@sdmi/testbed';
import type { Dnsdist, PowerDns } from '@sdmi/testbed';
import type { PowerDnsClient } from '../src/index';
import { clientFor, digShort } from './fixture';

const tb = new Testbed();
let pdns: PowerDns;
let dot: Dnsdist;
let api: PowerDnsClient;
const zone = `${runId()}.dot.sdmi.test.`;

beforeAll(async () => {
  pdns = await tb.powerDns();
  dot = await tb.dnsdist({ backend: { port: pdns.dnsPort }, plain: true });
  api = clientFor(pdns);
  await api.createZone({ name: zone, nameservers: [`ns1.${zone}`] });
  await api.replaceRRset(zone, { name: `web.${zone}`, type: 'A', ttl: 30, records: ['10.78.0.7', '10.78.0.8'] });
});

afterAll(async () => {
  await tb.dispose();
  const left = await tb.inventory();
  expect([...left.processes.map((p) => p.argv.join(' ')), ...left.directories]).toEqual([]);
});

describe('DNS over TLS through dnsdist', () => {
  it('kdig +tls resolves a name of a zone made through the API, over TLS, with the answer PowerDNS gives', async () => {
    const r = await dot.kdig('+norecurse', `web.${zone}`, 'A');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.tlsSession).toMatch(/^\(TLS1\.[23]\)/);
    expect(r.status).toBe('NOERROR');
    expect(r.answers.map((a) => [a.name, a.ttl, a.type, a.data]).sort()).toEqual([
      [`web.${zone}`, 30, 'A', '10.78.0.7'],
      [`web.${zone}`, 30, 'A', '10.78.0.8'],
    ]);
    expect(await digShort(pdns, `web.${zone}`, 'A')).toEqual(['10.78.0.7', '10.78.0.8']);
  });

  it('a name that does not exist is NXDOMAIN over TLS too, with the zone SOA as proof', async () => {
    const r = await dot.kdig('+norecurse', `nothing.${zone}`, 'A');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.tlsSession).toBeDefined();
    expect(r.status).toBe('NXDOMAIN');
    expect(r.answers).toEqual([]);
    expect(r.stdout).toMatch(new RegExp(`AUTHORITY SECTION:\\n${zone.replaceAll('.', '\\.')}\\s+\\d+\\s+IN\\s+SOA\\s+ns1\\.`));
  });

  it('follows changes made through the API (one address after scaling down)', async () => {
    await api.replaceRRset(zone, { name: `web.${zone}`, type: 'A', ttl: 30, records: ['10.78.0.8'] });
    // dnsdist keeps a packet cache only when one is configured; none is, so the change shows at once.
    const r = await dot.kdig('+norecurse', `web.${zone}`, 'A');
    expect(r.answers.map((a) => a.data)).toEqual(['10.78.0.8']);
  });

  it('unpinned +tls (opportunistic: the certificate is self-signed) answers too; a wrong pin is refused', async () => {
    const open = await kdig({ port: dot.tlsPort }, '+norecurse', `web.${zone}`, 'A');
    expect(open.status, open.stderr).toBe('NOERROR');
    const wrong = await kdig({ port: dot.tlsPort, pin: Buffer.alloc(32, 7).toString('base64') }, '+time=2', '+retry=0', '+norecurse', `web.${zone}`, 'A');
    expect(wrong.status).toBeUndefined();
    expect(wrong.exitCode).not.toBe(0);
  });

  it('the plain listener forwards as well, and a zone it does not have is REFUSED', async () => {
    const r = await tryDig(dot.plainPort!, `web.${zone}`);
    expect(r).toContain('status: NOERROR');
    expect(await tryDig(dot.plainPort!, 'elsewhere.sdmi.invalid.')).toContain('status: REFUSED');
  });
});

async function tryDig(port: number, name: string): Promise<string> {
  const r = await tryRun('dig', ['@127.0.0.1', '-p', String(port), '+norecurse', '+time=2', '+tries=1', name, 'A']);
  return r.stdout;
}
