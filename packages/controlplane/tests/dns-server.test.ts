// The control plane's DNS server on the real pdns_server and dnsdist: started on free loopback
// ports in a run dir of its own, found running and reused, restarted when its settings change,
// stopped; gsqlite3 and gpgsql. Queries go over UDP (dig) and DNS over TLS (kdig +tls-pin).
import { readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '@sdmi/bus';
import { createLogger } from '@sdmi/service';
import { Testbed, findProcesses, freePort, kdig, spkiPin, testName, tryRun, type TestDatabase } from '@sdmi/testbed';
import {
  DEFAULT_DNS_PORTS,
  DnsConfigError,
  DnsPortInUseError,
  DnsServer,
  dnsServiceEnv,
  formatDnsStatus,
  resolveDnsConfig,
  stopDnsServer,
  type DnsServerOptions,
} from '@sdmi/controlplane';

const silent = createLogger('dns-server-test', 'test', { level: 'silent' });
const tb = new Testbed();
// Named like a test-bed resource, so a run that dies leaves nothing the sweep cannot find.
const root = path.join(tmpdir(), testName('cpdns'));

afterAll(async () => {
  for (const dir of ['a', 'b', 'pg', 'busy', 'owner']) await stopDnsServer(path.join(root, dir), { stopTimeoutMs: 5_000 }).catch(() => undefined);
  await tb.dispose();
  await rm(root, { recursive: true, force: true });
  expect(findProcesses((arg) => arg.includes(root))).toEqual([]);
});

async function ports(): Promise<{ dnsPort: number; apiPort: number; dotPort: number }> {
  const dnsPort = await freePort(true);
  let apiPort = await freePort(false);
  while (apiPort === dnsPort) apiPort = await freePort(false);
  let dotPort = await freePort(false);
  while (dotPort === dnsPort || dotPort === apiPort) dotPort = await freePort(false);
  return { dnsPort, apiPort, dotPort };
}

function server(dir: string, options: Partial<DnsServerOptions> = {}): DnsServer {
  return new DnsServer({ runDir: path.join(root, dir), env: {}, logger: silent, readyTimeoutMs: 30_000, stopTimeoutMs: 10_000, ...options });
}

function keyOf(dns: DnsServer): string {
  return readFileSync(dns.serviceEnv.SDMI_PDNS_API_KEY_FILE!, 'utf8').trim();
}

async function api(dns: DnsServer, method: string, suffix: string, body?: unknown, key = keyOf(dns)): Promise<Response> {
  return fetch(`${dns.serviceEnv.SDMI_PDNS_API_URL}/api/v1/servers/localhost${suffix}`, {
    method,
    headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** A zone with one A record, made through the API as dns-manager will. */
async function createZone(dns: DnsServer, zone: string, address: string): Promise<void> {
  const r = await api(dns, 'POST', '/zones', {
    name: zone,
    kind: 'Native',
    nameservers: [`ns1.${zone}`],
    rrsets: [{ name: `web.${zone}`, type: 'A', ttl: 30, changetype: 'REPLACE', records: [{ content: address, disabled: false }] }],
  });
  expect(r.status, await r.clone().text()).toBe(201);
}

async function dig(port: number, name: string): Promise<string> {
  return (await tryRun('dig', ['@127.0.0.1', '-p', String(port), '+norecurse', '+time=2', '+tries=1', name, 'A'])).stdout;
}

function pinOf(dns: DnsServer): string {
  const c = dns.config;
  if (c.mode !== 'embedded') throw new Error('not embedded');
  return spkiPin(readFileSync(c.certFile, 'utf8'));
}

describe('the DNS server configuration', () => {
  it('defaults: sdmi.internal, gsqlite3 in <runDir>/dns, 127.0.0.1 on 5300 (DNS), 5380 (API), 5853 (DoT)', () => {
    const c = resolveDnsConfig({ runDir: '/srv/sdmi', env: {} });
    expect(c).toMatchObject({ mode: 'embedded', domain: 'sdmi.internal', dnsPort: 5300, apiPort: 5380, dotPort: 5853, backend: 'gsqlite3', dir: '/srv/sdmi/dns' });
    expect(DEFAULT_DNS_PORTS).toEqual({ dns: 5300, api: 5380, dot: 5853 });
    expect(dnsServiceEnv(c)).toEqual({
      SDMI_DNS_DOMAIN: 'sdmi.internal',
      SDMI_PDNS_API_URL: 'http://127.0.0.1:5380',
      SDMI_PDNS_API_KEY_FILE: '/srv/sdmi/dns/api-key',
      SDMI_DNS_NS_ADDRESS: '127.0.0.1',
    });
  });

  it('takes ports, domain and backend from the environment; gpgsql gets a database of its own on SDMI_PG_URL’s server', () => {
    const c = resolveDnsConfig({
      runDir: '/r',
      env: { SDMI_DNS_DOMAIN: 'Corp.Example.', SDMI_DNS_PORT: '1053', SDMI_PDNS_API_PORT: '1054', SDMI_DOT_PORT: '1055', SDMI_PDNS_BACKEND: 'gpgsql', SDMI_PG_URL: 'postgres://u:p%40ss@db.local:6543/main' },
    });
    expect(c).toMatchObject({ domain: 'corp.example', dnsPort: 1053, apiPort: 1054, dotPort: 1055, backend: 'gpgsql' });
    expect(c.mode === 'embedded' && c.pg).toEqual({ url: 'postgres://u:p%40ss@db.local:6543/main_pdns', name: 'main_pdns', host: 'db.local', port: 6543, user: 'u', password: 'p@ss' });
  });

  it('an external PowerDNS (SDMI_PDNS_API_URL) is passed on as it is and needs its key file', () => {
    const c = resolveDnsConfig({ runDir: '/r', env: { SDMI_PDNS_API_URL: 'http://10.1.2.3:8081', SDMI_PDNS_API_KEY_FILE: '/etc/sdmi/pdns.key' } });
    expect(dnsServiceEnv(c)).toEqual({ SDMI_DNS_DOMAIN: 'sdmi.internal', SDMI_PDNS_API_URL: 'http://10.1.2.3:8081', SDMI_PDNS_API_KEY_FILE: '/etc/sdmi/pdns.key', SDMI_DNS_NS_ADDRESS: '10.1.2.3' });
    expect(() => resolveDnsConfig({ runDir: '/r', env: { SDMI_PDNS_API_URL: 'http://10.1.2.3:8081' } })).toThrow(/SDMI_PDNS_API_KEY_FILE must name the file/);
  });

  it('refuses bad settings naming the variable', () => {
    const bad = (env: Record<string, string>) => () => resolveDnsConfig({ runDir: '/r', env });
    expect(bad({ SDMI_DNS_PORT: '53x' })).toThrow(new DnsConfigError('SDMI_DNS_PORT', '53x', 'must be a port number 1-65535'));
    expect(bad({ SDMI_DOT_PORT: '70000' })).toThrow(/SDMI_DOT_PORT=70000 must be a port number/);
    expect(bad({ SDMI_DNS_PORT: '5380' })).toThrow(/must be three different ports/);
    expect(bad({ SDMI_PDNS_BACKEND: 'bind' })).toThrow(/SDMI_PDNS_BACKEND=bind must be gsqlite3 or gpgsql/);
    expect(bad({ SDMI_DNS_DOMAIN: 'bad_domain..x' })).toThrow(/SDMI_DNS_DOMAIN=bad_domain\.\.x must be a DNS name/);
    expect(bad({ SDMI_PDNS_API_URL: 'ftp://x', SDMI_PDNS_API_KEY_FILE: '/k' })).toThrow(/must be an http or https URL/);
  });
});

describe('the embedded DNS server (gsqlite3)', () => {
  const zone = `${path.basename(root)}.sdmi.test.`;
  let first: DnsServer;
  let p: { dnsPort: number; apiPort: number; dotPort: number };

  beforeAll(async () => {
    p = await ports();
    first = server('a', p);
  });

  it('starts pdns_server and dnsdist: the API answers with the key from the 0600 file only, DNS and DoT answer', async () => {
    const status = await first.start();
    expect(first.startedAny).toBe(true);
    expect(status.pdns).toMatchObject({ outcome: 'started', port: p.dnsPort, backend: 'gsqlite3' });
    expect(status.dot).toMatchObject({ outcome: 'started', port: p.dotPort });
    expect(status.env).toEqual({
      SDMI_DNS_DOMAIN: 'sdmi.internal',
      SDMI_PDNS_API_URL: `http://127.0.0.1:${p.apiPort}`,
      SDMI_PDNS_API_KEY_FILE: path.join(root, 'a', 'dns', 'api-key'),
      SDMI_DNS_NS_ADDRESS: '127.0.0.1',
    });
    const keyFile = status.env.SDMI_PDNS_API_KEY_FILE!;
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(keyFile)).mode & 0o777).toBe(0o700);
    const key = keyOf(first);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await api(first, 'GET', '')).status).toBe(200);
    expect((await api(first, 'GET', '', undefined, 'wrong')).status).toBe(401);

    // Nothing has a zone yet: REFUSED, over UDP from PowerDNS and over TLS through dnsdist.
    expect(await dig(p.dnsPort, 'nothing.sdmi.internal.')).toContain('status: REFUSED');
    const dot = await kdig({ port: p.dotPort, pin: pinOf(first) }, '+norecurse', 'nothing.sdmi.internal.', 'A');
    expect(dot.tlsSession, dot.stdout + dot.stderr).toBeDefined();
    expect(dot.status).toBe('REFUSED');

    // The key is on no command line and in no log; up prints where things are, not the key.
    const procs = findProcesses((arg) => arg.includes(path.join(root, 'a')));
    expect(procs.map((x) => x.pid).sort()).toEqual([status.pdns!.pid, status.dot!.pid].sort());
    for (const x of procs) expect(x.argv.join(' ')).not.toContain(key);
    expect(readFileSync(status.pdns!.logFile, 'utf8')).not.toContain(key);
    const printed = formatDnsStatus(status);
    expect(printed).toContain(`127.0.0.1:${p.dnsPort}`);
    expect(printed).toContain(`127.0.0.1:${p.dotPort}`);
    expect(printed).toContain(keyFile);
    expect(printed).not.toContain(key);
  });

  it('a zone made through the API resolves over UDP and over DNS over TLS; NXDOMAIN for a missing name', async () => {
    await createZone(first, zone, '10.79.0.5');
    expect(await dig(p.dnsPort, `web.${zone}`)).toMatch(/ANSWER SECTION:\n\S+\s+30\s+IN\s+A\s+10\.79\.0\.5/);
    const r = await kdig({ port: p.dotPort, pin: pinOf(first) }, '+norecurse', `web.${zone}`, 'A');
    expect(r.answers.map((a) => a.data)).toEqual(['10.79.0.5']);
    expect((await kdig({ port: p.dotPort }, '+norecurse', `missing.${zone}`, 'A')).status).toBe('NXDOMAIN');
  });

  it('a second start from the same run dir finds both running and reuses them, key and zones kept', async () => {
    const pids = findProcesses((arg) => arg.includes(path.join(root, 'a'))).map((x) => x.pid).sort();
    const key = keyOf(first);
    const again = server('a', p);
    const status = await again.start();
    expect(again.startedAny).toBe(false);
    expect([status.pdns?.outcome, status.dot?.outcome]).toEqual(['reused', 'reused']);
    expect([status.pdns!.pid, status.dot!.pid].sort()).toEqual(pids);
    expect(keyOf(again)).toBe(key);
    expect((await kdig({ port: p.dotPort, pin: pinOf(again) }, '+norecurse', `web.${zone}`, 'A')).answers.map((a) => a.data)).toEqual(['10.79.0.5']);
  });

  it('with another DNS port it restarts PowerDNS (and dnsdist, which forwards there); the database keeps the zone', async () => {
    const moved = { ...p, dnsPort: await freePort(true) };
    const changed = server('a', moved);
    const status = await changed.start();
    expect([status.pdns?.outcome, status.dot?.outcome]).toEqual(['started', 'started']);
    expect(await dig(moved.dnsPort, `web.${zone}`)).toContain('10.79.0.5');
    expect((await kdig({ port: p.dotPort, pin: pinOf(changed) }, '+norecurse', `web.${zone}`, 'A')).answers.map((a) => a.data)).toEqual(['10.79.0.5']);
    p = moved;
  });

  it('stop ends both and removes their pid files; a second stop finds nothing', async () => {
    const running = findProcesses((arg) => arg.includes(path.join(root, 'a')));
    expect(running).toHaveLength(2);
    const results = await stopDnsServer(path.join(root, 'a'));
    expect(results.map((r) => [r.program, r.outcome])).toEqual([
      ['dnsdist', 'stopped'],
      ['pdns_server', 'stopped'],
    ]);
    expect(findProcesses((arg) => arg.includes(path.join(root, 'a')))).toEqual([]);
    expect(await stopDnsServer(path.join(root, 'a'))).toEqual([]);
    await expect(api(first, 'GET', '')).rejects.toThrow();
  });
});

describe('an external PowerDNS', () => {
  it('is reported and nothing is started; its key file must be readable', async () => {
    const keyFile = path.join(root, 'external.key');
    await mkdir(root, { recursive: true });
    await writeFile(keyFile, 'secret-of-theirs\n', { mode: 0o600 });
    const env = { SDMI_PDNS_API_URL: 'http://127.0.0.1:8081', SDMI_PDNS_API_KEY_FILE: keyFile, SDMI_DNS_DOMAIN: 'corp.example' };
    const status = await server('ext', { env }).start();
    expect(status).toMatchObject({ mode: 'external', pdns: undefined, dot: undefined, env: { ...env, SDMI_DNS_NS_ADDRESS: '127.0.0.1' } });
    expect(formatDnsStatus(status)).toBe(`DNS      PowerDNS at http://127.0.0.1:8081 (from SDMI_PDNS_API_URL), key in ${keyFile}; nothing started; domain corp.example`);
    expect(findProcesses((arg) => arg.includes(path.join(root, 'ext')))).toEqual([]);
    const missing = await server('ext', { env: { ...env, SDMI_PDNS_API_KEY_FILE: path.join(root, 'nope.key') } }).start().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DnsConfigError);
    expect((missing as Error).message).toMatch(/^SDMI_PDNS_API_KEY_FILE=\S+nope\.key cannot be read \(ENOENT/);
  });
});

describe('the embedded DNS server, other cases', () => {
  it('refuses a port another program holds, naming the port and the variable, and starts nothing', async () => {
    const p = await ports();
    const holder = net.createServer().listen(p.apiPort, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    try {
      const dns = server('busy', p);
      const err = await dns.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DnsPortInUseError);
      expect((err as Error).message).toBe(`127.0.0.1:${p.apiPort}, the embedded DNS server's port for the PowerDNS API, is in use by another program; choose another with SDMI_PDNS_API_PORT=<port>`);
      expect(findProcesses((arg) => arg.includes(path.join(root, 'busy')))).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it('gives the key file to the user a dns-manager container runs as, when asked', async () => {
    const dns = server('owner', { ...(await ports()), keyFileOwner: { uid: 65534, gid: 65534 } });
    try {
      await dns.start();
      const st = statSync(dns.serviceEnv.SDMI_PDNS_API_KEY_FILE!);
      expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o600]);
    } finally {
      await dns.stop();
    }
  });

  it('a key file that is looser than 0600 is tightened; its key is kept', async () => {
    const dir = path.join(root, 'owner', 'dns');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'api-key'), 'kept-key-0123456789\n', { mode: 0o644 });
    const dns = server('owner', await ports());
    try {
      await dns.start();
      expect(keyOf(dns)).toBe('kept-key-0123456789');
      expect(statSync(path.join(dir, 'api-key')).mode & 0o777).toBe(0o600);
      expect((await api(dns, 'GET', '')).status).toBe(200);
    } finally {
      await dns.stop();
    }
  });
});

describe('the embedded DNS server (gpgsql)', () => {
  let main: TestDatabase;
  let own: TestDatabase;

  beforeAll(async () => {
    main = await tb.database();
    // Its own database (by name; created empty here so the test bed drops it afterwards).
    own = await tb.database();
  });

  it('loads Debian’s pgsql schema into a database of its own and serves zones from it, over DoT too', async () => {
    const p = await ports();
    const dns = server('pg', { ...p, env: { SDMI_PDNS_BACKEND: 'gpgsql', SDMI_PG_URL: main.url, SDMI_PDNS_PG_DATABASE: own.name } });
    try {
      const status = await dns.start();
      expect(status.pdns).toMatchObject({ backend: 'gpgsql', database: expect.stringContaining(own.name) });
      const zone = `pg.${path.basename(root)}.sdmi.test.`;
      await createZone(dns, zone, '10.79.1.9');
      const pool = createPool(own.url, 1);
      try {
        expect((await pool.query<{ name: string }>('SELECT name FROM domains')).rows.map((r) => `${r.name}.`)).toEqual([zone]);
      } finally {
        await pool.end();
      }
      expect((await kdig({ port: p.dotPort, pin: pinOf(dns) }, '+norecurse', `web.${zone}`, 'A')).answers.map((a) => a.data)).toEqual(['10.79.1.9']);
      // The config file names the database; the password (none here) and key stay in that 0600 file.
      if (dns.config.mode === 'embedded') {
        expect(readFileSync(dns.config.pdnsConfigFile, 'utf8')).toContain(`gpgsql-dbname=${own.name}`);
        expect(statSync(dns.config.pdnsConfigFile).mode & 0o777).toBe(0o600);
      }
    } finally {
      await dns.stop();
    }
  });
});
