// Where new replicas go. Pure and deterministic: the same nodes, replicas and requests always give
// the same answer (ties are broken by node name), and a replica that fits nowhere gets a reason
// that names the rule that ruled the last candidates out, so a stuck scale-up says why.
import type { PlacementConstraint } from '@sdmi/contracts';
import {
  PlacementStrategies,
  ReplicaStates,
  formatBytes,
  formatCpus,
  type Node,
  type PlacementStrategy,
  type ReplicaRecord,
  type Resources,
} from './model';

export const UnplaceableCode = {
  NO_NODES: 'NO_NODES',
  NO_READY_NODE: 'NO_READY_NODE',
  CONSTRAINT_UNSATISFIABLE: 'CONSTRAINT_UNSATISFIABLE',
  INSUFFICIENT_CPU: 'INSUFFICIENT_CPU',
  INSUFFICIENT_MEMORY: 'INSUFFICIENT_MEMORY',
  INSUFFICIENT_RESOURCES: 'INSUFFICIENT_RESOURCES',
} as const;
export type UnplaceableCode = (typeof UnplaceableCode)[keyof typeof UnplaceableCode];

/** Why one replica fits nowhere; shaped like an ErrorInfo so it can go on the bus as it is. */
export interface Unplaceable {
  readonly code: UnplaceableCode;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

export interface PlacementRequest {
  /** Names the request in the answer (a replica id, or a slot). */
  readonly key: string;
  /** The service id: spread counts this service's replicas per node. */
  readonly service: string;
  /** A node to use only when no other fits (the one an unhealthy replica ran on). */
  readonly avoidNode?: string;
}

export type Placement =
  | { readonly key: string; readonly node: string; readonly unplaceable?: undefined }
  | { readonly key: string; readonly node?: undefined; readonly unplaceable: Unplaceable };

/** What placement needs to know of a replica already there. */
export type PlacedReplica = Pick<ReplicaRecord, 'service' | 'node' | 'state' | 'resources'>;

const milli = (cpus: number) => Math.round(cpus * 1000);

interface Tally {
  readonly node: Node;
  cpuUsed: number;
  memUsed: number;
  total: number;
  readonly perService: Map<string, number>;
}

function tallies(nodes: readonly Node[], existing: readonly PlacedReplica[]): Map<string, Tally> {
  const t = new Map<string, Tally>();
  for (const node of nodes) t.set(node.name, { node, cpuUsed: 0, memUsed: 0, total: 0, perService: new Map() });
  for (const r of existing) {
    const x = t.get(r.node);
    if (!x || r.state === ReplicaStates.Stopped) continue;
    // A stopping or failed container still holds its reservation until it is gone, but it is
    // leaving: it does not count as this service being on the node.
    x.cpuUsed += milli(r.resources.cpus);
    x.memUsed += r.resources.memoryBytes;
    if (r.state === ReplicaStates.Stopping || r.state === ReplicaStates.Failed) continue;
    x.total += 1;
    x.perService.set(r.service, (x.perService.get(r.service) ?? 0) + 1);
  }
  return t;
}

const freeCpu = (t: Tally) => milli(t.node.capacity.cpus) - t.cpuUsed;
const freeMem = (t: Tally) => t.node.capacity.memoryBytes - t.memUsed;
/** Dominant share: the fuller of cpu and memory. */
const load = (t: Tally) => Math.max(t.cpuUsed / milli(t.node.capacity.cpus), t.memUsed / t.node.capacity.memoryBytes);

function describeConstraints(cs: readonly PlacementConstraint[]): string {
  const text = cs.map((c) => `${c.label}${c.op}${c.value}`).join(' and ');
  return cs.every((c) => c.op === '==') ? `has label ${text}` : `satisfies ${text}`;
}

/**
 * Chooses a node for each request in order, counting each choice before the next, so the requests
 * of one call spread (or pack) among themselves too.
 *
 * - Only ready nodes are candidates (draining and down nodes never get new replicas), then those
 *   that satisfy every constraint (`!=` is satisfied by a node without the label), then those with
 *   the reservation free (cpu and memory; a replica that reserves nothing fits anywhere).
 * - spread: fewest replicas of this service, then least loaded (dominant share), then fewest
 *   replicas in all, then name. binpack: most loaded, then most replicas, then name.
 * - A request's avoidNode is chosen only when no other candidate is left.
 */
export function place(
  requests: readonly PlacementRequest[],
  nodes: readonly Node[],
  existing: readonly PlacedReplica[],
  strategy: PlacementStrategy,
  constraints: readonly PlacementConstraint[],
  resources: Resources,
): Placement[] {
  const t = tallies(nodes, existing);
  const needCpu = milli(resources.cpus);
  const needMem = resources.memoryBytes;
  const sorted = [...t.values()].sort((a, b) => (a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0));
  const ready = sorted.filter((x) => x.node.schedulable);
  const eligible = ready.filter((x) => constraints.every((c) => x.node.satisfies(c)));

  return requests.map((req) => {
    const fits = eligible.filter((x) => freeCpu(x) >= needCpu && freeMem(x) >= needMem);
    if (fits.length === 0) return { key: req.key, unplaceable: explain(sorted, ready, eligible, constraints, needCpu, needMem) };
    const key = (x: Tally): number[] => {
      const avoid = x.node.name === req.avoidNode ? 1 : 0;
      return strategy === PlacementStrategies.Binpack ? [avoid, -load(x), -x.total] : [avoid, x.perService.get(req.service) ?? 0, load(x), x.total];
    };
    let best = fits[0]!;
    let bestKey = key(best);
    for (const x of fits.slice(1)) {
      const k = key(x);
      const i = k.findIndex((v, j) => v !== bestKey[j]);
      if (i >= 0 && k[i]! < bestKey[i]!) {
        best = x;
        bestKey = k;
      }
    }
    best.cpuUsed += needCpu;
    best.memUsed += needMem;
    best.total += 1;
    best.perService.set(req.service, (best.perService.get(req.service) ?? 0) + 1);
    return { key: req.key, node: best.node.name };
  });
}

function explain(all: readonly Tally[], ready: readonly Tally[], eligible: readonly Tally[], constraints: readonly PlacementConstraint[], needCpu: number, needMem: number): Unplaceable {
  if (all.length === 0) return { code: UnplaceableCode.NO_NODES, message: 'no nodes are in the cluster', details: {} };
  if (ready.length === 0) {
    const states = all.map((x) => `${x.node.name} is ${x.node.state}`);
    return { code: UnplaceableCode.NO_READY_NODE, message: `no node is ready (${states.join(', ')})`, details: { nodes: Object.fromEntries(all.map((x) => [x.node.name, x.node.state])) } };
  }
  if (eligible.length === 0) {
    // The first constraint after which no ready node is left is the one to name, with those before it.
    let left = ready;
    let upTo = constraints.length;
    for (let i = 0; i < constraints.length; i++) {
      left = left.filter((x) => x.node.satisfies(constraints[i]!));
      if (left.length === 0) {
        upTo = i + 1;
        break;
      }
    }
    const named = constraints.slice(0, upTo);
    const elsewhere = all.filter((x) => !x.node.schedulable && named.every((c) => x.node.satisfies(c))).map((x) => `${x.node.name} does but is ${x.node.state}`);
    const note = elsewhere.length ? `; ${elsewhere.join(', ')}` : '';
    return {
      code: UnplaceableCode.CONSTRAINT_UNSATISFIABLE,
      message: `no ready node ${describeConstraints(named)}${note}`,
      details: { constraints: named.map((c) => `${c.label}${c.op}${c.value}`), notReady: elsewhere },
    };
  }
  const among = constraints.length ? ` (among the ready nodes with ${constraints.map((c) => `${c.label}${c.op}${c.value}`).join(' and ')})` : '';
  const largest = (f: (x: Tally) => number) => eligible.reduce((a, b) => (f(b) > f(a) ? b : a));
  if (!eligible.some((x) => freeCpu(x) >= needCpu)) {
    const l = largest(freeCpu);
    return {
      code: UnplaceableCode.INSUFFICIENT_CPU,
      message: `needs ${formatCpus(needCpu / 1000)}, the largest free is ${Math.max(0, freeCpu(l)) / 1000} on ${l.node.name}${among}`,
      details: { needCpus: needCpu / 1000, largestFreeCpus: Math.max(0, freeCpu(l)) / 1000, node: l.node.name },
    };
  }
  if (!eligible.some((x) => freeMem(x) >= needMem)) {
    const l = largest(freeMem);
    return {
      code: UnplaceableCode.INSUFFICIENT_MEMORY,
      message: `needs ${formatBytes(needMem)} of memory, the largest free is ${formatBytes(Math.max(0, freeMem(l)))} on ${l.node.name}${among}`,
      details: { needMemoryBytes: needMem, largestFreeMemoryBytes: Math.max(0, freeMem(l)), node: l.node.name },
    };
  }
  const shown = eligible.slice(0, 5).map((x) => `${x.node.name} has ${formatCpus(Math.max(0, freeCpu(x)) / 1000)} and ${formatBytes(Math.max(0, freeMem(x)))}`);
  const more = eligible.length > 5 ? ` and ${eligible.length - 5} more` : '';
  return {
    code: UnplaceableCode.INSUFFICIENT_RESOURCES,
    message: `needs ${formatCpus(needCpu / 1000)} and ${formatBytes(needMem)} of memory, and no node has both free: ${shown.join(', ')}${more}${among}`,
    details: { needCpus: needCpu / 1000, needMemoryBytes: needMem, free: Object.fromEntries(eligible.map((x) => [x.node.name, { cpus: freeCpu(x) / 1000, memoryBytes: freeMem(x) }])) },
  };
}

