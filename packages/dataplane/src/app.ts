import { Group, GroupModCommand, GroupType, Port, Table, type FlowStats, type GroupDesc, type MessageOf } from '@sdmi/openflow';
import type { OpenFlowApp, Outgoing, SwitchConnection } from '@sdmi/openflow-controller';
import { balancerGroups, type GroupSpec } from './balancer';
import pino, { type Logger } from 'pino';
import { FlowKind, parseCookie } from './cookies';
import { addFlowMod, deleteFlowMod } from './flowmod';
import { InvalidTopology } from './errors';
import { Topology, type InterfaceView, type TopologySnapshot } from './model';
import { ArpOp, arpReply, icmpEchoReply, ipv4ToNumber, numberToIpv4, parseFrame, type Frame } from './packet';
import { denyFlow, pairFlows, proactiveFlows, tunnelPairFlows, type FlowSpec, type HostPorts, type Uplink } from './pipeline';
import { planGroups, planReconcile, sameFlow } from './reconcile';

const NO_BUFFER = 0xffffffff;

export interface DataplaneOptions {
  /** Seconds an inter-host pair flow lives without traffic (default 30). */
  pairIdleTimeout?: number;
  /** Seconds a refused destination is remembered without traffic (default 10) and at most (default 60). */
  denyIdleTimeout?: number;
  denyHardTimeout?: number;
  log?: Logger;
}

export interface ReconcileResult {
  host: string;
  added: number;
  removed: number;
  kept: number;
}

export interface FlowAudit {
  /** Desired flows the switch does not have (or has with other content). */
  missing: FlowSpec[];
  /** Flows on the switch that nobody wants: not desired, not a valid reactive flow. */
  unexpected: FlowStats[];
}

export interface DataplaneStats {
  packetIns: number;
  arpReplies: number;
  echoReplies: number;
  pairsInstalled: number;
  denied: number;
  reconciles: number;
}

type Ipv4Frame = Extract<Frame, { kind: 'ipv4' }>;

/** Whether an interface's flows are on its host's bridge, and why not. */
export interface InterfaceFlows {
  interfaceId: string;
  host?: string;
  installed: boolean;
  reason?: string;
}

/** A pair's flows, or which side's piece (uplink, tunnel port) is not known yet, or no path at all. */
type PairComputation = { flows: { out: FlowSpec; in: FlowSpec } } | { missing: string[] } | { noPath: true };

function field<T>(match: FlowStats['match'], name: string): T | undefined {
  const f = match.find((m) => m.field === name);
  return f && 'value' in f ? (f.value as T) : undefined;
}

function portsOf(sw: SwitchConnection): HostPorts {
  const byName = new Map<string, number>();
  for (const p of sw.ports.values()) if (p.portNo <= Port.MAX) byName.set(p.name, p.portNo);
  return { byName };
}

/**
 * The network-controller's OpenFlow application. It keeps every known host bridge equal to the
 * flows the topology asks for (reconciling on connect, on port changes and on every topology
 * update), answers ARP itself, and sets up inter-host routes on their first packet.
 */
export class DataplaneApp implements OpenFlowApp {
  readonly name = 'dataplane';
  readonly stats: DataplaneStats = { packetIns: 0, arpReplies: 0, echoReplies: 0, pairsInstalled: 0, denied: 0, reconciles: 0 };
  #topo: Topology;
  readonly #byDpid = new Map<string, SwitchConnection>();
  /** Last known uplink and tunnel port per host: they outlive a disconnect, since the host keeps forwarding. */
  readonly #uplinks = new Map<string, Uplink>();
  readonly #tunnels = new Map<string, number>();
  readonly #chains = new Map<string, Promise<unknown>>();
  readonly #inflight = new Map<string, Promise<void>>();
  /** Per host, the topology and the port names its bridge was last brought to. */
  readonly #applied = new Map<string, { topo: Topology; ports: ReadonlySet<string> }>();
  readonly #log: Logger;
  readonly #pairIdle: number;
  readonly #deny: { idle: number; hard: number };

  constructor(snapshot: TopologySnapshot, opts: DataplaneOptions = {}) {
    this.#topo = new Topology(snapshot);
    this.#log = (opts.log ?? pino({ level: 'silent' })).child({ app: 'dataplane' });
    this.#pairIdle = opts.pairIdleTimeout ?? 30;
    this.#deny = { idle: opts.denyIdleTimeout ?? 10, hard: opts.denyHardTimeout ?? 60 };
  }

  get topology(): Topology {
    return this.#topo;
  }

  /** Adopts a new topology and brings every connected host to it. Throws InvalidTopology and keeps the old one if the snapshot is inconsistent. */
  async update(snapshot: TopologySnapshot): Promise<ReconcileResult[]> {
    this.#topo = new Topology(snapshot);
    return Promise.all(this.#connectedHosts().map((h) => this.reconcile(h)));
  }

  /** The proactive flows a connected host should hold now. */
  desiredFlows(host: string): FlowSpec[] {
    const sw = this.#switchOf(host);
    return proactiveFlows(this.#topo, host, sw ? portsOf(sw) : { byName: new Map() });
  }

  /** The select groups of the service addresses a connected host's clients may use. */
  desiredGroups(host: string): GroupSpec[] {
    const sw = this.#switchOf(host);
    return balancerGroups(this.#topo, host, sw ? portsOf(sw) : { byName: new Map() });
  }

  /** Brings one host's bridge to the desired flows; serialised per host. */
  reconcile(host: string): Promise<ReconcileResult> {
    const prev = this.#chains.get(host) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.#reconcileNow(host));
    this.#chains.set(host, next);
    return next.then(async ({ uplinkChanged, ...result }) => {
      // Other hosts' pair flows towards this one could not be judged while its uplink was unknown.
      if (uplinkChanged) await Promise.all(this.#connectedHosts().filter((h) => h !== host).map((h) => this.reconcile(h)));
      return result;
    });
  }

  /**
   * Whether an interface's proactive flows are on its bridge: the bridge's last reconcile was to a
   * topology holding this interface (the same one: same number) with its port on the bridge.
   */
  interfaceFlows(interfaceId: string): InterfaceFlows {
    const i = this.#topo.interfaceWithId(interfaceId);
    if (!i) return { interfaceId, installed: false, reason: `interface ${interfaceId} is not attached (or the controller has not seen the change yet)` };
    const host = i.host;
    if (!this.#switchOf(host)) return { interfaceId, host, installed: false, reason: `the bridge of host ${host} is not connected to the controller` };
    const applied = this.#applied.get(host);
    const there = applied?.topo.interfaceWithId(interfaceId);
    if (!applied || !there || there.num !== i.num || there.host !== host) return { interfaceId, host, installed: false, reason: `the bridge of host ${host} has not been brought to revision ${this.#topo.revision} yet` };
    if (!applied.ports.has(i.portName)) return { interfaceId, host, installed: false, reason: `port ${i.portName} is not on the bridge of host ${host} yet` };
    return { interfaceId, host, installed: true };
  }

  /** Compares a host's flows with the desired ones without changing anything. */
  async audit(host: string): Promise<FlowAudit> {
    const sw = this.#switchOf(host);
    if (!sw) throw new InvalidTopology(`host ${host} has no connected bridge`);
    const ports = portsOf(sw);
    const plan = planReconcile(proactiveFlows(this.#topo, host, ports), await this.#dump(sw), (f) => this.#stillValid(host, f, ports));
    return { missing: plan.add, unexpected: plan.remove };
  }

  // --- OpenFlowApp hooks ------------------------------------------------------------------

  async onSwitchUp(sw: SwitchConnection): Promise<void> {
    this.#byDpid.set(sw.dpid, sw);
    const host = this.#topo.hostOfDpid(sw.dpid);
    if (!host) {
      // Fail-secure bridge we have no host record for: it forwards nothing until one appears.
      this.#log.warn({ dpid: sw.dpid }, 'bridge of an unknown host connected; leaving it without flows');
      return;
    }
    await this.reconcile(host.name);
  }

  onSwitchDown(sw: SwitchConnection): void {
    if (this.#byDpid.get(sw.dpid) === sw) this.#byDpid.delete(sw.dpid);
  }

  async onPortStatus(sw: SwitchConnection): Promise<void> {
    const host = this.#topo.hostOfDpid(sw.dpid);
    if (!host || this.#byDpid.get(sw.dpid) !== sw) return;
    await this.reconcile(host.name);
  }

  async onPacketIn(sw: SwitchConnection, msg: MessageOf<'PACKET_IN'>): Promise<void> {
    this.stats.packetIns++;
    const host = this.#topo.hostOfDpid(sw.dpid);
    const inPort = field<number>(msg.match, 'IN_PORT');
    if (!host || inPort === undefined) return;
    let frame: Frame;
    try {
      frame = parseFrame(msg.data);
    } catch (err) {
      this.#log.debug({ err, dpid: sw.dpid }, 'undecodable packet-in');
      return;
    }
    if (frame.kind === 'arp') return this.#answerArp(sw, host.name, inPort, frame);
    if (frame.kind !== 'ipv4') return;
    if (inPort === this.#uplinks.get(host.name)?.ofport || inPort === this.#tunnels.get(host.name)) return this.#fromFabric(sw, host.name, inPort, frame, msg.data);
    return this.#route(sw, host.name, inPort, frame, msg.data);
  }

  // --- internals --------------------------------------------------------------------------

  #connectedHosts(): string[] {
    return [...this.#byDpid.keys()].map((d) => this.#topo.hostOfDpid(d)?.name).filter((h): h is string => h !== undefined);
  }

  #switchOf(host: string): SwitchConnection | undefined {
    const h = this.#topo.hosts.get(host);
    const sw = h ? this.#byDpid.get(h.dpid.toLowerCase()) : undefined;
    return sw?.state === 'ready' ? sw : undefined;
  }

  /** Records the host's uplink and tunnel port from its port list; true when either is new or changed. */
  #notePorts(host: string, sw: SwitchConnection): boolean {
    const view = this.#topo.hosts.get(host);
    const ports = [...sw.ports.values()];
    let changed = false;
    const uplink = view?.uplinkPort ? ports.find((p) => p.name === view.uplinkPort) : undefined;
    const before = this.#uplinks.get(host);
    if (uplink && (before?.ofport !== uplink.portNo || before.mac !== uplink.hwAddr)) {
      this.#uplinks.set(host, { ofport: uplink.portNo, mac: uplink.hwAddr });
      changed = true;
    }
    const tunnel = view?.vtep ? ports.find((p) => p.name === view.vtep!.port) : undefined;
    if (tunnel && this.#tunnels.get(host) !== tunnel.portNo) {
      this.#tunnels.set(host, tunnel.portNo);
      changed = true;
    }
    return changed;
  }

  /** The pair's flows for the path the topology gives its hosts, from what is known of their ports. */
  #pair(src: InterfaceView, dst: InterfaceView, dstPort: number): PairComputation {
    const topo = this.#topo;
    const t = { idle: this.#pairIdle };
    switch (topo.pathBetween(src.host, dst.host)) {
      case 'fabric': {
        const a = this.#uplinks.get(src.host);
        const b = this.#uplinks.get(dst.host);
        if (!a || !b) return { missing: [...(a ? [] : [src.host]), ...(b ? [] : [dst.host])] };
        return { flows: pairFlows(topo, src, dst, a, b, dstPort, t) };
      }
      case 'vxlan': {
        const a = this.#tunnels.get(src.host);
        const b = this.#tunnels.get(dst.host);
        if (a === undefined || b === undefined) return { missing: [...(a === undefined ? [src.host] : []), ...(b === undefined ? [dst.host] : [])] };
        const ipOf = (h: string) => topo.hosts.get(h)!.vtep!.ip;
        return { flows: tunnelPairFlows(topo, src, dst, { ofport: a, ip: ipOf(src.host) }, { ofport: b, ip: ipOf(dst.host) }, dstPort, t) };
      }
      default:
        return { noPath: true };
    }
  }


  async #dump(sw: SwitchConnection): Promise<FlowStats[]> {
    const bodies = await sw.multipart({ kind: 'FLOW', tableId: Table.ALL, outPort: Port.ANY, outGroup: Group.ANY, cookie: 0n, cookieMask: 0n, match: [] });
    return bodies.flatMap((b) => (b.kind === 'FLOW' ? b.stats : []));
  }

  async #dumpGroups(sw: SwitchConnection): Promise<GroupDesc[]> {
    const bodies = await sw.multipart({ kind: 'GROUP_DESC' });
    return bodies.flatMap((b) => (b.kind === 'GROUP_DESC' ? b.groups : []));
  }

  async #reconcileNow(host: string): Promise<ReconcileResult & { uplinkChanged: boolean }> {
    const sw = this.#switchOf(host);
    if (!sw) return { host, added: 0, removed: 0, kept: 0, uplinkChanged: false };
    const uplinkChanged = this.#notePorts(host, sw);
    const ports = portsOf(sw);
    const topo = this.#topo;
    const groups = planGroups(balancerGroups(topo, host, ports), await this.#dumpGroups(sw));
    const groupMod = (command: number, g: Pick<GroupSpec, 'groupId'> & Partial<GroupSpec>): Outgoing => ({
      type: 'GROUP_MOD', command, groupType: g.groupType ?? GroupType.SELECT, groupId: g.groupId, buckets: g.buckets ?? [],
    });
    // Groups first: a flow naming a group the switch does not have is refused.
    const before = [...groups.add.map((g) => groupMod(GroupModCommand.ADD, g)), ...groups.modify.map((g) => groupMod(GroupModCommand.MODIFY, g))];
    if (before.length > 0) await sw.barrier(before);
    const plan = planReconcile(proactiveFlows(topo, host, ports), await this.#dump(sw), (f) => this.#stillValid(host, f, ports));
    const msgs = [...plan.remove.map(deleteFlowMod), ...plan.add.map(addFlowMod)];
    // One bundle: the switch moves from the old set to the new one at once, never through a gap.
    if (msgs.length > 0) await sw.bundle(msgs);
    // Unused groups last, once no flow names them.
    if (groups.remove.length > 0) await sw.barrier(groups.remove.map((groupId) => groupMod(GroupModCommand.DELETE, { groupId })));
    this.#applied.set(host, { topo, ports: new Set(ports.byName.keys()) });
    this.stats.reconciles++;
    this.#log.info({ host, added: plan.add.length, removed: plan.remove.length, kept: plan.kept, groups: { added: groups.add.length, modified: groups.modify.length, removed: groups.remove.length }, revision: this.#topo.revision }, 'bridge reconciled');
    return { host, added: plan.add.length, removed: plan.remove.length, kept: plan.kept, uplinkChanged };
  }

  /** Whether a reactive flow found on a host is still exactly what the topology would install. */
  #stillValid(host: string, f: FlowStats, ports: HostPorts): boolean {
    const parts = parseCookie(f.cookie);
    if (!parts) return false;
    const topo = this.#topo;
    const ipOf = (name: string) => {
      const v = field<string>(f.match, name);
      return v === undefined ? undefined : topo.interfaceWithIp(ipv4ToNumber(v));
    };
    switch (parts.kind) {
      case FlowKind.PairOut:
      case FlowKind.PairIn: {
        const src = ipOf('IPV4_SRC');
        const dst = ipOf('IPV4_DST');
        const out = parts.kind === FlowKind.PairOut;
        if (!src || !dst || src.host === dst.host || (out ? src.host : dst.host) !== host || !topo.reachable(src.networkId, dst.networkId)) return false;
        const port = out ? 0 : ports.byName.get(dst.portName);
        if (port === undefined) return false;
        const c = this.#pair(src, dst, port);
        if ('noPath' in c) return false;
        // The far side's port is unknown until its bridge connects: keep the flow rather than cut traffic.
        if ('missing' in c) return !c.missing.includes(host);
        return sameFlow(out ? c.flows.out : c.flows.in, f);
      }
      case FlowKind.Deny: {
        const net = [...topo.networks.values()].find((n) => n.num === parts.network);
        const dstIp = field<string>(f.match, 'IPV4_DST');
        if (!net || dstIp === undefined) return false;
        const dst = topo.interfaceWithIp(ipv4ToNumber(dstIp)) ?? topo.serviceWithIp(ipv4ToNumber(dstIp));
        if (dst && topo.reachable(net.id, dst.networkId)) return false;
        return sameFlow(denyFlow(net, dstIp, this.#deny), f);
      }
      default:
        return false;
    }
  }

  #interfaceAt(host: string, ofport: number): InterfaceView | undefined {
    const sw = this.#switchOf(host);
    const name = sw?.ports.get(ofport)?.name;
    return name === undefined ? undefined : this.#topo.interfacesOn(host).find((i) => i.portName === name);
  }

  #answerArp(sw: SwitchConnection, host: string, inPort: number, frame: Extract<Frame, { kind: 'arp' }>): void {
    if (frame.arp.op !== ArpOp.Request) return;
    const src = this.#interfaceAt(host, inPort);
    if (!src || src.ip === null || ipv4ToNumber(src.ip) !== frame.arp.senderIp) return;
    const topo = this.#topo;
    const net = topo.network(src.networkId);
    let mac: string | undefined;
    const service = topo.serviceWithIp(frame.arp.targetIp);
    if (frame.arp.targetIp === ipv4ToNumber(net.gateway)) mac = net.gatewayMac;
    else if (service) {
      if (topo.reachable(src.networkId, service.networkId)) mac = service.networkId === src.networkId ? service.mac : net.gatewayMac;
    } else {
      const target = topo.interfaceWithIp(frame.arp.targetIp);
      // Only addresses the asker may reach get an answer; another network's address that sits in
      // the asker's on-link range (a nested network) is answered with the gateway, so it is routed.
      if (target && target.id !== src.id && topo.reachable(src.networkId, target.networkId)) {
        mac = target.networkId === src.networkId ? target.mac : net.gatewayMac;
      }
    }
    if (!mac) return;
    this.stats.arpReplies++;
    sw.send({ type: 'PACKET_OUT', bufferId: NO_BUFFER, inPort: Port.CONTROLLER, actions: [{ type: 'OUTPUT', port: inPort, maxLen: 0 }], data: arpReply(frame.arp, mac) });
  }

  /** First packet from a local interface to a destination without a flow yet. */
  async #route(sw: SwitchConnection, host: string, inPort: number, frame: Ipv4Frame, data: Buffer): Promise<void> {
    const topo = this.#topo;
    const src = this.#interfaceAt(host, inPort);
    if (!src || src.ip === null || ipv4ToNumber(src.ip) !== frame.ip.src) return;
    const srcNet = topo.network(src.networkId);
    // The own gateway answers ping, as a router would: the first thing an operator tries.
    if (frame.ip.dst === ipv4ToNumber(srcNet.gateway)) {
      const reply = frame.ip.protocol === 1 ? icmpEchoReply(data, srcNet.gatewayMac) : undefined;
      if (reply) {
        this.stats.echoReplies++;
        sw.send({ type: 'PACKET_OUT', bufferId: NO_BUFFER, inPort: Port.CONTROLLER, actions: [{ type: 'OUTPUT', port: inPort, maxLen: 0 }], data: reply });
      }
      return;
    }
    const dst = topo.interfaceWithIp(frame.ip.dst);
    if (!dst || !topo.reachable(src.networkId, dst.networkId)) {
      this.stats.denied++;
      await sw.barrier([addFlowMod(denyFlow(srcNet, numberToIpv4(frame.ip.dst), this.#deny))]);
      return;
    }
    // A local destination is served by the proactive flows; its port may not be up yet.
    if (dst.host === host) return;
    const dstSw = this.#switchOf(dst.host);
    const dstPort = dstSw ? portsOf(dstSw).byName.get(dst.portName) : undefined;
    const c = dstSw && dstPort !== undefined ? this.#pair(src, dst, dstPort) : undefined;
    if (!dstSw || !c || !('flows' in c)) {
      this.#log.debug({ src: src.id, dst: dst.id, why: c ?? 'destination bridge or port not connected' }, 'no route yet');
      return;
    }
    const key = `${src.ip}>${dst.ip}`;
    let pending = this.#inflight.get(key);
    if (!pending) {
      const pair = c.flows;
      // Destination half first: when the source starts sending, the far end already delivers.
      pending = dstSw
        .barrier([addFlowMod(pair.in)])
        .then(() => sw.barrier([addFlowMod(pair.out)]))
        .then(() => void this.stats.pairsInstalled++)
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    await pending;
    // The packet itself goes through the pipeline again, now that the flow is there.
    sw.send({ type: 'PACKET_OUT', bufferId: NO_BUFFER, inPort, actions: [{ type: 'OUTPUT', port: Port.TABLE, maxLen: 0 }], data });
  }

  /** A packet from the fabric whose destination half is missing (timed out alone, or lost with a restart). */
  async #fromFabric(sw: SwitchConnection, host: string, inPort: number, frame: Ipv4Frame, data: Buffer): Promise<void> {
    const topo = this.#topo;
    const src = topo.interfaceWithIp(frame.ip.src);
    const dst = topo.interfaceWithIp(frame.ip.dst);
    if (!src || !dst || dst.host !== host || src.host === host || !topo.reachable(src.networkId, dst.networkId)) return;
    const dstPort = portsOf(sw).byName.get(dst.portName);
    if (dstPort === undefined) return;
    const c = this.#pair(src, dst, dstPort);
    if (!('flows' in c)) return;
    // Over the fabric the sender's host is known by its uplink MAC: a packet claiming another host's source is not let in.
    if (topo.pathBetween(src.host, host) === 'fabric' && this.#uplinks.get(src.host)?.mac !== frame.ethSrc) return;
    await sw.barrier([addFlowMod(c.flows.in)]);
    sw.send({ type: 'PACKET_OUT', bufferId: NO_BUFFER, inPort, actions: [{ type: 'OUTPUT', port: Port.TABLE, maxLen: 0 }], data });
  }
}
