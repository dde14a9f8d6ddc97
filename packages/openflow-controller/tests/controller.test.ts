import { execFileSync } from 'node:child_process';
import { ControllerRole, ErrorType, FlowModCommand, type OfpMessage } from '@sdmi/openflow';
import { OvsSwitch } from '@sdmi/ovsdb';
import { Testbed, testName, type NetNamespace } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchRejected, Controller, OfpErrorReply, OpenFlowListener, type OpenFlowApp, type Outgoing, type SwitchConnection } from '../src/index';

// Our controller against a real ovs-vswitchd (userspace datapath): handshake, flows, packet-in,
// packet-out, port status, bundles and roles, each checked the way a user would.
const tb = new Testbed();
const events: OfpMessage[] = [];
const lifecycle: string[] = [];
const recorder: OpenFlowApp = {
  name: 'recorder',
  onSwitchUp: (sw) => void lifecycle.push(`up ${sw.dpid}`),
  onSwitchDown: (sw, reason) => void lifecycle.push(`down ${sw.dpid}: ${reason}`),
  onPacketIn: (_sw, m) => void events.push(m),
  onPortStatus: (_sw, m) => void events.push(m),
};
const controller = new Controller({ apps: [recorder], echoIntervalMs: 1_000, echoTimeoutMs: 5_000 });
const listener = new OpenFlowListener(controller);
let port: number;
let ovs: OvsSwitch;
// The bridge is made through our own OVSDB client; the test bed only adds the namespaces.
const br = {
  name: testName('b'),
  get: async (column: string) => execFileSync('ovs-vsctl', ['get', 'Bridge', br.name, column], { encoding: 'utf8' }).trim(),
  setController: (targets: string | string[]) => ovs.setControllers(br.name, Array.isArray(targets) ? targets : [targets]),
  addVethPort: async (opts: { ofport: number }) => {
    const bridgeEnd = testName('v');
    execFileSync('ip', ['link', 'add', bridgeEnd, 'type', 'veth', 'peer', 'name', `${bridgeEnd}p`]);
    execFileSync('ip', ['link', 'set', bridgeEnd, 'up']);
    await ovs.addPort(br.name, bridgeEnd, { ofportRequest: opts.ofport });
    return { bridgeEnd };
  },
  deletePort: async (name: string) => {
    await ovs.removePort(br.name, name);
    execFileSync('ip', ['link', 'del', name]);
  },
};
let sw: SwitchConnection;
let ns1: NetNamespace;
let ns2: NetNamespace;

const ofctl = (...args: string[]) => execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { encoding: 'utf8' });
const flowMod = (fields: Partial<Extract<Outgoing, { type: 'FLOW_MOD' }>>): Outgoing => ({
  type: 'FLOW_MOD',
  cookie: 0n,
  cookieMask: 0n,
  tableId: 0,
  command: FlowModCommand.ADD,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 100,
  bufferId: 0xffffffff,
  outPort: 0xffffffff,
  outGroup: 0xffffffff,
  flags: 0,
  match: [],
  instructions: [],
  ...fields,
}) as Outgoing;
const output = (inPort: number, outPort: number, cookie = 0x5d1n) =>
  flowMod({ cookie, priority: 100, match: [{ field: 'IN_PORT', value: inPort }], instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: outPort, maxLen: 0 }] }] } as never);

beforeAll(async () => {
  ({ port } = await listener.listen({ port: 0 }));
  ovs = await OvsSwitch.connect();
  await ovs.createBridge(br.name, { datapathType: 'netdev', failMode: 'secure', protocols: ['OpenFlow13'], controllers: [`tcp:127.0.0.1:${port}`], otherConfig: { 'datapath-id': '00000000000000a1' } });
  ns1 = await tb.namespace({ address: '10.77.0.1/24', bridge: br.name, ofport: 1 });
  ns2 = await tb.namespace({ address: '10.77.0.2/24', bridge: br.name, ofport: 2 });
  sw = await controller.waitForSwitch('00000000000000a1');
});

afterAll(async () => {
  await listener.close();
  await tb.dispose();
  await ovs?.deleteBridge(br.name).catch(() => undefined);
  await ovs?.close();
});

describe('OpenFlow controller on a real Open vSwitch', () => {
  it('completes the handshake: datapath id and port descriptions match what OVS reports', async () => {
    expect(sw.dpid).toBe('00000000000000a1');
    expect((await br.get('datapath_id')).replace(/"/g, '')).toBe('00000000000000a1');
    const shown = ofctl('dump-ports-desc', br.name);
    for (const [no, p] of sw.ports) {
      if (no > 0xff00) continue; // LOCAL
      expect(shown).toContain(`${no}(${p.name})`);
    }
    expect([...sw.ports.values()].map((p) => p.name)).toEqual(expect.arrayContaining([ns1.hostIf, ns2.hostIf]));
  });

  it('namespaces reach each other only while our flows are installed, confirmed by barriers', async () => {
    expect(await ns1.ping('10.77.0.2', { count: 1, deadlineSec: 2 })).toBe(false);
    await sw.barrier([output(1, 2), output(2, 1)]);
    expect(await ns1.ping('10.77.0.2', { count: 2, deadlineSec: 4 })).toBe(true);
    const stats = await sw.multipart({ kind: 'FLOW', tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie: 0x5d1n, cookieMask: 0xffffffffffffffffn, match: [] } as never);
    const flows = stats.flatMap((b) => (b.kind === 'FLOW' ? b.stats : []));
    expect(flows).toHaveLength(2);
    expect(flows.every((f) => f.packetCount > 0n)).toBe(true);
    await sw.barrier([flowMod({ command: FlowModCommand.DELETE, tableId: 0xff, cookie: 0x5d1n, cookieMask: 0xffffffffffffffffn })]);
    expect(ofctl('dump-flows', br.name)).not.toContain('cookie=0x5d1');
    // The barrier confirms the OpenFlow table; OVS purges its datapath flow cache a moment later.
    expect(await eventually(async () => !(await ns1.ping('10.77.0.2', { count: 1, deadlineSec: 1 })))).toBe(true);
  });

  it('a packet reaches us as PACKET_IN, and our PACKET_OUT arrives in the other namespace', async () => {
    await sw.barrier([flowMod({ priority: 0, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 0xfffffffd, maxLen: 0xffff }] }] } as never)]);
    events.length = 0;
    await ns1.ping('10.77.0.2', { count: 1, deadlineSec: 2 });
    const pin = events.find((e): e is Extract<OfpMessage, { type: 'PACKET_IN' }> => e.type === 'PACKET_IN');
    expect(pin, 'no PACKET_IN').toBeDefined();
    const before = await rxPackets(ns2);
    sw.send({ type: 'PACKET_OUT', bufferId: 0xffffffff, inPort: 0xfffffffd, actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }], data: pin!.data } as never);
    await sw.barrier([]);
    expect(await rxPackets(ns2)).toBeGreaterThan(before);
    await sw.barrier([flowMod({ command: FlowModCommand.DELETE, tableId: 0xff })]);
  });

  it('adding and removing a port produce PORT_STATUS events', async () => {
    events.length = 0;
    const veth = await br.addVethPort({ ofport: 7 });
    await until(() => events.some((e) => e.type === 'PORT_STATUS' && e.reason === 0 && e.desc.name === veth.bridgeEnd));
    expect(sw.ports.get(7)?.name).toBe(veth.bridgeEnd);
    await br.deletePort(veth.bridgeEnd);
    await until(() => events.some((e) => e.type === 'PORT_STATUS' && e.reason === 1 && e.desc.name === veth.bridgeEnd));
    expect(sw.ports.has(7)).toBe(false);
  });

  it('a bundle is all or nothing: one invalid flow mod leaves the table exactly as before', async () => {
    await sw.barrier([output(1, 2, 0xb0n)]);
    const before = ofctl('dump-flows', br.name, '--no-stats');
    const bad = flowMod({ tableId: 0xfe, instructions: [{ type: 'GOTO_TABLE', tableId: 0x01 }] } as never); // goto a lower table: refused
    const err = await sw.bundle([output(2, 1, 0xb1n), bad, output(3, 1, 0xb2n)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchRejected);
    expect((err as BatchRejected).errors.map((e) => e.index)).toEqual([1]);
    expect(ofctl('dump-flows', br.name, '--no-stats')).toBe(before);
    await sw.bundle([output(2, 1, 0xb1n), output(3, 1, 0xb2n)]);
    const after = ofctl('dump-flows', br.name);
    expect(after).toContain('cookie=0xb1');
    expect(after).toContain('cookie=0xb2');
    await sw.barrier([flowMod({ command: FlowModCommand.DELETE, tableId: 0xff })]);
  });

  it('an invalid flow mod in a plain batch is named by its index', async () => {
    const err = await sw.barrier([output(1, 2), flowMod({ tableId: 0xfe, instructions: [{ type: 'GOTO_TABLE', tableId: 0x01 }] } as never)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchRejected);
    expect((err as BatchRejected).errors[0]).toMatchObject({ index: 1, error: { type: 'ERROR' } });
    await sw.barrier([flowMod({ command: FlowModCommand.DELETE, tableId: 0xff })]);
  });

  it('installs 10,000 flows through bundles and through plain flow mods, and reports both rates', async () => {
    const N = 10_000;
    const flows = (cookie: bigint, offset: number) =>
      Array.from({ length: N }, (_, i) =>
        flowMod({
          cookie,
          priority: 200,
          match: [
            { field: 'ETH_TYPE', value: 0x0800 },
            { field: 'IPV4_DST', value: `10.${100 + offset + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}` },
          ],
          instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }] }],
        } as never),
      );
    const count = async (cookie: bigint) => {
      const [agg] = await sw.multipart({ kind: 'AGGREGATE', tableId: 0xff, outPort: 0xffffffff, outGroup: 0xffffffff, cookie, cookieMask: 0xffffffffffffffffn, match: [] } as never);
      return agg?.kind === 'AGGREGATE' ? agg.flowCount : -1;
    };
    const viaBundles = flows(0xf10n, 0);
    let t0 = performance.now();
    for (let i = 0; i < N; i += 1_000) await sw.bundle(viaBundles.slice(i, i + 1_000));
    const bundleMs = performance.now() - t0;
    expect(await count(0xf10n)).toBe(N);
    const plain = flows(0xf11n, 1);
    t0 = performance.now();
    for (let i = 0; i < N; i += 1_000) await sw.barrier(plain.slice(i, i + 1_000));
    const plainMs = performance.now() - t0;
    expect(await count(0xf11n)).toBe(N);
    console.log(
      `10,000 flows: bundles of 1,000 ${Math.round((N / bundleMs) * 1000)} flows/s, plain flow mods with a barrier per 1,000 ${Math.round((N / plainMs) * 1000)} flows/s (ratio ${(plainMs / bundleMs).toFixed(2)}x)`,
    );
    await sw.barrier([flowMod({ command: FlowModCommand.DELETE, tableId: 0xff })]);
    expect([await count(0xf10n), await count(0xf11n)]).toEqual([0, 0]);
  });

  it('a switch that drops its connection and comes back is a new session under the same datapath id', async () => {
    lifecycle.length = 0;
    const before = sw;
    await br.setController([]);
    await until(() => lifecycle.some((l) => l.startsWith('down 00000000000000a1')));
    expect(controller.switches.has('00000000000000a1')).toBe(false);
    await br.setController(`tcp:127.0.0.1:${port}`);
    sw = await controller.waitForSwitch('00000000000000a1');
    expect(sw).not.toBe(before);
    expect(lifecycle.at(-1)).toBe('up 00000000000000a1');
    await sw.barrier([output(1, 2, 0xd1n)]);
    expect(ofctl('dump-flows', br.name)).toContain('cookie=0xd1');
    await sw.barrier([flowMod({ command: FlowModCommand.DELETE, tableId: 0xff })]);
  });

  it('two controllers: the SLAVE is refused, the MASTER is obeyed, and a role change moves mastership', async () => {
    const second = new Controller();
    const secondListener = new OpenFlowListener(second);
    const { port: port2 } = await secondListener.listen({ port: 0 });
    try {
      await br.setController([`tcp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port2}`]);
      const sw2 = await second.waitForSwitch('00000000000000a1');
      await sw.role(ControllerRole.MASTER, 10n);
      await sw2.role(ControllerRole.SLAVE, 10n);
      const refused = await sw2.barrier([output(1, 2, 0xc2n)]).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(BatchRejected);
      expect((refused as BatchRejected).errors[0]!.error).toMatchObject({ errorType: ErrorType.BAD_REQUEST, codeName: 'IS_SLAVE' });
      await sw.barrier([output(1, 2, 0xc1n)]);
      // A higher generation id makes the second one MASTER; the first is demoted to SLAVE.
      await sw2.role(ControllerRole.MASTER, 11n);
      const demoted = await sw.barrier([output(2, 1, 0xc3n)]).catch((e: unknown) => e);
      expect(demoted).toBeInstanceOf(BatchRejected);
      await sw2.barrier([output(2, 1, 0xc4n)]);
      const flows = ofctl('dump-flows', br.name);
      expect(flows).toContain('cookie=0xc1');
      expect(flows).toContain('cookie=0xc4');
      expect(flows).not.toContain('cookie=0xc2');
      expect(flows).not.toContain('cookie=0xc3');
      // A stale generation id is refused by the switch.
      await expect(sw.role(ControllerRole.MASTER, 5n)).rejects.toBeInstanceOf(OfpErrorReply);
    } finally {
      await secondListener.close();
      await br.setController(`tcp:127.0.0.1:${port}`);
    }
  });
});

async function rxPackets(ns: NetNamespace): Promise<number> {
  return Number((await ns.exec(['cat', `/sys/class/net/${ns.ifname}/statistics/rx_packets`])).trim());
}

/** True once `check` holds, trying for a while; false if it never does. */
async function eventually(check: () => Promise<boolean>, attempts = 5): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
