// The network controller under test (Controller + DataplaneApp, as the network-controller runs
// it) alone in its own Node process, so that the bench's ping launcher, ovs-ofctl calls and
// bookkeeping never share its event loop.
//
//   node --import tsx bench/network/src/controller-proc.ts <pair idle timeout s>
//
// It listens on a free loopback port and prints {"listening":<port>}. Then it takes one JSON
// command per line on stdin and answers each with one JSON line on stdout carrying the same id:
//   topology   {snapshot}         adopt the topology, wait for every host's bridge, reconcile it
//   mark                          start a measuring window (counters and timestamps from now)
//   window                        what the data plane did since the mark (see Window)
//   preinstall {pairs:[[a,b]…]}   the proactive baseline: compute both directions of every pair
//                                 with pairFlows and push them, one bundle per host bridge
//   clear                         delete every pair flow (cookie kinds PairOut and PairIn)
// It exits on SIGTERM/SIGINT and when stdin closes, so a bench killed with SIGKILL leaves no
// controller behind.
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { DataplaneApp, FlowKind, Topology, addFlowMod, cookie, pairFlows, type FlowSpec, type InterfaceView, type TopologySnapshot, type Uplink } from '@sdmi/dataplane';
import { FlowModCommand, Group, Port, Table } from '@sdmi/openflow';
import { Controller, OpenFlowListener, type Outgoing, type SwitchConnection } from '@sdmi/openflow-controller';
import pino from 'pino';

const NO_BUFFER = 0xffffffff;
const ETH_TYPE_IPV4 = 0x0800;
/**
 * The tag and kind bits of the data plane's cookies, derived from `cookie()` itself (whatever bits
 * the network and interface numbers can change are the others), so a new cookie layout needs no
 * edit here.
 */
const ALL_ONES = 0xffff_ffff_ffff_ffffn;
const KIND_MASK = ALL_ONES & ~(cookie(FlowKind.PairOut, 0xffff_ffff, 0xffff_ffff) ^ cookie(FlowKind.PairOut, 0, 0));

/** What the data plane did between `mark` and `window`. Times are epoch ms (sub-ms precision). */
export interface Window {
  packetIns: number;
  ipv4PacketIns: number;
  arpReplies: number;
  pairsInstalled: number;
  /** First IPv4 packet-in after the mark, and the moment the last pair since then was installed. */
  firstIpv4PacketInAt: number | null;
  lastPairAt: number | null;
  /** CPU this process used since the mark, ms (user + system). */
  cpuMs: number;
  /** Pairs (source>destination IP) set up more than once since the mark, with how often. */
  repeated: Record<string, number>;
}

export interface PreinstallResult {
  flows: number;
  perHost: Record<string, number>;
  /** Computing the flows (pairFlows for every pair and direction). */
  computeMs: number;
  /** From the first bundle opened to the last committed (bundles run in parallel, one per host). */
  pushMs: number;
  startedAt: number;
  endedAt: number;
  /** CPU this process used for it, ms (user + system). */
  cpuMs: number;
}

const now = (): number => performance.timeOrigin + performance.now();

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function ip(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function deleteByKind(kind: FlowKind): Outgoing {
  return {
    type: 'FLOW_MOD', command: FlowModCommand.DELETE, tableId: Table.ALL, cookie: cookie(kind), cookieMask: KIND_MASK, bufferId: NO_BUFFER,
    outPort: Port.ANY, outGroup: Group.ANY, flags: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, match: [], instructions: [],
  };
}

/** A host's uplink as the data plane derives it: the port named in the topology, its number and MAC. */
function uplinkOf(sw: SwitchConnection, portName: string): Uplink {
  const p = [...sw.ports.values()].find((x) => x.name === portName);
  if (!p) throw new Error(`bridge ${sw.dpid} has no port ${portName}`);
  return { ofport: p.portNo, mac: p.hwAddr };
}

function portNo(sw: SwitchConnection, portName: string): number {
  const p = [...sw.ports.values()].find((x) => x.name === portName);
  if (!p) throw new Error(`bridge ${sw.dpid} has no port ${portName}`);
  return p.portNo;
}

async function main(): Promise<void> {
  const idle = Number(process.argv[2] ?? '300');
  if (!Number.isInteger(idle) || idle < 1 || idle > 65535) throw new Error(`pair idle timeout must be an integer 1..65535 s, got "${process.argv[2]}"`);
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { component: 'bench-network-controller' } }, pino.destination({ dest: 2, sync: false }));
  const app = new DataplaneApp({ revision: 0, networks: [], interfaces: [], hosts: [] }, { pairIdleTimeout: idle, log });
  const controller = new Controller({ apps: [app], log });
  const listener = new OpenFlowListener(controller);
  const addr = await listener.listen({ host: '127.0.0.1', port: 0 });

  // The measuring window: counters at the mark, and timestamps kept by wrapping the packet-in hook
  // (the same hook the Controller calls; the app itself is unchanged).
  let base = { ...app.stats, ipv4: 0, cpu: cpuMs() };
  let ipv4PacketIns = 0;
  let firstIpv4: number | null = null;
  let lastPair: number | null = null;
  let installs = new Map<string, number>();
  const onPacketIn = app.onPacketIn.bind(app);
  app.onPacketIn = async (sw, msg) => {
    const isIpv4 = msg.data.length >= 14 && msg.data.readUInt16BE(12) === ETH_TYPE_IPV4;
    if (isIpv4) {
      ipv4PacketIns++;
      firstIpv4 ??= now();
    }
    const before = app.stats.pairsInstalled;
    await onPacketIn(sw, msg);
    if (app.stats.pairsInstalled !== before) {
      lastPair = now();
      if (isIpv4 && msg.data.length >= 34) {
        const key = `${ip(msg.data, 26)}>${ip(msg.data, 30)}`;
        installs.set(key, (installs.get(key) ?? 0) + 1);
      }
    }
  };

  const switchOf = (topo: Topology, host: string): SwitchConnection => {
    const h = topo.hosts.get(host);
    const sw = h ? controller.switches.get(h.dpid.toLowerCase()) : undefined;
    if (!sw) throw new Error(`host ${host} has no connected bridge`);
    return sw;
  };

  const commands: Record<string, (arg: Record<string, unknown>) => Promise<unknown>> = {
    topology: async (arg) => {
      const snapshot = arg.snapshot as TopologySnapshot;
      await app.update(snapshot);
      for (const h of snapshot.hosts) await controller.waitForSwitch(h.dpid, 30_000);
      return { reconciled: await Promise.all(snapshot.hosts.map((h) => app.reconcile(h.name))) };
    },
    mark: async () => {
      base = { ...app.stats, ipv4: ipv4PacketIns, cpu: cpuMs() };
      firstIpv4 = null;
      lastPair = null;
      installs = new Map();
      return { at: now() };
    },
    window: async (): Promise<Window> => ({
      packetIns: app.stats.packetIns - base.packetIns,
      ipv4PacketIns: ipv4PacketIns - base.ipv4,
      arpReplies: app.stats.arpReplies - base.arpReplies,
      pairsInstalled: app.stats.pairsInstalled - base.pairsInstalled,
      firstIpv4PacketInAt: firstIpv4,
      lastPairAt: lastPair,
      cpuMs: cpuMs() - base.cpu,
      repeated: Object.fromEntries([...installs].filter(([, n]) => n > 1)),
    }),
    preinstall: async (arg): Promise<PreinstallResult> => {
      const startedAt = now();
      const cpu0 = cpuMs();
      const topo = app.topology;
      const byHost = new Map<string, Outgoing[]>();
      const add = (host: string, f: FlowSpec) => {
        const list = byHost.get(host) ?? [];
        list.push(addFlowMod(f));
        byHost.set(host, list);
      };
      for (const [a, b] of arg.pairs as Array<[string, string]>) {
        const src = findInterface(topo, a);
        const dst = findInterface(topo, b);
        const swA = switchOf(topo, src.host);
        const swB = switchOf(topo, dst.host);
        const upA = uplinkOf(swA, topo.hosts.get(src.host)!.uplinkPort!);
        const upB = uplinkOf(swB, topo.hosts.get(dst.host)!.uplinkPort!);
        // Both directions, exactly what the reactive path would install for a ping and its reply.
        const there = pairFlows(topo, src, dst, upA, upB, portNo(swB, dst.portName), { idle });
        const back = pairFlows(topo, dst, src, upB, upA, portNo(swA, src.portName), { idle });
        add(src.host, there.out);
        add(dst.host, there.in);
        add(dst.host, back.out);
        add(src.host, back.in);
      }
      const pushAt = now();
      const computeMs = pushAt - startedAt;
      await Promise.all([...byHost].map(([host, msgs]) => switchOf(topo, host).bundle(msgs)));
      const endedAt = now();
      const perHost = Object.fromEntries([...byHost].map(([h, m]) => [h, m.length]));
      return { flows: Object.values(perHost).reduce((s, n) => s + n, 0), perHost, computeMs, pushMs: endedAt - pushAt, startedAt, endedAt, cpuMs: cpuMs() - cpu0 };
    },
    clear: async () => {
      const topo = app.topology;
      await Promise.all([...topo.hosts.keys()].map((h) => switchOf(topo, h).barrier([deleteByKind(FlowKind.PairOut), deleteByKind(FlowKind.PairIn)])));
      return { cleared: [...topo.hosts.keys()] };
    },
  };

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'stopping');
    const hard = setTimeout(() => process.exit(0), 2_000);
    hard.unref();
    void listener.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let req: { id?: unknown; cmd?: unknown } & Record<string, unknown>;
    try {
      req = JSON.parse(line) as typeof req;
    } catch {
      process.stdout.write(`${JSON.stringify({ id: null, ok: false, error: `not JSON: ${line.slice(0, 80)}` })}\n`);
      return;
    }
    const handler = typeof req.cmd === 'string' ? commands[req.cmd] : undefined;
    if (!handler) {
      process.stdout.write(`${JSON.stringify({ id: req.id, ok: false, error: `unknown command ${JSON.stringify(req.cmd)}; known: ${Object.keys(commands).join(', ')}` })}\n`);
      return;
    }
    handler(req).then(
      (result) => process.stdout.write(`${JSON.stringify({ id: req.id, ok: true, result }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n`),
      (err: unknown) => process.stdout.write(`${JSON.stringify({ id: req.id, ok: false, error: String((err as Error)?.message ?? err) })}\n`),
    );
  });
  lines.on('close', () => stop('stdin closed'));
  process.stdout.write(`${JSON.stringify({ listening: addr.port })}\n`);
}

function findInterface(topo: Topology, id: string): InterfaceView {
  for (const host of topo.hosts.keys()) {
    const i = topo.interfacesOn(host).find((x) => x.id === id);
    if (i) return i;
  }
  throw new Error(`no interface ${id} in the topology`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
