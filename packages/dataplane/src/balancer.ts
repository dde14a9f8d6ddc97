// Service addresses: a virtual IP per service per network, balanced connection by connection over
// the service's backends, the way OVN's load balancers do it on Open vSwitch:
//
//   table 1  a packet from a network allowed to reach the service's network, to the service
//            address, goes through the host's connection tracker with NAT (zone CT_ZONE). Packets
//            of a known connection come back translated to their backend and are forwarded as
//            traffic to that backend; a new connection goes to the service's select group, whose
//            bucket commits it with the backend's address and forwards it the same way.
//   table 3  on the host of the client, packets from the service's network pass the tracker once
//            more, which puts the service address back as the source of replies.
//
// The translation happens only on the client's host, so both directions of a connection meet the
// same tracker, whichever hosts the backends are on. Established connections keep their backend
// while the group changes: removing a backend from the group (draining) sends it no new
// connections and cuts none. Policy is not weakened: after translation the packet meets the same
// forwarding flows (and the same anti-spoofing) as a packet sent to the backend directly.
import type { Bucket, Instruction } from '@sdmi/openflow';
import { GroupType, Port } from '@sdmi/openflow';
import { cookie, FlowKind } from './cookies';
import { ctCommitDnat, ctRecirculate, NEW_CONNECTION, UNTRACKED } from './conntrack';
import type { ServiceView, Topology } from './model';
import { EtherType, ipv4ToNumber, numberToIpv4 } from './packet';
import { flow, METADATA_MASK, Priority, Tables, type FlowSpec, type HostPorts } from './pipeline';

/** The tracker zone of service connections: ours, and distinct from zone 0 that others use by default. */
export const CT_ZONE = 0x5d;

const ANY_GROUP = 0xffffffff;

/** A select group as the data plane wants it on a switch. */
export interface GroupSpec {
  groupId: number;
  groupType: number;
  buckets: Bucket[];
}

/** Networks with an addressed interface on this host (only their clients need a balancer here). */
function localNetworks(topo: Topology, hostName: string, ports: HostPorts): Set<string> {
  const out = new Set<string>();
  for (const i of topo.interfacesOn(hostName)) if (i.ip !== null && ports.byName.has(i.portName)) out.add(i.networkId);
  return out;
}

/** Services some local interface may reach, each with the local networks that reach it. */
function servedHere(topo: Topology, hostName: string, ports: HostPorts): { service: ServiceView; from: number[] }[] {
  const local = localNetworks(topo, hostName, ports);
  const out: { service: ServiceView; from: number[] }[] = [];
  for (const s of topo.services) {
    const from = topo.reachersOf(s.networkId).filter((n) => local.has(n.id)).map((n) => n.num);
    if (from.length > 0) out.push({ service: s, from });
  }
  return out;
}

/** Table 1 flows of the service addresses local clients may use. */
export function balancerFlows(topo: Topology, hostName: string, ports: HostPorts): FlowSpec[] {
  const flows: FlowSpec[] = [];
  for (const { service: s, from } of servedHere(topo, hostName, ports)) {
    const net = topo.network(s.networkId);
    const c = cookie(FlowKind.Service, net.num, s.num);
    for (const f of from) {
      const base = [
        { field: 'METADATA', value: BigInt(f), mask: METADATA_MASK },
        { field: 'ETH_TYPE', value: EtherType.IPv4 },
        { field: 'IPV4_DST', value: s.ip },
      ] as const;
      const group: Instruction[] = [{ type: 'APPLY_ACTIONS', actions: [{ type: 'GROUP', groupId: s.num }] }];
      flows.push(
        flow(Tables.Forward, Priority.Service, c, [...base, UNTRACKED], [{ type: 'APPLY_ACTIONS', actions: [ctRecirculate(CT_ZONE, Tables.Forward)] }]),
        flow(Tables.Forward, Priority.Service, c, [...base, NEW_CONNECTION], group),
        // Tracked but neither new nor translated (invalid): dropped here, not punted to the controller.
        flow(Tables.Forward, Priority.ServiceGuard, c, [...base], []),
      );
    }
  }
  return flows;
}

/**
 * Table 3 flows that undo the translation on replies to local clients: one per network holding a
 * service address, by the network's prefix rather than per backend, so that a backend taken out of
 * the service (draining) still has its established connections translated back.
 */
export function unNatFlows(topo: Topology, hostName: string, ports: HostPorts): FlowSpec[] {
  const flows = new Map<number, FlowSpec>();
  for (const { service: s } of servedHere(topo, hostName, ports)) {
    const net = topo.network(s.networkId);
    if (flows.has(net.num)) continue;
    const [address, prefix] = net.cidr.split('/') as [string, string];
    const mask = numberToIpv4(Number(prefix) === 0 ? 0 : (0xffff_ffff << (32 - Number(prefix))) >>> 0);
    flows.set(
      net.num,
      flow(Tables.Egress, Priority.Local, cookie(FlowKind.UnNat, net.num), [
        { field: 'ETH_TYPE', value: EtherType.IPv4 },
        { field: 'IPV4_SRC', value: address, mask },
        UNTRACKED,
      ], [{ type: 'APPLY_ACTIONS', actions: [ctRecirculate(CT_ZONE, Tables.Egress)] }]),
    );
  }
  return [...flows.values()].sort((a, b) => (a.cookie < b.cookie ? -1 : 1));
}

/** The select groups of the service addresses local clients may use: one bucket per backend. */
export function balancerGroups(topo: Topology, hostName: string, ports: HostPorts): GroupSpec[] {
  return servedHere(topo, hostName, ports).map(({ service: s }) => ({
    groupId: s.num,
    groupType: GroupType.SELECT,
    buckets: [...s.backends]
      .sort((a, b) => ipv4ToNumber(a.ip!) - ipv4ToNumber(b.ip!))
      .map((b) => ({ weight: 100, watchPort: Port.ANY, watchGroup: ANY_GROUP, actions: [ctCommitDnat(CT_ZONE, b.ip!, Tables.Forward)] })),
  }));
}
