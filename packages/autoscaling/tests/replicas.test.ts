import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredReplicas, type DesiredReplicasInput, type ReplicaValue } from '../src/index';
import { T0, replicaIds } from './helpers';

const RUNS = Number(process.env.SDMI_PROPERTY_RUNS ?? 300);

function input(over: Partial<DesiredReplicasInput> & { utilizations?: number[] } = {}): DesiredReplicasInput {
  const current = over.current ?? 4;
  const replicas = over.replicas ?? replicaIds(current);
  const values: readonly ReplicaValue[] = over.values ?? (over.utilizations ?? replicas.map(() => 0.6)).map((value, i) => ({ replicaId: replicas[i]!, at: T0, value }));
  return { current, replicas, values, target: 0.6, tolerance: 0.1, minReplicas: 1, maxReplicas: 20, staleAfterMs: 30_000, now: T0 + 1000, ...over };
}

describe('desiredReplicas: the HPA rule', () => {
  it('scales by ceil(current × value / target)', () => {
    const r = desiredReplicas(input({ utilizations: [0.9, 0.9, 0.9, 0.9] }));
    expect(r).toMatchObject({ kind: 'rule', replicas: 6, unbounded: 6, fresh: 4, missing: 0 });
    expect(r.ratio).toBeCloseTo(1.5);
  });

  it('scales down the same way', () => {
    expect(desiredReplicas(input({ utilizations: [0.15, 0.15, 0.15, 0.15] }))).toMatchObject({ kind: 'rule', replicas: 1 });
  });

  it('does not add a replica for floating-point dust (3 × 0.66 / 0.6 = 3.3 → 4, but 3 × 0.6 / 0.6 stays 3)', () => {
    expect(desiredReplicas(input({ current: 3, tolerance: 0, utilizations: [0.6, 0.6, 0.6] })).replicas).toBe(3);
    expect(desiredReplicas(input({ current: 3, tolerance: 0, utilizations: [0.66, 0.66, 0.66] })).replicas).toBe(4);
  });

  it('changes nothing within tolerance (|ratio − 1| ≤ 0.1)', () => {
    expect(desiredReplicas(input({ utilizations: [0.65, 0.65, 0.66, 0.66] }))).toMatchObject({ kind: 'within-tolerance', replicas: 4 });
    expect(desiredReplicas(input({ utilizations: [0.55, 0.55, 0.55, 0.55] }))).toMatchObject({ kind: 'within-tolerance', replicas: 4 });
  });

  it('is bounded by min and max, and reports the unbounded count', () => {
    expect(desiredReplicas(input({ maxReplicas: 5, utilizations: [1.2, 1.2, 1.2, 1.2] }))).toMatchObject({ replicas: 5, unbounded: 8 });
    expect(desiredReplicas(input({ minReplicas: 3, utilizations: [0.1, 0.1, 0.1, 0.1] }))).toMatchObject({ replicas: 3, unbounded: 1 });
  });

  it('brings a count outside the bounds back, even without data', () => {
    expect(desiredReplicas(input({ current: 25, replicas: [], values: [] }))).toMatchObject({ kind: 'above-max', replicas: 20 });
    expect(desiredReplicas(input({ current: 1, minReplicas: 2, replicas: [], values: [] }))).toMatchObject({ kind: 'below-min', replicas: 2 });
  });

  it('leaves a service scaled to zero alone', () => {
    expect(desiredReplicas(input({ current: 0, replicas: [], values: [] }))).toMatchObject({ kind: 'disabled', replicas: 0 });
  });
});

describe('desiredReplicas: missing data', () => {
  it('with no sample at all, decides nothing', () => {
    expect(desiredReplicas(input({ values: [] }))).toMatchObject({ kind: 'no-data', replicas: 4, value: null, ratio: null, fresh: 0, missing: 4 });
  });

  it('a sample older than staleAfterMs is no sample', () => {
    const replicas = replicaIds(4);
    const values = replicas.map((replicaId) => ({ replicaId, at: T0, value: 2 }));
    expect(desiredReplicas(input({ replicas, values, now: T0 + 30_001 }))).toMatchObject({ kind: 'no-data', replicas: 4 });
    expect(desiredReplicas(input({ replicas, values, now: T0 + 30_000 })).kind).toBe('rule');
  });

  it('samples of replicas the scheduler no longer runs are ignored', () => {
    const values = replicaIds(8).map((replicaId, i) => ({ replicaId, at: T0, value: i < 4 ? 0.6 : 5 }));
    expect(desiredReplicas(input({ replicas: replicaIds(4), values })).kind).toBe('within-tolerance');
  });

  it('uses the newest fresh sample of each replica', () => {
    const [a] = replicaIds(1);
    const values = [{ replicaId: a!, at: T0 - 10_000, value: 0.1 }, { replicaId: a!, at: T0, value: 1.2 }, { replicaId: a!, at: T0 - 5000, value: 0.1 }];
    expect(desiredReplicas(input({ current: 1, replicas: [a!], values })).replicas).toBe(2);
  });

  it('on a scale-up, a silent replica counts as 0', () => {
    // 2 fresh at 1.2 (ratio 2), 2 silent: (1.2 + 1.2 + 0 + 0) / 4 / 0.6 = 1 → within tolerance.
    const r = desiredReplicas(input({ utilizations: [1.2, 1.2] }));
    expect(r).toMatchObject({ kind: 'within-tolerance', replicas: 4, fresh: 2, missing: 2 });
    expect(r.ratio).toBeCloseTo(1);
    // 3 fresh at 1.2, 1 silent: 3.6 / 4 / 0.6 = 1.5 → 6.
    expect(desiredReplicas(input({ utilizations: [1.2, 1.2, 1.2] }))).toMatchObject({ kind: 'rule', replicas: 6 });
  });

  it('on a scale-down, a silent replica counts as the target', () => {
    // 2 fresh at 0.06, 2 silent at 0.6: (0.12 + 1.2) / 4 / 0.6 = 0.55 → ceil(2.2) = 3, not 1.
    expect(desiredReplicas(input({ utilizations: [0.06, 0.06] }))).toMatchObject({ kind: 'rule', replicas: 3 });
  });

  it('when counting the silent replicas reverses the direction, nothing changes', () => {
    // 1 fresh at 0.7 (ratio 1.17: up), 3 silent at 0: 0.7 / 4 / 0.6 = 0.29 (down) → no change.
    expect(desiredReplicas(input({ utilizations: [0.7] }))).toMatchObject({ kind: 'missing-replicas', replicas: 4 });
  });

  it('property: silent replicas only damp — never a change the fresh ones alone would not make, never a larger one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 30 }),
        fc.double({ min: 0.05, max: 2, noNaN: true }),
        fc.constantFrom(0, 0.05, 0.1, 0.3),
        (current, freshValues, silent, target, tolerance) => {
          const ids = replicaIds(freshValues.length + silent);
          const values = freshValues.map((value, i) => ({ replicaId: ids[i]!, at: T0, value }));
          const common = { current, values, target, tolerance, minReplicas: 1, maxReplicas: 1000, staleAfterMs: 30_000, now: T0 };
          const withSilent = desiredReplicas({ ...common, replicas: ids });
          const freshOnly = desiredReplicas({ ...common, replicas: ids.slice(0, freshValues.length) });
          const d = withSilent.replicas - current;
          const dFresh = freshOnly.replicas - current;
          expect(Math.sign(d) === 0 || Math.sign(d) === Math.sign(dFresh)).toBe(true);
          expect(Math.abs(d)).toBeLessThanOrEqual(Math.abs(dFresh));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('property: min and max are never crossed, and no fresh sample means no change', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.record({ value: fc.double({ min: 0, max: 10, noNaN: true }), age: fc.integer({ min: 0, max: 60_000 }) }), { maxLength: 60 }),
        (min, span, current, raw) => {
          const max = Math.min(1000, min + span);
          const ids = replicaIds(Math.min(current, 60));
          const values = raw.slice(0, ids.length).map((v, i) => ({ replicaId: ids[i]!, at: T0 - v.age, value: v.value }));
          const r = desiredReplicas({ current, replicas: ids, values, target: 0.6, tolerance: 0.1, minReplicas: min, maxReplicas: max, staleAfterMs: 30_000, now: T0 });
          expect(r.replicas).toBeGreaterThanOrEqual(min);
          expect(r.replicas).toBeLessThanOrEqual(max);
          if (r.fresh === 0 && current >= min && current <= max) expect(r).toMatchObject({ kind: 'no-data', replicas: current });
        },
      ),
      { numRuns: RUNS },
    );
  });
});
