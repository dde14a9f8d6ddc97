// Service addresses on a real Open vSwitch: two hosts on a fabric, a client on the lb network, the
// app service's backends on both hosts and a db service the lb network may not reach. New TCP
// connections to the service address are spread over the backends and answered from the service
// address; policy is that of the backends' network; a backend taken out of the service keeps its
// established connections and gets no new ones; the bridges end with exactly the desired flows and
// groups, and a service that goes leaves neither.
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Controller, OpenFlowListener } from '@sdmi/openflow-controller';
import { Testbed, describeInventory, inventory, run, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataplaneApp, type ServiceAddressView, type TopologySnapshot } from '../src/index';
import { Fabric, milestone1, type Placed } from './fabric';

const tb = new Testbed();
let fabric: Fabric;
let listener: OpenFlowListener;
let app: DataplaneApp;
let lb1: Placed, app1: Placed, app2: Placed, db1: Placed;
const servers: ChildProcess[] = [];
const APP_VIP = '10.61.2.100';
const DB_VIP = '10.61.3.100';

function snapshot(services: ServiceAddressView[]): TopologySnapshot {
  return { ...fabric.snapshot(), services };
}
const appService = (backends: Placed[]): ServiceAddressView => ({ service: 'acme/web', networkId: 'acme/app', num: 900, ip: APP_VIP, mac: '02:5e:00:00:03:84', backends: backends.map((b) => b.view.id) });
const dbService = (backends: Placed[]): ServiceAddressView => ({ service: 'acme/pg', networkId: 'acme/db', num: 901, ip: DB_VIP, mac: '02:5e:00:00:03:85', backends: backends.map((b) => b.view.id) });

/** The first line a TCP server at ip:port sends, or null when the connection does not complete. */
async function hello(from: Placed, ip: string, port: number): Promise<string | null> {
  const r = await from.ns.tryExec(['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}; head -n 1 <&3`]);
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const groups = async (host: string) => (await run('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-groups', fabric.hosts.get(host)!.bridge.name])).split('\n').filter((l) => l.includes('group_id='));

beforeAll(async () => {
  const probe = new OpenFlowListener(new Controller());
  const { port } = await probe.listen({ port: 0 });
  await probe.close();
  fabric = new Fabric(tb, port, milestone1);
  await fabric.start();
  await fabric.addHost('host-a', 1);
  await fabric.addHost('host-b', 2);
  lb1 = await fabric.place('host-a', 'acme/lb');
  app1 = await fabric.place('host-a', 'acme/app');
  app2 = await fabric.place('host-b', 'acme/app');
  db1 = await fabric.place('host-b', 'acme/db');
  for (const [p, name] of [[app1, 'app1'], [app2, 'app2'], [db1, 'db1']] as const) {
    // 7000 says who answered and hangs up; 7001 says who answered and then echoes (a long connection).
    servers.push(spawn('ip', ['netns', 'exec', p.ns.name, 'busybox', 'nc', '-ll', '-p', '7000', '-e', '/bin/echo', name], { stdio: 'ignore' }));
    servers.push(spawn('ip', ['netns', 'exec', p.ns.name, 'busybox', 'nc', '-ll', '-p', '7001', '-e', '/bin/sh', '-c', `echo ${name}; exec cat`], { stdio: 'ignore' }));
  }
  app = new DataplaneApp(snapshot([appService([app1, app2]), dbService([db1])]), { pairIdleTimeout: 30 });
  const controller = new Controller({ apps: [app], echoIntervalMs: 1_000, echoTimeoutMs: 4_000 });
  listener = new OpenFlowListener(controller);
  await listener.listen({ port });
  for (const h of fabric.hosts.values()) await controller.waitForSwitch(h.view.dpid);
  await Promise.all([...fabric.hosts.keys()].map((h) => app.reconcile(h)));
  await until(async () => (await hello(lb1, app1.view.ip!, 7000)) === 'app1' && (await hello(lb1, app2.view.ip!, 7000)) === 'app2', 'backends answer directly');
});

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  await listener?.close();
  await tb.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('service addresses on real Open vSwitch', () => {
  it('spreads new connections over the backends on both hosts, each answered from the service address', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const who = await hello(lb1, APP_VIP, 7000);
      seen.set(String(who), (seen.get(String(who)) ?? 0) + 1);
    }
    // A connection only completes when the SYN-ACK comes from the address the client called.
    expect([...seen.keys()].sort()).toEqual(['app1', 'app2']);
    expect(await lb1.ns.ping(APP_VIP)).toBe(true);
  });

  it('follows the policy of the backends\' network: lb may not use the db service, app may', async () => {
    expect(await hello(lb1, DB_VIP, 7000)).toBeNull();
    expect(await lb1.ns.ping(DB_VIP, { deadlineSec: 2 })).toBe(false);
    expect(await hello(app1, DB_VIP, 7000)).toBe('db1');
  });

  it('a backend taken out of the service keeps its established connections and gets no new ones', async () => {
    // Long connections until one lands on each backend.
    const open: { who: string; p: ChildProcessWithoutNullStreams; out: string[] }[] = [];
    for (let i = 0; i < 20 && new Set(open.map((o) => o.who)).size < 2; i++) {
      const p = spawn('ip', ['netns', 'exec', lb1.ns.name, 'busybox', 'nc', APP_VIP, '7001']);
      const out: string[] = [];
      p.stdout.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
      await until(async () => out.length > 0, 'the server says who it is', 5_000);
      open.push({ who: out[0]!, p, out });
    }
    const onApp2 = open.find((o) => o.who === 'app2');
    expect(onApp2, 'a connection reached app2').toBeDefined();
    try {
      await app.update(snapshot([appService([app1]), dbService([db1])]));
      expect((await groups('host-a')).join('\n')).not.toContain(app2.view.ip!);
      for (let i = 0; i < 10; i++) expect(await hello(lb1, APP_VIP, 7000)).toBe('app1');
      onApp2!.p.stdin.write('still here\n');
      await until(async () => onApp2!.out.includes('still here'), 'app2 echoes on the connection it had');
    } finally {
      for (const o of open) o.p.kill('SIGKILL');
    }
  });

  it('ends with exactly the desired flows and groups, and a service that goes leaves neither', async () => {
    for (const h of fabric.hosts.keys()) expect(await app.audit(h)).toEqual({ missing: [], unexpected: [] });
    // Each host has clients of both services: host-a lb1 and app1, host-b app2 (of both) and db1 (of pg).
    expect((await groups('host-a')).length).toBe(2);
    expect((await groups('host-b')).length).toBe(2);
    await app.update(snapshot([]));
    for (const h of fabric.hosts.keys()) {
      expect(await groups(h)).toEqual([]);
      const lines = await fabric.hosts.get(h)!.bridge.dumpFlows();
      // Only the remembered refusal of lb1's attempt on the db service may still name an address.
      expect(lines.filter((l) => (l.includes(APP_VIP) || l.includes(DB_VIP) || l.includes('ct(')) && !l.startsWith('cookie=0x5d06'))).toEqual([]);
    }
    expect(await hello(lb1, APP_VIP, 7000)).toBeNull();
  });
});
