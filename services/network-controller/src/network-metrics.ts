// A host bridge's NetworkMetrics sample from what its switch answered: the port-stats and
// flow-stats multipart replies and the port descriptions the session keeps, with the replica and
// network of each port taken from the topology (the store's record of the attached interfaces).
// Pure: no socket, no clock; the caller passes the time.
import type { NetworkMetrics } from '@sdmi/contracts';
import type { FlowStats, OfpPort, PortStats } from '@sdmi/openflow';

export type InterfaceCounters = NetworkMetrics['interfaces'][number];

/** OpenFlow 1.3 §7.3.5: a counter the switch does not keep is reported with all bits set. */
const UNAVAILABLE = 0xffff_ffff_ffff_ffffn;

/** OVS numbers its ports 1..65279 (0xfeff); above are the reserved ports (LOCAL, CONTROLLER...). */
const MAX_OFPORT = 0xfeff;

/** The schemas' portName: a port the contract cannot name is left out rather than sinking the whole sample. */
const PORT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/** The scheduler's replica id, `<tenant>/<service>-<slot>@rev<n>` with `#<k>` (schemas/metrics/defs replicaId). */
const REPLICA_ID = /^[a-z][a-z0-9-]{0,62}\/[a-z][a-z0-9-]{0,62}-[0-9]{1,6}@rev[0-9]{1,9}(#[0-9]{1,6})?$/;

/**
 * A 64-bit switch counter as the contract's counter (a JSON number, at most 2^53 − 1).
 * Unavailable (all ones) is 0: the field is required and nothing was counted. Past 2^53 the
 * counter wraps there, so a consumer sees what a 53-bit counter would show, a reset, and its
 * deltas stay right otherwise (clamping would freeze it and every rate would read 0).
 */
export function counter(v: bigint): number {
  if (v === UNAVAILABLE) return 0;
  return Number(BigInt.asUintN(53, v));
}

/**
 * The replica an interface belongs to, from its id: the scheduler names a replica's interfaces
 * `<replicaId>/<ifname>`. Interfaces attached by anyone else (ids not of that form) have none.
 */
export function replicaIdOf(interfaceId: string): string | undefined {
  const cut = interfaceId.lastIndexOf('/');
  if (cut <= 0) return undefined;
  const id = interfaceId.slice(0, cut);
  return REPLICA_ID.test(id) ? id : undefined;
}

export interface SampleInput {
  node: string;
  /** The bridge's name (its LOCAL port's). */
  bridge: string;
  at: Date;
  /** Port descriptions by OpenFlow port number: where the names come from. */
  ports: ReadonlyMap<number, OfpPort>;
  portStats: readonly PortStats[];
  flowStats: readonly FlowStats[];
  /** The interfaces the topology places on this host, by their OVS port name. */
  interfaces: readonly { id: string; networkId: string; portName: string }[];
}

/** The in_port a flow matches exactly, if it matches one. */
function inPortOf(flow: FlowStats): number | undefined {
  for (const f of flow.match) if (f.field === 'IN_PORT' && f.mask === undefined) return f.value;
  return undefined;
}

const add = (sum: bigint, v: bigint): bigint => (v === UNAVAILABLE ? sum : sum + v);

/**
 * One NetworkMetrics for the bridge: an entry per named port (LOCAL and other reserved ports
 * left out), ordered by port number, with the flows matching it as in_port summed.
 */
export function networkSample(input: SampleInput): NetworkMetrics {
  const flows = new Map<number, { count: number; packets: bigint; bytes: bigint }>();
  for (const f of input.flowStats) {
    const port = inPortOf(f);
    if (port === undefined) continue;
    const s = flows.get(port) ?? { count: 0, packets: 0n, bytes: 0n };
    s.count += 1;
    s.packets = add(s.packets, f.packetCount);
    s.bytes = add(s.bytes, f.byteCount);
    flows.set(port, s);
  }
  const byPortName = new Map(input.interfaces.map((i) => [i.portName, i]));
  const interfaces: InterfaceCounters[] = [];
  for (const st of [...input.portStats].sort((a, b) => a.portNo - b.portNo)) {
    if (st.portNo < 1 || st.portNo > MAX_OFPORT) continue;
    const name = input.ports.get(st.portNo)?.name;
    if (name === undefined || !PORT_NAME.test(name)) continue;
    const iface = byPortName.get(name);
    const replicaId = iface ? replicaIdOf(iface.id) : undefined;
    const f = flows.get(st.portNo) ?? { count: 0, packets: 0n, bytes: 0n };
    interfaces.push({
      port: name,
      ofport: st.portNo,
      ...(replicaId !== undefined ? { replicaId } : {}),
      ...(iface ? { network: iface.networkId } : {}),
      rxPackets: counter(st.rxPackets),
      txPackets: counter(st.txPackets),
      rxBytes: counter(st.rxBytes),
      txBytes: counter(st.txBytes),
      rxDropped: counter(st.rxDropped),
      txDropped: counter(st.txDropped),
      flows: { count: f.count, packets: counter(f.packets), bytes: counter(f.bytes) },
    });
  }
  return { version: 1, node: input.node, bridge: input.bridge, at: input.at.toISOString(), interfaces };
}
