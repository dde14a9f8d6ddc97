// VXLAN between hosts that share no L2 fabric, on the real Open vSwitch userspace datapath. Each
// host is a network namespace with its own ovsdb-server and ovs-vswitchd (so the VTEP addresses
// exist only inside our namespaces): an underlay bridge holding the VTEP address and the wire to
// the other host, and the SDMI bridge with one `vxlan` port (remote_ip=flow, key=flow). Our
// controller listens on a unix socket, which both namespaces reach through the file system.
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, OpenFlowListener } from '@sdmi/openflow-controller';
import { FailMode, Testbed, describeInventory, inventory, runId, testName, type NetNamespace, type OvsInNamespace } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataplaneApp, type HostView, type InterfaceView } from '../src/index';
import { milestone1, tcpConnects } from './fabric';

const tb = new Testbed();
const socket = join(tmpdir(), `${testName('f')}.sock`);
let listener: OpenFlowListener;
let controller: Controller;
let app: DataplaneApp;
const hosts = new Map<string, { ovs: OvsInNamespace; view: HostView }>();
const placed: { view: InterfaceView; ns: NetNamespace }[] = [];
const servers: ChildProcess[] = [];

async function addHost(name: string, index: number): Promise<void> {
  const ovs = await tb.ovsHost({ controller: `unix:${socket}` });
  const vtep = `10.99.0.${index}`;
  hosts.set(name, { ovs, view: { name, dpid: `00000000005f${index.toString(16).padStart(4, '0')}`, uplinkPort: null, vtep: { ip: vtep, port: 'vx0' } } });
}

async function place(host: string, networkId: string, ip: string, num: number): Promise<{ view: InterfaceView; ns: NetNamespace }> {
  const net = milestone1.find((n) => n.id === networkId)!;
  const mac = `02:5e:00:00:01:${num.toString(16).padStart(2, '0')}`;
  const ns = await tb.namespace({ address: `${ip}/24`, mac, gateway: net.gateway });
  await hosts.get(host)!.ovs.attach(ns, 'brint');
  const p = { view: { id: `${networkId}/v${num}`, num, networkId, host, portName: ns.hostIf, mac, ip }, ns };
  placed.push(p);
  return p;
}

const snapshot = (revision: number) => ({ revision, networks: milestone1, interfaces: placed.map((p) => p.view), hosts: [...hosts.values()].map((h) => h.view) });

let app1: (typeof placed)[number], app2: (typeof placed)[number], lb1: (typeof placed)[number], db2: (typeof placed)[number];

beforeAll(async () => {
  app = new DataplaneApp(snapshot(0), { pairIdleTimeout: 30 });
  controller = new Controller({ apps: [app], echoIntervalMs: 1_000, echoTimeoutMs: 4_000 });
  listener = new OpenFlowListener(controller);
  await listener.listen({ path: socket });
  tb.defer('controller socket', () => rm(socket, { force: true }));
  await addHost('host-a', 1);
  await addHost('host-b', 2);
  const a = hosts.get('host-a')!;
  const b = hosts.get('host-b')!;
  // The underlay: a wire between the two namespaces, the VTEP address on each underlay bridge.
  for (const h of [a, b]) await h.ovs.bridge('brphy', { failMode: FailMode.Standalone, controller: null });
  await a.ovs.linkTo(b.ovs, { bridge: 'brphy', otherBridge: 'brphy' });
  for (const h of [a, b]) {
    await h.ovs.exec(['ip', 'addr', 'add', `${h.view.vtep!.ip}/24`, 'dev', 'brphy']);
    await h.ovs.exec(['ip', 'link', 'set', 'brphy', 'up']);
    await h.ovs.bridge('brint', { otherConfig: { 'datapath-id': h.view.dpid } });
    await h.ovs.vsctl('add-port', 'brint', 'vx0', '--', 'set', 'Interface', 'vx0', 'type=vxlan', 'options:remote_ip=flow', 'options:key=flow', `options:local_ip=${h.view.vtep!.ip}`);
  }
  app1 = await place('host-a', 'acme/app', '10.61.2.11', 1);
  lb1 = await place('host-a', 'acme/lb', '10.61.1.11', 2);
  app2 = await place('host-b', 'acme/app', '10.61.2.12', 3);
  db2 = await place('host-b', 'acme/db', '10.61.3.12', 4);
  for (const p of placed) {
    // A TCP listener per namespace: accepts and says "ok". `ip netns exec` execs it: killing the child kills it.
    servers.push(spawn('ip', ['netns', 'exec', p.ns.name, 'busybox', 'nc', '-ll', '-p', '7000', '-e', '/bin/echo', 'ok'], { stdio: 'ignore' }));
  }
  for (const h of [a, b]) await controller.waitForSwitch(h.view.dpid);
  await app.update(snapshot(1));
});

afterAll(async () => {
  await listener?.close();
  for (const s of servers) s.kill('SIGKILL');
  await tb.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('VXLAN between hosts without a shared L2 fabric', () => {
  it('the first packet sets up a tunnelled pair: the source names the far VTEP and the VNI, the destination takes it off its tunnel port', async () => {
    expect(await app1.ns.ping(app2.view.ip!)).toBe(true);
    const out = (await hosts.get('host-a')!.ovs.dumpFlows('brint')).filter((l) => /cookie=0x5d04/.test(l) && l.includes(`nw_dst=${app2.view.ip}`));
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('set_field:10.99.0.2->tun_dst');
    expect(out[0]).toMatch(/set_field:0x[0-9a-f]+->tun_id/);
    const inbound = (await hosts.get('host-b')!.ovs.dumpFlows('brint')).filter((l) => /cookie=0x5d05/.test(l) && l.includes(`nw_dst=${app2.view.ip}`));
    expect(inbound).toHaveLength(1);
    expect(inbound[0]).toMatch(/tun_id=0x[0-9a-f]+/);
    // The datapath really encapsulates: after the first packet (which the controller re-injected
    // through the slow path), the next ones run on a cached datapath flow with a tnl_push towards
    // the far VTEP.
    expect(await app1.ns.ping(app2.view.ip!, { count: 3 })).toBe(true);
    expect(await hosts.get('host-a')!.ovs.appctl('dpctl/dump-flows')).toMatch(/tnl_push\(tnl_port\([^)]*\),header\(.*dst=10\.99\.0\.2/);
  });

  it('policy holds across the tunnel: lb reaches app (routed, ping and TCP), lb never reaches db', async () => {
    expect(await lb1.ns.ping(app2.view.ip!)).toBe(true);
    expect(await tcpConnects(lb1.ns, app2.view.ip!, 7000)).toBe(true);
    expect(await app2.ns.ping(lb1.view.ip!)).toBe(true);
    expect(await lb1.ns.ping(db2.view.ip!, { deadlineSec: 2 })).toBe(false);
    expect(await tcpConnects(lb1.ns, db2.view.ip!, 7000, 2)).toBe(false);
    expect(await db2.ns.ping(lb1.view.ip!, { deadlineSec: 2 })).toBe(false);
  });

  it('the bridges hold exactly the desired flows', async () => {
    for (const h of ['host-a', 'host-b']) {
      const audit = await app.audit(h);
      expect({ host: h, missing: audit.missing, unexpected: audit.unexpected }).toEqual({ host: h, missing: [], unexpected: [] });
    }
  });
});
