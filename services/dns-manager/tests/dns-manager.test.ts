// dns-manager end to end: a cluster on two real Docker hosts with a real PowerDNS. Service and
// container names follow scaling and health, are signed (dig +dnssec, delv validates from the
// cluster zone's key down through the tenant zone's DS), survive a SIGKILL of dns-manager without
// a stale record, and bad names are refused with specific errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RdmpError } from '@sdmi/bus';
import { DnsQueries, type ListReplicasReply } from '@sdmi/contracts';
import { containerName, reverseName, serviceName } from '@sdmi/dns-records';
import { NetworkQueries } from '@sdmi/networks';
import { PowerDnsClient } from '@sdmi/powerdns';
import { SchedulerQueries } from '@sdmi/scheduling';
import { docker, startDnsdist, startPowerDns, type Dnsdist, type PowerDns } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';
import { delv, writeAnchor } from '../../../packages/powerdns/tests/fixture';

const cluster = new LocalCluster('dn');
const tenant = cluster.tag;
const domain = `${cluster.tag}.sdmi.test.`;
const web = `${tenant}/web`;
const net = `${tenant}/front`;
let pdns: PowerDns;
let dot: Dnsdist;
let api: PowerDnsClient;
let dir: string;

const cmd = (service: string, kind: string, key: string, payload: Record<string, unknown>) => cluster.client.run(service, { kind, key, payload });
const sched = (kind: string, payload: Record<string, unknown>) => cmd('scheduler', kind, web, payload);

const webSpec = (replicas: number) => ({
  tenant,
  name: 'web',
  image: 'sdmi/base:busybox',
  // Healthy while /tmp/ok exists: a test takes it away to make a replica fail its check.
  command: ['sh', '-c', 'touch /tmp/ok && exec sleep 3600'],
  replicas,
  networks: [{ network: 'front', ip: { mode: 'dynamic' } }],
  ports: [{ name: 'http', port: 8080 }],
  healthCheck: { exec: ['test', '-f', '/tmp/ok'], intervalMs: 500, timeoutMs: 500, retries: 1 },
});

async function dig(name: string, type: string): Promise<string[]> {
  const r = await pdns.dig('+short', '+norecurse', name, type);
  if (r.exitCode !== 0) throw new Error(`dig ${name} ${type} exited ${r.exitCode}: ${r.stderr}${r.stdout}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

async function status(name: string, type: string): Promise<string> {
  const r = await pdns.dig('+norecurse', name, type);
  return /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? `no status: ${r.stdout}${r.stderr}`;
}

const replicas = async (): Promise<ListReplicasReply['replicas']> => (await cluster.client.query('scheduler', SchedulerQueries.listReplicas, { service: web })).replicas;
const ipOf = (r: ListReplicasReply['replicas'][number]) => r.interfaces.find((i) => i.network === net)!.ip!;
const servingIps = async () => (await replicas()).filter((r) => r.serving && r.interfaces.length > 0).map(ipOf).sort();
const webName = () => serviceName(web, net, domain);

/**
 * Polls until the service name's A set has `n` addresses and equals the serving replicas', and
 * how long DNS lagged behind the scheduler: from the first poll where the scheduler's serving set
 * was the final one to the first where DNS equalled it.
 */
async function followsTo(n: number, what: string): Promise<{ lagMs: number; totalMs: number; ips: string[] }> {
  const start = Date.now();
  let schedulerAt: number | undefined;
  let last = '';
  const end = start + 120_000;
  for (;;) {
    const want = await servingIps();
    const have = await dig(webName(), 'A');
    const now = Date.now();
    if (want.length === n) schedulerAt ??= now;
    else schedulerAt = undefined;
    if (want.length === n && have.join() === want.join()) return { lagMs: now - (schedulerAt ?? now), totalMs: now - start, ips: have };
    last = `scheduler serves ${want.join(',') || 'none'}, DNS has ${have.join(',') || 'none'}`;
    if (now > end) throw new Error(`${what}: not within 120 s: ${last}\n${cluster.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `sdmi-${cluster.tag}-dns-`));
  pdns = await startPowerDns();
  api = new PowerDnsClient({ baseUrl: pdns.apiUrl, apiKey: pdns.apiKey });
  dot = await startDnsdist({ backend: { port: pdns.dnsPort } });
  await cluster.start({ scheduler: true, dns: { domain, apiUrl: pdns.apiUrl, apiKey: pdns.apiKey, publishTimeoutMs: 4_000 } });
  await cluster.netCmd('putTenantConfig', { tenant, hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '670-679' }] });
  await cluster.netCmd('createNetworks', { tenantNetworks: [{ tenant, name: 'front', cidr: '10.67.1.0/24' }] });
  for (const host of cluster.hosts.keys()) await cluster.until(async () => (await cmd('scheduler', 'addNode', `node/${host}`, { name: host }), true), `${host} admitted`);
  await sched('deployService', { spec: webSpec(1) });
  await followsTo(1, 'first replica in DNS');
}, 300_000);

afterAll(async () => {
  await cluster.dispose();
  await dot?.dispose();
  await pdns?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dns-manager', () => {
  it('publishes the service name (with SRV), the container name and its PTR, all signed', async () => {
    const [r] = (await replicas()).filter((x) => x.serving);
    const own = containerName(r!.id, net, domain);
    expect(await dig(own, 'A')).toEqual([ipOf(r!)]);
    expect(await dig(reverseName(ipOf(r!)), 'PTR')).toEqual([own]);
    expect(await dig(`_http._tcp.${webName()}`, 'SRV')).toEqual([`0 10 8080 ${own}`]);
    for (const name of [webName(), own]) {
      const signed = await pdns.dig('+dnssec', '+norecurse', name, 'A');
      expect(signed.stdout, name).toMatch(new RegExp(`${name.replace(/\./g, '\\.')}\\s+\\d+\\s+IN\\s+RRSIG\\s+A 13 `));
    }
    const zones = await cluster.client.query('dns-manager', DnsQueries.listZones, {});
    expect(zones.zones.map((z) => [z.name, z.kind])).toEqual([
      ['1.67.10.in-addr.arpa.', 'reverse'],
      [domain, 'cluster'],
      [`${tenant}.${domain}`, 'tenant'],
    ]);
  });

  it('kdig +tls resolves the service name over DNS over TLS (dnsdist in front of PowerDNS)', async () => {
    const r = await dot.kdig(webName(), 'A');
    expect(r.status, r.stdout).toBe('NOERROR');
    expect(r.tlsSession, r.stdout).toMatch(/TLS1\.[23]/);
    expect(r.answers.filter((a) => a.type === 'A').map((a) => a.data).sort()).toEqual(await servingIps());
  });

  it('delv validates the service and container names from the cluster zone key down (DS in the cluster zone)', async () => {
    const zones = await cluster.client.query('dns-manager', DnsQueries.listZones, {});
    const top = zones.zones.find((z) => z.kind === 'cluster')!;
    const anchor = writeAnchor(dir, domain, top.dnskeys[0]!);
    const child = zones.zones.find((z) => z.kind === 'tenant')!;
    // dig splits long digests and prints them in upper case.
    const ds = (await dig(child.name, 'DS')).map((d) => d.toLowerCase().replace(/^(\d+ \d+ \d+) (.*)$/, (_m, head: string, hex: string) => `${head} ${hex.replace(/ /g, '')}`));
    expect(ds).toEqual([...child.ds].sort());
    const [r] = await replicas();
    for (const name of [webName(), containerName(r!.id, net, domain)]) {
      const out = await delv(pdns, anchor, domain, name, 'A');
      expect(out, name).toContain('; fully validated');
    }
  });

  it('scaling 1 → 5 → 1 is followed by the service name: exactly the serving replicas', async () => {
    await sched('scaleService', { service: web, replicas: 5 });
    const up = await followsTo(5, 'scale to 5');
    await sched('scaleService', { service: web, replicas: 1 });
    const down = await followsTo(1, 'scale to 1');
    // The bound the docs state: a pass follows each change the events announce; the resync timer
    // (3 s) catches anything else. What was seen is printed for the README, never asserted.
    console.log(`[dns] 1 → 5: DNS equal to the serving set ${up.lagMs} ms after the scheduler (${up.totalMs} ms after the command); 5 → 1: ${down.lagMs} ms (${down.totalMs} ms)`);
    await cluster.until(async () => (await replicas()).length === 1, 'the four stopped', 60_000);
    const names = (await replicas()).map((r) => containerName(r.id, net, domain));
    // The four that went have no name left, nor a PTR.
    const zone = await api.getZone(`${tenant}.${domain}`);
    const own = zone.rrsets.filter((s) => s.type === 'A' && s.name !== webName()).map((s) => s.name);
    expect(own).toEqual(names);
  });

  it('a replica failing its health check leaves the service name, and comes back when healthy', async () => {
    await sched('scaleService', { service: web, replicas: 2 });
    await followsTo(2, 'scale to 2');
    const [sick, well] = (await replicas()).filter((r) => r.serving);
    const host = [...cluster.hosts.values()].find((h) => h.name === sick!.node)!;
    const cid = (await cluster.containers(host.name)).find((c) => c.replica === sick!.id)!.id;
    await docker(host.endpoint, ['exec', cid, 'rm', '/tmp/ok']);
    await cluster.until(async () => (await dig(webName(), 'A')).join() === ipOf(well!), `${sick!.id} out of ${webName()}`, 60_000);
    // Its own name stays while it runs: it is still there to be looked at.
    expect(await dig(containerName(sick!.id, net, domain), 'A')).toEqual([ipOf(sick!)]);
    await docker(host.endpoint, ['exec', cid, 'touch', '/tmp/ok']).catch(() => undefined);
  });

  it('SIGKILL of dns-manager while a replica is removed: after the restart no stale record remains', async () => {
    await sched('scaleService', { service: web, replicas: 3 });
    await followsTo(3, 'scale to 3');
    const before = await replicas();
    await cluster.kill('dns-manager');
    await sched('scaleService', { service: web, replicas: 1 });
    // The scheduler removes the containers without dns-manager (its stop step gives up after 5 s).
    await cluster.until(async () => (await replicas()).length === 1, 'scaled to 1 with dns-manager dead', 90_000);
    const left = (await replicas())[0]!;
    const removed = before.filter((r) => r.id !== left.id);
    expect(removed.length).toBeGreaterThanOrEqual(2);
    // Stale while it is dead: the names of the removed replicas are still there.
    expect((await dig(webName(), 'A')).length).toBeGreaterThan(1);
    cluster.restart('dns-manager');
    await cluster.ready('dns-manager', `dm-${cluster.tag}`);
    await followsTo(1, 'after the restart');
    for (const r of removed) {
      expect(await status(containerName(r.id, net, domain), 'A'), r.id).toBe('NXDOMAIN');
      expect(await status(reverseName(ipOf(r)), 'PTR'), r.id).toBe('NXDOMAIN');
    }
  });

  it('a start whose names cannot be published is undone: no container or address stays; it starts once dns-manager is back', async () => {
    const [kept] = await replicas();
    await cluster.kill('dns-manager');
    await sched('scaleService', { service: web, replicas: 2 });
    let failed: string | undefined;
    await cluster.until(async () => {
      const r = (await replicas()).find((x) => x.id !== kept!.id && /DNS_NOT_PUBLISHED|not registered|not in DNS/.test(x.reason ?? ''));
      failed = r?.id;
      return r !== undefined;
    }, 'a start failing on its DNS step', 90_000);
    const why = (await replicas()).find((x) => x.id === failed)!.reason!;
    expect(why).toMatch(/dns-manager|DNS/);
    // The compensation ran: the failed replica has no container on any host and no address.
    await cluster.until(async () => {
      for (const h of cluster.hosts.keys()) if ((await cluster.containers(h)).some((c) => c.replica === failed)) return false;
      return true;
    }, `no container of ${failed}`, 30_000);
    const held = await cluster.client.query('network-controller', NetworkQueries.listNetworks, { tenant });
    expect(held.tenantNetworks.find((n) => n.id === net)!.interfaces, 'interfaces on the network: only the kept replica\'s (and none of the failed one)').toBeLessThanOrEqual((await replicas()).filter((r) => r.interfaces.length > 0 && r.id !== failed).length);
    cluster.restart('dns-manager');
    await cluster.ready('dns-manager', `dm-${cluster.tag}`);
    await followsTo(2, 'scaled to 2 once dns-manager is back');
  });

  it('a record removed behind its back is put back by the next pass', async () => {
    const [r] = await replicas();
    const own = containerName(r!.id, net, domain);
    // PowerDNS has applied the delete when this returns; a pass may put the record back at once,
    // so what is checked is that it is there again, not that it was ever seen missing.
    await api.deleteRRset(`${tenant}.${domain}`, own, 'A');
    await cluster.until(async () => (await dig(own, 'A')).join() === ipOf(r!), `${own} back`, 30_000);
    // Once converged a pass changes nothing: what it writes is what PowerDNS gives back (canonical
    // forms of names, DS digests, SRV targets), or every pass would rewrite the zones.
    await cluster.until(async () => {
      const p = (await cluster.client.query('dns-manager', DnsQueries.listZones, {})).lastPass;
      return p !== null && p.ok && p.changes === 0;
    }, 'a pass with no changes', 30_000);
  });

  it("the user's own record sets: a CNAME resolves; bad names and zones are refused with specific errors and change nothing", async () => {
    const zone = `${tenant}.${domain}`;
    await cmd('dns-manager', 'putRecords', `zone/${zone}`, { zone, name: `www.${zone}`, type: 'CNAME', records: [webName()] });
    await cluster.until(async () => (await dig(`www.${zone}`, 'CNAME')).join() === webName(), 'CNAME published', 30_000);
    const refused = async (payload: Record<string, unknown>) => {
      try {
        await cmd('dns-manager', 'putRecords', `zone/${String(payload.zone)}`, payload);
      } catch (e) {
        return (e as RdmpError).info;
      }
      throw new Error(`not refused: ${JSON.stringify(payload)}`);
    };
    expect(await refused({ zone: 'example.com', name: 'www.example.com', type: 'A', records: ['10.0.0.1'] })).toMatchObject({
      code: 'ZONE_OUTSIDE_DOMAIN',
      message: expect.stringContaining(`outside the cluster domain ${domain}`),
    });
    expect(await refused({ zone, name: `bad_label.${zone}`, type: 'A', records: ['10.0.0.1'] })).toMatchObject({
      code: 'INVALID_DNS_NAME',
      message: expect.stringContaining('label "bad_label" holds "_"'),
    });
    expect(await refused({ zone, name: `x.front.${zone}`, type: 'A', records: ['10.0.0.1'] })).toMatchObject({ code: 'NAME_TAKEN' });
    expect(await refused({ zone, name: `www.${zone}`, type: 'TXT', records: ['hello'] })).toMatchObject({ code: 'CNAME_CONFLICT' });
    expect(await refused({ zone, name: `db.${zone}`, type: 'A', records: ['10.0.0.300'] })).toMatchObject({ code: 'INVALID_RECORD', path: '/records/0' });
    // A replica name that is not a DNS label (a service name ending in a hyphen) is refused too.
    const reg = await cmd('dns-manager', 'registerReplica', 'replica/x', { replicaId: `${tenant}/bad--1@rev1`, service: `${tenant}/bad-`, interfaces: [{ network: net, ip: '10.67.1.200' }] }).catch(
      (e: RdmpError) => e.info,
    );
    expect(reg).toMatchObject({ code: 'INVALID_DNS_NAME', message: expect.stringContaining('starts or ends with a hyphen') });
    // Nothing of the refused requests reached PowerDNS.
    const names = (await api.getZone(zone)).rrsets.map((s) => s.name);
    expect(names.filter((n) => n.startsWith('bad') || n.startsWith('db.') || n.startsWith('x.front'))).toEqual([]);
    expect((await api.listZones()).map((z) => z.name)).not.toContain('example.com.');
    await cmd('dns-manager', 'deleteRecords', `zone/${zone}`, { zone, name: `www.${zone}`, type: 'CNAME' });
    await cluster.until(async () => (await status(`www.${zone}`, 'CNAME')) === 'NXDOMAIN', 'CNAME removed', 30_000);
  });
});
