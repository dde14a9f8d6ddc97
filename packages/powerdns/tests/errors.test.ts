// Bad input and failures against a real PowerDNS: specific errors, and nothing changed.
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testbed, runId } from '@sdmi/testbed';
import type { PowerDns } from '@sdmi/testbed';
import {
  InvalidClientOptions,
  InvalidDnsName,
  InvalidRequest,
  NameOutsideZone,
  PowerDnsClient,
  PowerDnsError,
  PowerDnsUnreachable,
} from '../src/index';
import type { Zone } from '../src/index';
import { clientFor, digShort, recordingLogger } from './fixture';

const tb = new Testbed();
let pdns: PowerDns;
let api: PowerDnsClient;
const log = recordingLogger();
const zone = `${runId()}.sdmi.test.`;
const name = `web.${zone}`;

beforeAll(async () => {
  pdns = await tb.powerDns();
  api = clientFor(pdns, log);
  await api.createZone({ name: zone, nameservers: [`ns1.${zone}`] });
  await api.replaceRRset(zone, { name, type: 'A', ttl: 60, records: ['10.79.0.1'] });
});

afterAll(async () => {
  await tb.dispose();
  expect((await tb.inventory()).processes).toEqual([]);
});

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Runs `attempt`, expects it to fail, and checks that the zone and the DNS answer are as before. */
async function unchanged(attempt: () => Promise<unknown>): Promise<unknown> {
  const before: Zone = await api.getZone(zone);
  const requests = log.entries.length;
  const e = await caught(attempt());
  const sent = log.entries.slice(requests);
  expect(await api.getZone(zone)).toEqual(before);
  expect(await digShort(pdns, name, 'A')).toEqual(['10.79.0.1']);
  return Object.assign(e as object, { requestsSent: sent.length });
}

describe('bad input is refused before any request, and changes nothing', () => {
  it('an owner name with an invalid label', async () => {
    const e = await unchanged(() => api.replaceRRset(zone, { name: `my_web.${zone}`, type: 'A', ttl: 60, records: ['10.79.0.9'] }));
    expect(e).toBeInstanceOf(InvalidDnsName);
    expect((e as Error).message).toBe(
      `invalid DNS name "my_web.${zone}" in patchRRsets(${zone}): changes[0].name: label "my_web" holds "_": labels hold letters, digits and inner hyphens only (an underscore may only start one)`,
    );
    expect(e).toMatchObject({ requestsSent: 0 });
  });

  it('a zone name with an invalid label', async () => {
    const e = await unchanged(() => api.createZone({ name: `bad..${zone}` }));
    expect(e).toBeInstanceOf(InvalidDnsName);
    expect((e as Error).message).toBe(`invalid DNS name "bad..${zone}" in createZone: name: it has an empty label (two dots in a row, or a leading dot)`);
    expect(e).toMatchObject({ requestsSent: 0 });
    expect((await api.listZones()).map((z) => z.name)).toEqual([zone]);
  });

  it('a record outside the zone, even next to a valid change', async () => {
    const e = await unchanged(() =>
      api.patchRRsets(zone, [
        { changetype: 'REPLACE', name, type: 'A', ttl: 60, records: ['10.79.0.2'] },
        { changetype: 'REPLACE', name: 'web.other.test', type: 'A', ttl: 60, records: ['10.79.0.3'] },
      ]),
    );
    expect(e).toBeInstanceOf(NameOutsideZone);
    expect((e as Error).message).toBe(
      `patchRRsets(${zone}): changes[1].name: "web.other.test." is outside zone "${zone}": a zone holds its apex and the names below it only`,
    );
    expect(e).toMatchObject({ requestsSent: 0 });
  });

  it.each([
    [{ type: 'A', records: ['10.79.0.300'] }, 'changes[0].records[0]: A record content "10.79.0.300" is not an IPv4 address'],
    [{ type: 'AAAA', records: ['10.79.0.1'] }, 'changes[0].records[0]: AAAA record content "10.79.0.1" is not an IPv6 address'],
    [{ type: 'A', records: ['10.79.0.1', '10.79.0.1'] }, 'changes[0].records: a record is given twice'],
    [{ type: 'A', ttl: -1 }, 'changes[0].ttl: TTL -1 is not an integer from 0 to 2147483647'],
    [{ type: 'A', ttl: 1.5 }, 'changes[0].ttl: TTL 1.5 is not an integer from 0 to 2147483647'],
    [{ type: 'A B' }, 'changes[0].type: record type "A B" is not a type mnemonic such as A, AAAA, SRV'],
    [{ type: 'RRSIG' }, "changes[0].type: RRSIG records are made by PowerDNS from the zone's cryptokeys, not sent"],
    [{ type: 'TXT', records: ['"a"\n"b"'] }, 'changes[0].records[0]: record content "\\"a\\"\\n\\"b\\"" holds a line break or NUL'],
  ])('an RRset with %j', async (bad, reason) => {
    const change = { changetype: 'REPLACE' as const, name, ttl: 60, records: ['10.79.0.5'], ...bad };
    const e = await unchanged(() => api.patchRRsets(zone, [change]));
    expect(e).toBeInstanceOf(InvalidRequest);
    expect((e as Error).message).toBe(`invalid request in patchRRsets(${zone}): ${reason}`);
    expect(e).toMatchObject({ requestsSent: 0 });
  });

  it('the same RRset twice in one PATCH', async () => {
    const e = await unchanged(() =>
      api.patchRRsets(zone, [
        { changetype: 'REPLACE', name, type: 'A', ttl: 60, records: ['10.79.0.2'] },
        { changetype: 'DELETE', name: name.toUpperCase(), type: 'a' },
      ]),
    );
    expect((e as Error).message).toBe(`invalid request in patchRRsets(${zone}): changes[1]: ${name} A is changed twice in one request`);
  });
});

describe('what PowerDNS refuses comes back as a PowerDnsError with its status and text', () => {
  it('a PATCH PowerDNS rejects is applied not at all', async () => {
    const e = await unchanged(() =>
      api.patchRRsets(zone, [
        { changetype: 'REPLACE', name, type: 'A', ttl: 60, records: ['10.79.0.2'] },
        { changetype: 'REPLACE', name: `mail.${zone}`, type: 'MX', ttl: 60, records: ['not an mx record'] },
      ]),
    );
    expect(e).toBeInstanceOf(PowerDnsError);
    expect(e).toMatchObject({ status: 422, method: 'PATCH', path: `/api/v1/servers/localhost/zones/${zone}`, requestsSent: 1 });
    const pdnsError = (e as PowerDnsError).pdnsError;
    expect(pdnsError).toBe(
      `Record mail.${zone}/MX 'not an mx record': Parsing record content (try 'pdnsutil check-zone'): expected digits at position 0 in 'not an mx record'`,
    );
    expect((e as Error).message).toBe(
      `change 2 RRset(s) in zone ${zone} failed: PowerDNS answered 422 to PATCH /api/v1/servers/localhost/zones/${zone}: ${pdnsError}`,
    );
  });

  it('a zone that exists already: 409', async () => {
    const e = await caught(api.createZone({ name: zone }));
    expect(e).toBeInstanceOf(PowerDnsError);
    expect(e).toMatchObject({ status: 409, pdnsError: 'Conflict' });
    expect((e as Error).message).toBe(`create zone ${zone} failed: PowerDNS answered 409 to POST /api/v1/servers/localhost/zones: Conflict`);
  });

  it('a zone that does not exist: 404', async () => {
    const e = await caught(api.getZone(`nothing.${zone}`));
    expect(e).toMatchObject({ name: 'PowerDnsError', status: 404, pdnsError: 'Not Found' });
    expect((e as Error).message).toBe(`get zone nothing.${zone} failed: PowerDNS answered 404 to GET /api/v1/servers/localhost/zones/nothing.${zone}: Not Found`);
  });

  it('a wrong API key: 401, and no key in the error, the logs or the printed client', async () => {
    const wrongKey = `not-${pdns.apiKey}`;
    const wrong = new PowerDnsClient({ baseUrl: pdns.apiUrl, apiKey: wrongKey, logger: log });
    const e = await caught(wrong.listZones());
    expect(e).toMatchObject({ name: 'PowerDnsError', status: 401 });
    for (const text of [inspect(e, { depth: 5 }), JSON.stringify(log.entries), inspect(wrong, { depth: 5 }), inspect(api, { depth: 5 })]) {
      expect(text).not.toContain(pdns.apiKey);
    }
  });
});

describe('failures of the client itself', () => {
  it('no server on the port: PowerDnsUnreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const gone = new PowerDnsClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k' });
    const e = await caught(gone.listZones());
    expect(e).toBeInstanceOf(PowerDnsUnreachable);
    expect((e as Error).message).toMatch(new RegExp(`^list zones failed: PowerDNS API at http://127\\.0\\.0\\.1:${port} unreachable: fetch failed \\(.*ECONNREFUSED`));
  });

  it.each([
    [{ baseUrl: '127.0.0.1:8081', apiKey: 'k' }, 'baseUrl: "127.0.0.1:8081" is not a URL'],
    [{ baseUrl: 'localhost:8081', apiKey: 'k' }, 'baseUrl: localhost: is not http: or https:'],
    [{ baseUrl: 'ftp://127.0.0.1', apiKey: 'k' }, 'baseUrl: ftp: is not http: or https:'],
    [{ baseUrl: 'http://u:p@127.0.0.1', apiKey: 'k' }, 'baseUrl: credentials do not belong in the URL: pass apiKey'],
    [{ baseUrl: 'http://127.0.0.1', apiKey: '' }, 'apiKey: it is empty'],
    [{ baseUrl: 'http://127.0.0.1', apiKey: 'k', timeoutMs: 0 }, 'timeoutMs: 0 is not a positive number of milliseconds'],
  ])('options %j', (options, reason) => {
    expect(() => new PowerDnsClient(options)).toThrow(new InvalidClientOptions(reason.split(':')[0]!, reason.slice(reason.indexOf(':') + 2)));
  });
});
