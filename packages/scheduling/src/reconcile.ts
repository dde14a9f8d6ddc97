// The level-triggered reconciler: (desired services, observed nodes and replicas, now) → Plan. It
// keeps nothing between calls, so after a crash, a restart or any drift the next call sees what is
// there and plans the difference. Same inputs, same plan.
import {
  NodeStates,
  ReplicaStates,
  RolloutStates,
  formatDuration,
  newReplicaId,
  type Node,
  type Replica,
  type Resources,
  type Service,
} from './model';
import { place, type PlacedReplica, type PlacementRequest, type Unplaceable } from './placement';
import { nextRolloutStep, type RolloutOptions, type RolloutPhase } from './rollout';

/** A replica the plan creates: the applier allocates its addresses, creates and wires the container. */
export interface NewReplica {
  readonly id: string;
  readonly service: string;
  readonly slot: number;
  readonly revision: number;
  readonly node: string;
  readonly resources: Resources;
  /** Per network of the service, in order: the static address of this slot, or null (dynamic / none). */
  readonly staticAddresses: readonly (string | null)[];
}

export interface PlaceAction {
  readonly replica: NewReplica;
  readonly reason: string;
}

export interface StopAction {
  readonly replica: string;
  readonly service: string;
  readonly node: string;
  readonly reason: string;
}

/** Start `replica`; `old` keeps running until it serves, and is then stopped by a later plan. */
export interface ReplaceAction {
  readonly old: string;
  readonly oldNode: string;
  readonly replica: NewReplica;
  readonly reason: string;
}

/** One service's rollout step, its starts placed on nodes. */
export interface UpdateAction {
  readonly service: string;
  readonly fromRevision: number;
  readonly toRevision: number;
  readonly start: readonly NewReplica[];
  readonly stop: readonly StopAction[];
  readonly phase: RolloutPhase;
  readonly status: string;
  readonly waitUntil?: number;
  readonly done?: true;
  readonly rollback?: { readonly toRevision: number; readonly reason: string };
  readonly pause?: { readonly reason: string };
}

export interface IgnoreItem {
  readonly replica: string;
  readonly service: string;
  readonly reason: string;
}

export interface BlockedItem {
  readonly service: string;
  readonly slot: number;
  /** Which bucket the replica would have been in. */
  readonly bucket: 'place' | 'replace' | 'update';
  readonly unplaceable: Unplaceable;
  /** `app-3@rev4 cannot be placed: needs 2 cpus, the largest free is 1.5 on host-b`. */
  readonly reason: string;
}

/**
 * What to do, in named buckets. Every observed replica that is not stopped is in exactly one of
 * stop, replace (as `old`), update (a stop) or ignore, each with its reason.
 */
export interface Plan {
  readonly place: PlaceAction[];
  readonly stop: StopAction[];
  readonly replace: ReplaceAction[];
  readonly update: UpdateAction[];
  readonly ignore: IgnoreItem[];
  readonly blocked: BlockedItem[];
  /** The earliest time a wait in this plan ends: reconcile again then, if nothing else happens first. */
  readonly wakeAt: number | null;
}

export interface Observed {
  readonly nodes: readonly Node[];
  readonly replicas: readonly Replica[];
}

export interface ReconcileOptions {
  /** An unhealthy replica is replaced after this long. Default 30 s. */
  readonly unhealthyGraceMs?: number;
  /** A failed replica is replaced this long after it failed (so a crashing image does not spin). Default 5 s. */
  readonly failedDelayMs?: number;
  readonly rollout?: RolloutOptions;
}

/** Whether applying the plan changes anything (ignore and blocked are reports, not actions). */
export function planHasActions(plan: Plan): boolean {
  return (
    plan.place.length > 0 ||
    plan.stop.length > 0 ||
    plan.replace.length > 0 ||
    plan.update.some((u) => u.start.length > 0 || u.stop.length > 0 || u.done || u.rollback || u.pause)
  );
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const short = (id: string) => id.slice(id.indexOf('/') + 1);

interface Request extends PlacementRequest {
  readonly slot: number;
  readonly revision: number;
  readonly bucket: 'place' | 'replace' | 'update';
  readonly reason: string;
  readonly old?: Replica;
}

/**
 * Reconciles desired services with what runs.
 *
 * - stop: replicas of services that are not deployed, on nodes that are not members or are down,
 *   in slots above the replica count, failed ones (after failedDelayMs), duplicates in a slot, and
 *   replicas whose replacement now serves.
 * - place: a new replica for every empty slot, at the desired revision.
 * - replace: replicas on draining nodes or unhealthy past the grace get a successor elsewhere first
 *   (start-first); with static addresses the old one stops first, as the address can be on one
 *   container only. Successors run the desired revision.
 * - update: revision changes go through nextRolloutStep (parallelism, delay, order, health gate,
 *   rollback).
 * - blocked: replicas that fit on no node, each with the placement's reason.
 */
export function reconcile(desired: readonly Service[], observed: Observed, now: number, options: ReconcileOptions = {}): Plan {
  const grace = options.unhealthyGraceMs ?? 30_000;
  const failedDelay = options.failedDelayMs ?? 5_000;
  const nodes = new Map(observed.nodes.map((n) => [n.name, n]));
  const services = [...desired].sort(byId);
  const serviceIds = new Set(services.map((s) => s.id));
  const replicas = [...observed.replicas].sort(byId);
  const taken = new Set(replicas.map((r) => r.id));

  const plan = { place: [] as PlaceAction[], stop: [] as StopAction[], replace: [] as ReplaceAction[], update: [] as UpdateAction[], ignore: [] as IgnoreItem[], blocked: [] as BlockedItem[] };
  const waits: number[] = [];
  const decided = new Set<string>();
  const stop = (r: Replica, reason: string) => {
    if (decided.has(r.id)) return;
    decided.add(r.id);
    plan.stop.push({ replica: r.id, service: r.service, node: r.node, reason });
  };
  const ignore = (r: Replica, reason: string) => {
    if (decided.has(r.id)) return;
    decided.add(r.id);
    plan.ignore.push({ replica: r.id, service: r.service, reason });
  };
  // Capacity: every container that exists holds its reservation until it is stopped, also those this
  // plan stops (the applier may start before a stop completes); new placements are added as made.
  const occupied: PlacedReplica[] = replicas.filter((r) => r.state !== ReplicaStates.Stopped);

  for (const r of replicas) {
    if (r.state === ReplicaStates.Stopped || serviceIds.has(r.service)) continue;
    if (r.state === ReplicaStates.Stopping) ignore(r, `stopping (service ${r.service} is not deployed)`);
    else stop(r, `service ${r.service} is not deployed`);
  }

  for (const svc of services) {
    const R = svc.revision;
    const N = svc.replicas;
    const servingOf = (r: Replica) => r.serving(svc.servesWhenRunning(r.revision));
    const best = (a: Replica, b: Replica) => Number(servingOf(b)) - Number(servingOf(a)) || a.createdAt - b.createdAt || byId(a, b);
    const mine = replicas.filter((r) => r.service === svc.id && r.state !== ReplicaStates.Stopped);
    const bySlot = new Map<number, Replica[]>();
    const stoppingSlots = new Set<number>();
    // Replicas out of the service's reach (unknown or down node, surplus slot) and replicas being
    // replaced here are not the rollout's to judge; everything else it sees, failed ones included.
    const beyond = new Set<string>();
    const freed = new Set<number>();
    for (const r of mine) {
      const node = nodes.get(r.node);
      if (r.state === ReplicaStates.Stopping) {
        stoppingSlots.add(r.slot);
        ignore(r, 'stopping');
      } else if (!node) {
        stop(r, `node ${r.node} is not a member of the cluster`);
        beyond.add(r.id);
        freed.add(r.slot);
      } else if (node.state === NodeStates.Down) {
        stop(r, `node ${r.node} is down`);
        beyond.add(r.id);
        freed.add(r.slot);
      } else if (!Number.isInteger(r.slot) || r.slot < 1 || r.slot > N) {
        stop(r, `surplus: ${svc.id} is scaled to ${N} replica(s)`);
        beyond.add(r.id);
      } else bySlot.set(r.slot, [...(bySlot.get(r.slot) ?? []), r]);
    }

    const requests: Request[] = [];
    const touched = new Set<number>();
    for (let slot = 1; slot <= N; slot++) {
      const occ = bySlot.get(slot) ?? [];
      const ok: Replica[] = [];
      const evict: { r: Replica; reason: string; avoid: boolean }[] = [];
      const waiting: { r: Replica; reason: string }[] = [];
      let dead = false;
      for (const r of occ) {
        const age = now - r.since;
        if (r.state === ReplicaStates.Failed) {
          if (age >= failedDelay) {
            stop(r, `failed ${formatDuration(age)} ago`);
            dead = true;
          } else {
            waiting.push({ r, reason: `failed ${formatDuration(age)} ago; replaced ${formatDuration(failedDelay)} after it failed` });
            waits.push(r.since + failedDelay);
          }
        } else if (r.state === ReplicaStates.Unhealthy) {
          if (age >= grace) evict.push({ r, reason: `unhealthy for ${formatDuration(age)}`, avoid: true });
          else {
            waiting.push({ r, reason: `unhealthy for ${formatDuration(age)}; replaced once unhealthy for ${formatDuration(grace)}` });
            waits.push(r.since + grace);
          }
        } else if (nodes.get(r.node)!.state === NodeStates.Draining) {
          evict.push({ r, reason: `node ${r.node} is draining`, avoid: false });
        } else ok.push(r);
      }

      const okR = ok.filter((r) => r.revision === R).sort(best);
      const okOld = ok.filter((r) => r.revision !== R).sort(best);
      const keeper = okR[0] ?? okOld[0];
      if (keeper) {
        const keeperServes = servingOf(keeper);
        const dups = (keeper.revision === R ? okR : okOld).slice(1);
        for (const d of dups) stop(d, `duplicate of ${short(keeper.id)} in slot ${slot}`);
        for (const x of [...evict, ...waiting]) {
          // Under an old keeper, a failing replica of the new revision is evidence for the rollout.
          if (keeper.revision !== R && x.r.revision === R) continue;
          if (keeperServes) stop(x.r, `${x.reason}; replaced by ${short(keeper.id)}, which serves`);
          else ignore(x.r, `${x.reason}; stopped once ${short(keeper.id)} serves`);
        }
        continue;
      }
      if (evict.length > 0) {
        touched.add(slot);
        const [first, ...rest] = evict;
        if (svc.exclusive) {
          for (const x of evict) stop(x.r, `${x.reason}; stopped before its successor starts, as its static address can be on one container only`);
        } else {
          decided.add(first!.r.id);
          beyond.add(first!.r.id);
          requests.push({
            key: `${slot}`,
            service: svc.id,
            slot,
            revision: R,
            bucket: 'replace',
            reason: first!.reason,
            old: first!.r,
            ...(first!.avoid ? { avoidNode: first!.r.node } : {}),
          });
          for (const x of rest) ignore(x.r, `${x.reason}; stopped once the successor of ${short(first!.r.id)} serves`);
        }
        for (const w of waiting) ignore(w.r, w.reason);
        continue;
      }
      if (waiting.length > 0) {
        for (const w of waiting) ignore(w.r, w.reason);
        continue;
      }
      touched.add(slot);
      if (svc.exclusive && (dead || freed.has(slot) || stoppingSlots.has(slot))) continue; // its address is free only once the old one is gone
      requests.push({ key: `${slot}`, service: svc.id, slot, revision: R, bucket: 'place', reason: dead ? `slot ${slot}'s replica failed` : `slot ${slot} is empty` });
    }

    // Revision changes: handed to the rolling-update planner, with what this plan already decided
    // taken out (so a replica is never both replaced here and stopped there).
    const rolling = mine.filter((r) => !beyond.has(r.id));
    const needsRollout =
      svc.rollout?.state === RolloutStates.Progressing ||
      svc.rollout?.state === RolloutStates.Paused ||
      rolling.some((r) => r.revision !== R && r.slot >= 1 && r.slot <= N && r.state !== ReplicaStates.Stopping);
    let step: ReturnType<typeof nextRolloutStep> | null = null;
    if (needsRollout) {
      step = nextRolloutStep(svc, svc.updatePolicy, rolling, now, options.rollout ?? {});
      if (step.rollback) {
        // The desired revision is being abandoned: start nothing more of it.
        for (let i = requests.length - 1; i >= 0; i--) {
          const req = requests[i]!;
          if (req.revision !== R) continue;
          requests.splice(i, 1);
          if (req.old) {
            decided.delete(req.old.id);
            ignore(req.old, `${req.reason}; its successor starts once the rollback to rev ${step.rollback.toRevision} is recorded`);
          }
        }
      } else {
        for (const s of step.start) {
          if (touched.has(s.slot)) continue;
          requests.push({ key: `${s.slot}`, service: svc.id, slot: s.slot, revision: s.revision, bucket: 'update', reason: s.reason });
        }
      }
    }

    // One placement call per service, so its new replicas spread (or pack) among themselves too.
    const ordered = [...requests].sort((a, b) => ['replace', 'place', 'update'].indexOf(a.bucket) - ['replace', 'place', 'update'].indexOf(b.bucket) || a.slot - b.slot);
    const placed = place(ordered, observed.nodes, occupied, svc.strategy, svc.constraints, svc.resources);
    const updateStarts: NewReplica[] = [];
    const blockedNotes: string[] = [];
    ordered.forEach((req, i) => {
      const p = placed[i]!;
      const label = `${svc.name}-${req.slot}@rev${req.revision}`;
      if (p.unplaceable) {
        plan.blocked.push({ service: svc.id, slot: req.slot, bucket: req.bucket, unplaceable: p.unplaceable, reason: `${label} cannot be placed: ${p.unplaceable.message}` });
        blockedNotes.push(`cannot start ${label}: ${p.unplaceable.message}`);
        if (req.old) {
          decided.delete(req.old.id);
          const from = nodes.get(req.old.node);
          // A forced removeNode drains anyway: what fits nowhere stops (and its slot shows up blocked).
          if (from?.state === NodeStates.Draining && from.forceDrain) stop(req.old, `${req.reason} (removed with force); no node can take its successor: ${p.unplaceable.message}`);
          else ignore(req.old, `${req.reason}; no node can take its successor: ${p.unplaceable.message}`);
        }
        return;
      }
      const id = newReplicaId(svc.id, req.slot, req.revision, taken);
      taken.add(id);
      const nr: NewReplica = { id, service: svc.id, slot: req.slot, revision: req.revision, node: p.node, resources: svc.resources, staticAddresses: svc.staticAddresses(req.slot) };
      occupied.push({ service: svc.id, node: p.node, state: ReplicaStates.Pending, resources: svc.resources });
      if (req.bucket === 'replace') plan.replace.push({ old: req.old!.id, oldNode: req.old!.node, replica: nr, reason: req.reason });
      else if (req.bucket === 'place') plan.place.push({ replica: nr, reason: req.reason });
      else updateStarts.push(nr);
    });

    if (step) {
      const stops: StopAction[] = [];
      for (const s of step.stop) {
        const r = mine.find((x) => x.id === s.replica)!;
        if (decided.has(r.id) && !plan.ignore.some((x) => x.replica === r.id)) continue;
        // The rollout's decision wins over an earlier "nothing to do".
        const j = plan.ignore.findIndex((x) => x.replica === r.id);
        if (j >= 0) plan.ignore.splice(j, 1);
        decided.add(r.id);
        stops.push({ replica: r.id, service: r.service, node: r.node, reason: s.reason });
      }
      if (step.waitUntil !== undefined) waits.push(step.waitUntil);
      const status = blockedNotes.length ? `${step.status}; ${blockedNotes.join('; ')}` : step.status;
      plan.update.push({
        service: svc.id,
        fromRevision: svc.rollout?.from ?? svc.previousRevision ?? R,
        toRevision: R,
        start: updateStarts,
        stop: stops,
        phase: step.phase,
        status,
        ...(step.waitUntil !== undefined ? { waitUntil: step.waitUntil } : {}),
        ...(step.done ? { done: true as const } : {}),
        ...(step.rollback ? { rollback: step.rollback } : {}),
        ...(step.pause ? { pause: step.pause } : {}),
      });
    }

    for (const r of mine) {
      if (decided.has(r.id)) continue;
      const why = r.revision === R ? `rev ${R}, ${r.state}` : `rev ${r.revision}, ${r.state}; the rollout to rev ${R} will replace it`;
      ignore(r, why);
    }
  }

  return { ...plan, wakeAt: waits.length ? Math.min(...waits) : null };
}
