// The controller's view of the desired network: networks, interfaces and hosts as the network store
// describes them (its snapshot), indexed for the flow computations. Immutable once built: a change
// in the store produces a new Topology, and flows are recomputed from it.
import { InvalidTopology } from './errors';
import { ipv4ToNumber } from './packet';

export interface NetworkView {
  id: string;
  /** Small unique number (1..65535), never reused: flow metadata and cookies carry it. */
  num: number;
  cidr: string;
  gateway: string;
  gatewayMac: string;
  /** Full ids of the networks this one may exchange traffic with. */
  dependsOn: readonly string[];
  parent?: string | null;
  vlan?: number | null;
  vni?: number | null;
}

export interface InterfaceView {
  id: string;
  /** Unique number per interface (1..2^32-1), never reused: cookies carry it. */
  num: number;
  networkId: string;
  /** Name of the host whose bridge the interface is a port of. */
  host: string;
  /** OVS port name of the host end of the interface. */
  portName: string;
  mac: string;
  ip: string | null;
}

export interface HostView {
  name: string;
  /** Datapath id of the host's bridge, 16 hex digits. */
  dpid: string;
  /** Name of the bridge's port into the shared L2 fabric; null when the host has none. */
  uplinkPort: string | null;
  /** The L2 fabric the uplink is in: hosts of the same domain talk without encapsulation. */
  l2Domain?: string;
  /** VXLAN tunnel endpoint: the tunnel port on the bridge (remote_ip=flow, key=flow) and its underlay address. */
  vtep?: { ip: string; port: string } | null;
}

/** A service's address on one network, as the store describes it. */
export interface ServiceAddressView {
  service: string;
  networkId: string;
  /** Unique among interface numbers: the OpenFlow group id of its balancer and its cookies' interface part. */
  num: number;
  ip: string;
  mac: string;
  /** Interface ids that take new connections. */
  backends: readonly string[];
}

/** A service address with its backends resolved to the interfaces that have an address. */
export interface ServiceView extends Omit<ServiceAddressView, 'backends'> {
  backends: readonly InterfaceView[];
}

/** How traffic between two hosts travels. */
export type HostPath = 'fabric' | 'vxlan' | 'none';

export interface TopologySnapshot {
  revision: number;
  networks: readonly NetworkView[];
  interfaces: readonly InterfaceView[];
  hosts: readonly HostView[];
  services?: readonly ServiceAddressView[];
}

function addressOf(text: string, what: string): number {
  try {
    return ipv4ToNumber(text);
  } catch {
    throw new InvalidTopology(`${what} "${text}" is not a dotted IPv4 address`);
  }
}

/** Networks, interfaces and hosts with the lookups the pipeline and the packet-in path need. */
export class Topology {
  readonly revision: number;
  readonly networks: ReadonlyMap<string, NetworkView>;
  readonly hosts: ReadonlyMap<string, HostView>;
  private readonly hostByDpid = new Map<string, HostView>();
  private readonly byIp = new Map<number, InterfaceView>();
  private readonly byHost = new Map<string, InterfaceView[]>();
  private readonly byGateway = new Map<number, NetworkView>();
  private readonly edges = new Set<string>();
  private readonly serviceByIp = new Map<number, ServiceView>();
  private readonly byId = new Map<string, InterfaceView>();
  /** Service addresses, by number. */
  readonly services: readonly ServiceView[];

  constructor(snapshot: TopologySnapshot) {
    this.revision = snapshot.revision;
    this.networks = new Map(snapshot.networks.map((n) => [n.id, n]));
    this.hosts = new Map(snapshot.hosts.map((h) => [h.name, h]));
    for (const h of snapshot.hosts) this.hostByDpid.set(h.dpid.toLowerCase(), h);
    const nums = new Map<number, string>();
    for (const n of snapshot.networks) {
      // The number is the network's identity in flow metadata (16 bits): a clash would merge two networks.
      if (!Number.isInteger(n.num) || n.num < 1 || n.num > 0xffff) throw new InvalidTopology(`network ${n.id} has number ${n.num}; network numbers are whole numbers from 1 to 65535`);
      const clash = nums.get(n.num);
      if (clash) throw new InvalidTopology(`networks ${clash} and ${n.id} both have number ${n.num}; each network needs its own`);
      nums.set(n.num, n.id);
      this.byGateway.set(addressOf(n.gateway, `network ${n.id} gateway`), n);
      for (const d of n.dependsOn) {
        if (!this.networks.has(d)) throw new InvalidTopology(`network ${n.id} depends on ${d}, which is not in the snapshot`);
        // Symmetric: replies need the reverse path, and OpenFlow 1.3 has no connection tracking.
        this.edges.add(`${n.id}\n${d}`).add(`${d}\n${n.id}`);
      }
    }
    for (const i of snapshot.interfaces) {
      if (!this.networks.has(i.networkId)) throw new InvalidTopology(`interface ${i.id} is on network ${i.networkId}, which is not in the snapshot`);
      if (i.ip !== null) {
        const n = addressOf(i.ip, `interface ${i.id} (network ${i.networkId}) address`);
        const other = this.byIp.get(n);
        if (other) throw new InvalidTopology(`interfaces ${other.id} and ${i.id} both hold ${i.ip}`);
        this.byIp.set(n, i);
      }
      const list = this.byHost.get(i.host) ?? [];
      list.push(i);
      this.byHost.set(i.host, list);
    }
    for (const i of snapshot.interfaces) this.byId.set(i.id, i);
    const services: ServiceView[] = [];
    for (const a of snapshot.services ?? []) {
      if (!this.networks.has(a.networkId)) throw new InvalidTopology(`service ${a.service} has an address on network ${a.networkId}, which is not in the snapshot`);
      if (!Number.isInteger(a.num) || a.num < 1 || a.num > 0xffff_ffff) throw new InvalidTopology(`service ${a.service} on ${a.networkId} has number ${a.num}; it must be a whole number from 1 to 2^32-1`);
      const n = addressOf(a.ip, `service ${a.service} (network ${a.networkId}) address`);
      const holder = this.byIp.get(n) ?? this.serviceByIp.get(n);
      if (holder) throw new InvalidTopology(`service ${a.service} on ${a.networkId} and ${'service' in holder ? `service ${holder.service}` : `interface ${holder.id}`} both hold ${a.ip}`);
      const backends: InterfaceView[] = [];
      for (const id of a.backends) {
        const i = this.byId.get(id);
        // The store only accepts addressed interfaces of the network; anything else is a bug upstream.
        if (!i || i.networkId !== a.networkId || i.ip === null) throw new InvalidTopology(`service ${a.service} on ${a.networkId} names backend ${id}, which is not an addressed interface of that network`);
        backends.push(i);
      }
      const view: ServiceView = { ...a, backends };
      this.serviceByIp.set(n, view);
      services.push(view);
    }
    this.services = services.sort((x, y) => x.num - y.num);
  }

  serviceWithIp(ip: number): ServiceView | undefined {
    return this.serviceByIp.get(ip);
  }

  interfaceWithId(id: string): InterfaceView | undefined {
    return this.byId.get(id);
  }

  /** Fabric when both hosts sit in one L2 domain with uplinks, else VXLAN when both have a VTEP. */
  pathBetween(a: string, b: string): HostPath {
    const x = this.hosts.get(a);
    const y = this.hosts.get(b);
    if (!x || !y) return 'none';
    if (x.uplinkPort && y.uplinkPort && (x.l2Domain ?? 'default') === (y.l2Domain ?? 'default')) return 'fabric';
    if (x.vtep && y.vtep) return 'vxlan';
    return 'none';
  }

  hostOfDpid(dpid: string): HostView | undefined {
    return this.hostByDpid.get(dpid.toLowerCase());
  }

  interfacesOn(host: string): readonly InterfaceView[] {
    return this.byHost.get(host) ?? [];
  }

  interfaceWithIp(ip: number): InterfaceView | undefined {
    return this.byIp.get(ip);
  }

  networkWithGateway(ip: number): NetworkView | undefined {
    return this.byGateway.get(ip);
  }

  network(id: string): NetworkView {
    const n = this.networks.get(id);
    if (!n) throw new InvalidTopology(`no network ${id}`);
    return n;
  }

  /** Exactly the declared edges (and a network with itself); never transitive. */
  reachable(fromNetwork: string, toNetwork: string): boolean {
    return fromNetwork === toNetwork || this.edges.has(`${fromNetwork}\n${toNetwork}`);
  }

  /** Networks whose interfaces may send to interfaces of `networkId`, itself first. */
  reachersOf(networkId: string): NetworkView[] {
    return [...this.networks.values()].filter((n) => this.reachable(n.id, networkId)).sort((a, b) => (a.id === networkId ? -1 : b.id === networkId ? 1 : a.num - b.num));
  }
}
