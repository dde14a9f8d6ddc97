import { afterAll, describe, expect, it } from 'vitest';
import { FailMode, Testbed, createBridge, createNamespace, listBridges, listNamespaces, run } from '../src/index';
import type { NetNamespace } from '../src/index';
import { expectNothingLeft } from './leak-check';

async function interfaceExists(name: string): Promise<boolean> {
  return (await run('ip', ['-o', 'link', 'show'])).split('\n').some((l) => l.split(': ')[1]?.split('@')[0] === name);
}

/** Sends one line over TCP from `client` to `server` (busybox nc) and returns what the server got. */
// The listener hands the connection to `head`: a plain `nc -l` with an empty stdin half-closes at
// once, and a client that sees that FIN before it sent its line quits without sending it. The
// client connects only once the listener is bound.
async function tcpEcho(server: NetNamespace, client: NetNamespace, port: number, line: string): Promise<string> {
  const listening = server.tryExec(['timeout', '20', 'busybox', 'nc', '-l', '-p', String(port), '-e', 'sh', '-c', 'head -n 1 >&2']);
  for (let i = 0; i < 50; i++) {
    if ((await server.exec(['ss', '-Htln', `sport = :${port}`])).trim()) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  await client.tryExec(`echo ${line} | busybox nc -w 5 ${server.ip} ${port}`);
  return (await listening).stderr.trim();
}

describe('OVS bridge on the userspace datapath', () => {
  afterAll(expectNothingLeft);

  it('creates a netdev bridge with the requested settings and deletes it on dispose', async () => {
    const br = await createBridge({ controller: 'tcp:127.0.0.1:6653' });
    try {
      expect(await listBridges()).toContain(br.name);
      expect(await br.get('datapath_type')).toBe('netdev');
      expect(await br.get('fail_mode')).toBe('secure');
      expect(await br.get('protocols')).toBe('[OpenFlow13]');
      expect(await run('ovs-vsctl', ['get-controller', br.name])).toContain('tcp:127.0.0.1:6653');

      const internal = await br.addInternalPort({ ofport: 7 });
      const veth = await br.addVethPort();
      const ports = (await run('ovs-vsctl', ['list-ports', br.name])).split('\n');
      expect(ports).toEqual(expect.arrayContaining([internal, veth.bridgeEnd]));
      expect((await run('ovs-vsctl', ['get', 'Interface', internal, 'ofport'])).trim()).toBe('7');
      expect(await interfaceExists(veth.peer)).toBe(true);
    } finally {
      await br.dispose();
    }
    expect(await listBridges()).not.toContain(br.name);
    expect(await interfaceExists(br.name)).toBe(false);
  });
});

describe('network namespaces on an OVS bridge', () => {
  const tb = new Testbed();
  afterAll(async () => {
    await tb.dispose();
    await expectNothingLeft();
  });

  it('two namespaces on a standalone bridge reach each other (ICMP and TCP)', async () => {
    const br = await tb.bridge({ failMode: FailMode.Standalone });
    const a = await tb.namespace({ bridge: br, address: '10.77.0.1/24', mac: '02:00:00:77:00:01' });
    const b = await tb.namespace({ bridge: br, address: '10.77.0.2/24' });
    expect(a.mac).toBe('02:00:00:77:00:01');
    expect(await a.exec(['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).toContain('10.77.0.1/24');
    expect(await a.ping(b.ip!)).toBe(true);
    expect(await b.ping(a.ip!)).toBe(true);
    expect(await tcpEcho(b, a, 5555, 'hello-over-ovs')).toBe('hello-over-ovs');
  });

  it('two namespaces on a secure bridge without a controller do not reach each other', async () => {
    const br = await tb.bridge({ failMode: FailMode.Secure });
    const a = await tb.namespace({ bridge: br, address: '10.78.0.1/24' });
    const b = await tb.namespace({ bridge: br, address: '10.78.0.2/24' });
    expect(await br.dumpFlows()).toEqual([]);
    expect(await a.ping(b.ip!, { deadlineSec: 2 })).toBe(false);
  });

  it('flows added to a secure bridge make it forward', async () => {
    const br = await tb.bridge({ failMode: FailMode.Secure });
    const a = await tb.namespace({ bridge: br, address: '10.79.0.1/24', ofport: 1 });
    const b = await tb.namespace({ bridge: br, address: '10.79.0.2/24', ofport: 2 });
    await br.ofctl('add-flow', 'in_port=1,actions=output:2');
    await br.ofctl('add-flow', 'in_port=2,actions=output:1');
    expect(await br.dumpFlows()).toHaveLength(2);
    expect(await a.ping(b.ip!)).toBe(true);
  });

  it('dispose removes the namespace and its host-side veth', async () => {
    const ns = await createNamespace({ address: '10.80.0.1/24' });
    expect(await listNamespaces()).toContain(ns.name);
    expect(await interfaceExists(ns.hostIf)).toBe(true);
    expect(await ns.exec('ip -o link show lo')).toContain('UP');
    await ns.dispose();
    expect(await listNamespaces()).not.toContain(ns.name);
    expect(await interfaceExists(ns.hostIf)).toBe(false);
  });
});
