// The sampler against the real Controller and SwitchConnection, the switch scripted on an
// in-memory transport (the fast tier; the real tier is network-controller.test.ts on OVS): replies
// split in MORE-flagged parts are all counted, and a switch that is not connected or does not
// answer is skipped, logged once, and sampled again when it answers.
import { BusNames } from '@sdmi/bus';
import { contracts, type NetworkMetrics } from '@sdmi/contracts';
import { decode, encode, MultipartFlags, Port, type FlowStats, type OfpMessage, type OfpPort, type PortStats } from '@sdmi/openflow';
import { Controller, type Transport } from '@sdmi/openflow-controller';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkMetricsSampler, type SampledTopology } from '../src/metrics-sampler';

const DPID = 0x5e0001n;

const desc = (portNo: number, name: string): OfpPort => ({ portNo, name, hwAddr: '02:00:00:00:00:01', config: 0, state: 4, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 });
const zero = { rxErrors: 0n, txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 1, durationNsec: 0 };
const portStats = (portNo: number, n: bigint): PortStats => ({ portNo, rxPackets: n, txPackets: n, rxBytes: n * 100n, txBytes: n * 100n, rxDropped: 0n, txDropped: 0n, ...zero });
const flow = (inPort: number, packets: bigint): FlowStats => ({
  tableId: 0,
  durationSec: 1,
  durationNsec: 0,
  priority: 100,
  idleTimeout: 0,
  hardTimeout: 0,
  flags: 0,
  cookie: 0n,
  packetCount: packets,
  byteCount: packets * 100n,
  match: [{ field: 'IN_PORT', value: inPort }],
  instructions: [],
});

/** A switch that answers the handshake and, unless told to keep silent, the stats requests in two parts each. */
class ScriptedSwitch implements Transport {
  readonly remote = 'scripted:1';
  silent = false;
  statsRequests = 0;
  #data?: (c: Uint8Array) => void;

  write(bytes: Uint8Array): void {
    const r = decode(bytes);
    if (!r.ok) throw r.error;
    setImmediate(() => this.#answer(r.message));
  }
  close(): void {}
  onData(cb: (c: Uint8Array) => void): void {
    this.#data = cb;
  }
  onClose(): void {}

  hello(): void {
    this.#send({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', bitmaps: [1 << 4] }] });
  }

  #send(...msgs: OfpMessage[]): void {
    this.#data!(Buffer.concat(msgs.map((m) => encode(m))));
  }

  #answer(m: OfpMessage): void {
    if (m.type === 'FEATURES_REQUEST') return this.#send({ type: 'FEATURES_REPLY', xid: m.xid, datapathId: DPID, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0, reserved: 0 });
    if (m.type !== 'MULTIPART_REQUEST') return;
    const reply = (xid: number, more: boolean, body: Extract<OfpMessage, { type: 'MULTIPART_REPLY' }>['body']): OfpMessage => ({ type: 'MULTIPART_REPLY', xid, flags: more ? MultipartFlags.MORE : 0, body });
    if (m.body.kind === 'PORT_DESC') return this.#send(reply(m.xid, false, { kind: 'PORT_DESC', ports: [desc(Port.LOCAL, 'br-test'), desc(1, 'uplink0'), desc(2, 'svweb'), desc(3, 'svother')] }));
    if (m.body.kind !== 'PORT_STATS' && m.body.kind !== 'FLOW') return;
    this.statsRequests++;
    if (this.silent) return;
    if (m.body.kind === 'PORT_STATS') {
      this.#send(reply(m.xid, true, { kind: 'PORT_STATS', stats: [portStats(Port.LOCAL, 9n), portStats(1, 10n)] }), reply(m.xid, false, { kind: 'PORT_STATS', stats: [portStats(2, 20n), portStats(3, 30n)] }));
    } else {
      this.#send(reply(m.xid, true, { kind: 'FLOW', stats: [flow(2, 5n), flow(1, 1n)] }), reply(m.xid, false, { kind: 'FLOW', stats: [flow(2, 7n)] }));
    }
  }
}

const topology: SampledTopology = {
  hosts: new Map([
    ['host-a', { name: 'host-a', dpid: DPID.toString(16).padStart(16, '0') }],
    ['host-z', { name: 'host-z', dpid: '00000000000000ff' }], // registered, never connects
  ]),
  interfacesOn: (host) => (host === 'host-a' ? [{ id: 'acme/web-1@rev1/eth0', networkId: 'acme/app', portName: 'svweb' }] : []),
};

const names = new BusNames('t');
let sampler: NetworkMetricsSampler | undefined;
let controller: Controller | undefined;
afterEach(async () => {
  await sampler?.stop();
  controller?.close();
});

async function setUp(requestTimeoutMs: number) {
  const logs: { level: number; msg: string; host?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) });
  controller = new Controller({ log: pino({ level: 'silent' }), requestTimeoutMs });
  const sw = new ScriptedSwitch();
  controller.attach(sw);
  sw.hello();
  await controller.waitForSwitch(DPID, 2_000);
  const published: { subject: string; sample: NetworkMetrics }[] = [];
  sampler = new NetworkMetricsSampler({ controller, topology: () => topology, publish: (subject, payload) => published.push({ subject, sample: JSON.parse(payload) as NetworkMetrics }), names, intervalMs: 60_000, log, now: () => new Date('2026-12-02T12:00:00.000Z') });
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return { logs, sw, published, settle, logged: (host: string) => logs.filter((l) => l.host === host) };
}

describe('NetworkMetricsSampler', () => {
  it('counts every part of a multipart reply: all ports, flows summed over both parts', async () => {
    const { published, settle } = await setUp(1_000);
    sampler!.round();
    await settle(100);
    expect(published.map((p) => p.subject)).toEqual(['t.metrics.network.host-a']);
    const s = published[0]!.sample;
    expect(contracts().check('NetworkMetrics', s).ok).toBe(true);
    expect(s.bridge).toBe('br-test');
    expect(s.interfaces.map((i) => i.port)).toEqual(['uplink0', 'svweb', 'svother']);
    expect(s.interfaces[1]).toMatchObject({ ofport: 2, replicaId: 'acme/web-1@rev1', network: 'acme/app', rxPackets: 20, flows: { count: 2, packets: 12, bytes: 1200 } });
    expect(s.interfaces[0]!.flows).toEqual({ count: 1, packets: 1, bytes: 100 });
  });

  it('a host not connected and a switch that does not answer are skipped and logged once each; the silent one publishes again when it answers', async () => {
    const { sw, published, settle, logged } = await setUp(400);
    sw.silent = true;
    for (let i = 0; i < 4; i++) {
      sampler!.round();
      await settle(60);
    }
    // Waiting for its first answer, host-a was asked once (two requests), not once per round.
    expect(sw.statsRequests).toBe(2);
    await settle(300); // past the request timeout
    sampler!.round();
    await settle(500); // timed out again
    expect(sw.statsRequests).toBe(4);
    expect(published).toEqual([]);
    expect(logged('host-z').map((l) => l.msg)).toEqual(['metrics: bridge of host host-z is not connected; no network samples until it is (reported once)']);
    expect(logged('host-a').map((l) => l.msg)).toEqual(['metrics: no network sample of host host-a (reported once)']);
    sw.silent = false;
    sampler!.round();
    await settle(100);
    expect(published.map((p) => p.subject)).toEqual(['t.metrics.network.host-a']);
    expect(logged('host-a').map((l) => l.msg).at(-1)).toBe('metrics: network samples of the host published again');
  });
});
