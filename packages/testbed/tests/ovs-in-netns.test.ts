import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FailMode,
  InvalidName,
  OvsInNamespace,
  Testbed,
  describeInventory,
  findProcesses,
  inventory,
  ownerAlive,
  run,
  runId,
  sweepLeftovers,
  testName,
} from '../src/index';
import type { NetNamespace } from '../src/index';
import { expectNothingLeft } from './leak-check';

// Addresses exist only inside this file's namespaces; the run tag still picks the subnets so that
// two concurrent runs never even look alike in a capture.
const x = (Number.parseInt(runId().slice(1), 36) % 254) + 1;
const vtep = { a: `10.99.${x}.1`, b: `10.99.${x}.2` };
const overlay = { a: `10.98.${x}.1`, b: `10.98.${x}.2` };

/** The machine's own OVS (default database), which other tests use at the same time. */
async function mainBridges(): Promise<string[]> {
  return (await run('ovs-vsctl', ['--timeout=10', 'list-br'])).split('\n').filter(Boolean);
}

async function rootInterfaces(): Promise<string[]> {
  return (await run('ip', ['-o', 'link', 'show'])).split('\n').map((l) => l.split(': ')[1]?.split('@')[0] ?? '').filter(Boolean);
}

/** The network namespace a process runs in, as `net:[inode]`. */
function netnsOf(pid: number): string {
  return readlinkSync(`/proc/${pid}/ns/net`);
}

function netnsInode(name: string): string {
  return `net:[${statSync(`/run/netns/${name}`).ino}]`;
}

/** Pids of the processes whose network namespace is `id` (a `net:[inode]`). */
function processesInNetns(id: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === id) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function ping(host: OvsInNamespace | NetNamespace, address: string, deadlineSec = 5): Promise<boolean> {
  const r = await host.tryExec(['ping', '-n', '-q', '-c', '1', '-w', String(deadlineSec), address]);
  return r.exitCode === 0;
}

/** '' when `address` answers a ping from `from`; otherwise what the two switches knew, to say why. */
async function unreachable(from: OvsInNamespace | NetNamespace, address: string, hosts: readonly OvsInNamespace[]): Promise<string> {
  const r = await from.tryExec(['ping', '-n', '-c', '1', '-w', '5', address]);
  if (r.exitCode === 0) return '';
  const report = [`ping ${address} from ${from.name} failed:\n${r.stdout}${r.stderr}`];
  for (const h of hosts) {
    for (const cmd of [['dpctl/dump-flows'], ['tnl/neigh/show'], ['ovs/route/show'], ['fdb/show', 'br-int']]) {
      report.push(`--- ${h.name} ${cmd.join(' ')}\n${await h.appctl(...cmd).catch((e: Error) => e.message)}`);
    }
    report.push(`--- ${h.name} ip neigh\n${(await h.tryExec(['ip', 'neigh'])).stdout}`, await h.logTail(10));
  }
  return report.join('\n');
}

/**
 * Sends one line over TCP from `client` to `server` (busybox nc) and returns what the server got,
 * or the listener's and client's outcome when it got nothing. The listener hands the connection to
 * `head` (`-e`): a plain `nc -l` with an empty stdin half-closes at once, and a client that sees
 * that FIN before it has sent its line quits without sending it. The client connects only once the
 * listener is bound, so a refused early attempt cannot be mistaken for the data path.
 */
async function tcpEcho(server: NetNamespace, client: NetNamespace, port: number, line: string): Promise<string> {
  const listening = server.tryExec(['timeout', '20', 'busybox', 'nc', '-l', '-p', String(port), '-e', 'sh', '-c', 'head -n 1 >&2']);
  for (let i = 0; i < 50; i++) {
    if ((await server.exec(['ss', '-Htln', `sport = :${port}`])).trim()) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const sent = await client.tryExec(`echo ${line} | busybox nc -w 5 ${server.ip} ${port}`);
  const got = await listening;
  return got.stderr.trim() || JSON.stringify({ listener: got, client: sent });
}

describe('OvsInNamespace: two hosts that share no L2 fabric', () => {
  const tb = new Testbed();
  let before: string[];
  let a: OvsInNamespace;
  let b: OvsInNamespace;
  let left: NetNamespace;
  let right: NetNamespace;

  beforeAll(async () => {
    before = await mainBridges();
    // Two at once: nothing in create() may depend on being the only instance.
    [a, b] = await Promise.all([tb.ovsHost(), tb.ovsHost()]);
  });

  afterAll(async () => {
    await tb.dispose();
    await expectNothingLeft();
    expect(findProcesses((arg) => arg.includes(`/sdmi-${runId()}-o`))).toEqual([]);
  });

  it('runs its own ovsdb-server and ovs-vswitchd inside its namespace, with its files in its dir', async () => {
    for (const host of [a, b]) {
      expect(host.name).toMatch(new RegExp(`^sdmi-${runId()}-[0-9a-z]+$`));
      expect(host.dir).toBe(join(tmpdir(), host.name.replace(/-([0-9a-z]+)$/, '-o$1')));
      expect(host.dbSocket).toBe(join(host.dir, 'db.sock'));
      expect(statSync(host.dbSocket).isSocket()).toBe(true);
      expect(statSync(host.unixctl).isSocket()).toBe(true);
      const programs = host.processes().map((p) => p.program).sort();
      expect(programs).toEqual(['ovs-vswitchd', 'ovsdb-server']);
      for (const p of host.processes()) expect(netnsOf(p.pid)).toBe(netnsInode(host.name));
      expect(netnsInode(host.name)).not.toBe(netnsOf(process.pid));
      expect(await host.appctl('version')).toContain('ovs-vswitchd (Open vSwitch)');
    }
    expect(a.dir).not.toBe(b.dir);
    expect(await a.logTail()).toContain(`ovsdb_server|INFO|ovsdb-server (Open vSwitch)`);
    expect(await a.logTail()).toContain(`${a.dir}/ovs-vswitchd.log`);
  });

  it('underlay: netdev br-phy bridges linked by a veth carry a ping between the VTEP addresses', async () => {
    for (const host of [a, b]) await host.bridge('br-phy', { failMode: FailMode.Standalone });
    const wire = await a.linkTo(b, { bridge: 'br-phy', otherBridge: 'br-phy' });
    expect(await a.vsctl('list-ports', 'br-phy')).toContain(wire.local);
    expect(await b.vsctl('list-ports', 'br-phy')).toContain(wire.remote);
    expect((await rootInterfaces()).filter((i) => i === wire.local || i === wire.remote)).toEqual([]);

    await a.exec(['ip', 'addr', 'add', `${vtep.a}/24`, 'dev', 'br-phy']);
    await b.exec(['ip', 'addr', 'add', `${vtep.b}/24`, 'dev', 'br-phy']);
    await a.exec(['ip', 'link', 'set', 'br-phy', 'up']);
    await b.exec(['ip', 'link', 'set', 'br-phy', 'up']);
    expect(await unreachable(a, vtep.b, [a, b])).toBe('');
    expect(await unreachable(b, vtep.a, [a, b])).toBe('');
    // ovs-vswitchd learnt the route from its own namespace's kernel table, the one tunnels use.
    expect(await a.appctl('ovs/route/show')).toMatch(new RegExp(`10\\.99\\.${x}\\.0/24 dev br-phy`));
  });

  it('overlay: a userspace VXLAN port on br-int carries ping and TCP between namespaces on the two hosts', async () => {
    left = await tb.namespace({ address: `${overlay.a}/24` });
    right = await tb.namespace({ address: `${overlay.b}/24` });
    for (const host of [a, b]) await host.bridge('br-int', { failMode: FailMode.Standalone, controller: null });
    await a.attach(left, 'br-int');
    await b.attach(right, 'br-int');
    // No tunnel yet: the overlay namespaces have no other way to each other.
    expect(await ping(left, overlay.b, 2)).toBe(false);
    // That attempt left a failed ARP entry; a ping meeting it gets "Destination Host Unreachable"
    // at once and, with -c 1, counts the error as its answer. Forget it before the real test.
    await left.exec(['ip', 'neigh', 'flush', 'all']);

    const vxlan = (own: string, remote: string) => ['--', 'set', 'Interface', 'vx0', 'type=vxlan', `options:remote_ip=${remote}`, `options:local_ip=${own}`, 'options:key=flow'];
    await a.vsctl('add-port', 'br-int', 'vx0', ...vxlan(vtep.a, vtep.b));
    await b.vsctl('add-port', 'br-int', 'vx0', ...vxlan(vtep.b, vtep.a));
    expect(await unreachable(left, overlay.b, [a, b])).toBe('');
    expect(await unreachable(right, overlay.a, [a, b])).toBe('');
    expect(await tcpEcho(right, left, 5556, 'hello-through-vxlan')).toBe('hello-through-vxlan');

    // The datapath flows show the encapsulation on one side and the decapsulation on the other.
    const sent = await a.appctl('dpctl/dump-flows');
    expect(sent).toMatch(new RegExp(`tnl_push\\(tnl_port\\(\\d+\\),header\\(.*ipv4\\(src=${vtep.a.replace(/\./g, '\\.')},dst=${vtep.b.replace(/\./g, '\\.')},proto=17`));
    expect(await b.appctl('dpctl/dump-flows')).toContain('tnl_pop(');
    // ovs-vswitchd resolved the remote VTEP by ARP itself, on br-phy, to br-phy's MAC over there.
    const peerMac = (await b.exec(['cat', '/sys/class/net/br-phy/address'])).trim();
    expect(await a.appctl('tnl/neigh/show')).toMatch(new RegExp(`${vtep.b.replace(/\./g, '\\.')}\\s+${peerMac}\\s+br-phy`));
  });

  it('bridges connect to the host controller over a unix socket in the root file system', async () => {
    const dir = join(tmpdir(), testName('c'));
    mkdirSync(dir);
    tb.defer(dir, () => run('rm', ['-rf', dir]));
    const socket = join(dir, 'of.sock');
    const hello = new Promise<Buffer>((resolve, reject) => {
      setTimeout(() => reject(new Error('no OpenFlow connection on the controller socket within 20 s')), 20_000).unref();
      const server = createServer((conn: Socket) => conn.once('data', (d: Buffer) => {
        resolve(d);
        conn.destroy();
        server.close();
      }));
      server.listen(socket);
      tb.defer('controller socket', () => server.close());
    });
    const host = await tb.ovsHost({ controller: `unix:${socket}` });
    await host.bridge('br-sdn');
    // ovs-vswitchd only connects to unix sockets in its run dir: the target is a symlink there.
    const [target] = host.controller;
    expect(target).toMatch(new RegExp(`^unix:${host.dir}/ctl1\\.sock$`));
    expect(readlinkSync(target!.slice('unix:'.length))).toBe(socket);
    expect((await host.vsctl('get-controller', 'br-sdn')).trim()).toBe(target);
    expect(await host.vsctl('get', 'Bridge', 'br-sdn', 'fail_mode')).toContain('secure');
    const msg = await hello;
    expect(msg[0]).toBe(0x04); // OpenFlow 1.3
    expect(msg[1]).toBe(0); // OFPT_HELLO
    // ofctl reaches exactly this instance's bridge through its mgmt socket.
    expect(await host.dumpFlows('br-sdn')).toEqual([]);
  });

  it('refuses a bridge name the kernel would reject, and creates nothing', async () => {
    const bad = 'br-much-too-long';
    const attempt = a.bridge(bad);
    await expect(attempt).rejects.toThrow(InvalidName);
    await expect(attempt).rejects.toThrow(`invalid name "${bad}": interface names have 1 to 15 characters`);
    expect((await a.vsctl('list-br')).split('\n').filter(Boolean)).toEqual(['br-int', 'br-phy']);
  });

  it("leaves the machine's own OVS untouched", async () => {
    const after = await mainBridges();
    for (const br of ['br-phy', 'br-int', 'br-sdn']) {
      expect(before).not.toContain(br);
      expect(after).not.toContain(br);
    }
    expect((await rootInterfaces()).filter((i) => ['br-phy', 'br-int', 'br-sdn', 'vx0'].includes(i))).toEqual([]);
    expect(await run('ovs-vsctl', ['--timeout=10', 'show'])).not.toContain(a.dbSocket);
  });
});

describe('OvsInNamespace disposal', () => {
  afterAll(expectNothingLeft);

  it('stops both daemons and removes the namespace and the directory; a second dispose is a no-op', async () => {
    const host = await OvsInNamespace.create();
    await host.bridge('br-phy', { failMode: FailMode.Standalone });
    const pids = host.processes().map((p) => p.pid);
    expect(pids).toHaveLength(2);
    const sleeper = Number((await host.exec('sleep 600 </dev/null >/dev/null 2>&1 & echo $!')).trim());
    const netnsId = netnsInode(host.name);
    await host.dispose();
    await host.dispose();
    expect(host.processes()).toEqual([]);
    expect(existsSync(host.dir)).toBe(false);
    expect(existsSync(`/run/netns/${host.name}`)).toBe(false);
    // Also what a test left running inside is gone, so the kernel has really freed the namespace.
    expect(processesInNetns(netnsId)).toEqual([]);
    expect(describeInventory(await inventory({ tag: runId(), databases: false, streams: false }))).toBe('');
  });
});

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const testbedSrc = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/**
 * A run that dies without cleaning up: an OvsInNamespace with a bridge and an attached namespace,
 * then SIGKILL (no exit handlers, no finally blocks). Resolves with its run tag once it is dead.
 */
function crashingRun(): Promise<{ tag: string; netns: string; sleeper: number }> {
  // --eval compiles to CommonJS: no top-level await, so an async function and a dynamic import.
  const script = `(async () => {
    const { FailMode, OvsInNamespace, createNamespace, runId } = await import(${JSON.stringify(testbedSrc)});
    const host = await OvsInNamespace.create();
    await host.bridge('br-phy', { failMode: FailMode.Standalone });
    await host.attach(await createNamespace({ address: '10.97.0.1/24' }), 'br-phy');
    // A process with no test-bed name in its arguments, that would keep the namespace alive.
    const pid = (await host.exec('sleep 600 </dev/null >/dev/null 2>&1 & echo $!')).trim();
    process.stdout.write(runId() + ' ' + host.name + ' ' + pid + '\\n', () => process.kill(process.pid, 'SIGKILL'));
  })();`;
  return new Promise((resolve, reject) => {
    const child = spawn(`${repoRoot}node_modules/.bin/tsx`, ['--eval', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const m = /^(t[0-9a-z]{4}) (\S+) (\d+)$/m.exec(out);
      if (m) resolve({ tag: m[1]!, netns: m[2]!, sleeper: Number(m[3]) });
      else reject(new Error(`crashing run printed no tag:\n${out}\n${err}`));
    });
  });
}

describe('sweep of a crashed run with an OvsInNamespace', () => {
  it('finds its daemons, directory and namespaces, and removes them all', async () => {
    const { tag, netns, sleeper } = await crashingRun();
    expect(ownerAlive(tag)).toBe(false);
    const found = await inventory({ tag, databases: false, streams: false });
    expect(found.processes.map((p) => p.argv[0]).sort()).toEqual(['ovs-vswitchd', 'ovsdb-server', 'sleep']);
    expect(found.processes.find((p) => p.argv[0] === 'sleep')?.pid).toBe(sleeper);
    expect(found.directories).toHaveLength(1);
    expect(found.namespaces).toHaveLength(2);
    expect(found.namespaces).toContain(netns);
    const netnsId = netnsInode(netns);

    const { removed, errors } = await sweepLeftovers({ tag, databases: false, streams: false });
    expect(errors).toEqual([]);
    expect(removed.processes).toHaveLength(3);
    expect(describeInventory(await inventory({ tag, databases: false, streams: false }))).toBe('');
    // Nothing runs in the deleted namespace any more, so the kernel has really freed it.
    expect(processesInNetns(netnsId)).toEqual([]);
    const dir = found.directories[0]!;
    expect(findProcesses((arg) => arg.includes(dir))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
