// `sdmi up` and `sdmi down` as a user runs them (the real binary): the control plane's services
// start as processes, answer on the bus, and are gone after down. A run-unique bus prefix and
// database keep it apart from anything else on the machine.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusNames, connectNats, jetstreamManager, removeStreams } from '@sdmi/bus';
import { createDatabase, findProcesses, freePort, kdig, runId, type TestDatabase, keepRunDirs } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/sdmi', import.meta.url));
const prefix = `${runId()}updown`;
const dir = mkdtempSync(path.join(tmpdir(), `sdmi-${runId()}-updown-`));
let db: TestDatabase;
// The DNS server up starts gets ports of its own: a main job's control plane may hold the default ones.
const dns = { dnsPort: 0, apiPort: 0, dotPort: 0 };

function sdmi(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, [...args], { timeout: 180_000, env: {
      ...process.env,
      SDMI_BUS_PREFIX: prefix,
      SDMI_PG_URL: db.url,
      SDMI_LOG_LEVEL: 'warn',
      // Port 0: a control plane the main job left running may hold OpenFlow's 6653.
      SDMI_OPENFLOW_LISTEN: '127.0.0.1:0',
      SDMI_DNS_PORT: String(dns.dnsPort),
      SDMI_PDNS_API_PORT: String(dns.apiPort),
      SDMI_DOT_PORT: String(dns.dotPort),
    } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  db = await createDatabase();
  dns.dnsPort = await freePort(true);
  while (dns.apiPort === 0 || dns.apiPort === dns.dnsPort) dns.apiPort = await freePort(false);
  while (dns.dotPort === 0 || dns.dotPort === dns.dnsPort || dns.dotPort === dns.apiPort) dns.dotPort = await freePort(false);
});

afterAll(async () => {
  await sdmi(['down', '--run-dir', dir]);
  const nc = await connectNats(`test-${prefix}`);
  await removeStreams(await jetstreamManager(nc), new BusNames(prefix)).catch(() => undefined);
  await nc.close();
  await db?.dispose();
  if (dir) keepRunDirs('up-down.test.ts', dir);
  rmSync(dir, { recursive: true, force: true });
});

describe('sdmi up / down', () => {
  it('up --detach starts the services and prints their status; down stops them', async () => {
    // dns-manager is ready once it has made the cluster's zones, which needs the network-controller's networks.
    const up = await sdmi(['up', '--detach', '--run-dir', dir, '--services', 'scheduler,network-controller,dns-manager', '--instance-id', `${prefix}-i`]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^SERVICE\s+INSTANCE/);
    expect(up.stdout).toMatch(/scheduler\s+\S+-i\s+.*ready/);
    expect(up.stdout).toMatch(/dns-manager\s+\S+-i\s+.*ready/);
    expect(existsSync(path.join(dir, 'pids'))).toBe(true);
    // And the DNS server, named below the table: PowerDNS's API answers with the key from the file, dnsdist over TLS.
    expect(up.stdout).toMatch(new RegExp(`^DNS\\s+127\\.0\\.0\\.1:${dns.dnsPort} `, 'm'));
    expect(up.stdout).toMatch(new RegExp(`^DoT\\s+127\\.0\\.0\\.1:${dns.dotPort} `, 'm'));
    const key = readFileSync(path.join(dir, 'dns', 'api-key'), 'utf8').trim();
    expect(up.stdout + up.stderr).not.toContain(key);
    const apiUrl = `http://127.0.0.1:${dns.apiPort}/api/v1/servers/localhost`;
    expect((await fetch(apiUrl, { headers: { 'X-API-Key': key } })).status).toBe(200);
    const dot = await kdig({ port: dns.dotPort }, '+norecurse', 'nothing.sdmi.invalid.', 'A');
    expect([dot.status, dot.tlsSession !== undefined], dot.stdout + dot.stderr).toEqual(['REFUSED', true]);
    // dns-manager, ready, has made the cluster's zone there: its SOA answers over TLS.
    const soa = await kdig({ port: dns.dotPort }, '+norecurse', 'sdmi.internal.', 'SOA');
    expect([soa.status, soa.answers.map((a) => a.type)], soa.stdout + soa.stderr).toEqual(['NOERROR', ['SOA']]);
    // The scheduler it started answers the CLI's queries over the bus.
    const services = await sdmi(['get', 'services', '-o', 'json']);
    expect(services, services.stderr).toMatchObject({ code: 0, stdout: '[]\n' });
    const again = await sdmi(['up', '--detach', '--run-dir', dir, '--services', 'scheduler']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('already runs from');
    const down = await sdmi(['down', '--run-dir', dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/^dnsdist\s+pid \d+\s+stopped$/m);
    expect(down.stdout).toMatch(/^pdns_server\s+pid \d+\s+stopped$/m);
    expect(existsSync(path.join(dir, 'pids'))).toBe(false);
    expect(findProcesses((arg) => arg.includes(path.join(dir, 'dns')))).toEqual([]);
    await expect(fetch(apiUrl, { headers: { 'X-API-Key': key } })).rejects.toThrow();
    // Nobody answers any more: the CLI says so (after its retries) with the unavailable code.
    const after = await sdmi(['get', 'services']);
    expect(after.code, after.stderr).toBe(69);
    expect(after.stderr).toContain('is the control plane up?');
  });

  it('bad arguments are refused with the usage', async () => {
    const r = await sdmi(['up', '--bogus']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('usage: up');
  });
});
