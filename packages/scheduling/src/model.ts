// The scheduler's domain: Service (desired state, with its revision history and rollout record),
// Node (a Docker host as its node-agent reports it) and Replica (one container of a service, as
// observed). Everything here is immutable: a change returns a new object, so the scheduler can
// persist old and new and the planner can be handed a snapshot that nothing mutates under it.
import type { HealthCheck, PlacementConstraint, ServiceNetworkAttachment, ServiceSpec } from '@sdmi/contracts';
import {
  AlreadyAtRevision,
  NoEarlierRevision,
  NodeCapacityInvalid,
  RevisionNotFound,
  ScaleWithStaticAddresses,
  ServiceAddressChanged,
  ServiceIdentityChanged,
  type SchedulingError,
} from './errors';
import { validateServiceSpec } from './validate';

export type { ServiceSpec };

export const PlacementStrategies = { Spread: 'spread', Binpack: 'binpack' } as const;
export type PlacementStrategy = (typeof PlacementStrategies)[keyof typeof PlacementStrategies];

export const UpdateOrders = { StartFirst: 'start-first', StopFirst: 'stop-first' } as const;
export type UpdateOrder = (typeof UpdateOrders)[keyof typeof UpdateOrders];

export const FailureActions = { Rollback: 'rollback', Pause: 'pause' } as const;
export type FailureAction = (typeof FailureActions)[keyof typeof FailureActions];

export const NodeStates = { Ready: 'ready', Draining: 'draining', Down: 'down' } as const;
export type NodeState = (typeof NodeStates)[keyof typeof NodeStates];

export const ReplicaStates = {
  Pending: 'pending',
  Starting: 'starting',
  Running: 'running',
  Healthy: 'healthy',
  Unhealthy: 'unhealthy',
  Stopping: 'stopping',
  Stopped: 'stopped',
  Failed: 'failed',
} as const;
export type ReplicaState = (typeof ReplicaStates)[keyof typeof ReplicaStates];

export const RolloutStates = { Progressing: 'progressing', Paused: 'paused', Complete: 'complete' } as const;
export type RolloutState = (typeof RolloutStates)[keyof typeof RolloutStates];

/** A reservation or a capacity. cpus are counted in thousandths internally, so sums are exact. */
export interface Resources {
  readonly cpus: number;
  readonly memoryBytes: number;
}
export const NO_RESOURCES: Resources = Object.freeze({ cpus: 0, memoryBytes: 0 });

export interface ResolvedUpdatePolicy {
  readonly parallelism: number;
  readonly delayMs: number;
  readonly order: UpdateOrder;
  readonly failureAction: FailureAction;
  readonly monitorMs: number;
}

export interface ResolvedNetworkAttachment {
  /** Full network id: `<tenant>/<name>` or `cluster/<name>`. */
  readonly network: string;
  readonly ip: { readonly mode: 'dynamic' | 'static' | 'none'; readonly addresses: readonly string[] };
  readonly ifname: string;
}

export const DEFAULT_MONITOR_MS = 5_000;

/** A bare network name is in the service's tenant; `x/name` is as written. */
export function resolveNetwork(ref: string, tenant: string): string {
  return ref.includes('/') ? ref : `${tenant}/${ref}`;
}

export function serviceId(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}

/** A spec's networks with full ids and interface names (eth<i> unless named). */
function resolveAttachments(spec: ServiceSpec): ResolvedNetworkAttachment[] {
  return (spec.networks as readonly ServiceNetworkAttachment[]).map((n, i) => ({
    network: resolveNetwork(n.network, spec.tenant),
    ip: { mode: n.ip.mode, addresses: n.ip.addresses ?? [] },
    ifname: n.ifname ?? `eth${i}`,
  }));
}

/** Index (0-based) of the first network with static addresses, or -1. */
function staticNetworkIndex(spec: ServiceSpec): number {
  return (spec.networks as readonly ServiceNetworkAttachment[]).findIndex((n) => n.ip.mode === 'static');
}

/** The update policy with defaults; start-first by default, but stop-first when addresses are static. */
export function resolveUpdatePolicy(spec: ServiceSpec): ResolvedUpdatePolicy {
  const u = spec.update ?? {};
  return {
    parallelism: u.parallelism ?? 1,
    delayMs: u.delayMs ?? 0,
    order: u.order ?? (staticNetworkIndex(spec) >= 0 ? UpdateOrders.StopFirst : UpdateOrders.StartFirst),
    failureAction: u.failureAction ?? FailureActions.Rollback,
    monitorMs: u.monitorMs ?? DEFAULT_MONITOR_MS,
  };
}

/**
 * The part of a spec that makes up a replica's template: a change here is a new revision. The
 * replica count and the update policy are not part of it (scaling or retuning a rollout restarts
 * nothing).
 */
export function templateOf(spec: ServiceSpec): Omit<ServiceSpec, 'replicas' | 'update'> {
  const { replicas: _r, update: _u, ...template } = spec;
  return template;
}

/** JSON with sorted keys: two specs that mean the same compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface ServiceRevision {
  readonly revision: number;
  /** The spec as it was when this revision was made (its replica count is not authoritative). */
  readonly spec: ServiceSpec;
  readonly createdAt: number;
}

/** The rollout of `to`, replacing replicas of other revisions; `from` is where a rollback goes. */
export interface RolloutRecord {
  readonly from: number;
  readonly to: number;
  readonly state: RolloutState;
  readonly startedAt: number;
  /** Why it is paused, or how it ended. */
  readonly reason: string | null;
  /** Set when this rollout is itself a rollback from that revision: its failure pauses, never rolls back again. */
  readonly rollbackOf: number | null;
}

/** What the scheduler persists of a service; `Service.restore` turns it back into one. */
export interface ServiceRecord {
  readonly spec: ServiceSpec;
  readonly revision: number;
  readonly history: readonly ServiceRevision[];
  readonly previousRevision: number | null;
  readonly rollout: RolloutRecord | null;
}

function throwFirst(errors: readonly SchedulingError[]): void {
  if (errors[0]) throw errors[0];
}

/**
 * A service: its spec with defaults applied, the revision its replicas should run, every revision
 * it has had (so `undo` can go back to any of them, not only one step) and its current rollout.
 */
export class Service {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly spec: ServiceSpec;
  readonly revision: number;
  readonly history: readonly ServiceRevision[];
  readonly previousRevision: number | null;
  readonly rollout: RolloutRecord | null;
  readonly networks: readonly ResolvedNetworkAttachment[];
  readonly updatePolicy: ResolvedUpdatePolicy;

  private constructor(record: ServiceRecord) {
    this.spec = record.spec;
    this.tenant = record.spec.tenant;
    this.name = record.spec.name;
    this.id = serviceId(this.tenant, this.name);
    this.revision = record.revision;
    this.history = record.history;
    this.previousRevision = record.previousRevision;
    this.rollout = record.rollout;
    this.networks = resolveAttachments(record.spec);
    this.updatePolicy = resolveUpdatePolicy(record.spec);
  }

  /** A new service at revision 1. Throws the first semantic error (validateServiceSpec lists all). */
  static create(spec: ServiceSpec, now: number): Service {
    throwFirst(validateServiceSpec(spec));
    return new Service({ spec, revision: 1, history: [{ revision: 1, spec, createdAt: now }], previousRevision: null, rollout: null });
  }

  /** From what the scheduler persisted; trusted (it was validated when it was made). */
  static restore(record: ServiceRecord): Service {
    return new Service(record);
  }

  toRecord(): ServiceRecord {
    return { spec: this.spec, revision: this.revision, history: this.history, previousRevision: this.previousRevision, rollout: this.rollout };
  }

  get replicas(): number {
    return this.spec.replicas;
  }
  get strategy(): PlacementStrategy {
    return this.spec.placement?.strategy ?? PlacementStrategies.Spread;
  }
  get constraints(): readonly PlacementConstraint[] {
    return this.spec.placement?.constraints ?? [];
  }
  get resources(): Resources {
    return { cpus: this.spec.resources?.cpus ?? 0, memoryBytes: this.spec.resources?.memoryBytes ?? 0 };
  }
  get healthCheck(): HealthCheck | null {
    return this.spec.healthCheck ?? null;
  }
  /** With static addresses a slot's address can be on one container at a time: replacements stop first. */
  get exclusive(): boolean {
    return this.networks.some((n) => n.ip.mode === 'static');
  }

  /** The spec a revision's replicas were made from (null when it is not in the history). */
  specOf(revision: number): ServiceSpec | null {
    if (revision === this.revision) return this.spec;
    return this.history.find((h) => h.revision === revision)?.spec ?? null;
  }

  /**
   * The networks a revision's replicas have interfaces on, and under which names: an update may
   * add, drop or reorder networks, and replicas of the older revision keep theirs until they stop.
   * Null when the revision is not in the history.
   */
  networksOf(revision: number): readonly ResolvedNetworkAttachment[] | null {
    if (revision === this.revision) return this.networks;
    const spec = this.specOf(revision);
    return spec ? resolveAttachments(spec) : null;
  }

  /** Whether a replica of `revision` counts as serving when `running` (it has no health check to pass). */
  servesWhenRunning(revision: number): boolean {
    const spec = this.specOf(revision);
    return spec !== null && spec.healthCheck === undefined;
  }

  /** The static address slot `slot` gets on each network (null where the mode is not static). */
  staticAddresses(slot: number): (string | null)[] {
    return this.networks.map((n) => (n.ip.mode === 'static' ? (n.ip.addresses[slot - 1] ?? null) : null));
  }

  /** The revision a rollback of a new rollout would return to: the last one that finished rolling out. */
  private stableRevision(): number {
    if (this.rollout && this.rollout.state !== RolloutStates.Complete) return this.rollout.from;
    return this.revision;
  }

  private nextRevisionNumber(): number {
    return Math.max(...this.history.map((h) => h.revision)) + 1;
  }

  /** Scaling keeps the revision: no replica restarts. */
  scale(replicas: number): Service {
    const i = staticNetworkIndex(this.spec);
    if (i >= 0 && replicas !== this.spec.replicas) {
      const n = this.networks[i]!;
      throw new ScaleWithStaticAddresses('/replicas', this.id, replicas, `/networks/${i}`, n.ip.addresses.length);
    }
    return new Service({ ...this.toRecord(), spec: { ...this.spec, replicas } });
  }

  /**
   * A new spec for this service. A changed template is a new revision, rolled out from the last
   * revision that finished rolling out; a change of only the replica count or update policy keeps it.
   */
  update(spec: ServiceSpec, now: number): Service {
    if (spec.tenant !== this.tenant) throw new ServiceIdentityChanged('/tenant', this.id, 'tenant', spec.tenant);
    if (spec.name !== this.name) throw new ServiceIdentityChanged('/name', this.id, 'name', spec.name);
    throwFirst(validateServiceSpec(spec));
    const next = resolveAttachments(spec);
    (spec.networks as readonly ServiceNetworkAttachment[]).forEach((n, i) => {
      const j = this.networks.findIndex((o) => o.network === next[i]!.network);
      const was = j < 0 ? undefined : (this.spec.networks as readonly ServiceNetworkAttachment[])[j]!.serviceAddress;
      if (j >= 0 && was !== n.serviceAddress) throw new ServiceAddressChanged(`/networks/${i}/serviceAddress`, next[i]!.network, was ?? null, n.serviceAddress ?? null);
    });
    if (canonicalJson(templateOf(spec)) === canonicalJson(templateOf(this.spec))) return new Service({ ...this.toRecord(), spec });
    const revision = this.nextRevisionNumber();
    return new Service({
      spec,
      revision,
      history: [...this.history, { revision, spec, createdAt: now }],
      previousRevision: this.revision,
      rollout: { from: this.stableRevision(), to: revision, state: RolloutStates.Progressing, startedAt: now, reason: null, rollbackOf: null },
    });
  }

  /**
   * Back to any earlier revision's template (default: the one before the current), keeping the
   * current replica count and update policy. The revision number is the old one, so replicas that
   * still run it are already up to date and are left alone.
   */
  undo(toRevision: number | undefined, now: number): Service {
    const target = toRevision ?? this.previousRevision;
    if (target === null) throw new NoEarlierRevision('/toRevision', this.id, this.revision);
    if (target === this.revision) throw new AlreadyAtRevision('/toRevision', this.id, target);
    const entry = this.history.find((h) => h.revision === target);
    if (!entry) throw new RevisionNotFound('/toRevision', this.id, target, this.history.map((h) => h.revision));
    const spec: ServiceSpec = { ...entry.spec, replicas: this.spec.replicas };
    if (this.spec.update) spec.update = this.spec.update;
    else delete spec.update;
    throwFirst(validateServiceSpec(spec));
    return new Service({
      ...this.toRecord(),
      spec,
      revision: target,
      previousRevision: this.revision,
      rollout: { from: this.stableRevision(), to: target, state: RolloutStates.Progressing, startedAt: now, reason: null, rollbackOf: null },
    });
  }

  /** The automatic rollback of a failed rollout, to the revision it started from. */
  rollback(reason: string, now: number): Service {
    const from = this.rollout?.from ?? this.previousRevision;
    if (from === null || from === this.revision) return this.pauseRollout(reason);
    const entry = this.history.find((h) => h.revision === from)!;
    const spec: ServiceSpec = { ...entry.spec, replicas: this.spec.replicas };
    if (this.spec.update) spec.update = this.spec.update;
    else delete spec.update;
    return new Service({
      ...this.toRecord(),
      spec,
      revision: from,
      previousRevision: this.revision,
      rollout: { from, to: from, state: RolloutStates.Progressing, startedAt: now, reason, rollbackOf: this.revision },
    });
  }

  pauseRollout(reason: string): Service {
    const r = this.rollout ?? { from: this.revision, to: this.revision, startedAt: 0, rollbackOf: null };
    return new Service({ ...this.toRecord(), rollout: { ...r, state: RolloutStates.Paused, reason } });
  }

  completeRollout(): Service {
    if (!this.rollout) return this;
    return new Service({ ...this.toRecord(), rollout: { ...this.rollout, state: RolloutStates.Complete } });
  }
}

export interface NodeSpec {
  readonly name: string;
  readonly capacity: Resources;
  readonly labels?: Readonly<Record<string, string>>;
  readonly state?: NodeState;
  /** Draining because removeNode was forced: a replica no other node can take is stopped, not kept. */
  readonly forceDrain?: boolean;
}

/** A Docker host as its node-agent reports it, with the state the admin gave it. */
export class Node {
  readonly name: string;
  readonly capacity: Resources;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: NodeState;
  readonly forceDrain: boolean;

  constructor(spec: NodeSpec) {
    for (const what of ['cpus', 'memoryBytes'] as const) {
      const v = spec.capacity[what];
      if (!Number.isFinite(v) || v <= 0) throw new NodeCapacityInvalid(`/capacity/${what}`, spec.name, what, v);
    }
    this.name = spec.name;
    this.capacity = { cpus: spec.capacity.cpus, memoryBytes: spec.capacity.memoryBytes };
    this.labels = { ...(spec.labels ?? {}) };
    this.state = spec.state ?? NodeStates.Ready;
    this.forceDrain = spec.forceDrain ?? false;
  }

  /** Only a ready node gets new replicas; draining and down nodes never do. */
  get schedulable(): boolean {
    return this.state === NodeStates.Ready;
  }

  satisfies(c: PlacementConstraint): boolean {
    const has = this.labels[c.label] === c.value;
    return c.op === '==' ? has : !has;
  }

  withState(state: NodeState): Node {
    return new Node({ ...this, state });
  }
}

export interface ReplicaRecord {
  readonly id: string;
  /** The service id, `<tenant>/<name>`. */
  readonly service: string;
  /** 1..replicas: the replica's place in the service; static address i belongs to slot i. */
  readonly slot: number;
  readonly revision: number;
  readonly node: string;
  readonly state: ReplicaState;
  /** When it entered its current state (ms). */
  readonly since: number;
  readonly createdAt: number;
  /** What it reserves on its node. */
  readonly resources: Resources;
}

/** One container of a service, as observed (node-agent reports, the scheduler's records). */
export class Replica implements ReplicaRecord {
  readonly id: string;
  readonly service: string;
  readonly slot: number;
  readonly revision: number;
  readonly node: string;
  readonly state: ReplicaState;
  readonly since: number;
  readonly createdAt: number;
  readonly resources: Resources;

  constructor(r: ReplicaRecord) {
    this.id = r.id;
    this.service = r.service;
    this.slot = r.slot;
    this.revision = r.revision;
    this.node = r.node;
    this.state = r.state;
    this.since = r.since;
    this.createdAt = r.createdAt;
    this.resources = { cpus: r.resources.cpus, memoryBytes: r.resources.memoryBytes };
  }

  /** How people name it: `app-3@rev4`. */
  get label(): string {
    return replicaLabel(this.service, this.slot, this.revision);
  }

  /** Still holds a reservation on its node (everything but stopped: a failed container is still there). */
  get holdsResources(): boolean {
    return this.state !== ReplicaStates.Stopped;
  }

  /** Answers requests: healthy, or running when its revision has no health check. */
  serving(servesWhenRunning: boolean): boolean {
    return this.state === ReplicaStates.Healthy || (servesWhenRunning && this.state === ReplicaStates.Running);
  }

  with(change: Partial<ReplicaRecord>): Replica {
    return new Replica({ ...this, ...change });
  }
}

export function replicaLabel(service: string, slot: number, revision: number): string {
  return `${service.slice(service.indexOf('/') + 1)}-${slot}@rev${revision}`;
}

/** The id of a new replica: `<tenant>/<name>-<slot>@rev<revision>`, with `#n` when taken already. */
export function newReplicaId(service: string, slot: number, revision: number, taken: ReadonlySet<string>): string {
  const base = `${service}-${slot}@rev${revision}`;
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}#${n}`)) return `${base}#${n}`;
}

// --- formatting for reasons ---------------------------------------------------------------------

export function formatCpus(cpus: number): string {
  const v = Math.round(cpus * 1000) / 1000;
  return `${v} ${v === 1 ? 'cpu' : 'cpus'}`;
}

export function formatBytes(bytes: number): string {
  const units = [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const;
  for (const [unit, size] of units) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10} ${unit}`;
  }
  return `${bytes} B`;
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}
