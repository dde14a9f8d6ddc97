// Role bindings and the audit log as a user reaches them: the sdmi binary (bin/sdmi, as a user
// runs it) and the SDK's cluster.access, each principal with its own seed, against the real
// services on a nats-server with auth (secure-cluster.ts). What they print is checked against
// what the network-controller holds and what its gateways recorded.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditRecord, ListedRoleBinding } from '@sdmi/contracts';
import { Cluster, roleBindingProblems } from '@sdmi/sdk';
import { keepLog } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecureCluster } from './secure-cluster';

const bin = fileURLToPath(new URL('../../cli/bin/sdmi', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sdmi-cli-access-'));
let cluster: SecureCluster;
/** The SDK as admin (builtin cluster-admin), for setting up and for checking what the CLI did. */
let admin: Cluster;
/** What every sdmi run printed: kept for the suite's secrets-in-logs check. */
let printed = '';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** bin/sdmi as `principal` (its own seed file), or with no credentials at all. */
function sdmi(principal: string | null, args: readonly string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', SDMI_NATS_URL: cluster.server.url, SDMI_BUS_PREFIX: cluster.names.prefix };
    if (principal !== null) env.SDMI_NATS_NKEY_SEED_FILE = cluster.ids.get(principal)!.seedFile;
    const child = spawn(bin, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      printed += `$ sdmi ${args.join(' ')}  (as ${principal ?? 'nobody'})\n${stdout}${stderr}`;
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 130), stdout, stderr });
    });
  });
}

async function sdk(principal: string): Promise<Cluster> {
  return Cluster.over(await cluster.connect(principal), { prefix: cluster.names.prefix, taskTimeoutMs: 30_000 });
}

const stored = async (): Promise<string[]> => (await admin.access.roleBindings()).filter((b) => b.source === 'stored').map((b) => b.binding.name);
/** Every audit record of commands on this binding, as admin reads them. */
const auditOf = async (name: string): Promise<AuditRecord[]> => (await admin.access.audit({ limit: 1000 })).filter((r) => r.key === `rolebinding/${name}`);

beforeAll(async () => {
  // tina: bound by the CLI below; vera: a viewer of everything; nobody: a named user with no binding.
  cluster = await SecureCluster.start({ users: ['tina', 'vera', 'nobody'], nodes: [] });
  admin = await sdk('admin');
  await admin.access.putRoleBinding({ name: 'vera-all', principal: 'user:vera', role: 'viewer' });
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  keepLog('cli-access sdmi output', printed);
  rmSync(dir, { recursive: true, force: true });
});

describe('sdmi rolebinding and sdmi audit', () => {
  it('admin puts a binding: it is stored, listed as JSON and as a table, and replaced by a second put', async () => {
    const put = await sdmi('admin', ['rolebinding', 'put', 'tina-acme', '--role', 'tenant-admin', '--principal', 'user:tina', '--tenant', 'acme']);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('rolebinding tina-acme: created (user:tina is tenant-admin of acme)');
    expect((await admin.access.roleBindings({ principal: 'user:tina' })).map((b) => b.binding)).toEqual([{ version: 1, name: 'tina-acme', principal: 'user:tina', role: 'tenant-admin', tenant: 'acme' }]);

    const json = await sdmi('admin', ['rolebinding', 'list', '-o', 'json']);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as ListedRoleBinding[];
    expect(listed).toContainEqual({ binding: { version: 1, name: 'tina-acme', principal: 'user:tina', role: 'tenant-admin', tenant: 'acme' }, source: 'stored' });
    expect(listed).toContainEqual({ binding: { version: 1, name: 'vera-all', principal: 'user:vera', role: 'viewer' }, source: 'stored' });
    // The credentials' own: admin is a cluster-admin before any binding is stored.
    expect(listed.find((b) => b.binding.principal === 'user:admin')).toMatchObject({ binding: { role: 'cluster-admin' }, source: 'builtin' });
    expect(listed.map((b) => b.binding.name)).toEqual([...listed.map((b) => b.binding.name)].sort());

    const one = await sdmi('admin', ['rolebinding', 'list', '--principal', 'user:tina', '-o', 'yaml']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('name: tina-acme');
    expect(one.stdout).not.toContain('vera-all');

    const tableOut = await sdmi('admin', ['rolebinding', 'list']);
    expect(tableOut.code).toBe(0);
    const lines = tableOut.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PRINCIPAL\s+ROLE\s+TENANT\s+SOURCE$/);
    expect(lines.find((l) => l.startsWith('tina-acme '))?.split(/\s+/)).toEqual(['tina-acme', 'user:tina', 'tenant-admin', 'acme', 'stored']);
    expect(lines.find((l) => l.startsWith('vera-all '))?.split(/\s+/)).toEqual(['vera-all', 'user:vera', 'viewer', '-', 'stored']);

    const again = await sdmi('admin', ['rolebinding', 'put', 'tina-acme', '--role', 'tenant-admin', '--principal', 'user:tina', '--tenant', 'acme']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('rolebinding tina-acme: replaced');
  });

  it("a viewer's put is refused FORBIDDEN: non-zero exit, code and reason on stderr, nothing stored", async () => {
    const before = await stored();
    const r = await sdmi('vera', ['rolebinding', 'put', 'vera-grab', '--role', 'cluster-admin', '--principal', 'user:vera']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^sdmi: FORBIDDEN: user:vera \(viewer\) may not putRoleBinding/);
    expect(r.stderr).toContain('cluster-admin');
    expect(await stored()).toEqual(before);
    expect(await stored()).not.toContain('vera-grab');
  });

  it('a user with no binding is refused too, and its delete of a binding leaves it in place', async () => {
    const r = await sdmi('nobody', ['rolebinding', 'delete', 'tina-acme']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sdmi: FORBIDDEN: user:nobody .*may not deleteRoleBinding/);
    expect(await stored()).toContain('tina-acme');
  });

  it('without credentials the CLI cannot even connect: non-zero exit, the reason on stderr', async () => {
    const r = await sdmi(null, ['rolebinding', 'list']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('sdmi: the bus refused the connection (Authorization Violation): it takes only credentials it knows\nset SDMI_NATS_NKEY_SEED_FILE to your nkey seed file\n');
  });

  it('sdmi audit -o json shows the accepted and the refused task with their principals and outcomes', async () => {
    const r = await sdmi('admin', ['audit', '-o', 'json', '--limit', '1000']);
    expect(r.code).toBe(0);
    const records = JSON.parse(r.stdout) as AuditRecord[];
    const accepted = records.filter((x) => x.key === 'rolebinding/tina-acme' && x.kind === 'putRoleBinding');
    expect(accepted).toHaveLength(2); // the put and the replacing put
    for (const a of accepted) expect(a).toMatchObject({ principal: 'user:admin', service: 'network-controller', outcome: 'accepted', status: 'completed' });
    expect(accepted.every((a) => a.error === undefined)).toBe(true);
    const refused = records.filter((x) => x.key === 'rolebinding/vera-grab');
    expect(refused).toEqual([expect.objectContaining({ principal: 'user:vera', kind: 'putRoleBinding', outcome: 'refused', error: expect.objectContaining({ code: 'FORBIDDEN' }) })]);
    expect(refused[0]!.status).toBeUndefined();
    expect(records.filter((x) => x.key === 'rolebinding/tina-acme' && x.kind === 'deleteRoleBinding')).toEqual([expect.objectContaining({ principal: 'user:nobody', outcome: 'refused' })]);
    // Newest first.
    expect(records.map((x) => x.seq)).toEqual([...records.map((x) => x.seq)].sort((a, b) => b - a));
  });

  it('sdmi audit filters by principal, outcome, service, task and time, and prints a table', async () => {
    const vera = JSON.parse((await sdmi('admin', ['audit', '--principal', 'user:vera', '-o', 'json'])).stdout) as AuditRecord[];
    expect(vera.length).toBeGreaterThan(0);
    expect(new Set(vera.map((x) => x.principal))).toEqual(new Set(['user:vera']));

    const refused = JSON.parse((await sdmi('admin', ['audit', '--outcome', 'refused', '--service', 'network-controller', '-o', 'json'])).stdout) as AuditRecord[];
    expect(refused.map((x) => x.key).sort()).toEqual(['rolebinding/tina-acme', 'rolebinding/vera-grab']);

    const task = vera[0]!.taskId;
    const json = async (args: string[]): Promise<AuditRecord[]> => JSON.parse((await sdmi('admin', ['audit', ...args, '-o', 'json'])).stdout) as AuditRecord[];
    const [byTask, limited, future, recent, t] = await Promise.all([
      json(['--task', task]),
      json(['--limit', '1']),
      json(['--since', new Date(Date.now() + 3_600_000).toISOString()]),
      json(['--since', '1h', '--principal', 'user:vera']),
      sdmi('admin', ['audit', '--principal', 'user:vera']),
    ]);
    expect(byTask.map((x) => x.taskId)).toEqual([task]);
    // Role bindings are the cluster's (no tenant); a command on an acme service acts on acme (the
    // gateway accepts it; there is no such service, so the scheduler fails it).
    const onAcme = await admin.client.submit('scheduler', { kind: 'scaleService', key: 'service/acme/web', payload: { service: 'acme/web', replicas: 1 } });
    const acme = await json(['--tenant', 'acme']);
    expect(acme.map((x) => x.taskId)).toContain(onAcme.taskId);
    expect(acme.every((x) => x.tenants.includes('acme'))).toBe(true);
    expect(acme.map((x) => x.key)).not.toContain('rolebinding/tina-acme');
    expect(await json(['--tenant', 'nosuch'])).toEqual([]);
    expect(limited).toHaveLength(1);
    expect(future).toEqual([]);
    expect(recent.map((x) => x.taskId)).toEqual(vera.map((x) => x.taskId));

    expect(t.code).toBe(0);
    const [header, row] = t.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^AGE\s+PRINCIPAL\s+SERVICE\s+KIND\s+KEY\s+OUTCOME\s+TASK\s+REASON$/);
    expect(row).toMatch(/^\d+s\s+user:vera\s+network-controller\s+putRoleBinding\s+rolebinding\/vera-grab\s+refused FORBIDDEN\s+[0-9a-f-]{36}\s+user:vera/);
  });

  it('sdmi rolebinding delete removes it; deleting it again says there is none', async () => {
    const r = await sdmi('admin', ['rolebinding', 'delete', 'tina-acme']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rolebinding tina-acme: deleted');
    expect(await stored()).not.toContain('tina-acme');
    const list = JSON.parse((await sdmi('admin', ['rolebinding', 'list', '-o', 'json'])).stdout) as ListedRoleBinding[];
    expect(list.map((b) => b.binding.name)).not.toContain('tina-acme');
    const again = await sdmi('admin', ['rolebinding', 'delete', 'tina-acme']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('there is no such binding');
  });

  // Independent of each other and of the cluster's state: run side by side.
  it.concurrent.for([
    { why: 'missing --role', args: ['put', 'bad-1', '--principal', 'user:tina'], code: 64, err: /--role is required \(one of cluster-admin, .*viewer, system\)/ },
    { why: 'missing --principal', args: ['put', 'bad-2', '--role', 'viewer'], code: 64, err: /--principal is required/ },
    { why: 'unknown role', args: ['put', 'bad-3', '--role', 'superuser', '--principal', 'user:tina'], code: 65, err: /--role: "superuser" is not a role: one of cluster-admin/ },
    { why: 'tenant-admin without a tenant', args: ['put', 'bad-4', '--role', 'tenant-admin', '--principal', 'user:tina'], code: 65, err: /--tenant: role tenant-admin acts within one tenant/ },
    { why: 'cluster-admin with a tenant', args: ['put', 'bad-5', '--role', 'cluster-admin', '--principal', 'user:tina', '--tenant', 'acme'], code: 65, err: /--tenant: role cluster-admin is cluster-wide/ },
    { why: 'a principal without its kind', args: ['put', 'bad-6', '--role', 'viewer', '--principal', 'tina'], code: 65, err: /--principal: must be user:<name> or service:<name>.*got "tina"/ },
    { why: 'system for a user', args: ['put', 'bad-7', '--role', 'system', '--principal', 'user:tina'], code: 65, err: /--principal: role system is for the services' own principals/ },
    { why: 'a builtin name', args: ['put', 'builtin-bad', '--role', 'viewer', '--principal', 'user:tina'], code: 65, err: /<name>: names starting with builtin- are the credentials' own/ },
    { why: 'an unknown flag', args: ['put', 'bad-8', '--role', 'viewer', '--principal', 'user:tina', '--tennant', 'acme'], code: 64, err: /Unknown option '--tennant'/ },
  ])('bad input is refused before anything is sent: $why', async ({ args, code, err }, { expect }) => {
    const r = await sdmi('admin', ['rolebinding', ...args]);
    // Nothing reached a gateway: every submit that did is in the audit log.
    expect(await auditOf(args[1]!)).toEqual([]);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(err);
  });

  it.concurrent.for([
    { args: ['--outcome', 'maybe'], err: /--outcome: must be accepted or refused, got "maybe"/ },
    { args: ['--limit', '0'], err: /--limit: must be a whole number from 1 to 1000, got "0"/ },
    { args: ['--since', 'yesterday'], err: /--since: must be a duration .* got "yesterday"/ },
    { args: ['--task', '42'], err: /--task: must be a task id/ },
    { args: ['--tenant', 'Acme'], err: /--tenant: must be a tenant name .* got "Acme"/ },
    { args: ['-o', 'xml'], err: /-o must be one of table, json, yaml/ },
  ])('sdmi audit $args is a usage error', async ({ args, err }, { expect }) => {
    const r = await sdmi('admin', ['audit', ...args]);
    expect(r.code).toBeGreaterThanOrEqual(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(err);
  });
});

describe('RoleBinding in manifests: sdmi plan, apply and delete -f', () => {
  const manifest = (file: string, role: string, extra = ''): string => {
    const path = join(dir, file);
    writeFileSync(path, `apiVersion: sdmi/v1\nkind: RoleBinding\nspec:\n  version: 1\n  name: ${file.replace('.yaml', '')}\n  principal: user:tina\n  role: ${role}\n${extra}`);
    return path;
  };
  const storedOf = async (name: string) => (await admin.access.roleBindings()).find((b) => b.source === 'stored' && b.binding.name === name)?.binding;

  it('apply creates the binding, plan then shows it unchanged, a changed role is an update of that field', async () => {
    const file = manifest('tina-shop.yaml', 'tenant-user', '  tenant: shop\n');
    const plan = await sdmi('admin', ['plan', '-f', file]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^\+ create +RoleBinding tina-shop +\(.*tina-shop\.yaml:1\)$/m);
    expect(await storedOf('tina-shop')).toBeUndefined();

    const apply = await sdmi('admin', ['apply', '-f', file]);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('applied: create RoleBinding tina-shop');
    expect(await storedOf('tina-shop')).toEqual({ version: 1, name: 'tina-shop', principal: 'user:tina', role: 'tenant-user', tenant: 'shop' });
    expect(await auditOf('tina-shop')).toMatchObject([{ principal: 'user:admin', kind: 'putRoleBinding', outcome: 'accepted' }]);

    const same = await sdmi('admin', ['plan', '-f', file, '--exit-code']);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^= unchanged +RoleBinding tina-shop/m);

    manifest('tina-shop.yaml', 'tenant-admin', '  tenant: shop\n');
    const changed = await sdmi('admin', ['plan', '-f', file, '--exit-code']);
    expect(changed.code).toBe(2);
    expect(changed.stdout).toMatch(/^~ update +RoleBinding tina-shop/m);
    expect(changed.stdout).toContain('/role: "tenant-user" -> "tenant-admin"');
    expect((await sdmi('admin', ['apply', '-f', file])).code).toBe(0);
    expect((await storedOf('tina-shop'))?.role).toBe('tenant-admin');
  });

  it("a viewer's apply is refused FORBIDDEN and stores nothing", async () => {
    const file = manifest('vera-root.yaml', 'cluster-admin');
    const r = await sdmi('vera', ['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/create RoleBinding vera-root failed: FORBIDDEN: user:vera \(viewer\) may not putRoleBinding/);
    expect(await storedOf('vera-root')).toBeUndefined();
  });

  it('a binding whose role and tenant do not go together is refused at its line before anything is sent', async () => {
    const file = manifest('no-tenant.yaml', 'tenant-admin');
    const r = await sdmi('admin', ['apply', '-f', file]);
    expect(await auditOf('no-tenant')).toEqual([]);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/no-tenant\.yaml:4:3: \/tenant: role tenant-admin acts within one tenant; name it \(rule tenant-required, at \/spec\/tenant\)/);
  });

  it('delete -f removes the binding', async () => {
    const file = join(dir, 'tina-shop.yaml');
    const r = await sdmi('admin', ['delete', '-f', file]);
    expect(r.code).toBe(0);
    expect(await storedOf('tina-shop')).toBeUndefined();
    expect((await auditOf('tina-shop')).map((x) => `${x.kind} ${x.outcome}`)).toEqual(['deleteRoleBinding accepted', 'putRoleBinding accepted', 'putRoleBinding accepted']);
  });
});

describe('the SDK: cluster.access', () => {
  it('putRoleBinding creates then replaces, roleBindings filters by principal, deleteRoleBinding removes once', async () => {
    expect(await admin.access.putRoleBinding({ name: 'sdk-tina', principal: 'user:tina', role: 'tenant-user', tenant: 'beta' })).toEqual({ name: 'sdk-tina', created: true });
    expect(await admin.access.putRoleBinding({ name: 'sdk-tina', principal: 'user:tina', role: 'tenant-admin', tenant: 'beta' })).toEqual({ name: 'sdk-tina', created: false });
    expect(await admin.access.roleBindings({ principal: 'user:tina' })).toEqual([{ binding: { version: 1, name: 'sdk-tina', principal: 'user:tina', role: 'tenant-admin', tenant: 'beta' }, source: 'stored' }]);
    expect((await admin.access.roleBindings()).map((b) => b.binding.name)).toEqual(expect.arrayContaining(['sdk-tina', 'vera-all']));
  });

  it('a tenant-admin is refused FORBIDDEN putting a binding, and reads only its own tenant’s bindings and records', async () => {
    const tina = await sdk('tina');
    const err = await tina.access.putRoleBinding({ name: 'tina-root', principal: 'user:tina', role: 'cluster-admin' }).then(
      () => undefined,
      (e: unknown) => e as { name?: string; info?: { code: string; message: string } },
    );
    expect(err?.info?.code).toBe('FORBIDDEN');
    expect(err?.info?.message).toMatch(/^user:tina \(tenant-admin of beta\) may not putRoleBinding/);
    expect(await stored()).not.toContain('tina-root');
    // Bindings of beta only: not vera's cluster-wide one, not the builtin ones.
    expect((await tina.access.roleBindings()).map((b) => b.binding.name)).toEqual(['sdk-tina']);
    // A command on a beta service and one on a gamma service (both accepted by the gateways;
    // there are no such services, so the scheduler fails them): tina reads the first only.
    const onBeta = await admin.client.submit('scheduler', { kind: 'scaleService', key: 'service/beta/web', payload: { service: 'beta/web', replicas: 1 } });
    const onGamma = await admin.client.submit('scheduler', { kind: 'scaleService', key: 'service/gamma/web', payload: { service: 'gamma/web', replicas: 1 } });
    const all = (await admin.access.audit({ limit: 1000 })).map((r) => r.taskId);
    expect(all).toEqual(expect.arrayContaining([onBeta.taskId, onGamma.taskId]));
    const records = await tina.access.audit({ limit: 1000 });
    expect(records.map((r) => r.taskId)).toContain(onBeta.taskId);
    expect(records.map((r) => r.taskId)).not.toContain(onGamma.taskId);
    expect(records.filter((r) => !r.tenants.includes('beta'))).toEqual([]);
    expect((await admin.access.audit({ principal: 'user:tina', outcome: 'refused' })).map((r) => r.key)).toEqual(['rolebinding/tina-root']);
  });

  it('deleteRoleBinding takes effect at once and is idempotent', async () => {
    expect(await admin.access.deleteRoleBinding('sdk-tina')).toEqual({ name: 'sdk-tina', removed: true });
    expect(await admin.access.deleteRoleBinding('sdk-tina')).toEqual({ name: 'sdk-tina', removed: false });
    expect(await admin.access.roleBindings({ principal: 'user:tina' })).toEqual([]);
  });

  it('roleBindingProblems says what the network-controller would refuse, with the path', () => {
    expect(roleBindingProblems({ version: 1, name: 'ok', principal: 'user:tina', role: 'viewer' })).toEqual([]);
    expect(roleBindingProblems({ version: 1, name: 'x', principal: 'user:tina', role: 'tenant-user' })).toMatchObject([{ code: 'INVALID_ROLE_BINDING', path: '/tenant', rule: 'tenant-required' }]);
    expect(roleBindingProblems({ version: 1, name: 'x', principal: 'user:tina', role: 'root' })).toMatchObject([{ code: 'SCHEMA_VIOLATION', path: '/role', rule: 'enum' }]);
    expect(roleBindingProblems({ version: 1, name: 'builtin-x', principal: 'user:tina', role: 'viewer' })).toMatchObject([{ path: '/name', rule: 'reserved-name' }]);
  });
});

describe('sdmi events -f as a tenant user', () => {
  it("shows its tenant's task events through the event feed, none of another tenant's, and says on stderr what it does not show", async () => {
    await admin.access.putRoleBinding({ name: 'nobody-acme', principal: 'user:nobody', role: 'tenant-user', tenant: 'acme' });
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', SDMI_NATS_URL: cluster.server.url, SDMI_BUS_PREFIX: cluster.names.prefix, SDMI_NATS_NKEY_SEED_FILE: cluster.ids.get('nobody')!.seedFile };
    const child = spawn(bin, ['events', '-f', '--nodes', '-o', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const until = async (cond: () => boolean, what: string) => {
      const end = Date.now() + 30_000;
      while (!cond()) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`${what}; stdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      await until(() => stderr.includes('come through the event feed'), 'no notice that task events come through the feed');
      await until(() => stderr.includes('node events: this credential may not read them'), 'no notice that node events are not shown');
      // The feed's request went out with the notice; a moment for every worker to take it in.
      await new Promise((r) => setTimeout(r, 1500));
      const beta = await admin.client.submit('scheduler', { kind: 'scaleService', key: 'service/beta/web', payload: { service: 'beta/web', replicas: 1 } });
      const acme = await admin.client.submit('scheduler', { kind: 'scaleService', key: 'service/acme/web', payload: { service: 'acme/web', replicas: 1 } });
      await until(() => stdout.includes(acme.taskId), "the acme task's events are not shown");
      const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; service: string; event: { taskId: string; key: string } });
      expect(lines.every((l) => l.type === 'task' && l.event.key !== 'service/beta/web')).toBe(true);
      expect(stdout).not.toContain(beta.taskId);
      expect(lines.find((l) => l.event.taskId === acme.taskId)).toMatchObject({ service: 'scheduler', event: { key: 'service/acme/web' } });
    } finally {
      child.kill('SIGINT');
      printed += `$ sdmi events -f --nodes -o json  (as nobody)\n${stdout}${stderr}`;
      await admin.access.deleteRoleBinding('nobody-acme');
    }
    expect(await exited, stderr).toBe(0);
  }, 90_000);
});
