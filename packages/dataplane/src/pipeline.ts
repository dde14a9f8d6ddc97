// The flows a host bridge should hold, computed from the topology alone (no sockets, no clock):
//
//   table 0  classify   admit each local interface's own MAC+IP (anti-spoofing): ARP to the
//                       controller, IPv4 tagged with its network in metadata → table 1; IPv4 from
//                       the uplink → table 2; everything else is dropped.
//   table 1  forward    to local interfaces, for every network allowed to reach them (proactive);
//                       to other hosts, one flow per (source IP, destination IP) installed on the
//                       first packet (reactive, idle timeout); a miss goes to the controller.
//   table 2  fabric in  from the uplink to a local interface, per pair (reactive); a miss goes to
//                       the controller, which reinstalls a pair's half that timed out or was lost.
//   table 3  egress     every delivery to a local interface ends here: out by destination MAC, after
//                       connection tracking undoes a service address's translation on replies.
//
// Service addresses (balancer.ts) live in table 1: a new connection to one is translated to a
// backend chosen by a select group, in the client's host's connection tracker; the rest of the
// pipeline then treats it as traffic to that backend, under the same policy.
//
// Traffic between hosts keeps its IP header and travels with the hosts' uplink MACs (DaoliNet
// style: no encapsulation, hosts never learn each other's containers; the fabric learns only host
// MACs). The destination host restores the MACs the receiver expects.
import type { Action, Instruction, Match } from '@sdmi/openflow';
import { balancerFlows, unNatFlows } from './balancer';
import { cookie, FlowKind } from './cookies';
import type { InterfaceView, NetworkView, Topology } from './model';
import { EtherType } from './packet';

export const Tables = { Classify: 0, Forward: 1, FabricIn: 2, Egress: 3 } as const;

export const Priority = { Miss: 0, Admit: 100, Deny: 150, Local: 200, ServiceGuard: 250, Service: 260, Pair: 300 } as const;

const CONTROLLER = 0xfffffffd;
const NO_BUFFER_LEN = 0xffff;
export const METADATA_MASK = 0xffffn;

/** A flow as the data plane wants it on a switch: FLOW_MOD ADD fields without the plumbing. */
export interface FlowSpec {
  tableId: number;
  priority: number;
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  match: Match;
  instructions: Instruction[];
}

/** What the data plane knows about a connected host bridge's ports. */
export interface HostPorts {
  /** OpenFlow port number by OVS port name. */
  byName: ReadonlyMap<string, number>;
}

/** A host's side of the fabric: its uplink port number and the MAC its traffic carries. */
export interface Uplink {
  ofport: number;
  mac: string;
}

/** A host's VXLAN side: its tunnel port number and its underlay address. */
export interface Tunnel {
  ofport: number;
  ip: string;
}

export interface PairTimeouts {
  /** Seconds a pair flow lives without traffic. */
  idle: number;
}

const toController = (): Instruction[] => [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: CONTROLLER, maxLen: NO_BUFFER_LEN }] }];
export const output = (port: number): Action => ({ type: 'OUTPUT', port, maxLen: 0 });
const setEthSrc = (mac: string): Action => ({ type: 'SET_FIELD', field: { field: 'ETH_SRC', value: mac } });
const setEthDst = (mac: string): Action => ({ type: 'SET_FIELD', field: { field: 'ETH_DST', value: mac } });

export function flow(tableId: number, priority: number, c: bigint, match: Match, instructions: Instruction[], idleTimeout = 0, hardTimeout = 0): FlowSpec {
  return { tableId, priority, cookie: c, idleTimeout, hardTimeout, match, instructions };
}

/** Hands a packet, addressed to its receiver, to the egress table. */
export function toEgress(actions: Action[]): Instruction[] {
  return [...(actions.length ? [{ type: 'APPLY_ACTIONS', actions } as const] : []), { type: 'GOTO_TABLE', tableId: Tables.Egress }];
}

/** Delivery to a local interface for a packet from network `from`. */
function deliver(dst: InterfaceView, dstNet: NetworkView, fromNetwork: string): Instruction[] {
  if (fromNetwork === dstNet.id) return toEgress([setEthDst(dst.mac)]);
  // Routed: the packet arrives as if from the destination network's gateway, one hop later.
  return toEgress([setEthSrc(dstNet.gatewayMac), setEthDst(dst.mac), { type: 'DEC_NW_TTL' }]);
}

/**
 * The proactive flows of one host: table defaults, anti-spoofing admission for each local interface
 * whose port exists on the bridge, local delivery, and fabric admission on the uplink.
 */
export function proactiveFlows(topo: Topology, hostName: string, ports: HostPorts): FlowSpec[] {
  const host = topo.hosts.get(hostName);
  const flows: FlowSpec[] = [
    flow(Tables.Classify, Priority.Miss, cookie(FlowKind.Base), [], []),
    flow(Tables.Forward, Priority.Miss, cookie(FlowKind.Base), [], toController()),
    flow(Tables.FabricIn, Priority.Miss, cookie(FlowKind.Base), [], toController()),
    flow(Tables.Egress, Priority.Miss, cookie(FlowKind.Base), [], []),
  ];
  const uplink = host?.uplinkPort ? ports.byName.get(host.uplinkPort) : undefined;
  const tunnel = host?.vtep ? ports.byName.get(host.vtep.port) : undefined;
  if (tunnel !== undefined) {
    flows.push(
      flow(Tables.Classify, Priority.Admit, cookie(FlowKind.Tunnel), [{ field: 'IN_PORT', value: tunnel }, { field: 'ETH_TYPE', value: EtherType.IPv4 }], [
        { type: 'GOTO_TABLE', tableId: Tables.FabricIn },
      ]),
    );
  }
  if (uplink !== undefined) {
    flows.push(
      flow(Tables.Classify, Priority.Admit, cookie(FlowKind.Uplink), [{ field: 'IN_PORT', value: uplink }, { field: 'ETH_TYPE', value: EtherType.IPv4 }], [
        { type: 'GOTO_TABLE', tableId: Tables.FabricIn },
      ]),
    );
  }
  for (const i of topo.interfacesOn(hostName)) {
    const port = ports.byName.get(i.portName);
    // An interface without an address (IP policy "none") has no L3 service from us.
    if (port === undefined || i.ip === null) continue;
    const net = topo.network(i.networkId);
    const admit = cookie(FlowKind.Admit, net.num, i.num);
    flows.push(
      flow(Tables.Classify, Priority.Admit, admit, [
        { field: 'IN_PORT', value: port },
        { field: 'ETH_SRC', value: i.mac },
        { field: 'ETH_TYPE', value: EtherType.ARP },
        { field: 'ARP_SPA', value: i.ip },
        { field: 'ARP_SHA', value: i.mac },
      ], toController()),
      flow(Tables.Classify, Priority.Admit, admit, [
        { field: 'IN_PORT', value: port },
        { field: 'ETH_SRC', value: i.mac },
        { field: 'ETH_TYPE', value: EtherType.IPv4 },
        { field: 'IPV4_SRC', value: i.ip },
      ], [
        { type: 'WRITE_METADATA', metadata: BigInt(net.num), metadataMask: METADATA_MASK },
        { type: 'GOTO_TABLE', tableId: Tables.Forward },
      ]),
    );
    for (const from of topo.reachersOf(net.id)) {
      flows.push(
        flow(Tables.Forward, Priority.Local, cookie(FlowKind.Local, net.num, i.num), [
          { field: 'METADATA', value: BigInt(from.num), mask: METADATA_MASK },
          { field: 'ETH_TYPE', value: EtherType.IPv4 },
          { field: 'IPV4_DST', value: i.ip },
        ], deliver(i, net, from.id)),
      );
    }
    flows.push(flow(Tables.Egress, Priority.Admit, cookie(FlowKind.Egress, net.num, i.num), [{ field: 'ETH_DST', value: i.mac }], [{ type: 'APPLY_ACTIONS', actions: [output(port)] }]));
  }
  flows.push(...balancerFlows(topo, hostName, ports), ...unNatFlows(topo, hostName, ports));
  return flows;
}

/** What the source half of a pair matches: the sender's network and the pair's two addresses. */
function outMatch(srcNet: NetworkView, src: InterfaceView, dst: InterfaceView): Match {
  return [
    { field: 'METADATA', value: BigInt(srcNet.num), mask: METADATA_MASK },
    { field: 'ETH_TYPE', value: EtherType.IPv4 },
    { field: 'IPV4_SRC', value: src.ip! },
    { field: 'IPV4_DST', value: dst.ip! },
  ];
}

/**
 * The two halves of the route from `src` (on its host) to `dst` on another host: the source
 * host's flow towards the destination host's uplink MAC, and the destination host's flow from
 * its uplink to the interface. Both carry the destination interface in their cookie.
 */
export function pairFlows(
  topo: Topology,
  src: InterfaceView,
  dst: InterfaceView,
  srcUplink: Uplink,
  dstUplink: Uplink,
  dstPort: number,
  t: PairTimeouts,
): { out: FlowSpec; in: FlowSpec } {
  const srcNet = topo.network(src.networkId);
  const dstNet = topo.network(dst.networkId);
  const routed = srcNet.id !== dstNet.id;
  const c = (kind: FlowKind) => cookie(kind, dstNet.num, dst.num);
  const out = flow(Tables.Forward, Priority.Pair, c(FlowKind.PairOut), outMatch(srcNet, src, dst), [{ type: 'APPLY_ACTIONS', actions: [setEthSrc(srcUplink.mac), setEthDst(dstUplink.mac), ...(routed ? [{ type: 'DEC_NW_TTL' } as const] : []), output(srcUplink.ofport)] }], t.idle);
  const inbound = flow(Tables.FabricIn, Priority.Pair, c(FlowKind.PairIn), [
    { field: 'IN_PORT', value: dstUplink.ofport },
    { field: 'ETH_SRC', value: srcUplink.mac },
    { field: 'ETH_TYPE', value: EtherType.IPv4 },
    { field: 'IPV4_SRC', value: src.ip! },
    { field: 'IPV4_DST', value: dst.ip! },
  ], toEgress([setEthSrc(routed ? dstNet.gatewayMac : src.mac), setEthDst(dst.mac)]), t.idle);
  return { out, in: inbound };
}

// Nicira extension NXM_NX_TUN_IPV4_DST (class 0x0001, field 32): OpenFlow 1.3 has no OXM for the
// tunnel destination, and with remote_ip=flow the flow must name it.
const setTunnelDst = (ip: string): Action => ({
  type: 'SET_FIELD',
  field: { field: 'RAW', oxmClass: 0x0001, oxmField: 32, hasMask: false, payload: Buffer.from(ip.split('.').map(Number)) },
});

/** The VNI of the destination network on the wire: its assigned VNI, else its number. */
export function vniOf(net: NetworkView): bigint {
  return BigInt(net.vni ?? net.num);
}

/**
 * The two halves of a route over VXLAN, for hosts that share no L2 fabric: the source host sets the
 * MACs the receiver expects, the VNI of the destination network and the destination VTEP, and
 * sends through its tunnel port; the destination host takes the pair off its tunnel port by VNI and
 * addresses and hands it to the interface.
 */
export function tunnelPairFlows(
  topo: Topology,
  src: InterfaceView,
  dst: InterfaceView,
  srcTunnel: Tunnel,
  dstTunnel: Tunnel,
  dstPort: number,
  t: PairTimeouts,
): { out: FlowSpec; in: FlowSpec } {
  const srcNet = topo.network(src.networkId);
  const dstNet = topo.network(dst.networkId);
  const routed = srcNet.id !== dstNet.id;
  const vni = vniOf(dstNet);
  const c = (kind: FlowKind) => cookie(kind, dstNet.num, dst.num);
  const out = flow(Tables.Forward, Priority.Pair, c(FlowKind.PairOut), outMatch(srcNet, src, dst), [{ type: 'APPLY_ACTIONS', actions: [
    setEthSrc(routed ? dstNet.gatewayMac : src.mac), setEthDst(dst.mac), ...(routed ? [{ type: 'DEC_NW_TTL' } as const] : []),
    { type: 'SET_FIELD', field: { field: 'TUNNEL_ID', value: vni } }, setTunnelDst(dstTunnel.ip), output(srcTunnel.ofport),
  ] }], t.idle);
  const inbound = flow(Tables.FabricIn, Priority.Pair, c(FlowKind.PairIn), [
    { field: 'IN_PORT', value: dstTunnel.ofport },
    { field: 'TUNNEL_ID', value: vni },
    { field: 'ETH_TYPE', value: EtherType.IPv4 },
    { field: 'IPV4_SRC', value: src.ip! },
    { field: 'IPV4_DST', value: dst.ip! },
  ], toEgress([]), t.idle);
  return { out, in: inbound };
}

/** Remembers a refused destination for a network so that its packets stop reaching the controller. */
export function denyFlow(srcNetwork: NetworkView, dstIp: string, t: { idle: number; hard: number }): FlowSpec {
  return flow(Tables.Forward, Priority.Deny, cookie(FlowKind.Deny, srcNetwork.num), [
    { field: 'METADATA', value: BigInt(srcNetwork.num), mask: METADATA_MASK },
    { field: 'ETH_TYPE', value: EtherType.IPv4 },
    { field: 'IPV4_DST', value: dstIp },
  ], [], t.idle, t.hard);
}
