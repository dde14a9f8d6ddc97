// The switch-agent as a service: its own process beside a real network-controller, on the
// machine's NATS (a run-unique prefix) and PostgreSQL (a run-unique database), keeping a real
// netconfd (yuma123, sdmi-vlan) and the machine's Open vSwitch. Networks are created and deleted
// through the network-controller only; what the switches carry is read from the switches.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusNames, RdmpClient, RdmpError, connectNats, jetstreamManager, removeStreams } from '@sdmi/bus';
import { SWITCH_AGENT, SwitchQueries, switchKey, type ErrorInfo, type Switch, type SwitchStatus } from '@sdmi/contracts';
import { RpcError, SDMI_VLAN_NS as NS, SDMI_VLAN_YANG, connectNetconf, operation, type NetconfSession } from '@sdmi/netconf';
import { healthSubject, requestHealth } from '@sdmi/service';
import { FailMode, Testbed, checkIfName, freePort, keepLog, run, runId, testName, type Netconfd, type OvsBridge, type TestDatabase } from '@sdmi/testbed';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVlans } from '../src/transaction';
import { SdmiVlanProfile } from '../src/profile';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tag = runId();
const names = new BusNames(`${tag}sw`);
/** A second cluster (own prefix and database) whose switch-agent keeps the same fabric switch. */
const namesB = new BusNames(`${tag}sw2`);
const tb = new Testbed();
const profile = new SdmiVlanProfile();
let db: TestDatabase;
let nc: Awaited<ReturnType<typeof connectNats>>;
let client: RdmpClient;
let server: Netconfd;
let main: NetconfSession;
let keyDir: string;
let keyFile: string;
let ovsBridge: OvsBridge;
let ovsPort: string;
const newBridge = checkIfName(testName('n'));
const procs = new Map<string, { child: ChildProcess; log: string }>();
let allLogs = '';

function startService(name: string, script: string, env: Record<string, string>, at: { prefix: string; dbUrl: string } = { prefix: names.prefix, dbUrl: db.url }): void {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, script)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SDMI_BUS_PREFIX: at.prefix, SDMI_PG_URL: at.dbUrl, SDMI_LOG_LEVEL: 'info', SDMI_INSTANCE_ID: `${name}-${tag}`, ...env },
  });
  const p = { child, log: '' };
  const add = (d: Buffer) => {
    p.log = (p.log + d.toString()).slice(-20_000);
    allLogs += d.toString();
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  procs.set(name, p);
}

async function stopService(name: string, signal: NodeJS.Signals): Promise<void> {
  const p = procs.get(name);
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise((r) => p.child.once('exit', r));
  p.child.kill(signal);
  await gone;
}

function logs(): string {
  const daemons = server ? `\n--- netconfd\n${server.logTail(40)}\n--- sshd\n${server.sshdLogTail(20)}` : '';
  return [...procs].map(([n, p]) => `--- ${n}\n${p.log}`).join('\n') + daemons;
}

async function until(cond: () => Promise<boolean>, what: string | (() => string), timeoutMs = 40_000, everyMs = 1000): Promise<void> {
  const end = Date.now() + timeoutMs;
  // Slow on purpose: netconfd serves confirm timeouts only when idle.
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}\n${logs()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function ready(service: string, name: string): Promise<void> {
  await until(async () => (await requestHealth(nc, healthSubject(service, `${name}-${tag}`), { timeout: 1000 })).ready, `${service} ready`, 60_000, 300);
}

async function net(kind: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await client.run('network-controller', { kind, key: 'networks', payload })).result ?? {};
}
async function sw(kind: string, name: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  return (await client.run(SWITCH_AGENT, { kind, key: switchKey(name), payload })).result ?? {};
}
/** The error a command fails with (the test fails if it succeeds). */
async function refusal(p: Promise<unknown>): Promise<ErrorInfo> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof RdmpError)) throw new Error(`expected a refusal, got ${e === undefined ? 'success' : String(e)}`);
  return e.info;
}

async function running(): Promise<{ vlans: Record<string, string>; trunks: Record<string, number[]> }> {
  const s = await readVlans(main, profile);
  return { vlans: Object.fromEntries(s.vlans), trunks: Object.fromEntries([...s.trunks].map(([p, v]) => [p, [...v].sort((a, b) => a - b)])) };
}

async function status(name: string): Promise<SwitchStatus | undefined> {
  return (await client.query(SWITCH_AGENT, SwitchQueries.listSwitches, { name })).switches[0];
}

function leaf(extra: Partial<Switch> = {}, netconf: Partial<NonNullable<Switch['netconf']>> = {}): Switch {
  return {
    name: 'leaf-1',
    kind: 'netconf',
    netconf: { host: server.endpoint.host, port: server.endpoint.port, username: server.endpoint.username, privateKeyFile: keyFile, hostKey: server.endpoint.hostKey, confirmTimeoutSec: 4, ...netconf },
    trunks: [
      { port: 'eth1', carries: 'all-networks' },
      { port: 'eth2', carries: ['cluster/blue'] },
    ],
    ...extra,
  };
}

const bin = join(root, 'packages/cli/bin/sdmi');
function sdmi(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], { env: { ...process.env, SDMI_BUS_PREFIX: names.prefix }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout, stderr });
    });
  });
}

const vsctl = (...args: string[]) => run('ovs-vsctl', ['--timeout=10', ...args]).then((r) => r.trim());

beforeAll(async () => {
  db = await tb.database();
  nc = await connectNats(`test-${tag}-switch-agent`);
  client = new RdmpClient(nc, { names });
  server = await tb.netconfd({ yang: [SDMI_VLAN_YANG] });
  main = await connectNetconf(server.endpoint);
  // The switch before the agent: three ports, VLAN 10 (someone else's) on eth2.
  await main.editConfig('candidate', {
    vlans: { '@_xmlns': NS, vlan: { id: 10, name: 'mgmt' } },
    interfaces: { '@_xmlns': NS, interface: [{ name: 'eth1' }, { name: 'eth2' }, { name: 'eth3' }], trunk: [{ port: 'eth1', 'allowed-vlan': [] }, { port: 'eth2', 'allowed-vlan': 10 }] },
  });
  await main.commit();
  keyDir = mkdtempSync(join(tmpdir(), `sdmi-${tag}-swkey-`));
  keyFile = join(keyDir, 'leaf-1.key');
  writeFileSync(keyFile, server.endpoint.privateKey, { mode: 0o600 });
  ovsBridge = await tb.bridge({ failMode: FailMode.Standalone });
  ovsPort = (await ovsBridge.addVethPort()).bridgeEnd;
  tb.defer(`bridge ${newBridge}`, () => run('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', newBridge]));
  startService('network-controller', 'services/network-controller/src/main.ts', { SDMI_OPENFLOW_LISTEN: `127.0.0.1:${await freePort(false)}` });
  await ready('network-controller', 'network-controller');
  startService('switch-agent', 'services/switch-agent/src/main.ts', { SDMI_SWITCH_RESYNC_MS: '1500', SDMI_SWITCH_DRIFT_MS: '2000', SDMI_LOG_LEVEL: 'debug' });
  await ready('switch-agent', 'switch-agent');
}, 180_000);

afterAll(async () => {
  for (const name of procs.keys()) await stopService(name, 'SIGTERM');
  keepLog('switch-agent service test', allLogs);
  main?.destroy();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  if (nc) {
    await removeStreams(await jetstreamManager(nc), names).catch(() => undefined);
    await removeStreams(await jetstreamManager(nc), namesB).catch(() => undefined);
    await nc.close();
  }
  await tb.dispose();
  const left = await tb.inventory();
  expect(left.processes).toEqual([]);
  expect(left.directories).toEqual([]);
  expect(left.bridges).toEqual([]);
}, 120_000);

describe('switch-agent keeps a NETCONF switch carrying the networks', () => {
  it('a cluster network with VLAN 100 appears on the declared trunks; a tenant network gets its assigned VLAN on all-networks trunks only; deleting them removes both; VLAN 10 stays', async () => {
    expect((await sw('registerSwitch', 'leaf-1', { switch: leaf() }))).toEqual({ name: 'leaf-1', created: true });
    (await net('createNetworks', { clusterNetworks: [{ name: 'blue', cidr: '10.61.0.0/24', vlan: 100 }] }));
    await until(async () => (await running()).trunks.eth2?.includes(100) === true && (await running()).trunks.eth1?.includes(100) === true, 'VLAN 100 on eth1 and eth2');
    expect(await running()).toEqual({ vlans: { 10: 'mgmt', 100: 'cluster.blue' }, trunks: { eth1: [100], eth2: [10, 100] } });

    (await net('putTenantConfig', { tenant: 'acme', hostDevices: [{ name: 'eth1', vniType: 'vlan', vniRange: '700-701' }] }));
    (await net('createNetworks', { tenantNetworks: [{ tenant: 'acme', name: 'web', cidr: '10.62.0.0/24' }] }));
    await until(async () => (await running()).vlans['700'] === 'acme.web', 'VLAN 700 of acme/web');
    await until(async () => (await status('leaf-1'))?.managedVlans.join() === '100,700', 'managed 100 and 700');
    expect((await running()).trunks).toEqual({ eth1: [100, 700], eth2: [10, 100] });
    const st = await status('leaf-1');
    expect(st?.lastSync).toMatchObject({ ok: true });

    (await net('deleteNetwork', { id: 'acme/web' }));
    (await net('deleteNetwork', { id: 'cluster/blue' }));
    await until(async () => JSON.stringify(await running()) === JSON.stringify({ vlans: { 10: 'mgmt' }, trunks: { eth1: [], eth2: [10] } }), 'VLANs 100 and 700 gone, VLAN 10 left');
    await until(async () => (await status('leaf-1'))?.managedVlans.length === 0, 'nothing managed');
  });

  it('bad input is refused with what, where and why, and nothing is stored', async () => {
    const noAccess = await refusal(sw('registerSwitch', 'leaf-x', { switch: { name: 'leaf-x', kind: 'netconf', trunks: [] } }));
    expect(noAccess).toMatchObject({ code: 'INVALID_SWITCH', path: '/switch/netconf' });
    const noKey = await refusal(sw('registerSwitch', 'leaf-x', { switch: leaf({ name: 'leaf-x' }, { privateKeyFile: join(keyDir, 'missing.key') }) }));
    expect(noKey).toMatchObject({ code: 'INVALID_SWITCH', path: '/switch/netconf/privateKeyFile' });
    expect(noKey.message).toContain('ENOENT');
    const twice = await refusal(sw('registerSwitch', 'leaf-x', { switch: leaf({ name: 'leaf-x', trunks: [{ port: 'eth1', carries: 'all-networks' }, { port: 'eth1', carries: [] }] }) }));
    expect(twice).toMatchObject({ code: 'INVALID_SWITCH', path: '/switch/trunks/1/port' });
    const schema = await refusal(sw('registerSwitch', 'leaf-x', { switch: { ...leaf({ name: 'leaf-x' }), trunks: [{ port: 'eth1', carries: 'some' }] } }));
    expect(schema.code).toBe('SCHEMA_VIOLATION');
    expect(schema.path ?? schema.message).toMatch(/trunks\/0\/carries/);
    expect(await status('leaf-x')).toBeUndefined();
    expect(await refusal(sw('syncSwitch', 'leaf-x', { name: 'leaf-x' }))).toMatchObject({ code: 'UNKNOWN_SWITCH' });
  });

  it('a trunk on a port the switch lacks: the switch refuses (SWITCH_REFUSED, data-missing, its path), running is unchanged, listSwitches says why', async () => {
    (await net('createNetworks', { clusterNetworks: [{ name: 'red', cidr: '10.63.0.0/24', vlan: 210 }] }));
    await until(async () => (await running()).trunks.eth1?.includes(210) === true, 'VLAN 210 on eth1');
    const before = await running();
    (await sw('registerSwitch', 'leaf-bad', { switch: leaf({ name: 'leaf-bad', trunks: [{ port: 'eth9', carries: 'all-networks' }] }) }));
    const o = await refusal(sw('syncSwitch', 'leaf-bad', { name: 'leaf-bad' }));
    expect(o).toMatchObject({ code: 'SWITCH_REFUSED', details: { tag: 'data-missing' } });
    expect(JSON.stringify(o.details)).toContain('eth9');
    expect(await running()).toEqual(before);
    const { data } = await main.getConfig('candidate', { filter: profile.filter() });
    expect(profile.parse(data).trunks.has('eth9')).toBe(false);
    expect((await status('leaf-bad'))?.lastSync).toMatchObject({ ok: false, error: { code: 'SWITCH_REFUSED' } });
    expect((await sw('removeSwitch', 'leaf-bad', { name: 'leaf-bad' }))).toEqual({ name: 'leaf-bad', removed: true });
    expect((await sw('removeSwitch', 'leaf-bad', { name: 'leaf-bad' }))).toEqual({ name: 'leaf-bad', removed: false });
    expect(await status('leaf-bad')).toBeUndefined();
  });

  it('drift: a VLAN taken off a trunk by hand is reported (policy report), then repaired (policy repair)', async () => {
    // As an operator would: under the candidate lock, waiting while the agent's own transaction holds it
    // (running shows the agent's change at its confirmed commit, a moment before it confirms and unlocks).
    const dropByHand = async () => {
      for (let i = 0; ; i++) {
        try {
          await main.lock('candidate');
          break;
        } catch (e) {
          if (!(e instanceof RpcError && (e.tag === 'in-use' || e.tag === 'lock-denied')) || i >= 30) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      try {
        await main.editConfig('candidate', { interfaces: { '@_xmlns': NS, trunk: { port: 'eth1', 'allowed-vlan': { ...operation('delete'), '#text': 210 } } } });
        await main.commit();
      } finally {
        await main.unlock('candidate');
      }
    };
    await dropByHand();
    const dropped = new Date().toISOString();
    let seen: SwitchStatus | undefined;
    await until(
      async () => (seen = await status('leaf-1'))?.drift?.inSync === false,
      () => `drift reported (running changed by hand at ${dropped}; the agent said ${JSON.stringify({ drift: seen?.drift, lastSync: seen?.lastSync })})`,
    );
    expect((await status('leaf-1'))?.drift).toMatchObject({ inSync: false, differences: ['trunk eth1 lacks 210'], repaired: false });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await running()).trunks.eth1).toEqual([]); // report only: left as found

    (await sw('registerSwitch', 'leaf-1', { switch: leaf({ drift: 'repair' }) }));
    await until(async () => (await running()).trunks.eth1?.includes(210) === true, 'repaired after the spec changed');
    await dropByHand();
    await until(async () => (await status('leaf-1'))?.drift?.repaired === true, 'drift repaired');
    await until(async () => (await running()).trunks.eth1?.includes(210) === true, 'VLAN 210 back on eth1');
  });

  it('sdmi switch: list, register -f, sync and remove through the real binary; bad input exits 64/65 naming what is wrong', async () => {
    const listed = await sdmi(['switch', 'list', '-o', 'json']);
    expect(listed.code, listed.stderr).toBe(0);
    const leafNow = (JSON.parse(listed.stdout) as SwitchStatus[]).find((x) => x.spec.name === 'leaf-1');
    expect(leafNow?.managedVlans).toEqual([210]);
    expect(leafNow?.spec.netconf?.privateKeyFile).toBe(keyFile); // a reference, never the key
    expect(listed.stdout).not.toContain('PRIVATE KEY');
    const synced = await sdmi(['switch', 'sync', 'leaf-1']);
    expect(synced, synced.stderr).toMatchObject({ code: 0, stdout: 'switch leaf-1: in sync, nothing changed\n' });
    const file = join(keyDir, 'leaf-cli.yaml');
    writeFileSync(file, `name: leaf-cli\nkind: netconf\nnetconf:\n  host: ${server.endpoint.host}\n  port: ${server.endpoint.port}\n  username: ${server.endpoint.username}\n  privateKeyFile: ${keyFile}\n  hostKey: ${server.endpoint.hostKey}\ntrunks:\n  - port: eth3\n    carries: all-networks\n`);
    const reg = await sdmi(['switch', 'register', '-f', file]);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.stdout).toMatch(/^switch leaf-cli: registered/);
    await until(async () => (await running()).trunks.eth3?.includes(210) === true, 'VLAN 210 on eth3');
    const table = await sdmi(['switch', 'list', 'leaf-cli']);
    expect(table.stdout).toMatch(/leaf-cli\s+netconf\s+\S+@127\.0\.0\.1:\d+\s+eth3\(all\)\s+210\s+ok /);
    expect((await sdmi(['switch', 'remove', 'leaf-cli'])).stdout).toBe('switch leaf-cli: no longer kept (its configuration is left as it is)\n');
    expect((await running()).trunks.eth3).toEqual([210]);

    const bad = join(keyDir, 'bad.yaml');
    writeFileSync(bad, 'name: Leaf_1\nkind: netconf\ntrunks: []\n');
    const refused = await sdmi(['switch', 'register', '-f', bad]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain(`${bad}: /name:`);
    expect((await sdmi(['switch', 'register'])).code).toBe(64);
    // The rules beyond the schema are checked before anything is sent, too.
    const dup = join(keyDir, 'dup.yaml');
    writeFileSync(dup, readFileSync(file, 'utf8').replace('leaf-cli', 'leaf-dup').replace('trunks:\n', 'trunks:\n  - port: eth3\n    carries: []\n'));
    const twice = await sdmi(['switch', 'register', '-f', dup]);
    expect(twice.code).toBe(65);
    expect(twice.stderr).toContain(`${dup}: /trunks/1/port: port eth3 is already trunk 0; list each port once (rule: port-listed-once)`);
    expect(await status('leaf-dup')).toBeUndefined();
    const unknown = await sdmi(['switch', 'sync', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/UNKNOWN_SWITCH: no switch nope is registered/);
    const noKey = join(keyDir, 'nokey.yaml');
    writeFileSync(noKey, readFileSync(file, 'utf8').replace(keyFile, join(keyDir, 'missing.key')));
    const invalid = await sdmi(['switch', 'register', '-f', noKey]);
    expect(invalid.code).toBe(65);
    expect(invalid.stderr).toMatch(/INVALID_SWITCH: .*missing\.key \(ENOENT\).*\nsee: sdmi switch help/s);
  });

  it('kind Switch in a manifest: sdmi plan shows a create, apply registers it, plan --exit-code finds nothing to do, delete -f removes it; an invalid one exits 65 at its line', async () => {
    const spec = leaf({ name: 'leaf-m', trunks: [{ port: 'eth3', carries: 'all-networks' }] });
    const n = spec.netconf!;
    const manifest = (file: string, carries: string): string => {
      const path = join(keyDir, file);
      writeFileSync(path, `apiVersion: sdmi/v1\nkind: Switch\nspec:\n  name: leaf-m\n  kind: netconf\n  netconf:\n    host: ${n.host}\n    port: ${n.port}\n    username: ${n.username}\n    privateKeyFile: ${n.privateKeyFile}\n    hostKey: ${n.hostKey}\n    confirmTimeoutSec: 4\n  trunks:\n    - port: eth3\n      carries: ${carries}\n`);
      return path;
    };
    const file = manifest('leaf-m.yaml', 'all-networks');
    const bad = manifest('leaf-m-bad.yaml', 'some');
    // Side by side: the invalid one is refused before anything is sent.
    const [plan, refused] = await Promise.all([sdmi(['plan', '-f', file]), sdmi(['apply', '-f', bad])]);
    expect(refused.code).toBe(65);
    expect(refused.stderr).toContain(`${bad}:15:16: `);
    expect(refused.stderr).toContain('at /spec/trunks/0/carries)');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/^\+ create +Switch leaf-m +\(.*leaf-m\.yaml:1\)$/m);
    expect(await status('leaf-m')).toBeUndefined();

    const apply = await sdmi(['apply', '-f', file]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('applied: create Switch leaf-m');
    expect((await status('leaf-m'))?.spec).toEqual(spec);
    // Landed before it is removed, so that the removal does not race the agent's first sync.
    await until(async () => (await status('leaf-m'))?.lastSync?.ok === true, 'leaf-m synced');
    expect((await running()).trunks.eth3).toEqual([210]);
    const same = await sdmi(['plan', '-f', file, '--exit-code']);
    expect(same.code, same.stdout).toBe(0);
    expect(same.stdout).toMatch(/^= unchanged +Switch leaf-m/m);

    const del = await sdmi(['delete', '-f', file]);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain('deleted: delete Switch leaf-m');
    expect(await status('leaf-m')).toBeUndefined();
  });

  it('a switch that does not answer holds up no other: a new VLAN lands on leaf-1 while the silent one still has its first call open', async () => {
    // A TCP port on loopback that accepts and then says nothing: a switch hung before its SSH banner.
    const held = new Set<Socket>();
    const silent = createServer((c) => held.add(c.on('error', () => undefined)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      (await sw('registerSwitch', 'leaf-silent', { switch: leaf({ name: 'leaf-silent', trunks: [{ port: 'eth1', carries: 'all-networks' }] }, { port }) }));
      await until(async () => held.size > 0, 'the agent calling the silent switch', 20_000, 200);
      (await net('createNetworks', { clusterNetworks: [{ name: 'slow', cidr: '10.68.0.0/24', vlan: 230 }] }));
      await until(async () => (await running()).trunks.eth1?.includes(230) === true, 'VLAN 230 on leaf-1 while leaf-silent hangs');
      // Still hanging (the reply timeout is 60 s): leaf-1 did not wait for it to end.
      expect([...held].some((c) => !c.destroyed)).toBe(true);
      expect((await status('leaf-silent'))?.lastSync).toBeNull();
      expect((await sw('removeSwitch', 'leaf-silent', { name: 'leaf-silent' }))).toEqual({ name: 'leaf-silent', removed: true });
    } finally {
      for (const c of held) c.destroy();
      await new Promise((r) => silent.close(r));
    }
    (await net('deleteNetwork', { id: 'cluster/slow' }));
    await until(async () => (await running()).trunks.eth1?.includes(230) === false, 'VLAN 230 gone from leaf-1');
  });

  it('killed between the confirmed commit and the confirm: the switch rolls back at the timeout; the restarted agent brings the change about', async () => {
    const before = await running();
    await stopService('switch-agent', 'SIGTERM');
    startService('switch-agent', 'services/switch-agent/src/main.ts', { SDMI_SWITCH_RESYNC_MS: '1500', SDMI_SWITCH_DRIFT_MS: '60000', SDMI_TEST_CONFIRM_DELAY_MS: '120000' });
    await ready('switch-agent', 'switch-agent');
    (await net('createNetworks', { clusterNetworks: [{ name: 'kill', cidr: '10.64.0.0/24', vlan: 400 }] }));
    await until(async () => procs.get('switch-agent')!.log.includes('pausing before the confirm'), 'the confirmed commit', 40_000, 200);
    await stopService('switch-agent', 'SIGKILL');
    expect((await running()).vlans['400']).toBe('cluster.kill');
    await until(async () => JSON.stringify(await running()) === JSON.stringify(before), 'rolled back at the confirm timeout', 30_000, 2000);
    // What the dead agent sent is still known as its own, and the next agent finishes the job.
    const pgc = new pg.Client({ connectionString: db.url });
    await pgc.connect();
    try {
      const r = await pgc.query<{ managed: number[] }>("SELECT managed FROM switch_agent.switch WHERE name = 'leaf-1'");
      expect(r.rows[0]?.managed).toContain(400);
    } finally {
      await pgc.end();
    }
    startService('switch-agent', 'services/switch-agent/src/main.ts', { SDMI_SWITCH_RESYNC_MS: '1500', SDMI_SWITCH_DRIFT_MS: '2000' });
    await ready('switch-agent', 'switch-agent');
    await until(async () => (await running()).trunks.eth1?.includes(400) === true, 'VLAN 400 on eth1 after the restart');
    await new Promise((r) => setTimeout(r, 6000)); // past the confirm timeout: it was confirmed
    expect((await running()).vlans['400']).toBe('cluster.kill');
    (await net('deleteNetwork', { id: 'cluster/kill' }));
    await until(async () => (await running()).vlans['400'] === undefined, 'VLAN 400 gone');
  });
});

describe('switch-agent keeps an Open vSwitch bridge over OVSDB', () => {
  it("sets controllers and fail_mode, trunks the networks' VLANs on the declared port (keeping a VLAN of someone else's), and takes them away again", async () => {
    await vsctl('set', 'Port', ovsPort, 'trunks=7');
    const ctl = `tcp:127.0.0.1:${await freePort(false)}`;
    const spec: Switch = { name: 'host-a', kind: 'ovs', ovs: { ovsdb: 'unix:/var/run/openvswitch/db.sock', bridge: ovsBridge.name, controllers: [ctl], failMode: 'secure' }, trunks: [{ port: ovsPort, carries: 'all-networks' }] };
    (await sw('registerSwitch', 'host-a', { switch: spec }));
    // VLAN 210 (cluster/red) exists from the NETCONF tests.
    await until(async () => (await vsctl('get', 'Port', ovsPort, 'trunks')) === '[7, 210]', 'VLAN 210 trunked');
    expect(await vsctl('get-controller', ovsBridge.name)).toBe(ctl);
    expect(await vsctl('get', 'Bridge', ovsBridge.name, 'fail_mode')).toBe('secure');
    (await net('createNetworks', { clusterNetworks: [{ name: 'green', cidr: '10.65.0.0/24', vlan: 220 }] }));
    await until(async () => (await vsctl('get', 'Port', ovsPort, 'trunks')) === '[7, 210, 220]', 'VLAN 220 trunked');
    (await net('deleteNetwork', { id: 'cluster/green' }));
    (await net('deleteNetwork', { id: 'cluster/red' }));
    await until(async () => (await vsctl('get', 'Port', ovsPort, 'trunks')) === '[7]', 'back to VLAN 7 alone');
    expect((await status('host-a'))?.lastSync).toMatchObject({ ok: true });
  });

  it('creates a missing bridge; a trunk port the bridge lacks is refused and nothing else changes', async () => {
    (await sw('registerSwitch', 'host-b', { switch: { name: 'host-b', kind: 'ovs', ovs: { ovsdb: 'unix:/var/run/openvswitch/db.sock', bridge: newBridge, failMode: 'standalone' }, trunks: [] } }));
    await until(async () => (await run('ovs-vsctl', ['br-exists', newBridge]).then(() => true, () => false)), 'bridge created');
    expect(await vsctl('get', 'Bridge', newBridge, 'fail_mode')).toBe('standalone');
    (await sw('registerSwitch', 'host-b', { switch: { name: 'host-b', kind: 'ovs', ovs: { ovsdb: 'unix:/var/run/openvswitch/db.sock', bridge: newBridge }, trunks: [{ port: 'nope0', carries: 'all-networks' }] } }));
    const o = await refusal(sw('syncSwitch', 'host-b', { name: 'host-b' }));
    expect(o).toMatchObject({ code: 'SWITCH_REFUSED', details: { tag: 'data-missing', path: 'nope0' } });
    (await sw('removeSwitch', 'host-b', { name: 'host-b' }));
  });
});

describe('two clusters share a fabric switch', () => {
  it("their switch-agents race on it: the candidate lock serialises them, both changes land, and each removes only its own", async () => {
    const dbB = await tb.database();
    const clientB = new RdmpClient(nc, { names: namesB });
    const at = { prefix: namesB.prefix, dbUrl: dbB.url };
    startService('network-controller-b', 'services/network-controller/src/main.ts', { SDMI_OPENFLOW_LISTEN: `127.0.0.1:${await freePort(false)}` }, at);
    startService('switch-agent-b', 'services/switch-agent/src/main.ts', { SDMI_SWITCH_RESYNC_MS: '1500', SDMI_SWITCH_DRIFT_MS: '2000' }, at);
    await ready('network-controller', 'network-controller-b');
    await ready('switch-agent', 'switch-agent-b');
    const netB = async (kind: string, payload: Record<string, unknown>) => (await clientB.run('network-controller', { kind, key: 'networks', payload })).result;
    await clientB.run(SWITCH_AGENT, { kind: 'registerSwitch', key: switchKey('leaf-1'), payload: { switch: leaf({ trunks: [{ port: 'eth1', carries: 'all-networks' }] }) } });
    const before = await running();
    await Promise.all([
      net('createNetworks', { clusterNetworks: [{ name: 'race-a', cidr: '10.66.0.0/24', vlan: 501 }] }),
      netB('createNetworks', { clusterNetworks: [{ name: 'race-b', cidr: '10.67.0.0/24', vlan: 502 }] }),
    ]);
    await until(async () => {
      const r = await running();
      return r.trunks.eth1?.includes(501) === true && r.trunks.eth1.includes(502);
    }, 'VLANs 501 and 502 on eth1');
    expect((await running()).vlans).toMatchObject({ 501: 'cluster.race-a', 502: 'cluster.race-b' });
    await netB('deleteNetwork', { id: 'cluster/race-b' });
    await until(async () => (await running()).vlans['502'] === undefined, 'VLAN 502 gone');
    expect((await running()).trunks.eth1).toContain(501);
    await net('deleteNetwork', { id: 'cluster/race-a' });
    await until(async () => JSON.stringify(await running()) === JSON.stringify(before), 'back to before');
    await stopService('switch-agent-b', 'SIGTERM');
    await stopService('network-controller-b', 'SIGTERM');
  });
});
