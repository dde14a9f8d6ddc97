// Properties of the Autoscaler over random policies and loads, driven by the closed loop of
// tests/helpers.ts (replicas share a total demand evenly, decisions are applied at once): bounds
// hold, oscillation does not flap, sustained load scales up in a bounded number of steps, scale-down
// waits for the window, silence decides nothing; every decision passes the ScaleDecision schema.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contracts, type AutoscalePolicy, type ScalingPolicy } from '@sdmi/contracts';
import { Autoscaler } from '../src/index';
import { T0, changes, policy, replicaIds, samples, simulate } from './helpers';

const RUNS = Number(process.env.SDMI_PROPERTY_RUNS ?? 200);
const c = contracts();

const scalingPolicyArb: fc.Arbitrary<ScalingPolicy> = fc.record({
  type: fc.constantFrom('Pods' as const, 'Percent' as const),
  value: fc.integer({ min: 1, max: 200 }),
  periodMs: fc.integer({ min: 1000, max: 120_000 }),
});
const rulesArb = fc.record(
  {
    stabilizationWindowMs: fc.integer({ min: 0, max: 600_000 }),
    selectPolicy: fc.constantFrom('Max' as const, 'Min' as const, 'Disabled' as const),
    policies: fc.array(scalingPolicyArb, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const policyArb: fc.Arbitrary<AutoscalePolicy> = fc
  .record({
    min: fc.integer({ min: 1, max: 10 }),
    span: fc.integer({ min: 0, max: 30 }),
    target: fc.constantFrom(0.3, 0.5, 0.6, 0.8),
    tolerance: fc.constantFrom(0, 0.05, 0.1, 0.2),
    scaleUp: fc.option(rulesArb, { nil: undefined }),
    scaleDown: fc.option(rulesArb, { nil: undefined }),
  })
  .map((p) =>
    policy({
      minReplicas: p.min,
      maxReplicas: p.min + p.span,
      target: p.target,
      tolerance: p.tolerance,
      behavior: { ...(p.scaleUp ? { scaleUp: p.scaleUp } : {}), ...(p.scaleDown ? { scaleDown: p.scaleDown } : {}) },
    }),
  );

describe('Autoscaler properties', () => {
  it('min and max are never crossed, whatever the load, data, policy or a user’s scaling', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.integer({ min: 0, max: 50 }),
        fc.array(
          fc.record({
            demand: fc.double({ min: 0, max: 60, noNaN: true }),
            silent: fc.double({ min: 0, max: 1, noNaN: true }),
            dtMs: fc.integer({ min: 1000, max: 120_000 }),
            userScale: fc.option(fc.integer({ min: 0, max: 50 }), { freq: 10, nil: undefined }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (p, start, steps) => {
          const a = new Autoscaler(p);
          let current = start;
          let now = T0;
          for (const s of steps) {
            now += s.dtMs;
            if (s.userScale !== undefined) current = s.userScale;
            const replicas = replicaIds(current);
            const reporting = replicas.slice(0, Math.round(replicas.length * (1 - s.silent)));
            const d = a.evaluate({ current, replicas, samples: samples(reporting, now, current === 0 ? 0 : s.demand / current) }, now);
            expect(c.check('ScaleDecision', d).ok).toBe(true);
            expect(d.from).toBe(current);
            if (current === 0) expect(d.to).toBe(0);
            else {
              expect(d.to).toBeGreaterThanOrEqual(p.minReplicas);
              expect(d.to).toBeLessThanOrEqual(p.maxReplicas);
            }
            if (d.to === d.from) expect(d.why).toContain('stays at');
            current = d.to;
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a load oscillating within the tolerance around the target never changes the count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom(0.05, 0.1, 0.2),
        fc.array(fc.double({ min: -0.99, max: 0.99, noNaN: true }), { minLength: 10, maxLength: 100 }),
        (n, tolerance, swings) => {
          const p = policy({ minReplicas: 1, maxReplicas: 50, tolerance, behavior: { scaleDown: { stabilizationWindowMs: 0 } } });
          const trace = simulate(new Autoscaler(p), n, swings.length, 15_000, (i) => n * 0.6 * (1 + swings[i]! * tolerance));
          expect(changes(trace)).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a load oscillating beyond the tolerance, faster than the scale-down window, changes the count only a few times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.double({ min: 0.15, max: 0.6, noNaN: true }),
        fc.integer({ min: 2, max: 16 }),
        fc.integer({ min: 0, max: 15 }),
        (n, amplitude, periodSteps, phase) => {
          // Period at most 16 × 15 s = 4 min: a peak always falls within the 5-minute window.
          const p = policy({ minReplicas: 1, maxReplicas: 100 });
          const demand = (i: number): number => n * 0.6 * (1 + amplitude * Math.sin((2 * Math.PI * (i + phase)) / periodSteps));
          const trace = simulate(new Autoscaler(p), n, 160, 15_000, demand);
          // The count climbs to what the peaks need (sampled peaks differ a little with the phase)
          // and stays: a handful of upward changes, none downward.
          expect(changes(trace)).toBeLessThanOrEqual(3);
          expect(trace.filter((d) => d.to < d.from)).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('sustained high load reaches the count it needs (or max) within log2(max / min) + 2 evaluations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 1.2, max: 50, noNaN: true }),
        fc.constantFrom(0.5, 0.6, 0.8),
        (min, span, load, target) => {
          const max = min + span;
          const p = policy({ minReplicas: min, maxReplicas: max, target });
          const demand = min * target * load; // load × what min replicas can hold at the target
          const trace = simulate(new Autoscaler(p), min, 40, 15_000, () => demand);
          const bound = Math.ceil(Math.log2(max / min)) + 2;
          const done = trace.findIndex((d) => d.to === max || demand / d.to / target <= 1 + (p.tolerance ?? 0.1));
          expect(done).toBeGreaterThanOrEqual(0);
          expect(done).toBeLessThan(bound);
          // Then it stays.
          expect(trace.slice(done + 1).every((d) => d.to === d.from)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('after the load drops, scale-down happens only once the stabilisation window has passed, and then at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 60 }).map((k) => k * 5000),
        fc.double({ min: 0.05, max: 0.45, noNaN: true }), // low enough that ceil(n × drop) < n
        (n, highSteps, windowMs, drop) => {
          const stepMs = 5000;
          const p = policy({ minReplicas: 1, maxReplicas: 100, behavior: { scaleDown: { stabilizationWindowMs: windowMs } } });
          const trace = simulate(new Autoscaler(p), n, highSteps + windowMs / stepMs + 3, stepMs, (i) => (i < highSteps ? n * 0.6 : n * 0.6 * drop));
          const lastHigh = T0 + (highSteps - 1) * stepMs;
          const firstDown = trace.findIndex((d) => d.to < d.from);
          expect(firstDown).toBeGreaterThanOrEqual(0);
          expect(Date.parse(trace[firstDown]!.at)).toBe(lastHigh + windowMs);
          for (const d of trace.slice(0, firstDown)) expect(d.to).toBeGreaterThanOrEqual(d.from);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('no fresh sample, ever, means no decision, whatever the policy and history', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(fc.record({ dtMs: fc.integer({ min: 1, max: 600_000 }), staleBy: fc.integer({ min: 1, max: 3_600_000 }), demand: fc.double({ min: 0, max: 60, noNaN: true }) }), { minLength: 1, maxLength: 30 }),
        (p, steps) => {
          const a = new Autoscaler(p);
          const current = p.minReplicas;
          const replicas = replicaIds(current);
          let now = T0;
          for (const s of steps) {
            now += s.dtMs;
            // The node-agent stopped reporting: its last samples are older than staleAfterMs.
            const old = samples(replicas, now - (p.staleAfterMs ?? 30_000) - s.staleBy, s.demand / current);
            const d = a.evaluate({ current, replicas, samples: old }, now);
            expect(d).toMatchObject({ from: current, to: current, reason: 'no-data' });
          }
          expect(a.state.changes).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
