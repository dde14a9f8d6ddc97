// DNSSEC on a real PowerDNS: ECDSA P-256 keys through the cryptokeys API, RRSIGs seen with
// dig +dnssec, the child's DS published in the parent, and delv validating from the parent's key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testbed, runId } from '@sdmi/testbed';
import type { PowerDns } from '@sdmi/testbed';
import { DnssecAlgorithm, KeyType } from '../src/index';
import type { CryptoKey, PowerDnsClient } from '../src/index';
import { clientFor, delv, digShort, writeAnchor } from './fixture';

const tb = new Testbed();
let pdns: PowerDns;
let api: PowerDnsClient;
const parent = `${runId()}.sdmi.test.`;
const child = `tenant1.${parent}`;
const name = `web.${child}`;
let parentKey: CryptoKey;
let childKey: CryptoKey;
let anchor: string;

beforeAll(async () => {
  pdns = await tb.powerDns();
  api = clientFor(pdns);
  await api.createZone({ name: parent, nameservers: [`ns1.${parent}`] });
  await api.createZone({ name: child, nameservers: [`ns1.${parent}`] });
  await api.replaceRRset(parent, { name: `ns1.${parent}`, type: 'A', ttl: 300, records: ['127.0.0.1'] });
  // The delegation: without NS at the cut the parent would not treat the child's DS as one.
  await api.replaceRRset(parent, { name: child, type: 'NS', ttl: 300, records: [`ns1.${parent}`] });
  await api.replaceRRset(child, { name, type: 'A', ttl: 60, records: ['10.78.0.1', '10.78.0.2'] });
});

afterAll(async () => {
  await tb.dispose();
  expect((await tb.inventory()).processes).toEqual([]);
});

/** The RRSIG lines of a dig +dnssec answer for name/type. */
async function rrsigs(n: string, type: string): Promise<string[]> {
  const r = await pdns.dig('+dnssec', '+norecurse', '+noall', '+answer', n, type);
  return r.stdout.split('\n').filter((l) => /\sRRSIG\s/.test(l));
}

describe('DNSSEC on a real PowerDNS', () => {
  it('creates an active ECDSA P-256 signing key for each zone, with its DNSKEY and DS', async () => {
    expect(await rrsigs(name, 'A')).toEqual([]);
    parentKey = await api.createCryptoKey(parent);
    childKey = await api.createCryptoKey(child, { keytype: KeyType.Csk, algorithm: DnssecAlgorithm.EcdsaP256Sha256 });
    for (const key of [parentKey, childKey]) {
      expect(key).toMatchObject({ keytype: 'csk', active: true, published: true, algorithm: 'ECDSAP256SHA256', algorithmNumber: 13, flags: 257, bits: 256 });
      expect(key.dnskey).toMatch(/^257 3 13 [A-Za-z0-9+/=]+$/);
      expect(key.ds.map((d) => d.split(' ')[2]).sort()).toEqual(['1', '2', '4']);
      expect(Object.keys(key)).not.toContain('privatekey');
    }
    expect(await api.listCryptoKeys(child)).toEqual([childKey]);
    expect((await api.getZone(child)).dnssec).toBe(true);
    anchor = writeAnchor(pdns.dir, parent, parentKey.dnskey);
  });

  it('signs the A set: dig +dnssec returns an RRSIG by the child key', async () => {
    const sigs = await rrsigs(name, 'A');
    expect(sigs).toHaveLength(1);
    const tag = childKey.ds[0]!.split(' ')[0];
    // RRSIG <type covered> <algorithm> <labels> <orig ttl> <expiration> <inception> <key tag> <signer>
    expect(sigs[0]).toMatch(new RegExp(`\\sRRSIG\\s+A 13 \\d+ 60 \\d{14} \\d{14} ${tag} ${child.replaceAll('.', '\\.')} `));
    // dig splits long base64 into words.
    const dnskeys = (await digShort(pdns, child, 'DNSKEY')).map((k) => k.replace(/\s+/g, ''));
    expect(dnskeys).toEqual([childKey.dnskey.replace(/\s+/g, '')]);
  });

  it('without the DS in the parent, delv from the parent key finds the child unsigned', async () => {
    const out = await delv(pdns, anchor, parent, name, 'A');
    expect(out).not.toContain('fully validated');
    expect(out).toContain('; unsigned answer');
  });

  it('with the child DS published in the parent, delv from the parent key fully validates the child name', async () => {
    const ds = childKey.ds.find((d) => d.split(' ')[2] === '2')!;
    await api.replaceRRset(parent, { name: child, type: 'DS', ttl: 300, records: [ds] });
    await api.rectifyZone(parent);
    expect(await digShort(pdns, child, 'DS')).toHaveLength(1);
    const out = await delv(pdns, anchor, parent, name, 'A');
    expect(out).toContain('; fully validated');
    expect(out).toMatch(/web\.\S+\s+60\s+IN\s+A\s+10\.78\.0\.1/);
    expect(out).toMatch(/web\.\S+\s+60\s+IN\s+A\s+10\.78\.0\.2/);
  });

  it('does not validate from a key that is not the parent zone’s', async () => {
    const wrong = writeAnchor(pdns.dir, parent, childKey.dnskey);
    const out = await delv(pdns, wrong, parent, name, 'A');
    expect(out).not.toContain('fully validated');
    expect(out).toContain('resolution failed');
  });

  it('keeps metadata of the zone', async () => {
    await api.setMetadata(child, 'X-SDMI-OWNER', ['dns-manager']);
    expect(await api.getMetadata(child, 'X-SDMI-OWNER')).toEqual(['dns-manager']);
    await api.deleteMetadata(child, 'X-SDMI-OWNER');
    expect(await api.getMetadata(child, 'X-SDMI-OWNER')).toEqual([]);
  });

  it('deleting the child key unsigns it: no RRSIG, and the DS left in the parent breaks validation', async () => {
    await api.deleteCryptoKey(child, childKey.id);
    expect(await api.listCryptoKeys(child)).toEqual([]);
    expect((await api.getZone(child)).dnssec).toBe(false);
    expect(await rrsigs(name, 'A')).toEqual([]);
    const out = await delv(pdns, anchor, parent, name, 'A');
    expect(out).not.toContain('fully validated');
    expect(out).toContain('resolution failed');
  });
});
