// What the scheduler's queries report, computed from the same model the loop plans with: a
// service's counts, its rollout (state as recorded, plus what the rolling-update state machine
// would do now), its virtual addresses, its replicas with theirs, and the nodes with what is placed
// on them. Pure: the caller reads the records and passes the time in.
import type { NodeStatus, NodeStatusEvent, ReplicaAddress, ReplicaStatus, RevisionCount, RolloutStatus, ServiceAddress, ServiceStatus } from '@sdmi/contracts';
import { ReplicaStates, RolloutStates, type Replica, type Service } from './model';
import { nextRolloutStep } from './rollout';

const RUNNING: ReadonlySet<string> = new Set([ReplicaStates.Running, ReplicaStates.Healthy, ReplicaStates.Unhealthy]);

const iso = (ms: number) => new Date(ms).toISOString();

function live(svc: Service, replicas: readonly Replica[]): Replica[] {
  return replicas.filter((r) => r.service === svc.id && r.state !== ReplicaStates.Stopped);
}

/** Replicas per revision that has any: the service's current revision first, then the others newest first. */
export function revisionCounts(svc: Service, replicas: readonly Replica[]): RevisionCount[] {
  const mine = live(svc, replicas);
  const revisions = [...new Set(mine.map((r) => r.revision))].sort((a, b) => Number(b === svc.revision) - Number(a === svc.revision) || b - a);
  return revisions.map((revision) => {
    const of = mine.filter((r) => r.revision === revision);
    return {
      revision,
      replicas: of.length,
      running: of.filter((r) => RUNNING.has(r.state)).length,
      healthy: of.filter((r) => r.state === ReplicaStates.Healthy).length,
      serving: of.filter((r) => r.serving(svc.servesWhenRunning(r.revision))).length,
    };
  });
}

/**
 * The rollout of the service's current revision. `complete` and `rolled-back` are as the loop
 * recorded them; while progressing or paused, `detail` is the state machine's own account of what
 * it does or waits for. A service never updated since its deployment has no rollout record: it is
 * progressing until its desired count of replicas serves.
 */
export function rolloutStatus(svc: Service, replicas: readonly Replica[], now: number): RolloutStatus {
  const mine = live(svc, replicas);
  const revisions = revisionCounts(svc, replicas);
  const base = { service: svc.id, revision: svc.revision, desired: svc.replicas, revisions };
  const r = svc.rollout;
  if (!r) {
    const serving = revisions.find((c) => c.revision === svc.revision)?.serving ?? 0;
    const done = serving >= svc.replicas;
    return {
      ...base,
      fromRevision: null,
      rollbackOf: null,
      state: done ? 'complete' : 'progressing',
      reason: null,
      detail: done ? null : `deploying rev ${svc.revision}: ${serving} of ${svc.replicas} replicas serving`,
      startedAt: null,
    };
  }
  const common = { ...base, fromRevision: r.from === r.to && r.rollbackOf !== null ? r.rollbackOf : r.from, rollbackOf: r.rollbackOf, reason: r.reason, startedAt: r.startedAt > 0 ? iso(r.startedAt) : null };
  if (r.state === RolloutStates.Complete) return { ...common, state: r.rollbackOf !== null ? 'rolled-back' : 'complete', detail: null };
  const step = nextRolloutStep(svc, svc.updatePolicy, mine, now);
  return { ...common, state: r.state === RolloutStates.Paused ? 'paused' : 'progressing', detail: step.status };
}

/** A service address as the scheduler last applied it (its sched.service_address row). */
export interface AppliedServiceAddress {
  readonly service: string;
  readonly networkId: string;
  readonly address: string | null;
  readonly backends: readonly string[];
}

/**
 * The service's address on each network of its spec that has addresses, in the spec's order, so
 * that they line up with its replicas' interfaces; one not applied yet is reported unassigned
 * rather than left out. Addresses still held on networks it has left follow: they still take
 * connections until the loop releases them.
 */
export function serviceAddresses(svc: Service, applied: readonly AppliedServiceAddress[]): ServiceAddress[] {
  const held = new Map(applied.filter((a) => a.service === svc.id).map((a) => [a.networkId, a]));
  const networks = [...new Set(svc.networks.filter((n) => n.ip.mode !== 'none').map((n) => n.network))];
  const left = [...held.keys()].filter((n) => !networks.includes(n)).sort();
  return [...networks, ...left].map((network) => {
    const a = held.get(network);
    return { network, address: a?.address ?? null, backends: a?.backends.length ?? 0 };
  });
}

export function serviceStatus(svc: Service, replicas: readonly Replica[], now: number, applied: readonly AppliedServiceAddress[]): ServiceStatus {
  const mine = live(svc, replicas);
  return {
    id: svc.id,
    tenant: svc.tenant,
    name: svc.name,
    revision: svc.revision,
    revisions: svc.history.map((h) => h.revision),
    spec: svc.spec,
    desired: svc.replicas,
    replicas: mine.length,
    running: mine.filter((r) => RUNNING.has(r.state)).length,
    serving: mine.filter((r) => r.serving(svc.servesWhenRunning(r.revision))).length,
    rollout: rolloutStatus(svc, replicas, now),
    addresses: serviceAddresses(svc, applied),
  };
}

/**
 * `interfaces` as its start transaction recorded them (none before it completed). `svc` is its
 * service (undefined once removed: then nothing of it serves), for whether its revision serves
 * when merely running; a replica being stopped is draining and serves no new connections.
 */
export function replicaStatus(r: Replica, reason: string | null, interfaces: readonly ReplicaAddress[], svc: Service | undefined): ReplicaStatus {
  return {
    id: r.id,
    service: r.service,
    slot: r.slot,
    revision: r.revision,
    node: r.node,
    state: r.state,
    since: iso(r.since),
    createdAt: iso(r.createdAt),
    reason,
    interfaces: [...interfaces],
    serving: svc !== undefined && r.state !== ReplicaStates.Stopping && r.serving(svc.servesWhenRunning(r.revision)),
  };
}

/** A node as the admin left it (its sched.node row). */
export interface AdmittedNodeRecord {
  readonly state: 'ready' | 'draining';
  readonly force: boolean;
  readonly admittedAt: number;
}

/** A node-agent's last announcement, and when this scheduler instance received it (its own clock). */
export interface NodeAnnouncement {
  readonly status: NodeStatusEvent;
  readonly seenAt: number;
}

const milli = (cpus: number) => Math.round(cpus * 1000);

/**
 * Every node that is admitted or announces itself, by name: admitted ones with the admin's state,
 * the others `unadmitted` (hosts addNode would take). Announced fields are null for a node not
 * heard from; a node is reachable while its last announcement is younger than `silentMs`, the same
 * window after which the planner takes it for down. Counts and reservations are those placement
 * uses: every replica not stopped.
 */
export function nodeStatuses(
  admitted: ReadonlyMap<string, AdmittedNodeRecord>,
  announced: ReadonlyMap<string, NodeAnnouncement>,
  replicas: readonly Replica[],
  now: number,
  silentMs: number,
): NodeStatus[] {
  const names = [...new Set([...admitted.keys(), ...announced.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((name) => {
    const admin = admitted.get(name);
    const seen = announced.get(name);
    const placed = replicas.filter((r) => r.node === name && r.holdsResources);
    const status = seen?.status;
    return {
      name,
      state: admin?.state ?? 'unadmitted',
      force: admin !== undefined && admin.state === 'draining' && admin.force,
      admittedAt: admin ? iso(admin.admittedAt) : null,
      reachable: seen !== undefined && now - seen.seenAt < silentMs,
      lastSeen: seen ? iso(seen.seenAt) : null,
      capacity: status ? { cpus: status.capacity.cpus, memoryBytes: status.capacity.memoryBytes } : null,
      labels: status ? Object.fromEntries(Object.entries(status.labels).filter((e): e is [string, string] => e[1] !== undefined)) : null,
      bridge: status?.bridge ?? null,
      replicas: placed.length,
      // Summed in thousandths, as placement does, so that 0.1 + 0.2 reads 0.3.
      reserved: { cpus: placed.reduce((n, r) => n + milli(r.resources.cpus), 0) / 1000, memoryBytes: placed.reduce((n, r) => n + r.resources.memoryBytes, 0) },
    };
  });
}
