// Zones and A record sets through the API of a real PowerDNS, read back with dig.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testbed, runId } from '@sdmi/testbed';
import type { PowerDns } from '@sdmi/testbed';
import { PowerDnsError } from '../src/index';
import type { PowerDnsClient } from '../src/index';
import { clientFor, digShort, digStatus } from './fixture';

const tb = new Testbed();
let pdns: PowerDns;
let api: PowerDnsClient;
const zone = `${runId()}.sdmi.test.`;
const child = `apps.${zone}`;

beforeAll(async () => {
  pdns = await tb.powerDns();
  api = clientFor(pdns);
});

afterAll(async () => {
  await tb.dispose();
  expect((await tb.inventory()).processes).toEqual([]);
});

describe('zones and records on a real PowerDNS', () => {
  it('creates a zone and a child zone, Native, with their NS and SOA', async () => {
    expect(await api.server()).toMatchObject({ id: 'localhost', daemonType: 'authoritative', version: expect.stringMatching(/^4\.7\./) });
    const parent = await api.createZone({ name: zone, nameservers: [`ns1.${zone}`] });
    // Given without the trailing dot and in capitals: stored normalised.
    const sub = await api.createZone({ name: child.slice(0, -1).toUpperCase(), nameservers: [`NS1.${zone}`] });
    expect(parent).toMatchObject({ id: zone, name: zone, kind: 'Native', dnssec: false, apiRectify: true, soaEditApi: 'DEFAULT' });
    expect(sub.name).toBe(child);
    expect(sub.rrsets.find((r) => r.type === 'NS')?.records).toEqual([{ content: `ns1.${zone}`, disabled: false }]);
    expect((await api.listZones()).map((z) => z.name).sort()).toEqual([child, zone].sort());
    expect(await digShort(pdns, zone, 'NS')).toEqual([`ns1.${zone}`]);
    expect((await digShort(pdns, child, 'SOA'))[0]).toMatch(new RegExp(`^ns1\\.${child.replaceAll('.', '\\.')} hostmaster\\.`));
  });

  it('serves several addresses for one name and replaces the set as it scales 1 → 3 → 1', async () => {
    const name = `web.${child}`;
    await api.replaceRRset(child, { name, type: 'A', ttl: 30, records: ['10.77.0.1'] });
    expect(await digShort(pdns, name, 'A')).toEqual(['10.77.0.1']);

    await api.replaceRRset(child, { name, type: 'A', ttl: 30, records: ['10.77.0.1', '10.77.0.2', '10.77.0.3'] });
    expect(await digShort(pdns, name, 'A')).toEqual(['10.77.0.1', '10.77.0.2', '10.77.0.3']);
    const rrset = (await api.getZone(child)).rrsets.find((r) => r.name === name && r.type === 'A');
    expect(rrset).toMatchObject({ ttl: 30 });
    expect(rrset?.records.map((r) => r.content).sort()).toEqual(['10.77.0.1', '10.77.0.2', '10.77.0.3']);

    await api.replaceRRset(child, { name, type: 'A', ttl: 30, records: ['10.77.0.2'] });
    expect(await digShort(pdns, name, 'A')).toEqual(['10.77.0.2']);
    // The parent zone does not answer for its child's names.
    expect(await digShort(pdns, `web.${zone}`, 'A')).toEqual([]);
  });

  it('changes several RRsets in one PATCH and deletes one', async () => {
    await api.patchRRsets(child, [
      { changetype: 'REPLACE', name: `db.${child}`, type: 'A', ttl: 60, records: ['10.77.1.1', { content: '10.77.1.2' }] },
      { changetype: 'REPLACE', name: `db.${child}`, type: 'AAAA', ttl: 60, records: ['fd00::1'] },
      { changetype: 'REPLACE', name: `alias.${child}`, type: 'CNAME', ttl: 60, records: [`db.${child.slice(0, -1)}`] },
    ]);
    expect(await digShort(pdns, `db.${child}`, 'A')).toEqual(['10.77.1.1', '10.77.1.2']);
    expect(await digShort(pdns, `db.${child}`, 'AAAA')).toEqual(['fd00::1']);
    expect(await digShort(pdns, `alias.${child}`, 'CNAME')).toEqual([`db.${child}`]);

    await api.deleteRRset(child, `db.${child}`, 'A');
    expect(await digShort(pdns, `db.${child}`, 'A')).toEqual([]);
    expect(await digShort(pdns, `db.${child}`, 'AAAA')).toEqual(['fd00::1']);
    await api.patchRRsets(child, [
      { changetype: 'DELETE', name: `db.${child}`, type: 'AAAA' },
      { changetype: 'DELETE', name: `alias.${child}`, type: 'CNAME' },
    ]);
    expect(await digStatus(pdns, `db.${child}`, 'A')).toBe('NXDOMAIN');
    // Deleting what is not there is no error.
    await api.deleteRRset(child, `db.${child}`, 'A');
  });

  it('deletes the child zone: its names are gone, the parent stays', async () => {
    expect(await digShort(pdns, `web.${child}`, 'A')).toEqual(['10.77.0.2']);
    await api.deleteZone(child);
    expect(await digStatus(pdns, `web.${child}`, 'A')).toBe('NXDOMAIN');
    expect(await api.findZone(child)).toBeUndefined();
    const e = await api.getZone(child).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PowerDnsError);
    expect((e as PowerDnsError).status).toBe(404);
    expect((await api.listZones()).map((z) => z.name)).toEqual([zone]);
    await api.deleteZone(zone);
    expect(await digStatus(pdns, `ns1.${zone}`, 'A')).toBe('REFUSED');
    expect(await api.listZones()).toEqual([]);
  });
});
