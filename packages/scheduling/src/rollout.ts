// The rolling-update state machine. It keeps no state of its own: each call looks at the service
// (its revision and rollout record) and the replicas as observed, and says what to start and stop
// now, until when nothing can change, and why it is waiting. The scheduler applies the step and
// records the transitions it asks for (done, rollback, pause) on the Service.
import {
  FailureActions,
  ReplicaStates,
  RolloutStates,
  UpdateOrders,
  formatDuration,
  replicaLabel,
  type Replica,
  type ResolvedUpdatePolicy,
  type Service,
} from './model';

export interface RolloutStart {
  readonly slot: number;
  readonly revision: number;
  readonly reason: string;
}

export interface RolloutStop {
  readonly replica: string;
  readonly slot: number;
  readonly reason: string;
}

export const RolloutPhases = {
  Updating: 'updating',
  Waiting: 'waiting',
  Paused: 'paused',
  RollingBack: 'rolling-back',
  Done: 'done',
} as const;
export type RolloutPhase = (typeof RolloutPhases)[keyof typeof RolloutPhases];

export interface RolloutStep {
  readonly start: RolloutStart[];
  readonly stop: RolloutStop[];
  readonly phase: RolloutPhase;
  /** Always set: what the rollout does or waits for, in words a user can act on. */
  readonly status: string;
  /** The earliest time a wait ends (a monitor period, the delay, a start deadline). */
  readonly waitUntil?: number;
  /** Every slot runs the new revision and has passed its monitor period: record the rollout complete. */
  readonly done?: true;
  /** A new replica failed: go back to this revision (Service.rollback). */
  readonly rollback?: { readonly toRevision: number; readonly reason: string };
  /** A new replica failed and the rollout stops here (Service.pauseRollout). */
  readonly pause?: { readonly reason: string };
  /** Slots that run the new revision and passed monitoring, of `total`. */
  readonly updated: number;
  readonly total: number;
}

export interface RolloutOptions {
  /** A new replica not serving this long after it was created has failed. Default: startDeadline(service). */
  readonly startDeadlineMs?: number;
}

/** 60 s to get running, plus the time a health check needs to declare a replica healthy or unhealthy. */
export function startDeadline(service: Service): number {
  const hc = service.healthCheck;
  const check = hc ? (hc.startPeriodMs ?? 0) + (hc.intervalMs + hc.timeoutMs) * (hc.retries + 1) : 0;
  return 60_000 + check;
}

const byId = (a: Replica, b: Replica) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The next step of the rollout of `service.revision` over `replicas` (the service's replicas as
 * observed; others are ignored).
 *
 * - Slots are updated in batches of `parallelism`, lowest slot first. A batch starts when the
 *   previous one has passed its monitor period, plus `delayMs`.
 * - start-first: the new replica starts beside the old one, which stops only once the new one
 *   serves; so while new replicas come up there are never fewer serving replicas than desired.
 *   stop-first: the old one stops, then its slot (now empty) gets the new one.
 * - A new replica that fails, turns unhealthy, or does not serve by its start deadline fails the
 *   rollout: failureAction rollback goes back to the rollout's `from` revision, pause stops. A
 *   rollback that fails again pauses, so two bad revisions never ping-pong.
 */
export function nextRolloutStep(service: Service, policy: ResolvedUpdatePolicy, replicas: readonly Replica[], now: number, options: RolloutOptions = {}): RolloutStep {
  const R = service.revision;
  const N = service.replicas;
  const rollout = service.rollout;
  const from = rollout?.from ?? service.previousRevision ?? R;
  const head = rollout?.rollbackOf != null ? `rollback rev ${rollout.rollbackOf} → rev ${R}` : `rev ${from} → rev ${R}`;
  const live = replicas.filter((r) => r.service === service.id && r.state !== ReplicaStates.Stopped && Number.isInteger(r.slot) && r.slot >= 1 && r.slot <= N);
  const serving = (r: Replica) => r.serving(service.servesWhenRunning(r.revision));
  const base = { start: [], stop: [], total: N };

  const fresh = live.filter((r) => r.revision === R && r.state !== ReplicaStates.Stopping).sort((a, b) => a.slot - b.slot || byId(a, b));
  const provenSlots = () => new Set(fresh.filter((r) => serving(r) && r.since + policy.monitorMs <= now).map((r) => r.slot)).size;

  if (rollout?.state === RolloutStates.Paused) {
    return { ...base, phase: RolloutPhases.Paused, status: `${head} paused: ${rollout.reason ?? 'no reason recorded'}`, updated: provenSlots() };
  }

  // Failure of a new replica decides before anything else: nothing more is started on a bad revision.
  const deadline = options.startDeadlineMs ?? startDeadline(service);
  let failure: string | null = null;
  for (const r of fresh) {
    const label = replicaLabel(r.service, r.slot, r.revision);
    if (r.state === ReplicaStates.Failed) failure = `replica ${label} failed`;
    else if (r.state === ReplicaStates.Unhealthy) failure = `replica ${label} unhealthy for ${formatDuration(now - r.since)}`;
    else if (!serving(r) && now - r.createdAt >= deadline) failure = `replica ${label} not serving ${formatDuration(now - r.createdAt)} after it was created (still ${r.state})`;
    if (failure) break;
  }
  if (failure) {
    const canRollback = policy.failureAction === FailureActions.Rollback && rollout !== null && rollout.rollbackOf === null && rollout.from !== R;
    if (canRollback) {
      const reason = `${failure}: rolling back to rev ${rollout.from}`;
      return { ...base, phase: RolloutPhases.RollingBack, status: `${head}: ${reason}`, rollback: { toRevision: rollout.from, reason }, updated: provenSlots() };
    }
    const why =
      rollout?.rollbackOf != null
        ? `${failure}: the rollback to rev ${R} failed too; paused (undo to a revision that works, or update the service)`
        : policy.failureAction === FailureActions.Pause
          ? `${failure}: paused (failure action pause); update the service or undo to go on`
          : `${failure}: paused, there is no earlier revision to roll back to`;
    return { ...base, phase: RolloutPhases.Paused, status: `${head} paused: ${why}`, pause: { reason: why }, updated: provenSlots() };
  }

  const start: RolloutStart[] = [];
  const stop: RolloutStop[] = [];
  const waits: number[] = [];
  const waitingFor: string[] = [];
  const todo: number[] = [];
  let inflight = 0;
  let updated = 0;
  let lastProven = -Infinity;
  const since = rollout?.startedAt ?? -Infinity;

  for (let slot = 1; slot <= N; slot++) {
    const here = live.filter((r) => r.slot === slot);
    const mine = here.filter((r) => r.revision === R && r.state !== ReplicaStates.Stopping).sort((a, b) => Number(serving(b)) - Number(serving(a)) || a.createdAt - b.createdAt || byId(a, b));
    const old = here.filter((r) => r.revision !== R && r.state !== ReplicaStates.Stopping).sort(byId);
    const keeper = mine[0];
    if (keeper && serving(keeper)) {
      for (const o of old) stop.push({ replica: o.id, slot, reason: `superseded by ${keeper.id.slice(keeper.id.indexOf('/') + 1)} (rev ${R}), which serves` });
      const proven = keeper.since + policy.monitorMs;
      if (proven > now) {
        inflight++;
        waits.push(proven);
        waitingFor.push(`monitoring ${replicaLabel(keeper.service, slot, R)} (healthy for ${formatDuration(now - keeper.since)} of ${formatDuration(policy.monitorMs)})`);
      } else if (old.length > 0) {
        inflight++; // done once its predecessors are stopped
      } else {
        updated++;
        if (keeper.createdAt >= since) lastProven = Math.max(lastProven, proven);
      }
    } else if (keeper) {
      inflight++;
      waits.push(keeper.createdAt + deadline);
      waitingFor.push(`waiting for ${replicaLabel(keeper.service, slot, R)} to serve (${keeper.state} for ${formatDuration(now - keeper.since)})`);
    } else if (old.length > 0) {
      todo.push(slot);
    } else if (here.length > 0) {
      inflight++;
      waitingFor.push(`waiting for ${here.map((r) => replicaLabel(r.service, slot, r.revision)).join(', ')} to stop`);
    } else {
      inflight++;
      start.push({ slot, revision: R, reason: `slot ${slot} is empty` });
      waitingFor.push(`starting ${replicaLabel(service.id, slot, R)}`);
    }
  }

  if (inflight === 0 && todo.length > 0) {
    const resumeAt = lastProven + policy.delayMs;
    if (policy.delayMs > 0 && Number.isFinite(lastProven) && now < resumeAt) {
      waits.push(resumeAt);
      waitingFor.push(`waiting ${formatDuration(resumeAt - now)} (delay ${formatDuration(policy.delayMs)}) before the next batch`);
    } else {
      const batch = todo.slice(0, policy.parallelism);
      for (const slot of batch) {
        if (policy.order === UpdateOrders.StartFirst) {
          start.push({ slot, revision: R, reason: `rolling out rev ${R} (start-first)` });
        } else {
          for (const o of live.filter((r) => r.slot === slot && r.revision !== R && r.state !== ReplicaStates.Stopping).sort(byId)) {
            stop.push({ replica: o.id, slot, reason: `rolling out rev ${R} (stop-first): stopped before its successor starts` });
          }
        }
      }
      waitingFor.unshift(`updating slot${batch.length > 1 ? 's' : ''} ${batch.join(', ')} (${policy.order})`);
    }
  }

  const waitUntil = waits.length ? Math.min(...waits) : undefined;
  const progress = `${head}: ${updated} of ${N} replicas updated`;
  if (todo.length === 0 && inflight === 0) {
    return { start, stop, phase: RolloutPhases.Done, status: `${progress}, done`, done: true, updated, total: N };
  }
  const phase = start.length || stop.length ? RolloutPhases.Updating : RolloutPhases.Waiting;
  return { start, stop, phase, status: `${progress}; ${waitingFor.join('; ')}`, ...(waitUntil !== undefined ? { waitUntil } : {}), updated, total: N };
}
