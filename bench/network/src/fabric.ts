// The bench's fabric on the real Open vSwitch, built the way the data plane's own tests build theirs
// (packages/dataplane/tests/fabric.ts): every "host" is a fail-secure bridge on the netdev datapath
// whose controller is ours, linked by an uplink veth to one standalone bridge that plays the L2
// fabric switch; "containers" are network namespaces on the host bridges. Here the shape is fixed
// by the measurement: two hosts, A and B, and N pairs of namespaces on one network, pair i being
// a<i> on A and b<i> on B.
import { FailMode, run, type NetNamespace, type OvsBridge, type Testbed } from '@sdmi/testbed';
import type { HostView, InterfaceView, NetworkView, TopologySnapshot } from '@sdmi/dataplane';

/** One network for every pair: the measurement is about hosts, not about policy. */
export const BENCH_NETWORK: NetworkView = {
  id: 'bench/net',
  num: 1,
  cidr: '10.78.0.0/16',
  gateway: '10.78.0.1',
  gatewayMac: '02:5d:be:00:00:01',
  dependsOn: [],
};

export interface Placed {
  view: InterfaceView;
  ns: NetNamespace;
}

export interface Pair {
  index: number;
  a: Placed;
  b: Placed;
}

export interface BenchHost {
  view: HostView;
  bridge: OvsBridge;
}

/** Interface k (1-based) gets 10.78.0.0 + 10 + k and a MAC derived from k. */
function addressOf(k: number): { ip: string; mac: string } {
  const n = 10 + k;
  const hex = (x: number) => x.toString(16).padStart(2, '0');
  return { ip: `10.78.${n >> 8}.${n & 0xff}`, mac: `02:5e:be:${hex((k >> 16) & 0xff)}:${hex((k >> 8) & 0xff)}:${hex(k & 0xff)}` };
}

/** Runs `work` over `items` with at most `limit` at a time, keeping the order of the results. */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await work(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

export class BenchFabric {
  readonly hosts = new Map<string, BenchHost>();
  readonly pairs: Pair[] = [];
  private fabric!: OvsBridge;

  constructor(
    private readonly tb: Testbed,
    private readonly controllerPort: number,
  ) {}

  /** The fabric switch and the two host bridges, each told where our controller listens. */
  async start(): Promise<void> {
    this.fabric = await this.tb.bridge({ failMode: FailMode.Standalone });
    // Datapath ids unique to this run, so no other engineer's bridge on this OVS shares one.
    const stem = (process.pid & 0xffff).toString(16).padStart(4, '0');
    for (const [i, name] of ['host-a', 'host-b'].entries()) {
      const dpid = `00000000be${stem}${(i + 1).toString(16).padStart(2, '0')}`;
      const bridge = await this.tb.bridge({ otherConfig: { 'datapath-id': dpid } });
      const uplink = await bridge.addVethPort();
      await this.fabric.addPort(uplink.peer);
      await run('ovs-vsctl', ['--timeout=10', '--', 'set', 'Bridge', bridge.name, 'controller=@c', '--', '--id=@c', 'create', 'Controller', `target="tcp:127.0.0.1:${this.controllerPort}"`, 'max_backoff=1000']);
      this.hosts.set(name, { view: { name, dpid, uplinkPort: uplink.bridgeEnd }, bridge });
    }
  }

  /** N namespace pairs, created `concurrency` at a time (each is a dozen ip/ovs-vsctl calls). */
  async placePairs(n: number, concurrency: number): Promise<void> {
    const net = BENCH_NETWORK;
    const prefix = net.cidr.split('/')[1]!;
    const place = async (host: string, k: number, id: string): Promise<Placed> => {
      const { ip, mac } = addressOf(k);
      const ns = await this.tb.namespace({ bridge: this.hosts.get(host)!.bridge, address: `${ip}/${prefix}`, mac, gateway: net.gateway });
      return { view: { id, num: k, networkId: net.id, host, portName: ns.hostIf, mac, ip }, ns };
    };
    const made = await inParallel(Array.from({ length: n }, (_, i) => i), concurrency, async (i) => ({
      index: i + 1,
      a: await place('host-a', 2 * i + 1, `${net.id}/a${i + 1}`),
      b: await place('host-b', 2 * i + 2, `${net.id}/b${i + 1}`),
    }));
    this.pairs.push(...made);
  }

  snapshot(): TopologySnapshot {
    return {
      revision: 1,
      networks: [BENCH_NETWORK],
      interfaces: this.pairs.flatMap((p) => [p.a.view, p.b.view]),
      hosts: [...this.hosts.values()].map((h) => h.view),
    };
  }
}
