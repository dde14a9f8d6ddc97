// ContainerPlumber against the real components: containers of the machine's dockerd started
// with `--network none`, the machine's Open vSwitch (standalone test bridges, so connectivity
// needs no controller), iproute2 in the containers' namespaces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsSwitch } from '@sdmi/ovsdb';
import {
  BASE_IMAGE,
  FailMode,
  type OvsBridge,
  Testbed,
  buildBaseImage,
  describeInventory,
  docker,
  inventory,
  mainDocker,
  run,
  runId,
  tryRun,
} from '@sdmi/testbed';
import {
  type AttachSpec,
  ContainerNetError,
  ContainerPlumber,
  IpRoute2Netlink,
  hostIfNameFor,
  peerIfNameFor,
} from '../src/index';

const tag = runId();
const tb = new Testbed();
let ovs: OvsSwitch;
let br1: OvsBridge;
let br2: OvsBridge;
let p1: ContainerPlumber;
let p2: ContainerPlumber;
const containers: string[] = [];
const interfaceIds = new Set<string>();

interface Ctr {
  name: string;
  pid: number;
}

let seq = 0;
const uid = () => `${tag}-${(seq++).toString(36)}`;

// PID 1 of a container gets no default signal handlers: trap TERM so `docker restart` is quick.
const KEEP_RUNNING = 'trap "exit 0" TERM; while true; do sleep 1; done';

async function pidOf(name: string): Promise<number> {
  return Number((await docker(mainDocker, ['inspect', '-f', '{{.State.Pid}}', name])).trim());
}

async function container(): Promise<Ctr> {
  const name = `sdmi-${tag}-c${(seq++).toString(36)}`;
  containers.push(name);
  await docker(mainDocker, ['run', '-d', '--network', 'none', '--label', `sdmi-test=${tag}`, '--name', name, BASE_IMAGE, 'sh', '-c', KEEP_RUNNING]);
  return { name, pid: await pidOf(name) };
}

const dexec = (c: Ctr, argv: string[]) => docker(mainDocker, ['exec', c.name, ...argv]);
const tryDexec = (c: Ctr, argv: string[]) => tryRun('docker', ['-H', mainDocker.host, 'exec', c.name, ...argv]);

async function ping(from: Ctr, ip: string): Promise<boolean> {
  // The first echo may wait for ARP and MAC learning; three tries of 2 s.
  for (let i = 0; i < 3; i++) {
    if ((await tryDexec(from, ['ping', '-c', '1', '-W', '2', ip])).exitCode === 0) return true;
  }
  return false;
}

/** A TCP request from `client` to `server` on its SDMI address: the server's listener answers "ok". */
async function tcp(client: Ctr, server: Ctr, ip: string, port: number): Promise<string> {
  await docker(mainDocker, ['exec', '-d', server.name, 'nc', '-ll', '-p', String(port), '-e', '/bin/echo', 'ok']);
  let last = '';
  for (let i = 0; i < 10; i++) {
    const r = await tryDexec(client, ['nc', '-w', '3', ip, String(port)]);
    last = r.stdout.trim();
    if (last === 'ok') return last;
    await new Promise((res) => setTimeout(res, 300));
  }
  return last;
}

let macSeq = 0x10;
function spec(c: Ctr, o: Partial<AttachSpec> & { address: string | null }): AttachSpec {
  const interfaceId = o.interfaceId ?? `if-${uid()}`;
  interfaceIds.add(interfaceId);
  const m = macSeq++;
  return {
    interfaceId,
    containerId: c.name,
    pid: c.pid,
    ifname: 'eth0',
    mac: `02:5d:00:00:${(m >> 8).toString(16).padStart(2, '0')}:${(m & 0xff).toString(16).padStart(2, '0')}`,
    networkId: 'test/net1',
    ...o,
  };
}

/** What the container itself says about one of its interfaces (busybox `ip`, its own view). */
async function inside(c: Ctr, ifname: string) {
  const link = await dexec(c, ['ip', 'link', 'show', ifname]);
  const addr = await dexec(c, ['ip', '-4', 'addr', 'show', 'dev', ifname]);
  const routes = await dexec(c, ['ip', 'route']);
  const all = await dexec(c, ['ip', '-o', 'link']);
  return {
    up: /<[^>]*\bUP\b[^>]*>/.test(link),
    mac: /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1],
    mtu: Number(/mtu (\d+)/.exec(link)?.[1]),
    addresses: [...addr.matchAll(/inet (\S+)/g)].map((m) => m[1]),
    defaultRoute: /^default via (\S+) dev (\S+)/m.exec(routes)?.slice(1, 3),
    routes,
    names: [...all.matchAll(/^\d+: ([^:@]+)/gm)].map((m) => m[1]),
  };
}

async function txChecksumming(c: Ctr, ifname: string): Promise<string | undefined> {
  const out = await run('nsenter', [`--net=/proc/${c.pid}/ns/net`, '--', 'ethtool', '-k', ifname]);
  return /^tx-checksumming: (\w+)/m.exec(out)?.[1];
}

async function vsctl(...args: string[]): Promise<string> {
  return (await run('ovs-vsctl', ['--timeout=10', ...args])).trim();
}

async function portIds(port: string): Promise<Record<string, string>> {
  const out = await vsctl('--format=json', '--columns=external_ids', 'list', 'Port', port);
  const pairs = (JSON.parse(out) as { data: [[string, [string, string][]]][] }).data[0]?.[0]?.[1] ?? [];
  return Object.fromEntries(pairs);
}

async function hostLinkExists(name: string): Promise<boolean> {
  return (await tryRun('ip', ['link', 'show', 'dev', name])).exitCode === 0;
}

async function refusal(p: Promise<unknown>): Promise<ContainerNetError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ContainerNetError);
  return e as ContainerNetError;
}

beforeAll(async () => {
  await buildBaseImage(mainDocker);
  ovs = await OvsSwitch.connect();
  br1 = await tb.bridge({ failMode: FailMode.Standalone });
  br2 = await tb.bridge({ failMode: FailMode.Standalone });
  p1 = new ContainerPlumber({ ovs, bridge: br1.name });
  p2 = new ContainerPlumber({ ovs, bridge: br2.name });
});

afterAll(async () => {
  if (containers.length > 0) await tryRun('docker', ['-H', mainDocker.host, 'rm', '-f', ...containers]);
  // The veths died with the containers' namespaces; what a test left half made on the host goes here.
  for (const id of interfaceIds) for (const p of [p1, p2]) await p?.detach(id).catch(() => {});
  await ovs?.close();
  await tb.dispose();
  expect(describeInventory(await inventory({ tag }))).toBe('');
  const left = await docker(mainDocker, ['ps', '-aq', '--filter', `label=sdmi-test=${tag}`]);
  expect(left.trim()).toBe('');
  const links = await run('ip', ['-o', 'link', 'show']);
  expect(links.split('\n').filter((l) => [...interfaceIds].some((id) => l.includes(hostIfNameFor(id))))).toEqual([]);
});

describe('attach', () => {
  let a: Ctr;
  let b: Ctr;
  let sa: AttachSpec;
  let sb: AttachSpec;

  beforeAll(async () => {
    [a, b] = await Promise.all([container(), container()]);
    sa = spec(a, { address: '10.213.1.10/24', gateway: '10.213.1.1', mtu: 1400 });
    sb = spec(b, { address: '10.213.1.11/24', gateway: '10.213.1.1', mtu: 1400 });
  });

  it('two containers on one bridge ping each other and complete a TCP connection on their SDMI addresses', async () => {
    const ra = await p1.attach(sa);
    const rb = await p1.attach(sb);
    expect(ra.created).toBe(true);
    expect(ra.hostIfName).toBe(hostIfNameFor(sa.interfaceId));
    expect(ra.ofport).toBeGreaterThan(0);
    expect(rb.ofport).toBeGreaterThan(0);
    expect(await ping(a, '10.213.1.11')).toBe(true);
    expect(await ping(b, '10.213.1.10')).toBe(true);
    expect(await tcp(a, b, '10.213.1.11', 7000)).toBe('ok');
    expect(await tcp(b, a, '10.213.1.10', 7001)).toBe('ok');
  });

  it('inside, the interface has exactly the requested name, MAC, MTU, address and default route, TX checksum offload off', async () => {
    const i = await inside(a, 'eth0');
    expect(i.names.sort()).toEqual(['eth0', 'lo']);
    expect(i.mac).toBe(sa.mac);
    expect(i.mtu).toBe(1400);
    expect(i.up).toBe(true);
    expect(i.addresses).toEqual(['10.213.1.10/24']);
    expect(i.defaultRoute).toEqual(['10.213.1.1', 'eth0']);
    expect(await txChecksumming(a, 'eth0')).toBe('off');
    expect((await dexec(a, ['ip', 'link', 'show', 'lo'])).includes('UP')).toBe(true);
  });

  it('the OVS port carries the external_ids; list() reads them back', async () => {
    const port = hostIfNameFor(sa.interfaceId);
    expect(await vsctl('port-to-br', port)).toBe(br1.name);
    expect(await portIds(port)).toEqual({
      'sdmi-interface-id': sa.interfaceId,
      'sdmi-container-id': a.name,
      'sdmi-network-id': 'test/net1',
      'sdmi-address': '10.213.1.10/24',
      'sdmi-mac': sa.mac,
      'sdmi-ifname': 'eth0',
    });
    const listed = await new ContainerPlumber({ ovs, bridge: br1.name }).list();
    expect(listed.find((l) => l.interfaceId === sa.interfaceId)).toEqual({
      interfaceId: sa.interfaceId,
      containerId: a.name,
      networkId: 'test/net1',
      address: '10.213.1.10/24',
      mac: sa.mac,
      ifname: 'eth0',
      hostIfName: port,
      ofport: expect.any(Number),
      linkExists: true,
    });
  });

  it('attach twice is a no-op: no step, same ofport, same port row, same veth', async () => {
    const port = hostIfNameFor(sa.interfaceId);
    const before = { uuid: await vsctl('get', 'Port', port, '_uuid'), ifindex: await run('cat', [`/sys/class/net/${port}/ifindex`]) };
    const again = await p1.attach(sa);
    expect(again.steps).toEqual([]);
    expect(again.created).toBe(false);
    expect(again.ofport).toBe((await p1.list()).find((l) => l.interfaceId === sa.interfaceId)?.ofport);
    expect({ uuid: await vsctl('get', 'Port', port, '_uuid'), ifindex: await run('cat', [`/sys/class/net/${port}/ifindex`]) }).toEqual(before);
  });

  it('a changed address converges: the old one goes, the new one and the external_ids follow', async () => {
    const moved = { ...sb, address: '10.213.1.12/24' };
    const r = await p1.attach(moved);
    // The kernel drops the default route with the address it went through: it comes back.
    expect(r.steps).toEqual([
      'delete address 10.213.1.11/24',
      'add address 10.213.1.12/24',
      'default route via 10.213.1.1',
      `update external_ids of port ${r.hostIfName}`,
    ]);
    expect((await inside(b, 'eth0')).addresses).toEqual(['10.213.1.12/24']);
    expect((await inside(b, 'eth0')).defaultRoute).toEqual(['10.213.1.1', 'eth0']);
    expect((await portIds(r.hostIfName))['sdmi-address']).toBe('10.213.1.12/24');
    expect(await ping(a, '10.213.1.12')).toBe(true);
    await p1.attach(sb);
  });

  it('detach leaves no port and no veth, inside or out; a second detach is fine', async () => {
    const c = await container();
    const s = spec(c, { address: '10.213.1.20/24' });
    const r = await p1.attach(s);
    expect(await ping(c, '10.213.1.10')).toBe(true);
    const d = await p1.detach(s.interfaceId);
    expect(d).toEqual({ interfaceId: s.interfaceId, removedPorts: [r.hostIfName], removedLinks: [r.hostIfName] });
    expect(await vsctl('list-ports', br1.name)).not.toContain(r.hostIfName);
    expect(await hostLinkExists(r.hostIfName)).toBe(false);
    expect((await inside(c, 'lo')).names).toEqual(['lo']);
    expect(await p1.detach(s.interfaceId)).toEqual({ interfaceId: s.interfaceId, removedPorts: [], removedLinks: [] });
  });
});

describe('a crash half way converges', () => {
  let peer: Ctr;
  beforeAll(async () => {
    peer = await container();
    await p1.attach(spec(peer, { address: '10.213.2.1/24' }));
  });

  it('veth made and moved into the container, not renamed, no port: attach finishes the job', async () => {
    const c = await container();
    const s = spec(c, { address: '10.213.2.10/24', gateway: '10.213.2.1' });
    const H = hostIfNameFor(s.interfaceId);
    const T = peerIfNameFor(H);
    await run('ip', ['link', 'add', H, 'type', 'veth', 'peer', 'name', T]);
    await run('ip', ['link', 'set', T, 'netns', String(c.pid)]);
    const r = await p1.attach(s);
    expect(r.created).toBe(false);
    expect(r.steps).not.toContain(`create veth ${H} / ${T}`);
    expect(r.steps).toContain(`rename ${T} to eth0`);
    expect(r.steps).toContain(`add port ${H} to ${br1.name}`);
    expect((await inside(c, 'eth0')).addresses).toEqual(['10.213.2.10/24']);
    expect(await ping(c, '10.213.2.1')).toBe(true);
    expect((await p1.attach(s)).steps).toEqual([]);
  });

  it('veth made, still in the host, and already a port: attach moves it in and keeps the port', async () => {
    const c = await container();
    const s = spec(c, { address: '10.213.2.11/24' });
    const H = hostIfNameFor(s.interfaceId);
    const T = peerIfNameFor(H);
    await run('ip', ['link', 'add', H, 'type', 'veth', 'peer', 'name', T]);
    await vsctl('add-port', br1.name, H, '--', 'set', 'Port', H, `external_ids:sdmi-interface-id=${s.interfaceId}`);
    const uuid = await vsctl('get', 'Port', H, '_uuid');
    const r = await p1.attach(s);
    expect(r.steps.slice(0, 2)).toEqual([`move ${T} into the namespace of pid ${c.pid}`, `rename ${T} to eth0`]);
    expect(r.steps).toContain(`update external_ids of port ${H}`);
    expect(await vsctl('get', 'Port', H, '_uuid')).toBe(uuid);
    expect((await portIds(H))['sdmi-container-id']).toBe(c.name);
    expect(await ping(c, '10.213.2.1')).toBe(true);
  });

  it('renamed and configured inside, host end down, no port: attach brings it up and adds the port', async () => {
    const c = await container();
    const s = spec(c, { address: '10.213.2.12/24' });
    const H = hostIfNameFor(s.interfaceId);
    const T = peerIfNameFor(H);
    await run('ip', ['link', 'add', H, 'type', 'veth', 'peer', 'name', T]);
    await run('ip', ['link', 'set', T, 'netns', String(c.pid)]);
    const ns = ['nsenter', `--net=/proc/${c.pid}/ns/net`, '--'];
    await run(ns[0]!, [...ns.slice(1), 'ip', 'link', 'set', T, 'name', 'eth0']);
    await run(ns[0]!, [...ns.slice(1), 'ip', 'link', 'set', 'eth0', 'address', s.mac]);
    await run(ns[0]!, [...ns.slice(1), 'ip', 'addr', 'add', '10.213.2.12/24', 'dev', 'eth0']);
    const r = await p1.attach(s);
    expect(r.steps).toEqual(['switch TX checksum offload off', 'set eth0 up', `set alias of ${H}`, `set ${H} up`, `add port ${H} to ${br1.name}`]);
    expect(await ping(c, '10.213.2.1')).toBe(true);
  });
});

describe('two networks', () => {
  it('a container with two interfaces on two bridges reaches each network through the right interface; the first gateway keeps the default route', async () => {
    const [c, n1, n2] = await Promise.all([container(), container(), container()]);
    await p1.attach(spec(n1, { address: '10.213.3.2/24' }));
    await p2.attach(spec(n2, { address: '10.213.4.2/24', networkId: 'test/net2' }));
    const e0 = spec(c, { address: '10.213.3.10/24', gateway: '10.213.3.1' });
    const e1 = spec(c, { ifname: 'eth1', address: '10.213.4.10/24', gateway: '10.213.4.1', routes: [{ dst: '10.213.40.0/24', via: '10.213.4.2' }], networkId: 'test/net2' });
    await p1.attach(e0);
    const r1 = await p2.attach(e1);
    expect(r1.steps).not.toContain('default route via 10.213.4.1');
    const i = await inside(c, 'eth1');
    expect(i.names.sort()).toEqual(['eth0', 'eth1', 'lo']);
    expect(i.defaultRoute).toEqual(['10.213.3.1', 'eth0']);
    expect(i.routes).toMatch(/^10\.213\.40\.0\/24 via 10\.213\.4\.2 dev eth1/m);
    expect(await vsctl('port-to-br', r1.hostIfName)).toBe(br2.name);

    const txPackets = async (ifname: string) => Number((await dexec(c, ['cat', `/sys/class/net/${ifname}/statistics/tx_packets`])).trim());
    const before = { eth0: await txPackets('eth0'), eth1: await txPackets('eth1') };
    expect(await ping(c, '10.213.4.2')).toBe(true);
    const mid = { eth0: await txPackets('eth0'), eth1: await txPackets('eth1') };
    expect(mid.eth1).toBeGreaterThan(before.eth1);
    expect(await ping(c, '10.213.3.2')).toBe(true);
    const after = { eth0: await txPackets('eth0'), eth1: await txPackets('eth1') };
    expect(after.eth0).toBeGreaterThan(mid.eth0);
    // Each peer sits on its own bridge only: n1 cannot reach net2.
    expect((await tryDexec(n1, ['ping', '-c', '1', '-W', '1', '10.213.4.10'])).exitCode).not.toBe(0);
  });
});

describe('reconcile', () => {
  it('after `docker restart` (a new netns, the veths gone) reconcile re-attaches; a removed container loses its port', async () => {
    const [a, b, gone] = await Promise.all([container(), container(), container()]);
    const sa = spec(a, { address: '10.213.5.10/24', gateway: '10.213.5.1' });
    const sb = spec(b, { address: '10.213.5.11/24' });
    const sg = spec(gone, { address: '10.213.5.12/24' });
    const live = async () => new Map(await Promise.all([a, b].map(async (c) => [c.name, await pidOf(c.name)] as const)));
    const first = await p1.reconcile([sa, sb, sg], new Map([[a.name, a.pid], [b.name, b.pid], [gone.name, gone.pid]]));
    expect(first.attached.sort()).toEqual([sa.interfaceId, sb.interfaceId, sg.interfaceId].sort());
    expect(first.failed).toEqual([]);
    expect(await ping(a, '10.213.5.11')).toBe(true);
    const ofportBefore = (await p1.list()).find((l) => l.interfaceId === sa.interfaceId)?.ofport;

    await docker(mainDocker, ['restart', '-t', '5', a.name]);
    await docker(mainDocker, ['rm', '-f', gone.name]);
    const pidAfter = await pidOf(a.name);
    expect(pidAfter).not.toBe(a.pid);
    a.pid = pidAfter;
    expect((await inside(a, 'lo')).names).toEqual(['lo']);
    expect((await p1.list()).find((l) => l.interfaceId === sa.interfaceId)?.linkExists).toBe(false);
    expect((await p1.list()).find((l) => l.interfaceId === sg.interfaceId)?.linkExists).toBe(false);

    // Only the desired list and what runs now: the restarted container's old pid is in the spec.
    const r = await p1.reconcile([sa, sb, sg], await live());
    expect(r.failed).toEqual([]);
    expect(r.repaired).toEqual([sa.interfaceId]);
    expect(r.unchanged).toEqual([sb.interfaceId]);
    expect(r.skipped).toEqual([sg.interfaceId]);
    expect(r.detached).toEqual([sg.interfaceId]);
    expect(await vsctl('list-ports', br1.name)).not.toContain(hostIfNameFor(sg.interfaceId));
    const i = await inside(a, 'eth0');
    expect(i.addresses).toEqual(['10.213.5.10/24']);
    expect(i.mac).toBe(sa.mac);
    expect(i.defaultRoute).toEqual(['10.213.5.1', 'eth0']);
    expect((await p1.list()).find((l) => l.interfaceId === sa.interfaceId)).toMatchObject({ linkExists: true, ofport: ofportBefore });
    expect(await ping(a, '10.213.5.11')).toBe(true);
    expect(await tcp(b, a, '10.213.5.10', 7002)).toBe('ok');

    // Converged: a second pass changes nothing.
    const again = await p1.reconcile([sa, sb], await live());
    expect(again).toEqual({ attached: [], repaired: [], unchanged: [sa.interfaceId, sb.interfaceId], detached: [], skipped: [], failed: [] });
  });

  it('after the OVS port is lost, reconcile adds it again; an interface no longer desired is detached', async () => {
    const [a, b] = await Promise.all([container(), container()]);
    const sa = spec(a, { address: '10.213.6.10/24' });
    const sb = spec(b, { address: '10.213.6.11/24' });
    const live = new Map([[a.name, a.pid], [b.name, b.pid]]);
    await p1.reconcile([sa, sb], live);
    await vsctl('del-port', hostIfNameFor(sa.interfaceId));
    expect((await tryDexec(b, ['ping', '-c', '1', '-W', '1', '10.213.6.10'])).exitCode).not.toBe(0);
    const r = await p1.reconcile([sa, sb], live);
    expect(r).toMatchObject({ attached: [], repaired: [sa.interfaceId], unchanged: [sb.interfaceId], detached: [], failed: [] });
    expect(await ping(b, '10.213.6.10')).toBe(true);
    const r2 = await p1.reconcile([sa], live);
    expect(r2).toMatchObject({ unchanged: [sa.interfaceId], detached: [sb.interfaceId], failed: [] });
    expect(await hostLinkExists(hostIfNameFor(sb.interfaceId))).toBe(false);
    expect((await inside(b, 'lo')).names).toEqual(['lo']);
    await p1.detach(sa.interfaceId);
  });

  it('a veth of ours with no port and no desire (a crash before addPort) is removed', async () => {
    const c = await container();
    const s = spec(c, { address: '10.213.6.20/24' });
    const H = hostIfNameFor(s.interfaceId);
    await run('ip', ['link', 'add', H, 'type', 'veth', 'peer', 'name', peerIfNameFor(H)]);
    await run('ip', ['link', 'set', H, 'alias', `sdmi-cnet ${br1.name} ${s.interfaceId}`]);
    const r = await p1.reconcile([], new Map([[c.name, c.pid]]));
    expect(r.detached).toContain(s.interfaceId);
    expect(await hostLinkExists(H)).toBe(false);
  });

  it('refuses a bad desired list before changing anything', async () => {
    const c = await container();
    const s = spec(c, { address: '10.213.7.10/24' });
    const e = await refusal(p1.reconcile([s, { ...s }], new Map([[c.name, c.pid]])));
    expect(e.info).toMatchObject({ code: 'DUPLICATE_INTERFACE', message: `/1/interfaceId: interface id "${s.interfaceId}" is already used by /0` });
    expect(await hostLinkExists(hostIfNameFor(s.interfaceId))).toBe(false);
  });
});

describe('errors (each changes nothing)', () => {
  let c: Ctr;
  beforeAll(async () => {
    c = await container();
  });

  const nothingMade = async (s: AttachSpec) => {
    expect(await hostLinkExists(hostIfNameFor(s.interfaceId))).toBe(false);
    expect(await vsctl('list-ports', br1.name)).not.toContain(hostIfNameFor(s.interfaceId));
    expect((await inside(c, 'lo')).names.filter((n) => n !== 'lo' && n !== 'eth9')).toEqual([]);
  };

  it('validation: INVALID_MAC from attach', async () => {
    const s = spec(c, { address: '10.213.8.10/24', mac: '01:00:00:00:00:01' });
    const e = await refusal(p1.attach(s));
    expect(e.info).toMatchObject({ code: 'INVALID_MAC', message: '/mac: "01:00:00:00:00:01" is a multicast or broadcast address, not a unicast one' });
    await nothingMade(s);
  });

  it('NETNS_NOT_FOUND: the container process is gone', async () => {
    const exited = await tryRun('sh', ['-c', 'echo $$']);
    const pid = Number(exited.stdout.trim());
    const s = spec(c, { address: '10.213.8.10/24', pid });
    const e = await refusal(p1.attach(s));
    expect(e.info).toEqual({
      code: 'NETNS_NOT_FOUND',
      message: `network namespace /proc/${pid}/ns/net of container "${c.name}" does not exist (is the container running?)`,
      path: '/pid',
      details: { pid, containerId: c.name },
    });
    await nothingMade(s);
  });

  it('NETNS_IS_HOST: a pid in the host namespace', async () => {
    const s = spec(c, { address: '10.213.8.10/24', pid: process.pid });
    const e = await refusal(p1.attach(s));
    expect(e.info).toEqual({
      code: 'NETNS_IS_HOST',
      message: `process ${process.pid} of container "${c.name}" is in the host's network namespace, not a container's (was it started with --network host?)`,
      path: '/pid',
      details: { pid: process.pid, containerId: c.name },
    });
    await nothingMade(s);
  });

  it('BRIDGE_NOT_FOUND', async () => {
    const s = spec(c, { address: '10.213.8.10/24' });
    const missing = `sdmi-${tag}-nx`;
    const e = await refusal(new ContainerPlumber({ ovs, bridge: missing }).attach(s));
    expect(e.info).toEqual({ code: 'BRIDGE_NOT_FOUND', message: `bridge "${missing}" does not exist in Open vSwitch`, details: { bridge: missing } });
    await nothingMade(s);
    expect((await refusal(new ContainerPlumber({ ovs, bridge: missing }).list())).code).toBe('BRIDGE_NOT_FOUND');
  });

  it('PORT_CONFLICT: the port name belongs to another interface, or to nobody of ours', async () => {
    const s = spec(c, { address: '10.213.8.10/24', hostIfName: `sdmi-${tag}-pc` });
    await vsctl('add-port', br1.name, s.hostIfName!, '--', 'set', 'Interface', s.hostIfName!, 'type=internal');
    const e = await refusal(p1.attach(s));
    expect(e.info).toMatchObject({ code: 'PORT_CONFLICT', message: `port "${s.hostIfName}" exists and was not made for interface "${s.interfaceId}" (it has no sdmi-interface-id)` });
    await vsctl('set', 'Port', s.hostIfName!, 'external_ids:sdmi-interface-id=someone-else');
    const e2 = await refusal(p1.attach(s));
    expect(e2.info).toEqual({
      code: 'PORT_CONFLICT',
      message: `port "${s.hostIfName}" belongs to interface "someone-else", not "${s.interfaceId}"`,
      path: '/hostIfName',
      details: { port: s.hostIfName, interfaceId: s.interfaceId, owner: 'someone-else' },
    });
    expect((await inside(c, 'lo')).names).toEqual(['lo']);
    await vsctl('del-port', s.hostIfName!);
  });

  it('PORT_ON_OTHER_BRIDGE', async () => {
    const s = spec(c, { address: '10.213.8.10/24', hostIfName: `sdmi-${tag}-po` });
    await vsctl('add-port', br2.name, s.hostIfName!, '--', 'set', 'Interface', s.hostIfName!, 'type=internal');
    const e = await refusal(p1.attach(s));
    expect(e.info).toMatchObject({ code: 'PORT_ON_OTHER_BRIDGE', message: `port "${s.hostIfName}" is on bridge "${br2.name}", not on "${br1.name}"` });
    expect((await inside(c, 'lo')).names).toEqual(['lo']);
    await vsctl('del-port', s.hostIfName!);
  });

  it('HOST_LINK_CONFLICT: a host device of that name that is not a veth, or a temporary name taken', async () => {
    const s = spec(c, { address: '10.213.8.10/24', hostIfName: `sdmi-${tag}-hl` });
    await run('ip', ['tuntap', 'add', s.hostIfName!, 'mode', 'tap']);
    try {
      const e = await refusal(p1.attach(s));
      expect(e.info).toMatchObject({ code: 'HOST_LINK_CONFLICT', message: `host link "${s.hostIfName}" exists and is a tun device, not a veth` });
    } finally {
      await run('ip', ['link', 'del', s.hostIfName!]);
    }
    const T = peerIfNameFor(s.hostIfName!);
    await run('ip', ['tuntap', 'add', T, 'mode', 'tap']);
    try {
      const e = await refusal(p1.attach(s));
      expect(e.info).toMatchObject({ code: 'HOST_LINK_CONFLICT', message: `host link "${T}" exists and is not the peer of "${s.hostIfName}"` });
      expect(await hostLinkExists(s.hostIfName!)).toBe(false);
    } finally {
      await run('ip', ['link', 'del', T]);
    }
    expect((await inside(c, 'lo')).names).toEqual(['lo']);
  });

  it('IFNAME_TAKEN: the container already has that name for another interface', async () => {
    const first = spec(c, { address: '10.213.8.10/24', ifname: 'eth9' });
    await p1.attach(first);
    const s = spec(c, { address: '10.213.8.11/24', ifname: 'eth9' });
    const e = await refusal(p1.attach(s));
    expect(e.info).toEqual({
      code: 'IFNAME_TAKEN',
      message: `container "${c.name}" already has an interface "eth9" that is not the veth of this interface`,
      path: '/ifname',
      details: { ifname: 'eth9', containerId: c.name },
    });
    await nothingMade(s);
    expect((await inside(c, 'eth9')).addresses).toEqual(['10.213.8.10/24']);
    await p1.detach(first.interfaceId);
  });

  it('NETLINK_COMMAND_FAILED carries the command and stderr; NETLINK_TOOL_MISSING names the tool', async () => {
    const nl = new IpRoute2Netlink();
    const e = await refusal(nl.setUp(null, `sdmi-${tag}-no`, true));
    expect(e.info.code).toBe('NETLINK_COMMAND_FAILED');
    expect(e.info.details).toMatchObject({ command: ['ip', 'link', 'set', 'dev', `sdmi-${tag}-no`, 'up'], exitCode: 1 });
    expect(e.info.details?.stderr).toMatch(/Cannot find device/);
    expect(e.info.message).toBe(`ip link set dev sdmi-${tag}-no up failed (exit 1): ${String(e.info.details?.stderr).trim()}`);
    const missing = new IpRoute2Netlink({ tools: { ip: '/nonexistent/ip' } });
    const m = await refusal(missing.links(null));
    expect(m.info).toEqual({
      code: 'NETLINK_TOOL_MISSING',
      message: '"/nonexistent/ip" is not installed (container-net needs iproute2, util-linux nsenter and ethtool)',
      details: { tool: '/nonexistent/ip' },
    });
  });
});
