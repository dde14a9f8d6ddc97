// The rolling-update state machine: start-first and stop-first happy paths, health gating, delay,
// a broken image rolling back by itself, pause with a reason, undo to any revision; and two
// properties over random rollouts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Replica, Service, nextRolloutStep, type HealthCheck, type ReplicaState, type RolloutStep, type UpdatePolicy } from '../src/index';
import { applyStep, live, replica, spec } from './helpers';

const hc: HealthCheck = { exec: ['/health'], intervalMs: 1000, timeoutMs: 500, retries: 3 };

function rolled(update: UpdatePolicy = {}, replicas = 3): { svc: Service; rs: Replica[] } {
  const v1 = Service.create(spec({ replicas, healthCheck: hc, update }), 0);
  const svc = v1.update(spec({ replicas, image: 'app:2', healthCheck: hc, update }), 1000);
  const rs = Array.from({ length: replicas }, (_, i) => replica(v1, i + 1, 1, 'n1', 'healthy', 0));
  return { svc, rs };
}
const step = (svc: Service, rs: readonly Replica[], now: number) => nextRolloutStep(svc, svc.updatePolicy, rs, now);
const servingCount = (svc: Service, rs: readonly Replica[]) => live(rs).filter((r) => r.serving(svc.servesWhenRunning(r.revision))).length;
const ids = (xs: readonly { replica: string }[]) => xs.map((x) => x.replica);

describe('start-first', () => {
  it('starts one new replica, stops the old one once the new one serves, waits out the monitor, then the next', () => {
    let { svc, rs } = rolled({ monitorMs: 5000 });
    let s = step(svc, rs, 2000);
    expect(s).toMatchObject({ phase: 'updating', start: [{ slot: 1, revision: 2 }], stop: [], updated: 0, total: 3 });
    expect(s.status).toBe('rev 1 → rev 2: 0 of 3 replicas updated; updating slot 1 (start-first)');
    ({ svc, rs } = applyStep(svc, rs, s, 2000, () => 'starting'));

    s = step(svc, rs, 3000);
    expect(s).toMatchObject({ phase: 'waiting', start: [], stop: [], waitUntil: 2000 + 60_000 + (1000 + 500) * 4 });
    expect(s.status).toBe('rev 1 → rev 2: 0 of 3 replicas updated; waiting for app-1@rev2 to serve (starting for 1 s)');

    rs = rs.map((r) => (r.revision === 2 ? r.with({ state: 'healthy', since: 4000 }) : r));
    s = step(svc, rs, 4000);
    expect(ids(s.stop)).toEqual(['acme/app-1@rev1']);
    expect(s.stop[0]!.reason).toBe('superseded by app-1@rev2 (rev 2), which serves');
    expect(s.status).toBe('rev 1 → rev 2: 0 of 3 replicas updated; monitoring app-1@rev2 (healthy for 0 s of 5 s)');
    expect(s.waitUntil).toBe(9000);
    ({ svc, rs } = applyStep(svc, rs, s, 4000, () => 'healthy'));
    expect(servingCount(svc, rs)).toBe(3);

    expect(step(svc, rs, 8999).start).toEqual([]);
    s = step(svc, rs, 9000);
    expect(s).toMatchObject({ start: [{ slot: 2, revision: 2 }], updated: 1 });
  });

  it('runs to done, never with fewer serving replicas than desired, and leaves parallelism-sized batches', () => {
    let { svc, rs } = rolled({ parallelism: 2, monitorMs: 0 }, 5);
    const batches: number[][] = [];
    let now = 2000;
    let s: RolloutStep;
    for (let i = 0; ; i++) {
      s = step(svc, rs, now);
      if (s.done) break;
      if (s.start.length) batches.push(s.start.map((x) => x.slot));
      ({ svc, rs } = applyStep(svc, rs, s, now, () => 'healthy'));
      expect(servingCount(svc, rs)).toBeGreaterThanOrEqual(5);
      now += 1000;
      expect(i).toBeLessThan(50);
    }
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(s.status).toBe('rev 1 → rev 2: 5 of 5 replicas updated, done');
    expect(live(rs).map((r) => r.revision)).toEqual([2, 2, 2, 2, 2]);
    expect(applyStep(svc, rs, s, now, () => 'healthy').svc.rollout?.state).toBe('complete');
  });

  it('waits the delay after a batch has passed its monitor period, and says so', () => {
    let { svc, rs } = rolled({ monitorMs: 1000, delayMs: 10_000 });
    ({ svc, rs } = applyStep(svc, rs, step(svc, rs, 2000), 2000, () => 'healthy'));
    ({ svc, rs } = applyStep(svc, rs, step(svc, rs, 2000), 2000, () => 'healthy')); // stops app-1@rev1
    const s = step(svc, rs, 5000);
    expect(s).toMatchObject({ start: [], stop: [], phase: 'waiting', waitUntil: 13_000 });
    expect(s.status).toBe('rev 1 → rev 2: 1 of 3 replicas updated; waiting 8 s (delay 10 s) before the next batch');
    expect(step(svc, rs, 13_000).start).toEqual([{ slot: 2, revision: 2, reason: 'rolling out rev 2 (start-first)' }]);
  });
});

describe('stop-first', () => {
  it('stops the old replica first, then starts the new one in the emptied slot', () => {
    let { svc, rs } = rolled({ order: 'stop-first', monitorMs: 0 });
    let s = step(svc, rs, 2000);
    expect(s).toMatchObject({ start: [], stop: [{ replica: 'acme/app-1@rev1', slot: 1, reason: 'rolling out rev 2 (stop-first): stopped before its successor starts' }] });
    ({ svc, rs } = applyStep(svc, rs, s, 2000, () => 'healthy'));
    expect(servingCount(svc, rs)).toBe(2);
    s = step(svc, rs, 2000);
    expect(s).toMatchObject({ start: [{ slot: 1, revision: 2, reason: 'slot 1 is empty' }], stop: [] });
    ({ svc, rs } = applyStep(svc, rs, s, 2000, () => 'healthy'));
    let now = 3000;
    for (let i = 0; i < 20 && !(s = step(svc, rs, now)).done; i++, now += 1000) ({ svc, rs } = applyStep(svc, rs, s, now, () => 'healthy'));
    expect(s.done).toBe(true);
    expect(live(rs).map((r) => r.id).sort()).toEqual(['acme/app-1@rev2', 'acme/app-2@rev2', 'acme/app-3@rev2']);
  });

  it('waits while a stopped-first replica is still stopping', () => {
    const { svc, rs } = rolled({ order: 'stop-first' });
    const s = step(svc, [rs[0]!.with({ state: 'stopping' }), ...rs.slice(1)], 2000);
    expect(s).toMatchObject({ start: [], stop: [], phase: 'waiting' });
    expect(s.status).toBe('rev 1 → rev 2: 0 of 3 replicas updated; waiting for app-1@rev1 to stop');
  });
});

describe('failure', () => {
  it('a broken image rolls back by itself, with the reason; healthy old replicas are not restarted', () => {
    let { svc, rs } = rolled({ monitorMs: 0 });
    ({ svc, rs } = applyStep(svc, rs, step(svc, rs, 2000), 2000, () => 'starting'));
    rs = rs.map((r) => (r.revision === 2 ? r.with({ state: 'unhealthy', since: 6000 }) : r));
    const s = step(svc, rs, 36_000);
    expect(s).toMatchObject({ phase: 'rolling-back', start: [], stop: [], rollback: { toRevision: 1, reason: 'replica app-1@rev2 unhealthy for 30 s: rolling back to rev 1' } });
    expect(s.status).toBe('rev 1 → rev 2: replica app-1@rev2 unhealthy for 30 s: rolling back to rev 1');
    ({ svc, rs } = applyStep(svc, rs, s, 36_000, () => 'healthy'));
    expect(svc).toMatchObject({ revision: 1, previousRevision: 2, rollout: { from: 1, to: 1, rollbackOf: 2, state: 'progressing' } });

    const back = step(svc, rs, 36_000);
    expect(back.stop).toEqual([{ replica: 'acme/app-1@rev2', slot: 1, reason: 'superseded by app-1@rev1 (rev 1), which serves' }]);
    expect(back.start).toEqual([]);
    ({ svc, rs } = applyStep(svc, rs, back, 36_000, () => 'healthy'));
    const end = step(svc, rs, 36_000);
    expect(end).toMatchObject({ done: true, status: 'rollback rev 2 → rev 1: 3 of 3 replicas updated, done' });
    expect(live(rs).map((r) => r.id)).toEqual(['acme/app-1@rev1', 'acme/app-2@rev1', 'acme/app-3@rev1']);
  });

  it('a replica that never serves fails at its start deadline', () => {
    let { svc, rs } = rolled();
    ({ svc, rs } = applyStep(svc, rs, step(svc, rs, 2000), 2000, () => 'starting'));
    expect(step(svc, rs, 2000 + 65_999).rollback).toBeUndefined();
    expect(step(svc, rs, 2000 + 66_000).rollback?.reason).toBe('replica app-1@rev2 not serving 66 s after it was created (still starting): rolling back to rev 1');
    expect(nextRolloutStep(svc, svc.updatePolicy, rs, 2000 + 5000, { startDeadlineMs: 5000 }).rollback?.reason).toBe('replica app-1@rev2 not serving 5 s after it was created (still starting): rolling back to rev 1');
  });

  it('failure action pause stops the rollout with the reason, and it stays paused', () => {
    let { svc, rs } = rolled({ failureAction: 'pause' });
    ({ svc, rs } = applyStep(svc, rs, step(svc, rs, 2000), 2000, () => 'failed'));
    const s = step(svc, rs, 3000);
    const reason = 'replica app-1@rev2 failed: paused (failure action pause); update the service or undo to go on';
    expect(s).toMatchObject({ phase: 'paused', start: [], stop: [], pause: { reason }, status: `rev 1 → rev 2 paused: ${reason}` });
    ({ svc, rs } = applyStep(svc, rs, s, 3000, () => 'healthy'));
    expect(svc.rollout).toMatchObject({ state: 'paused', reason });
    const later = step(svc, rs, 100_000);
    expect(later).toMatchObject({ phase: 'paused', start: [], stop: [], status: `rev 1 → rev 2 paused: ${reason}` });
    expect(later.pause).toBeUndefined();
  });

  it('a rollback that fails too pauses instead of rolling back again', () => {
    let { svc, rs } = rolled();
    ({ svc, rs } = applyStep(svc, rs, step(svc, rs, 2000), 2000, () => 'failed'));
    ({ svc, rs } = applyStep(svc, rs, step(svc, rs, 3000), 3000, () => 'healthy'));
    expect(svc.revision).toBe(1);
    // The old replicas turn out to be broken as well (say a dependency went away).
    rs = rs.map((r) => (r.revision === 1 && r.state !== 'stopped' ? r.with({ state: 'unhealthy', since: 3000 }) : r));
    const s = step(svc, rs, 13_000);
    expect(s.rollback).toBeUndefined();
    expect(s.pause?.reason).toBe('replica app-1@rev1 unhealthy for 10 s: the rollback to rev 1 failed too; paused (undo to a revision that works, or update the service)');
  });
});

describe('undo', () => {
  it('goes back to any earlier revision, replacing every replica', () => {
    let svc = Service.create(spec({ healthCheck: hc }), 0);
    for (let v = 2; v <= 4; v++) svc = svc.update(spec({ image: `app:${v}`, healthCheck: hc }), v).completeRollout();
    let rs = [1, 2, 3].map((slot) => replica(svc, slot, 4, 'n1', 'healthy', 0));
    svc = svc.undo(2, 10_000);
    expect(svc.spec.image).toBe('app:2');
    let now = 10_000;
    let s: RolloutStep;
    for (let i = 0; i < 100 && !(s = step(svc, rs, now)).done; i++, now += 1000) ({ svc, rs } = applyStep(svc, rs, s, now, () => 'healthy'));
    expect(s!.status).toBe('rev 4 → rev 2: 3 of 3 replicas updated, done');
    expect(live(rs).map((r) => r.revision)).toEqual([2, 2, 2]);
  });
});

// --- properties -------------------------------------------------------------------------------------

interface Sim {
  svc: Service;
  rs: Replica[];
  /** When each started replica reaches its final state. */
  settles: Map<string, number>;
}

/** Replicas start `starting` and settle after their delay: healthy when good, else badState. */
function advance(sim: Sim, now: number, good: (rev: number) => boolean, badState: ReplicaState): void {
  sim.rs = sim.rs.map((r) => {
    const at = sim.settles.get(r.id);
    if (r.state !== 'starting' || at === undefined || at > now) return r;
    if (good(r.revision)) return r.with({ state: 'healthy', since: at });
    return badState === 'starting' ? r : r.with({ state: badState, since: at });
  });
}

const policyArb = fc.record({
  parallelism: fc.integer({ min: 1, max: 4 }),
  delayMs: fc.integer({ min: 0, max: 3000 }),
  monitorMs: fc.integer({ min: 0, max: 5000 }),
});

function run(sim: Sim, delays: number[], good: (rev: number) => boolean, badState: ReplicaState, check: (sim: Sim) => void): RolloutStep {
  let now = 2000;
  let n = 0;
  for (let i = 0; i < 2000; i++) {
    advance(sim, now, good, badState);
    check(sim);
    const s = nextRolloutStep(sim.svc, sim.svc.updatePolicy, sim.rs, now);
    const before = new Set(sim.rs.map((r) => r.id));
    const next = applyStep(sim.svc, sim.rs, s, now, () => 'starting');
    sim.svc = next.svc;
    sim.rs = next.rs;
    for (const r of sim.rs) if (!before.has(r.id)) sim.settles.set(r.id, now + delays[n++ % delays.length]!);
    check(sim);
    if (s.done || (s.phase === 'paused' && !s.pause)) return s;
    now += 500;
  }
  throw new Error('rollout did not finish');
}

describe('properties', () => {
  it('start-first never has fewer serving replicas than desired when new replicas become healthy', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), policyArb, fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 10 }), (n, policy, delays) => {
        const { svc, rs } = rolled({ ...policy, order: 'start-first' }, n);
        const sim: Sim = { svc, rs, settles: new Map() };
        const end = run(sim, delays, () => true, 'healthy', (s) => expect(servingCount(s.svc, s.rs)).toBeGreaterThanOrEqual(n));
        expect(end.done).toBe(true);
        expect(live(sim.rs).map((r) => `${r.slot}@${r.revision}:${r.state}`).sort()).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}@2:healthy`).sort());
      }),
      { numRuns: 200 },
    );
  });

  it('a failing new revision always ends rolled back, with every slot on the old revision', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        policyArb,
        fc.constantFrom('start-first' as const, 'stop-first' as const),
        fc.constantFrom<ReplicaState>('unhealthy', 'failed', 'starting'),
        fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 10 }),
        (n, policy, order, badState, delays) => {
          const { svc, rs } = rolled({ ...policy, order }, n);
          const sim: Sim = { svc, rs, settles: new Map() };
          const end = run(sim, delays, (rev) => rev === 1, badState, () => undefined);
          expect(end.done).toBe(true);
          expect(sim.svc).toMatchObject({ revision: 1, rollout: { rollbackOf: 2 } });
          expect(live(sim.rs).filter((r) => r.state !== 'failed' || r.revision === 1).map((r) => `${r.slot}@${r.revision}`).sort()).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}@1`).sort());
        },
      ),
      { numRuns: 200 },
    );
  });
});
