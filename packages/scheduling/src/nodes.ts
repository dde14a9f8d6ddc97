// removeNode's admission check: the node drains (its replicas get successors elsewhere, start-first)
// and is refused when the other ready nodes cannot hold them, unless forced.
import { NodeNotFound, NodeRemovalRefused } from './errors';
import { NodeStates, ReplicaStates, replicaLabel, type Node, type Replica, type Service } from './model';
import { place } from './placement';

export interface NodeRemovalCheck {
  /** Replicas on the node. */
  readonly total: number;
  /** Those that fit on no other ready node, with the placement's reason (empty unless forced). */
  readonly stranded: readonly { replica: string; reason: string }[];
}

/**
 * Whether `name` can be drained: every replica on it (of a deployed service) is placed, as the
 * reconciler would, on the other ready nodes. Throws NodeNotFound, or NodeRemovalRefused naming the
 * replicas that would have nowhere to go; with `force` returns them instead.
 */
export function checkNodeRemoval(name: string, nodes: readonly Node[], replicas: readonly Replica[], services: readonly Service[], force = false): NodeRemovalCheck {
  if (!nodes.some((n) => n.name === name)) throw new NodeNotFound('/name', name);
  const after = nodes.map((n) => (n.name === name ? n.withState(NodeStates.Draining) : n));
  const live = replicas.filter((r) => r.state !== ReplicaStates.Stopped);
  const leaving = live.filter((r) => r.node === name && r.state !== ReplicaStates.Stopping).sort((a, b) => (a.id < b.id ? -1 : 1));
  const occupied = [...live];
  const stranded: { replica: string; reason: string }[] = [];
  for (const svc of [...services].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const mine = leaving.filter((r) => r.service === svc.id);
    if (mine.length === 0) continue;
    const placed = place(mine.map((r) => ({ key: r.id, service: svc.id })), after, occupied, svc.strategy, svc.constraints, svc.resources);
    placed.forEach((p, i) => {
      const r = mine[i]!;
      if (p.unplaceable) stranded.push({ replica: replicaLabel(r.service, r.slot, r.revision), reason: p.unplaceable.message });
      else occupied.push({ ...r, node: p.node, state: ReplicaStates.Pending } as Replica);
    });
  }
  if (stranded.length > 0 && !force) throw new NodeRemovalRefused('/name', name, stranded, leaving.length);
  return { total: leaving.length, stranded };
}
