// @sdmi/dataplane — the SDN data plane of the network-controller: desired flows per host bridge,
// reactive inter-host routes, ARP, and reconciliation of switches to the desired flows.
export { DataplaneApp } from './app';
export type { DataplaneOptions, DataplaneStats, FlowAudit, InterfaceFlows, ReconcileResult } from './app';
export { COOKIE_TAG, FlowKind, cookie, parseCookie } from './cookies';
export type { CookieParts } from './cookies';
export { InvalidTopology, MalformedPacket } from './errors';
export type { DataplaneErrorInfo } from './errors';
export { addFlowMod, deleteFlowMod } from './flowmod';
export { Topology } from './model';
export type { HostPath, HostView, InterfaceView, NetworkView, ServiceAddressView, ServiceView, TopologySnapshot } from './model';
export { CT_ZONE, balancerFlows, balancerGroups, unNatFlows } from './balancer';
export type { GroupSpec } from './balancer';
export { ArpOp, EtherType, arpReply, icmpEchoReply, internetChecksum, ipv4ToNumber, numberToIpv4, parseFrame } from './packet';
export type { ArpPacket, Frame, Ipv4Header } from './packet';
export { Priority, Tables, denyFlow, pairFlows, proactiveFlows, tunnelPairFlows, vniOf } from './pipeline';
export type { FlowSpec, HostPorts, PairTimeouts, Tunnel, Uplink } from './pipeline';
export { flowKey, matchKey, planGroups, planReconcile, sameFlow } from './reconcile';
export type { GroupPlan, ReconcilePlan } from './reconcile';
