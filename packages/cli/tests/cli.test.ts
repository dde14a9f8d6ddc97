// The sdmi binary itself (bin/sdmi, as a user runs it) against a real cluster of two Docker hosts
// with DNS (dns-manager and a real PowerDNS): every command once, their exit codes, and what they
// print checked against what really runs (and, for DNS, against what PowerDNS answers).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { metricsToken } from '@sdmi/bus';
import type { AutoscaleStatus, ContainerMetrics, ScaleDecision, ThresholdEvent, ThresholdState, TopReply } from '@sdmi/contracts';
import { Cluster } from '@sdmi/sdk';
import { describeInventory, inventory, run, runId, startPowerDns, type PowerDns } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const bin = fileURLToPath(new URL('../bin/sdmi', import.meta.url));
const cluster = new LocalCluster('cli');
const tenant = cluster.tag;
const dir = mkdtempSync(path.join(tmpdir(), `sdmi-${runId()}-cli-`));
const domain = `${cluster.tag}.sdmi.test.`;
const zone = `${tenant}.${domain}`;
let pdns: PowerDns;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function sdmi(args: readonly string[], opts: { env?: Record<string, string>; until?: (out: string) => boolean } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], { env: { ...process.env, SDMI_BUS_PREFIX: cluster.names.prefix, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.until?.(stdout)) child.kill('SIGINT');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 130), stdout, stderr });
    });
  });
}

function manifest(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

const app = (replicas: number, rev: string): string => `apiVersion: sdmi/v1
kind: TenantConfig
spec:
  tenant: ${tenant}
  hostDevices: [{ name: fabric0, vniType: vlan, vniRange: "800-809" }]
---
apiVersion: sdmi/v1
kind: TenantNetwork
spec: { tenant: ${tenant}, name: front, cidr: 10.71.1.0/24, dependsOn: [back] }
---
apiVersion: sdmi/v1
kind: TenantNetwork
spec: { tenant: ${tenant}, name: back, cidr: 10.71.2.0/24 }
---
apiVersion: sdmi/v1
kind: Service
spec:
  tenant: ${tenant}
  name: web
  image: sdmi/base:busybox
  command: [sleep, "3600"]
  env: { REV: "${rev}" }
  replicas: ${replicas}
  networks:
    - { network: front, ip: { mode: dynamic } }
  update: { monitorMs: 500 }
`;

const json = <T>(r: Ran): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

/** What PowerDNS answers for a name (+short, sorted). */
async function dig(name: string, type: string): Promise<string[]> {
  const r = await pdns.dig('+short', '+norecurse', name, type);
  if (r.exitCode !== 0) throw new Error(`dig ${name} ${type} exited ${r.exitCode}: ${r.stderr}${r.stdout}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

async function rcode(name: string, type: string): Promise<string> {
  const r = await pdns.dig('+norecurse', name, type);
  return /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? `no status: ${r.stdout}${r.stderr}`;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  // With DNS every replica start of this cluster registers its names and waits until they are
  // published, so the other tests exercise that step too.
  pdns = await startPowerDns();
  await cluster.start({ scheduler: true, metrics: true, dns: { domain, apiUrl: pdns.apiUrl, apiKey: pdns.apiKey } });
});

afterAll(async () => {
  await cluster.dispose();
  await pdns?.dispose();
  rmSync(dir, { recursive: true, force: true });
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('sdmi', () => {
  it('nodes add admits the hosts; nodes lists them', async () => {
    for (const h of cluster.hosts.keys()) {
      // Refused (NODE_NOT_REPORTING) until the scheduler has heard the agent's first announcement.
      let r = await sdmi(['nodes', 'add', h]);
      for (let i = 0; i < 40 && r.code !== 0 && r.stderr.includes('NODE_NOT_REPORTING'); i++) {
        await new Promise((ok) => setTimeout(ok, 500));
        r = await sdmi(['nodes', 'add', h]);
      }
      expect(r, r.stderr).toMatchObject({ code: 0, stdout: `node ${h}: admitted\n` });
    }
  });

  it('plan shows what apply would create, and exits 2 with --exit-code', async () => {
    const f = manifest('app.yaml', app(2, '1'));
    const r = await sdmi(['plan', '-f', f, '--exit-code']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toContain(`+ create    TenantNetwork ${tenant}/front  (${f}:7)`);
    expect(r.stdout).toContain(`+ create    Service ${tenant}/web  (${f}:15)`);
    expect(r.stdout).toContain('plan: 4 to create');
  });

  it('apply creates the networks and the service and returns once its replicas serve', async () => {
    const r = await sdmi(['apply', '-f', path.join(dir, 'app.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`create Service ${tenant}/web`);
    expect(r.stderr).toContain(`apply: Service ${tenant}/web: 2/2 serving`);
    const services = json<{ id: string; serving: number; addresses: { network: string; address: string | null }[] }[]>(await sdmi(['get', 'services', '-t', tenant, '-o', 'json']));
    expect(services.map((s) => [s.id, s.serving])).toEqual([[`${tenant}/web`, 2]]);
    expect(services[0]!.addresses[0]).toMatchObject({ network: `${tenant}/front`, address: expect.stringMatching(/^10\.71\.1\./) });
    // What get says runs is what runs on the hosts.
    const replicas = json<{ id: string; node: string; state: string; interfaces: { ip: string | null }[] }[]>(await sdmi(['get', 'replicas', '-s', `${tenant}/web`, '-o', 'json']));
    const containers = (await Promise.all([...cluster.hosts.keys()].map(async (h) => (await cluster.containers(h)).map((c) => `${c.replica} ${h}`)))).flat();
    expect(replicas.map((x) => `${x.id} ${x.node}`).sort()).toEqual(containers.sort());
    for (const x of replicas) expect(x.interfaces[0]!.ip).toMatch(/^10\.71\.1\./);
    const again = await sdmi(['plan', '-f', path.join(dir, 'app.yaml'), '--exit-code']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('plan: 4 to leave unchanged');
  });

  it('get prints tables; networks shows the tenant networks with their VLANs; describe the service', async () => {
    const table = await sdmi(['get', 'services', '-t', tenant]);
    expect(table.stdout.split('\n')[0]).toMatch(/^SERVICE\s+REVISION\s+DESIRED\s+RUNNING\s+SERVING\s+ROLLOUT\s+ADDRESSES\s+IMAGE$/);
    expect(table.stdout).toMatch(new RegExp(`${tenant}/web\\s+1\\s+2\\s+2\\s+2\\s+complete\\s+${tenant}/front=10\\.71\\.1\\.\\d+\\s+sdmi/base:busybox`));
    const nets = await sdmi(['networks', '-t', tenant]);
    expect(nets.stdout).toMatch(new RegExp(`${tenant}/front\\s+10\\.71\\.1\\.0/24\\s+vlan 80\\d\\s+back\\s+2\\s+3`));
    const yaml = await sdmi(['get', 'networks', '-t', tenant, '-o', 'yaml']);
    expect(yaml.stdout).toContain(`id: ${tenant}/back`);
    const d = await sdmi(['describe', 'service', `${tenant}/web`]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain(`Service:    ${tenant}/web`);
    expect(d.stdout).toContain('Replicas:   2 desired, 2 present, 2 running, 2 serving');
    const nodes = await sdmi(['nodes']);
    expect(nodes.stdout.split('\n')[0]).toMatch(/^NODE\s+STATE\s+REACHABLE\s+REPLICAS/);
    expect(nodes.stdout).toMatch(/host-a\s+ready\s+yes\s+\d+\s+/);
    const listed = json<{ name: string; state: string; replicas: number }[]>(await sdmi(['get', 'nodes', '-o', 'json']));
    expect(listed.map((n) => n.name).sort()).toEqual(['host-a', 'host-b']);
    expect(listed.reduce((sum, n) => sum + n.replicas, 0)).toBe(2);
  });

  it('dns zones lists the cluster, tenant and reverse zones; describe service shows the DNS names', async () => {
    const t = await sdmi(['dns', 'zones']);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.split('\n');
    expect(lines[0]).toMatch(/^ZONE\s+KIND\s+RRSETS\s+DS$/);
    // Each zone is signed, so each has a DS for its parent (algorithm 13, ECDSA P-256).
    expect(t.stdout).toMatch(new RegExp(`^${escape(domain)}\\s+cluster\\s+\\d+\\s+\\d+ 13 \\d [0-9a-f]+`, 'm'));
    expect(t.stdout).toMatch(new RegExp(`^${escape(zone)}\\s+tenant\\s+\\d+\\s+\\d+ 13 \\d [0-9a-f]+`, 'm'));
    for (const r of ['1.71.10.in-addr.arpa.', '2.71.10.in-addr.arpa.']) expect(t.stdout).toMatch(new RegExp(`^${escape(r)}\\s+reverse\\s+\\d+\\s+\\d+ 13 `, 'm'));
    expect(t.stdout).toMatch(new RegExp(`^domain ${escape(domain)}, last pass \\d+[smhd] ago: ok, \\d+ change\\(s\\)$`, 'm'));
    const z = json<{ domain: string; zones: { name: string; kind: string; ds: string[] }[] }>(await sdmi(['dns', 'zones', '-o', 'json']));
    expect(z.domain).toBe(domain);
    expect(z.zones.map((x) => `${x.name} ${x.kind}`).sort()).toEqual(['1.71.10.in-addr.arpa. reverse', '2.71.10.in-addr.arpa. reverse', `${domain} cluster`, `${zone} tenant`].sort());
    // The tenant zone's DS in the table is the one the cluster zone publishes for it.
    const ds = (await dig(zone, 'DS')).map((d) => d.toLowerCase().replace(/^(\d+ \d+ \d+) (.*)$/, (_m, head: string, hex: string) => `${head} ${hex.replace(/ /g, '')}`));
    expect(ds).toEqual([...z.zones.find((x) => x.kind === 'tenant')!.ds].sort());

    const replicas = json<{ id: string; interfaces: { ip: string | null }[] }[]>(await sdmi(['get', 'replicas', '-s', `${tenant}/web`, '-o', 'json']));
    const web = `web.front.${zone}`;
    const d = await sdmi(['describe', 'service', `${tenant}/web`]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain(`DNS:        ${web}  (${tenant}/front, 2 serving)\n`);
    for (const r of replicas) {
      const [, slot, rev] = /-(\d+)@rev(\d+)$/.exec(r.id)!;
      const own = `web-${slot}-r${rev}.front.${zone}`;
      expect(d.stdout).toMatch(new RegExp(`^\\s+${escape(own)}\\s+${escape(r.id)}$`, 'm'));
      // The name describe prints is the name PowerDNS answers for.
      expect(await dig(own, 'A')).toEqual([r.interfaces[0]!.ip]);
    }
    expect(await dig(web, 'A')).toEqual(replicas.map((r) => r.interfaces[0]!.ip).sort());
    const dj = json<{ dns: { domain: string; networks: { network: string; service: string; replicas: unknown[] }[] } }>(await sdmi(['describe', 'service', `${tenant}/web`, '-o', 'json']));
    expect(dj.dns).toMatchObject({ domain, networks: [{ network: `${tenant}/front`, service: web }] });
    expect(dj.dns.networks[0]!.replicas).toHaveLength(2);
  });

  it('dns set puts a record set of the user\'s that PowerDNS answers; dns delete removes it', async () => {
    const www = `www.${zone}`;
    const web = `web.front.${zone}`;
    // No --zone: www.<tenant>.<domain> goes in the tenant zone.
    const set = await sdmi(['dns', 'set', www, 'CNAME', web]);
    expect(set, set.stderr).toMatchObject({ code: 0, stdout: `${www} CNAME ${web} (ttl 60): set in zone ${zone}; published at dns-manager's next pass\n` });
    await cluster.until(async () => (await dig(www, 'CNAME')).join() === web, `${www} CNAME published`, 30_000);
    // An MX given as separate words is one record; --ttl and --zone as given.
    const mx = await sdmi(['dns', 'set', `mail.${zone}`, 'mx', '10', web, '--ttl', '120', '--zone', zone]);
    expect(mx, mx.stderr).toMatchObject({ code: 0, stdout: `mail.${zone} MX 10 ${web} (ttl 120): set in zone ${zone}; published at dns-manager's next pass\n` });
    await cluster.until(async () => (await dig(`mail.${zone}`, 'MX')).join() === `10 ${web}`, 'MX published', 30_000);
    const ttl = await pdns.dig('+noall', '+answer', '+norecurse', `mail.${zone}`, 'MX');
    expect(ttl.stdout).toMatch(new RegExp(`^${escape(`mail.${zone}`)}\\s+120\\s+IN\\s+MX\\s+10 `, 'm'));

    const del = await sdmi(['dns', 'delete', www, 'CNAME']);
    expect(del, del.stderr).toMatchObject({ code: 0, stdout: `${www} CNAME: deleted from zone ${zone}\n` });
    await cluster.until(async () => (await rcode(www, 'CNAME')) === 'NXDOMAIN', `${www} removed`, 30_000);
    // Deleting is idempotent: a set that is not there is said, not an error.
    const again = await sdmi(['dns', 'rm', www, 'CNAME']);
    expect(again, again.stderr).toMatchObject({ code: 0, stdout: `${www} CNAME: there is no such record set of yours in zone ${zone} (see: sdmi dns zones)\n` });
    expect((await sdmi(['dns', 'delete', `mail.${zone}`, 'MX'])).code).toBe(0);
    await cluster.until(async () => (await rcode(`mail.${zone}`, 'MX')) === 'NXDOMAIN', 'MX removed', 30_000);
  });

  it('dns refusals: a bad label or a zone outside the domain exit 65 with dns-manager\'s message; a taken name exits 1', async () => {
    const bad = await sdmi(['dns', 'set', `bad_label.${zone}`, 'A', '10.0.0.1']);
    expect(bad.code, bad.stderr).toBe(65);
    expect(bad.stderr).toMatch(/^sdmi: INVALID_DNS_NAME: .*label "bad_label" holds "_"/);
    const outside = await sdmi(['dns', 'set', 'www.example.com', 'A', '10.0.0.1', '--zone', 'example.com']);
    expect(outside.code, outside.stderr).toBe(65);
    expect(outside.stderr).toContain(`sdmi: ZONE_OUTSIDE_DOMAIN: zone example.com. is outside the cluster domain ${domain}`);
    expect(outside.stderr).toContain('see the zones there are with: sdmi dns zones');
    // Without --zone a name outside the domain is sent for the cluster zone, and refused as outside it.
    const noZone = await sdmi(['dns', 'set', 'www.example.com', 'A', '10.0.0.1']);
    expect(noZone.code, noZone.stderr).toBe(65);
    expect(noZone.stderr).toContain(`NAME_OUTSIDE_ZONE: name www.example.com. is not in zone ${domain}`);
    const value = await sdmi(['dns', 'set', `db.${zone}`, 'A', '10.0.0.300']);
    expect(value.code, value.stderr).toBe(65);
    expect(value.stderr).toContain('INVALID_RECORD: records[0] is not an A record: "10.0.0.300" is not an IPv4 address (at /records/0)');
    const taken = await sdmi(['dns', 'set', `x.front.${zone}`, 'A', '10.0.0.1']);
    expect(taken.code, taken.stderr).toBe(1);
    expect(taken.stderr).toContain('NAME_TAKEN: ');
    // Types dns-manager and PowerDNS keep are refused before anything is sent.
    const ns = await sdmi(['dns', 'set', `db.${zone}`, 'NS', 'ns.example.com']);
    expect(ns.code, ns.stderr).toBe(65);
    expect(ns.stderr).toContain('"NS" is not a record type you can set: one of A, AAAA, CNAME, TXT, SRV, MX');
    // Nothing of it reached PowerDNS.
    for (const n of [`db.${zone}`, `x.front.${zone}`]) expect(await rcode(n, 'A'), n).toBe('NXDOMAIN');
  });

  it('scale changes the replica count and waits; a changed manifest is a new revision; rollout undo goes back', async () => {
    const s = await sdmi(['scale', `${tenant}/web`, '3']);
    expect(s, s.stderr).toMatchObject({ code: 0, stdout: `${tenant}/web: 3 desired, 3 serving\n` });
    const f = manifest('app2.yaml', app(3, '2'));
    const plan = await sdmi(['plan', '-f', f]);
    expect(plan.stdout).toContain(`~ update    Service ${tenant}/web`);
    expect(plan.stdout).toContain('/env/REV: "1" -> "2"');
    const applied = await sdmi(['apply', '-f', f]);
    expect(applied.code, applied.stderr).toBe(0);
    const status = await sdmi(['rollout', 'status', `${tenant}/web`, '-o', 'json']);
    expect(json<{ revision: number; state: string }>(status)).toMatchObject({ revision: 2, state: 'complete' });
    const undo = await sdmi(['rollout', 'undo', `${tenant}/web`]);
    expect(undo.code, undo.stderr).toBe(0);
    expect(undo.stdout).toContain('back on revision 1, 3/3 serving');
    const text = await sdmi(['rollout', 'status', `${tenant}/web`]);
    expect(text.stdout).toMatch(new RegExp(`^${tenant}/web: revision 1 from 2, complete`));
  });

  it('events -f follows task events as they happen until interrupted', async () => {
    const follower = sdmi(['events', '-f'], { until: (out) => out.includes('scaleService') && out.includes('completed') });
    await new Promise((r) => setTimeout(r, 1_500));
    const s = await sdmi(['scale', `${tenant}/web`, '2']);
    expect(s.code, s.stderr).toBe(0);
    const r = await follower;
    expect(r.stdout).toMatch(new RegExp(`task\\s+scheduler scaleService ${tenant}/web \\S+: completed`));
    const noFollow = await sdmi(['events']);
    expect(noFollow.code).toBe(64);
    expect(noFollow.stderr).toContain('use -f to follow them');
  });

  it('top lists both hosts and the replicas of the service, with their CPU and memory', async () => {
    let t: TopReply | undefined;
    await cluster.until(async () => {
      const r = await sdmi(['top', '-o', 'json']);
      t = json<TopReply>(r);
      return t.nodes.length === 2 && t.replicas.filter((x) => x.service === `${tenant}/web`).length === 2;
    }, 'top shows two nodes and two web replicas');
    expect(t!.nodes.map((n) => n.node).sort()).toEqual(['host-a', 'host-b']);
    for (const n of t!.nodes) expect(n.memory.usedBytes).toBeGreaterThan(0);
    for (const x of t!.replicas.filter((y) => y.service === `${tenant}/web`)) {
      expect(x.cpu.usedCores).toBeGreaterThanOrEqual(0);
      expect(x.cpu.limitCores).toBeGreaterThan(0);
      expect(x.memory.usedBytes).toBeGreaterThan(0);
      expect(['host-a', 'host-b']).toContain(x.node);
    }
    const table = await sdmi(['top']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NODE\s+CPU\(cores\)\s+CPU%\s+LOAD1\s+MEMORY\s+MEMORY%$/m);
    expect(table.stdout).toMatch(/^REPLICA\s+SERVICE\s+NODE\s+CPU\(cores\)\s+MEMORY$/m);
    expect(table.stdout).toMatch(/^host-a\s+\d+\.\d\d\/\d+\s+\d+%/m);
    expect(table.stdout).toContain(`${tenant}/web`);
    // A prefix with no collector behind it: exit 69 and what to do.
    const none = await sdmi(['top', '--prefix', `${cluster.names.prefix}x`]);
    expect(none.code).toBe(69);
    expect(none.stderr).toContain('no metrics-collector answered');
  });

  it('cluster.metrics() yields live samples of running replicas; a sample breaking its contract is refused, reported with its path and counted by top', async () => {
    const c = Cluster.over(cluster.nc, { prefix: cluster.names.prefix });
    let live: ContainerMetrics | undefined;
    for await (const m of c.metrics({ service: `${tenant}/web` })) {
      if (m.kind === 'container') live = m.sample;
      break;
    }
    expect(live!.service).toBe(`${tenant}/web`);
    expect(live!.replicaId.startsWith(`${tenant}/web-`)).toBe(true);
    expect((await cluster.containers(live!.node)).some((x) => x.replica === live!.replicaId && x.running)).toBe(true);

    const before = (await c.top()).refused.count;
    const ghost = `${tenant}/ghost-1@rev1`;
    const subject = cluster.names.metrics('container', metricsToken(ghost));
    const rejected = cluster.nc.subscribe(cluster.names.rejected('metrics-collector'));
    const seen = (async () => {
      for await (const m of rejected) {
        const e = m.json<{ subject: string; error: { path?: string; rule?: string; message: string } }>();
        if (e.subject === subject) return e;
      }
      return undefined;
    })();
    cluster.nc.publish(subject, JSON.stringify({ ...live!, replicaId: ghost, service: `${tenant}/ghost`, cpu: { ...live!.cpu, usedCores: -1 } }));
    const ev = await Promise.race([seen, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    rejected.unsubscribe();
    expect(ev?.error).toMatchObject({ path: '/cpu/usedCores', rule: 'minimum' });
    const t = await c.top();
    expect(t.refused.count).toBe(before + 1);
    expect(t.refused.last).toMatchObject({ subject, error: { path: '/cpu/usedCores' } });
    expect(t.replicas.some((x) => x.replicaId === ghost)).toBe(false);
    const rows = await run('psql', [cluster.db.url, '-Atc', `SELECT count(*) FROM metrics.sample WHERE key = '${ghost}'`]);
    expect(rows.trim()).toBe('0');
  });

  it('autoscale set/get/delete a policy on the service; threshold set/get/delete; the decision and the raised event arrive through the SDK and events -f', async () => {
    const web = `${tenant}/web`;
    const c = Cluster.over(cluster.nc, { prefix: cluster.names.prefix });
    // Subscribed before anything is set, so the first decision and the raised event are not missed.
    const decisions = c.scaleDecisions(web);
    const raised = c.thresholdEvents(web);
    await cluster.nc.flush();
    const follower = sdmi(['events', '-f', '--autoscale'], { until: (out) => out.includes(`threshold ${web} mem-any raised`) });
    const within = <T>(p: Promise<T>, what: string): Promise<T> => Promise.race([p, new Promise<T>((_r, no) => setTimeout(() => no(new Error(`${what}: nothing within 20 s`)), 20_000))]);
    const first = async <T>(it: AsyncGenerator<T>): Promise<T> => {
      for await (const x of it) return x;
      throw new Error('ended');
    };
    try {
      // min 2 = the replicas it has, and its CPU is near 0: the policy holds the count (below the target, bounded by min).
      const set = await sdmi(['autoscale', 'set', web, '--min', '2', '--max', '4', '--metric', 'cpu.utilization', '--target', '0.6', '--scale-down-window', '30s', '--tolerance', '0.2']);
      expect(set, set.stderr).toMatchObject({ code: 0, stdout: `${web}: autoscaling 2-4 replicas on cpu.utilization target 60% set; evaluated from the metrics-collector's next pass (see: sdmi autoscale get ${web})\n` });
      const d = await within(first<ScaleDecision>(decisions), 'a ScaleDecision');
      expect(d).toMatchObject({ service: web, from: 2, to: 2, inputs: { metric: 'cpu.utilization', target: 0.6, tolerance: 0.2, minReplicas: 2, maxReplicas: 4 } });
      // Independent of each other, so run together (each sdmi run starts tsx: seconds on a loaded machine).
      const [got, t, bad, missing, refused] = await Promise.all([
        sdmi(['autoscale', 'get', web, '-o', 'json']),
        sdmi(['autoscale', 'get']),
        // Checked by the CLI before anything is sent: the flag and why, exit 65; a missing flag exits 64.
        sdmi(['autoscale', 'set', web, '--min', '2', '--max', 'lots', '--metric', 'cpu.utilization', '--target', '0.6']),
        sdmi(['autoscale', 'set', web, '--min', '2', '--max', '3', '--metric', 'cpu.utilization']),
        // Refused by the metrics-collector: its code, message and the field; the policy stays as it was.
        sdmi(['autoscale', 'set', web, '--min', '5', '--max', '3', '--metric', 'cpu.utilization', '--target', '0.6']),
      ]);
      const listed = json<AutoscaleStatus[]>(got);
      expect(listed).toHaveLength(1);
      expect(listed[0]!.policy).toEqual({ version: 1, service: web, minReplicas: 2, maxReplicas: 4, metric: 'cpu.utilization', target: 0.6, tolerance: 0.2, behavior: { scaleDown: { stabilizationWindowMs: 30_000 } } });
      expect(listed[0]!.lastDecision).toMatchObject({ service: web, from: 2, to: 2 });
      expect(t.code, t.stderr).toBe(0);
      expect(t.stdout.split('\n')[0]).toMatch(/^SERVICE\s+MIN\s+MAX\s+METRIC\s+TARGET\s+VALUE\s+DECISION\s+REASON\s+AGE\s+WHY$/);
      expect(t.stdout).toMatch(new RegExp(`^${escape(web)}\\s+2\\s+4\\s+cpu\\.utilization\\s+60%\\s+\\d+%\\s+2->2\\s+[a-z-]+\\s+\\d+[smhd]\\s+\\S`, 'm'));
      expect(bad.code).toBe(65);
      expect(bad.stderr).toBe('sdmi: --max must be a whole number from 1 to 1000, got "lots"\n');
      expect(missing.code).toBe(64);
      expect(missing.stderr).toContain('sdmi: --target is required');
      expect(refused.code, refused.stderr).toBe(65);
      expect(refused.stderr).toMatch(/^sdmi: INVALID_AUTOSCALE_POLICY: .+ \(at \/payload\/policy\/[a-zA-Z]+/);
      expect(json<AutoscaleStatus[]>(await sdmi(['autoscale', 'get', web, '-o', 'json']))[0]!.policy.minReplicas).toBe(2);

      // Every replica uses some memory: raised at the first evaluation.
      const th = await sdmi(['threshold', 'set', web, 'mem-any', '--metric', 'memory.bytes', '--aggregation', 'max', '--comparator', '>', '--value', '0']);
      expect(th, th.stderr).toMatchObject({ code: 0, stdout: `${web} threshold mem-any: set\n` });
      const ev = await within(first<ThresholdEvent>(raised), 'a ThresholdEvent');
      expect(ev).toMatchObject({ kind: 'raised', threshold: 'mem-any', service: web, metric: 'memory.bytes', aggregation: 'max', comparator: '>', thresholdValue: 0 });
      // Every running replica with a fresh sample (a replica stopped by the scale to 2 may still count).
      expect(ev.replicas).toBeGreaterThanOrEqual(2);
      expect(json<ThresholdState[]>(await sdmi(['threshold', 'get', web, '-o', 'json'])).map((x) => [x.threshold.name, x.phase])).toEqual([['mem-any', 'raised']]);
      const followed = await within(follower, 'events -f --autoscale');
      expect(followed.stdout).toMatch(new RegExp(`^\\S+  threshold ${escape(web)} mem-any raised: \\S`, 'm'));
      expect((await sdmi(['threshold', 'delete', web, 'mem-any'])).stdout).toBe(`${web} threshold mem-any: deleted\n`);

      const del = await sdmi(['autoscale', 'delete', web]);
      expect(del, del.stderr).toMatchObject({ code: 0, stdout: `${web}: autoscaling stopped; the replica count stays where it is\n` });
      const none = await sdmi(['autoscale', 'get', web]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain(`${web} has no autoscale policy`);

      // As a manifest: plan shows the policy to create, apply sets it, a changed one is a field diff, delete removes it.
      const text = `apiVersion: sdmi/v1\nkind: AutoscalePolicy\nspec: { version: 1, service: ${web}, minReplicas: 2, maxReplicas: 3, metric: cpu.utilization, target: 0.7 }\n`;
      const m = manifest('autoscale.yaml', text);
      // Min above max is refused before anything is sent, at the file, line and column of maxReplicas.
      const badText = text.replace('minReplicas: 2', 'minReplicas: 5');
      const badFile = manifest('autoscale-bad.yaml', badText);
      const [planned, refusedManifest] = await Promise.all([sdmi(['plan', '-f', m, '--exit-code']), sdmi(['apply', '-f', badFile])]);
      expect(planned.code, planned.stderr).toBe(2);
      expect(planned.stdout).toContain(`+ create    AutoscalePolicy ${web}  (${m}:1)`);
      expect(refusedManifest.code).toBe(65);
      const col = badText.split('\n')[2]!.indexOf('maxReplicas: ') + 'maxReplicas: '.length + 1;
      expect(refusedManifest.stderr).toContain(`${badFile}:3:${col}: /maxReplicas: 3 is below minReplicas 5 (rule min-not-above-max, at /spec/maxReplicas)`);
      const applied = await sdmi(['apply', '-f', m]);
      expect(applied, applied.stderr).toMatchObject({ code: 0, stdout: `applied: create AutoscalePolicy ${web}\n` });
      expect(json<AutoscaleStatus[]>(await sdmi(['autoscale', 'get', web, '-o', 'json']))[0]!.policy).toMatchObject({ minReplicas: 2, maxReplicas: 3, target: 0.7 });
      const changed = await sdmi(['plan', '-f', manifest('autoscale2.yaml', text.replace('maxReplicas: 3', 'maxReplicas: 4'))]);
      expect(changed.stdout).toContain(`~ update    AutoscalePolicy ${web}`);
      expect(changed.stdout).toContain('/maxReplicas: 3 -> 4');
      const deleted = await sdmi(['delete', '-f', m]);
      expect(deleted, deleted.stderr).toMatchObject({ code: 0, stdout: `deleted: delete AutoscalePolicy ${web}\n` });
      expect((await c.tenant(tenant).service('web').autoscaling())).toEqual({ service: web, policy: null, thresholds: [] });
    } finally {
      // A policy left behind would go on scaling web (and its redeployment) under the later tests.
      const svc = c.tenant(tenant).service('web');
      await svc.stopAutoscaling();
      await svc.deleteThreshold('mem-any');
      // Already ended by the loops above; returning again is harmless and ends them if a wait timed out.
      await decisions.return(undefined);
      await raised.return(undefined);
    }
  });

  it('bad input: a manifest with errors names file, line, path and rule (exit 65) and changes nothing', async () => {
    const f = manifest('bad.yaml', `${app(2, '1').replace('replicas: 2', 'replicas: -3').replace('name: back', 'name: Back')}`);
    const before = await sdmi(['get', 'services', '-t', tenant, '-o', 'json']);
    const r = await sdmi(['apply', '-f', f]);
    expect(r.code).toBe(65);
    // The flow map's value starts after "spec: { tenant: <tenant>, name: ".
    const col = 'spec: { tenant: '.length + tenant.length + ', name: '.length + 1;
    expect(r.stderr).toContain(`sdmi: 2 errors in manifest:`);
    expect(r.stderr).toContain(`${f}:13:${col}: /spec/name must match pattern "^[a-z][a-z0-9-]{0,62}$" (rule pattern, at /spec/name)`);
    expect(r.stderr).toContain(`${f}:23:13: /spec/replicas must be >= 0 (rule minimum, at /spec/replicas)`);
    expect((await sdmi(['get', 'services', '-t', tenant, '-o', 'json'])).stdout).toBe(before.stdout);
    // A rule of the scheduler that needs no cluster state is checked before anything is sent.
    const semantic = manifest('semantic.yaml', app(2, '1').replace('  update: { monitorMs: 500 }', '  healthCheck: { exec: [/bin/true], intervalMs: 1000, timeoutMs: 3000, retries: 1 }'));
    const s = await sdmi(['apply', '-f', semantic]);
    expect(s.code).toBe(65);
    expect(s.stderr).toContain(`${semantic}:26:66: /healthCheck/timeoutMs: a check may take 3000 ms but runs every 1000 ms; timeoutMs must not exceed intervalMs (rule health-timeout-within-interval, at /spec/healthCheck/timeoutMs)`);
    const missing = await sdmi(['plan', '-f', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain('nope.yaml:0:0: no such file or directory');
  });

  it('bad input: the cluster refusing a change says what and where (exit 1); bad arguments exit 64 or 65', async () => {
    // Valid as a manifest, refused by the network-controller's semantic check: a CIDR overlapping another network.
    const f = manifest('overlap.yaml', `apiVersion: sdmi/v1\nkind: TenantNetwork\nspec: { tenant: ${tenant}, name: other, cidr: 10.71.1.128/25 }\n`);
    const r = await sdmi(['apply', '-f', f]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/create TenantNetwork .*\/other failed: [A-Z_]+: .*10\.71\.1/);
    expect((await sdmi(['networks', '-t', tenant, '-o', 'json'])).stdout).not.toContain('/other');
    expect((await sdmi(['scale', `${tenant}/web`, 'many'])).code).toBe(65);
    expect((await sdmi(['scale', 'web', '2'])).stderr).toContain('is not a service id: write <tenant>/<service>');
    expect((await sdmi(['frobnicate'])).code).toBe(64);
    expect((await sdmi(['get', 'services', '-o', 'xml'])).stderr).toContain('-o must be one of table, json, yaml');
    const nobody = await sdmi(['describe', 'service', `${tenant}/nobody`]);
    expect(nobody).toMatchObject({ code: 1, stderr: expect.stringContaining('does not exist') });
  });

  it('without a bus it says so and exits 69', async () => {
    const r = await sdmi(['get', 'services', '--nats-url', 'nats://127.0.0.1:1']);
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toContain('is NATS running and the control plane up?');
  });

  it('delete removes the service, then the networks in reference order, and keeps the tenant config', async () => {
    const r = await sdmi(['delete', '-f', path.join(dir, 'app2.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`deleted: delete Service ${tenant}/web, delete TenantNetwork ${tenant}/front, delete TenantNetwork ${tenant}/back\n`);
    expect(r.stderr).toContain('kept: TenantConfigs have no delete command');
    expect(json<unknown[]>(await sdmi(['get', 'services', '-t', tenant, '-o', 'json']))).toEqual([]);
    for (const h of cluster.hosts.keys()) expect(await cluster.containers(h)).toEqual([]);
    expect(json<{ tenantNetworks: unknown[] }>(await sdmi(['networks', '-t', tenant, '-o', 'json'])).tenantNetworks).toEqual([]);

    // Deployed again under the same names: the service gets its address on the network-controller
    // again (not an earlier lifetime's answer), i.e. the network holds 3 replica addresses + 1.
    const again = await sdmi(['apply', '-f', path.join(dir, 'app2.yaml')]);
    expect(again.code, again.stderr).toBe(0);
    await cluster.until(async () => {
      const nets = json<{ tenantNetworks: { id: string; addresses: number }[] }>(await sdmi(['networks', '-t', tenant, '-o', 'json']));
      return nets.tenantNetworks.find((n) => n.id === `${tenant}/front`)?.addresses === 4;
    }, 'the redeployed service address held by the network-controller', 30_000);
    const redeployed = await sdmi(['delete', '-f', path.join(dir, 'app2.yaml')]);
    expect(redeployed.code, redeployed.stderr).toBe(0);
  });

  it('nodes drain moves replicas off a host; remove also unregisters it', async () => {
    const r = await sdmi(['nodes', 'drain', 'host-b']);
    expect(r, r.stderr).toMatchObject({ code: 0, stdout: 'node host-b: drained (re-admit with: sdmi nodes add host-b)\n' });
    expect((await sdmi(['nodes'])).stdout).toMatch(/host-b\s+(draining|unadmitted)\s+yes/);
    const again = await sdmi(['nodes', 'add', 'host-b']);
    expect(again.code, again.stderr).toBe(0);
    const removed = await sdmi(['nodes', 'remove', 'host-b']);
    expect(removed, removed.stderr).toMatchObject({ code: 0, stdout: 'node host-b: drained and removed\n' });
  });
});
