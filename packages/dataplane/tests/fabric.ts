// A multi-host test fabric on the real Open vSwitch: every "host" is its own fail-secure bridge
// (netdev datapath) whose controller is ours, linked by an uplink veth to one standalone bridge
// that plays the L2 fabric switch. "Containers" are network namespaces on the host bridges.
import { FailMode, run, type NetNamespace, type OvsBridge, type Testbed } from '@sdmi/testbed';
import type { HostView, InterfaceView, NetworkView, TopologySnapshot } from '../src/index';

export interface FabricHost {
  view: HostView;
  bridge: OvsBridge;
}

export interface Placed {
  view: InterfaceView;
  ns: NetNamespace;
}

/** The Milestone-1 networks: lb → app → db (lb does not reach db). */
export const milestone1: NetworkView[] = [
  { id: 'acme/lb', num: 11, cidr: '10.61.1.0/24', gateway: '10.61.1.1', gatewayMac: '02:5d:00:00:00:0b', dependsOn: ['acme/app'] },
  { id: 'acme/app', num: 12, cidr: '10.61.2.0/24', gateway: '10.61.2.1', gatewayMac: '02:5d:00:00:00:0c', dependsOn: ['acme/db'] },
  { id: 'acme/db', num: 13, cidr: '10.61.3.0/24', gateway: '10.61.3.1', gatewayMac: '02:5d:00:00:00:0d', dependsOn: [] },
];

export class Fabric {
  readonly hosts = new Map<string, FabricHost>();
  readonly placed: Placed[] = [];
  revision = 1;
  private fabric!: OvsBridge;
  private nextIface = 1;

  constructor(
    private readonly tb: Testbed,
    private readonly controllerPort: number,
    readonly networks: NetworkView[],
  ) {}

  async start(): Promise<void> {
    this.fabric = await this.tb.bridge({ failMode: FailMode.Standalone });
  }

  /** A new host bridge, connected to the fabric and to our controller. */
  async addHost(name: string, index: number): Promise<FabricHost> {
    const dpid = `00000000005d${index.toString(16).padStart(4, '0')}`;
    const bridge = await this.tb.bridge({ otherConfig: { 'datapath-id': dpid } });
    const uplink = await bridge.addVethPort();
    await this.fabric.addPort(uplink.peer);
    // Reconnect quickly after a controller restart (OVS backs off up to 8 s by default).
    await run('ovs-vsctl', ['--timeout=10', '--', 'set', 'Bridge', bridge.name, 'controller=@c', '--', '--id=@c', 'create', 'Controller', `target="tcp:127.0.0.1:${this.controllerPort}"`, 'max_backoff=1000']);
    const host: FabricHost = { view: { name, dpid, uplinkPort: uplink.bridgeEnd }, bridge };
    this.hosts.set(name, host);
    return host;
  }

  /** A namespace on `host` with the next address of `network` (`.11`, `.12`, …). */
  async place(host: string, networkId: string): Promise<Placed> {
    const net = this.networks.find((n) => n.id === networkId)!;
    const num = this.nextIface++;
    const prefix = net.cidr.split('/')[1]!;
    const base = net.cidr.split('/')[0]!.split('.').slice(0, 3).join('.');
    const sameNet = this.placed.filter((p) => p.view.networkId === networkId).length;
    const ip = `${base}.${11 + sameNet}`;
    const mac = `02:5e:00:00:${(num >> 8).toString(16).padStart(2, '0')}:${(num & 0xff).toString(16).padStart(2, '0')}`;
    const ns = await this.tb.namespace({ bridge: this.hosts.get(host)!.bridge, address: `${ip}/${prefix}`, mac, gateway: net.gateway });
    const placed: Placed = { view: { id: `${networkId}/if${num}`, num, networkId, host, portName: ns.hostIf, mac, ip }, ns };
    this.placed.push(placed);
    return placed;
  }

  snapshot(): TopologySnapshot {
    return {
      revision: this.revision++,
      networks: this.networks,
      interfaces: this.placed.map((p) => p.view),
      hosts: [...this.hosts.values()].map((h) => h.view),
    };
  }
}

/** Whether a TCP connection from `from` to `ip:port` is accepted within `timeoutSec`. */
export async function tcpConnects(from: NetNamespace, ip: string, port: number, timeoutSec = 2): Promise<boolean> {
  const r = await from.tryExec(['timeout', String(timeoutSec), 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}; head -c 2 <&3`]);
  return r.exitCode === 0 && r.stdout.startsWith('ok');
}
