// The data plane on a real Open vSwitch: two hosts (and a third added at run time), each its own
// fail-secure bridge, linked through a fabric bridge, carrying the Milestone-1 networks
// lb → app → db with interfaces spread over the hosts. Everything a user would check: who can ping
// and connect to whom, that inter-host routes appear on the first packet and go after their idle
// timeout, that a namespace changing its address is cut off, that a new host disturbs no one, and
// that a controller killed and started again loses no established traffic and ends with exactly the
// desired flows.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, OpenFlowListener } from '@sdmi/openflow-controller';
import { Testbed, describeInventory, inventory, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataplaneApp, Topology } from '../src/index';
import { Fabric, milestone1, tcpConnects, type Placed } from './fabric';

const IDLE = 4;
const tb = new Testbed();
let fabric: Fabric;
let listener: OpenFlowListener;
let app: DataplaneApp;
let port: number;
const servers: ChildProcess[] = [];
let lb1: Placed, lb2: Placed, app1: Placed, app2: Placed, db1: Placed, db2: Placed;

async function startController(): Promise<void> {
  app = new DataplaneApp(fabric.snapshot(), { pairIdleTimeout: IDLE });
  const controller = new Controller({ apps: [app], echoIntervalMs: 1_000, echoTimeoutMs: 4_000 });
  listener = new OpenFlowListener(controller);
  await listener.listen({ port });
  for (const h of fabric.hosts.values()) await controller.waitForSwitch(h.view.dpid);
  // The hooks reconcile on connect; wait for each host's first reconcile to finish.
  await Promise.all([...fabric.hosts.keys()].map((h) => app.reconcile(h)));
}

/** Flows of a bridge as ovs-ofctl prints them, without the header. */
async function flows(host: string): Promise<string[]> {
  return fabric.hosts.get(host)!.bridge.dumpFlows();
}
const pairOut = (lines: string[], src: Placed, dst: Placed) => lines.filter((l) => /cookie=0x5d04/.test(l) && l.includes(`nw_src=${src.view.ip},nw_dst=${dst.view.ip}`));
const pairIn = (lines: string[], src: Placed, dst: Placed) => lines.filter((l) => /cookie=0x5d05/.test(l) && l.includes(`nw_src=${src.view.ip},nw_dst=${dst.view.ip}`));

async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  // A free port for the controller: the bridges are told it before it listens for real.
  const probe = new OpenFlowListener(new Controller());
  ({ port } = await probe.listen({ port: 0 }));
  await probe.close();
  fabric = new Fabric(tb, port, milestone1);
  await fabric.start();
  await fabric.addHost('host-a', 1);
  await fabric.addHost('host-b', 2);
  lb1 = await fabric.place('host-a', 'acme/lb');
  lb2 = await fabric.place('host-b', 'acme/lb');
  app1 = await fabric.place('host-a', 'acme/app');
  app2 = await fabric.place('host-b', 'acme/app');
  db1 = await fabric.place('host-a', 'acme/db');
  db2 = await fabric.place('host-b', 'acme/db');
  for (const p of fabric.placed) {
    const s = spawn('ip', ['netns', 'exec', p.ns.name, 'busybox', 'nc', '-ll', '-p', '7000', '-e', '/bin/echo', 'ok'], { stdio: 'ignore' });
    servers.push(s);
  }
  await startController();
});

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await listener?.close();
  await tb.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('data plane on real Open vSwitch, two hosts and a fabric', () => {
  it('installs the first packet\'s flow pair on both hosts, removes both after the idle timeout, and re-establishes them', async () => {
    expect(pairOut(await flows('host-a'), app1, app2)).toEqual([]);
    expect(pairIn(await flows('host-b'), app1, app2)).toEqual([]);
    expect(await app1.ns.ping(app2.view.ip!)).toBe(true);
    const a = await flows('host-a');
    const b = await flows('host-b');
    expect(pairOut(a, app1, app2)).toHaveLength(1);
    expect(pairIn(b, app1, app2)).toHaveLength(1);
    // The echo reply is a flow of its own, set up the same way in the other direction.
    expect(pairOut(b, app2, app1)).toHaveLength(1);
    expect(pairIn(a, app2, app1)).toHaveLength(1);
    expect(pairOut(a, app1, app2)[0]).toContain(`idle_timeout=${IDLE}`);
    await until(async () => pairOut(await flows('host-a'), app1, app2).length === 0 && pairIn(await flows('host-b'), app1, app2).length === 0, 'both halves idle out');
    expect(pairIn(await flows('host-a'), app2, app1)).toEqual([]);
    expect(await app1.ns.ping(app2.view.ip!)).toBe(true);
    expect(pairOut(await flows('host-a'), app1, app2)).toHaveLength(1);
  });

  it('reachability equals the policy exactly, pair by pair, for ping and TCP', async () => {
    const topo = new Topology(fabric.snapshot());
    const all = [lb1, lb2, app1, app2, db1, db2];
    const pairs = all.flatMap((a) => all.filter((b) => b !== a).map((b) => [a, b] as const));
    const seen = await Promise.all(
      pairs.map(async ([a, b]) => ({
        pair: `${a.view.id} -> ${b.view.id}`,
        expected: topo.reachable(a.view.networkId, b.view.networkId),
        ping: await a.ns.ping(b.view.ip!, { deadlineSec: 3 }),
        tcp: await tcpConnects(a.ns, b.view.ip!, 7000, 3),
      })),
    );
    const wrong = seen.filter((s) => s.ping !== s.expected || s.tcp !== s.expected);
    expect(wrong).toEqual([]);
    // The policy is not trivial: both outcomes occur, and lb never reaches db on either host.
    expect(seen.filter((s) => s.expected).length).toBe(22);
    expect(seen.filter((s) => s.pair.startsWith('acme/lb') && s.pair.includes('-> acme/db')).every((s) => !s.ping && !s.tcp)).toBe(true);
  });

  it('a namespace pings its own gateway (the controller answers), but not another network\'s', async () => {
    expect(await db1.ns.ping('10.61.3.1')).toBe(true);
    expect(await lb2.ns.ping('10.61.1.1')).toBe(true);
    expect(await lb2.ns.ping('10.61.2.1', { deadlineSec: 2 })).toBe(false);
  });

  it('a namespace that changes its IP or its MAC can no longer send; changing back restores it', async () => {
    const ns = app1.ns;
    expect(await ns.ping(app2.view.ip!)).toBe(true);
    const readdress = async (cidr: string) => {
      await ns.exec(['ip', 'addr', 'flush', 'dev', 'eth0']);
      await ns.exec(['ip', 'addr', 'add', cidr, 'dev', 'eth0']);
      await ns.exec(['ip', 'route', 'replace', 'default', 'via', '10.61.2.1']);
    };
    await readdress('10.61.2.99/24');
    expect(await ns.ping(app2.view.ip!, { deadlineSec: 2 })).toBe(false);
    expect(await ns.ping(app1.view.ip === '10.61.2.11' ? '10.61.2.12' : '10.61.2.11', { deadlineSec: 2 })).toBe(false);
    await readdress(`${app1.view.ip}/24`);
    expect(await ns.ping(app2.view.ip!)).toBe(true);
    await ns.exec(['ip', 'link', 'set', 'eth0', 'address', '02:5e:00:00:ff:01']);
    expect(await ns.ping(app2.view.ip!, { deadlineSec: 2 })).toBe(false);
    await ns.exec(['ip', 'link', 'set', 'eth0', 'address', app1.view.mac]);
    expect(await ns.ping(app2.view.ip!)).toBe(true);
  });

  it('a third host added at run time works without touching the other hosts\' flows', async () => {
    const proactive = (lines: string[]) => lines.filter((l) => /cookie=0x5d0[1237]/.test(l));
    const durations = (lines: string[]) => proactive(lines).map((l) => Number(/duration=([0-9.]+)s/.exec(l)![1]));
    const stable = async (h: string) => proactive(await flows(h)).map((l) => l.replace(/duration=[0-9.]+s, |n_packets=\d+, |n_bytes=\d+, /g, '')).sort();
    const beforeA = await stable('host-a');
    const beforeB = await stable('host-b');
    const t0 = Date.now();
    await fabric.addHost('host-c', 3);
    const app3 = await fabric.place('host-c', 'acme/app');
    servers.push(spawn('ip', ['netns', 'exec', app3.ns.name, 'busybox', 'nc', '-ll', '-p', '7000', '-e', '/bin/echo', 'ok'], { stdio: 'ignore' }));
    const results = await app.update(fabric.snapshot());
    await until(async () => (await app.audit('host-c')).missing.length === 0, 'host-c reconciled');
    expect(results.filter((r) => r.host !== 'host-c')).toEqual([
      expect.objectContaining({ added: 0, removed: 0 }),
      expect.objectContaining({ added: 0, removed: 0 }),
    ]);
    expect(await stable('host-a')).toEqual(beforeA);
    expect(await stable('host-b')).toEqual(beforeB);
    // Not re-added either: every proactive flow on A and B is older than the new host.
    const elapsed = (Date.now() - t0) / 1000;
    expect(Math.min(...durations(await flows('host-a')), ...durations(await flows('host-b')))).toBeGreaterThanOrEqual(elapsed - 1);
    expect(await app3.ns.ping(app1.view.ip!)).toBe(true);
    expect(await lb2.ns.ping(app3.view.ip!)).toBe(true);
    expect(await tcpConnects(lb1.ns, app3.view.ip!, 7000)).toBe(true);
    expect(await db2.ns.ping(app3.view.ip!)).toBe(true);
    expect(await lb1.ns.ping(app3.view.ip!)).toBe(true);
  });

  it('a controller killed with SIGKILL and started again: a continuous ping across hosts loses nothing, and flows end equal to the desired set', async () => {
    // Hand the bridges over to a controller in its own process, so that it can really be killed.
    await listener.close();
    const file = join(tmpdir(), `sdmi-${runId()}-snapshot.json`);
    tb.defer('snapshot file', async () => (await import('node:fs/promises')).rm(file, { force: true }));
    writeFileSync(file, JSON.stringify(fabric.snapshot()));
    const script = fileURLToPath(new URL('./controller-proc.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(port), String(IDLE)], { stdio: ['ignore', 'pipe', 'pipe'] });
    tb.defer('controller process', async () => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await until(async () => ['host-a', 'host-b', 'host-c'].every((h) => out.includes(`"host":"${h}"`)), `child controller reconciles all hosts (output: ${out})`, 30_000);

    // 0.1 s apart for 8 s: the pair flows are up before the kill and stay busy throughout.
    const pinging = app1.ns.tryExec(['ping', '-n', '-q', '-i', '0.1', '-c', '80', '-w', '20', app2.view.ip!]);
    await new Promise((r) => setTimeout(r, 1_500));
    child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2_000));
    await startController();
    const result = await pinging;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(result.stdout);
    expect(m, result.stdout).not.toBeNull();
    expect({ transmitted: Number(m![1]), received: Number(m![2]) }).toEqual({ transmitted: 80, received: 80 });
    for (const h of ['host-a', 'host-b', 'host-c']) {
      const audit = await app.audit(h);
      expect({ host: h, missing: audit.missing, unexpected: audit.unexpected }).toEqual({ host: h, missing: [], unexpected: [] });
    }
    // The established pair survived the restart instead of being torn down and set up again.
    expect(pairOut(await flows('host-a'), app1, app2)).toHaveLength(1);
  });
});
