import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BridgeExists,
  BridgeNotFound,
  InterfaceFailed,
  OvsSwitch,
  PortExists,
  PortNotFound,
  type TableUpdates,
  mapRecord,
} from '@sdmi/ovsdb';
import { checkIfName, deleteLink, describeInventory, inventory, run, runId, testName } from '@sdmi/testbed';
import { bridgeName, dropBridges, unquote, vsctl, within } from './fixture';

let sw: OvsSwitch;
const created: string[] = [];
const veths: string[] = [];

beforeAll(async () => {
  sw = await OvsSwitch.connect();
});
afterEach(async () => {
  await dropBridges(sw, created);
  for (const v of veths.splice(0)) await deleteLink(v);
});
afterAll(async () => {
  await sw?.close();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

async function newBridge(options?: Parameters<OvsSwitch['createBridge']>[1]): Promise<string> {
  const name = bridgeName();
  created.push(name);
  await sw.createBridge(name, options);
  return name;
}

async function vethPair(): Promise<{ end: string; peer: string }> {
  const end = checkIfName(testName('v'));
  const peer = checkIfName(`${end}p`);
  await run('ip', ['link', 'add', end, 'type', 'veth', 'peer', 'name', peer]);
  veths.push(end);
  await run('ip', ['link', 'set', end, 'up']);
  await run('ip', ['link', 'set', peer, 'up']);
  return { end, peer };
}

describe('OvsSwitch against the real Open vSwitch', () => {
  it('creates a netdev, secure, OpenFlow13 bridge with a controller in one transaction', async () => {
    const name = await newBridge({ controllers: ['tcp:127.0.0.1:6653'], externalIds: { owner: 'sdmi-test' } });
    expect((await vsctl('list-br')).split('\n')).toContain(name);
    expect(await vsctl('get', 'Bridge', name, 'datapath_type')).toBe('netdev');
    expect(await vsctl('get', 'Bridge', name, 'fail_mode')).toBe('secure');
    expect(unquote(await vsctl('get', 'Bridge', name, 'protocols'))).toMatch(/^\["?OpenFlow13"?\]$/);
    expect(await vsctl('get-controller', name)).toBe('tcp:127.0.0.1:6653');
    expect(unquote(await vsctl('get', 'Bridge', name, 'external_ids:owner'))).toBe('sdmi-test');
    expect(await vsctl('list-ports', name)).toBe(''); // the bridge's own internal port is not listed
    expect(await vsctl('get', 'Interface', name, 'type')).toBe('internal');
    // ovs-vswitchd has applied it (we waited for cur_cfg): the local port has OpenFlow port 65534.
    expect(await vsctl('get', 'Interface', name, 'ofport')).toBe('65534');

    const info = await sw.getBridge(name);
    expect(info).toMatchObject({
      name,
      datapathType: 'netdev',
      failMode: 'secure',
      protocols: ['OpenFlow13'],
      controllers: ['tcp:127.0.0.1:6653'],
      ports: [name],
      externalIds: { owner: 'sdmi-test' },
    });
    expect(await vsctl('get', 'Bridge', name, '_uuid')).toBe(info.uuid);
  });

  it('creating an existing bridge fails with BridgeExists and changes nothing', async () => {
    const name = await newBridge({ controllers: ['tcp:127.0.0.1:6653'] });
    const before = await vsctl('--columns=_uuid,controller,ports', 'list', 'Bridge', name);
    const e = await sw.createBridge(name, { failMode: 'standalone', controllers: ['tcp:127.0.0.1:6654'] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BridgeExists);
    expect((e as BridgeExists).message).toBe(`bridge "${name}" already exists`);
    expect((e as BridgeExists).cause).toMatchObject({ name: 'OperationFailed', index: 0, error: 'timed out' });
    expect(await vsctl('--columns=_uuid,controller,ports', 'list', 'Bridge', name)).toBe(before);
    expect(await vsctl('get', 'Bridge', name, 'fail_mode')).toBe('secure');
    expect(await vsctl('--bare', '--columns=target', 'list', 'Controller')).not.toContain('6654');
  });

  it('adds a veth port with external_ids and ofport_request, reads its ofport, removes it', async () => {
    const br = await newBridge();
    const { end } = await vethPair();
    const ids = { container: 'web-1', network: 'app', address: '10.0.0.5/24' };
    const handle = await sw.addPort(br, end, { externalIds: ids, ofportRequest: 7 });
    expect(await vsctl('get', 'Port', end, '_uuid')).toBe(handle.portUuid);
    expect(await vsctl('port-to-br', end)).toBe(br);

    const ofport = await sw.ofport(end);
    expect(ofport).toBe(7);
    expect(await vsctl('get', 'Interface', end, 'ofport')).toBe('7');
    expect(unquote(await vsctl('get', 'Port', end, 'external_ids:container'))).toBe('web-1');
    expect(unquote(await vsctl('get', 'Interface', end, 'external_ids:address'))).toBe('10.0.0.5/24');

    const ports = await sw.listPorts(br);
    expect(ports.map((p) => p.name)).toEqual([br, end].sort());
    const mine = ports.find((p) => p.name === end);
    expect(mine?.externalIds).toEqual(ids);
    expect(mine?.interfaces).toMatchObject([{ name: end, type: '', ofport: 7, ofportRequest: 7, externalIds: ids }]);

    await sw.removePort(br, end);
    expect(await vsctl('list-ports', br)).toBe('');
    expect(await vsctl('--columns=name', 'find', 'Interface', `name=${end}`)).toBe('');
    await expect(sw.removePort(br, end)).rejects.toBeInstanceOf(PortNotFound);
  });

  it('an internal port gets an ofport assigned by ovs-vswitchd', async () => {
    const br = await newBridge();
    const port = checkIfName(testName('i'));
    await sw.addPort(br, port, { type: 'internal' });
    const ofport = await sw.ofport(port);
    expect(ofport).toBeGreaterThan(0);
    expect(await vsctl('get', 'Interface', port, 'ofport')).toBe(String(ofport));
  });

  it('a port whose device does not exist: ofport() reports the interface error', async () => {
    const br = await newBridge();
    const missing = checkIfName(testName('x')); // never created
    await sw.addPort(br, missing);
    const e = await sw.ofport(missing).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InterfaceFailed);
    expect((e as InterfaceFailed).reason).toMatch(/could not open network device|No such device/);
  });

  it('refuses a duplicate port, a port on a missing bridge, and ofport() of an unknown interface', async () => {
    const br = await newBridge();
    const { end } = await vethPair();
    await sw.addPort(br, end);
    await expect(sw.addPort(br, end)).rejects.toBeInstanceOf(PortExists);
    expect(await vsctl('list-ports', br)).toBe(end);
    await expect(sw.addPort(`${br}z`, 'whatever')).rejects.toBeInstanceOf(BridgeNotFound);
    await expect(sw.ofport(`${end}q`)).rejects.toBeInstanceOf(PortNotFound);
  });

  it('sets controller targets and fail_mode', async () => {
    const br = await newBridge();
    await sw.setControllers(br, ['tcp:127.0.0.1:6653', 'tcp:127.0.0.1:6654']);
    expect((await vsctl('get-controller', br)).split('\n').sort()).toEqual(['tcp:127.0.0.1:6653', 'tcp:127.0.0.1:6654']);
    await sw.setControllers(br, []);
    expect(await vsctl('get-controller', br)).toBe('');
    await sw.setFailMode(br, 'standalone');
    expect(await vsctl('get', 'Bridge', br, 'fail_mode')).toBe('standalone');
    await expect(sw.setFailMode(`${br}z`, 'secure')).rejects.toBeInstanceOf(BridgeNotFound);
  });

  it('sets the VLANs a port trunks, reads them back, and refuses a port of another bridge', async () => {
    const br = await newBridge();
    const other = await newBridge();
    const { end } = await vethPair();
    await sw.addPort(br, end);
    await sw.setTrunks(br, [{ port: end, vlans: [300, 100, 100] }, { port: br, vlans: [7] }]);
    expect(await vsctl('get', 'Port', br, 'trunks')).toBe('[7]');
    expect(await vsctl('get', 'Port', end, 'trunks')).toBe('[100, 300]');
    expect((await sw.listPorts(br)).find((p) => p.name === end)?.trunks).toEqual([100, 300]);
    await sw.setTrunks(br, [{ port: end, vlans: [] }]);
    expect(await vsctl('get', 'Port', end, 'trunks')).toBe('[]');
    // one port missing: the other is not changed either
    await expect(sw.setTrunks(other, [{ port: other, vlans: [9] }, { port: end, vlans: [5] }])).rejects.toBeInstanceOf(PortNotFound);
    expect(await vsctl('get', 'Port', other, 'trunks')).toBe('[]');
    await expect(sw.setTrunks(`${br}z`, [{ port: end, vlans: [5] }])).rejects.toBeInstanceOf(BridgeNotFound);
  });

  it('deletes a bridge with its ports; deleting it again is BridgeNotFound', async () => {
    const br = await newBridge({ controllers: ['tcp:127.0.0.1:6653'] });
    const { end } = await vethPair();
    await sw.addPort(br, end);
    await sw.deleteBridge(br);
    expect((await vsctl('list-br')).split('\n')).not.toContain(br);
    expect(await vsctl('--columns=name', 'find', 'Port', `name=${end}`)).toBe('');
    expect(await vsctl('--columns=name', 'find', 'Interface', `name=${br}`)).toBe('');
    expect((await sw.listBridges()).map((b) => b.name)).not.toContain(br);
    await expect(sw.deleteBridge(br)).rejects.toBeInstanceOf(BridgeNotFound);
  });

  it('monitor yields the initial rows, then an update for each port added and removed', async () => {
    const br = await newBridge();
    await using monitor = await sw.client.monitor('Open_vSwitch', { Port: { columns: ['name', 'external_ids'] } });
    const initialNames = Object.values(monitor.initial.Port ?? {}).map((u) => u.new?.name);
    expect(initialNames).toContain(br);

    const it = monitor[Symbol.asyncIterator]();
    // Other test files add and remove ports on the same ovsdb-server meanwhile: keep only ours.
    const nextPortUpdate = async (mine: (u: NonNullable<TableUpdates['Port']>) => boolean): Promise<TableUpdates> => {
      for (;;) {
        const r = await within(it.next(), 15_000, 'a monitor update');
        if (r.done) throw new Error('monitor ended');
        if (r.value.Port && mine(r.value.Port)) return r.value;
      }
    };

    const { end } = await vethPair();
    await sw.addPort(br, end, { externalIds: { container: 'c1' } });
    const inserted = Object.entries((await nextPortUpdate((p) => Object.values(p).some((u) => u.new?.name === end))).Port ?? {});
    expect(inserted).toHaveLength(1);
    const [portUuid, change] = inserted[0]!;
    expect(change.old).toBeUndefined();
    expect(change.new?.name).toBe(end);
    expect(mapRecord(change.new?.external_ids)).toEqual({ container: 'c1' });
    expect(await vsctl('get', 'Port', end, '_uuid')).toBe(portUuid);

    await sw.removePort(br, end);
    const removed = (await nextPortUpdate((p) => p[portUuid] !== undefined)).Port ?? {};
    expect(removed[portUuid]?.new).toBeUndefined();
    expect(removed[portUuid]?.old?.name).toBe(end);

    expect(() => monitor[Symbol.asyncIterator]()).toThrow(/already being iterated/);
    await it.return?.(undefined); // leaving the loop sends monitor_cancel
    // After monitor_cancel the server no longer knows the monitor.
    await expect(sw.client.monitorCancel(monitor.id)).rejects.toThrow(/unknown monitor/);
  });
});
