import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contracts, type Threshold } from '@sdmi/contracts';
import { InvalidThreshold, ThresholdEvaluator } from '../src/index';
import { SERVICE, T0, replicaIds, sample, samples } from './helpers';

const RUNS = Number(process.env.SDMI_PROPERTY_RUNS ?? 300);
const c = contracts();

function threshold(over: Partial<Threshold> = {}): Threshold {
  return { version: 1, name: 'cpu-high', service: SERVICE, metric: 'cpu.utilization', aggregation: 'avg', comparator: '>', value: 0.8, durationMs: 30_000, ...over };
}

/** Evaluates every 10 s with all three replicas at the given utilizations; returns [step, kind]. */
function run(e: ThresholdEvaluator, levels: readonly (number | null)[]): [number, string][] {
  const out: [number, string][] = [];
  levels.forEach((u, i) => {
    const now = T0 + i * 10_000;
    for (const ev of e.evaluate(u === null ? [] : samples(replicaIds(3), now, u), now)) {
      expect(c.check('ThresholdEvent', ev).ok).toBe(true);
      out.push([i, ev.kind]);
    }
  });
  return out;
}

describe('ThresholdEvaluator', () => {
  it('raises only after the condition held for durationMs, and says why', () => {
    const e = new ThresholdEvaluator([threshold()]);
    const events: ReturnType<ThresholdEvaluator['evaluate']> = [];
    for (let i = 0; i < 5; i++) events.push(...e.evaluate(samples(replicaIds(3), T0 + i * 10_000, 0.9), T0 + i * 10_000));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'raised', threshold: 'cpu-high', service: SERVICE, value: 0.9, replicas: 3, since: new Date(T0).toISOString(), at: new Date(T0 + 30_000).toISOString() });
    expect(events[0]!.why).toBe('cpu-high raised: avg cpu.utilization over 3 replicas of acme/app is 0.9, > 0.8 at every evaluation for 30000 ms (durationMs 30000)');
  });

  it('a dip before durationMs starts the run over', () => {
    expect(run(new ThresholdEvaluator([threshold()]), [0.9, 0.9, 0.7, 0.9, 0.9, 0.9, 0.9])).toEqual([[6, 'raised']]);
  });

  it('durationMs 0 raises at the first evaluation that sees it', () => {
    expect(run(new ThresholdEvaluator([threshold({ durationMs: 0 })]), [0.9])).toEqual([[0, 'raised']]);
  });

  it('clears after clearAfterMs below the line moved by hysteresis; values between do not clear', () => {
    const e = new ThresholdEvaluator([threshold({ durationMs: 0, clearAfterMs: 20_000, hysteresis: 0.1 })]);
    // 0.75 is below 0.8 but not below 0.7: still on. 0.65 for 20 s clears.
    expect(run(e, [0.9, 0.75, 0.75, 0.65, 0.75, 0.65, 0.65, 0.65])).toEqual([[0, 'raised'], [7, 'cleared']]);
    expect(e.status()).toEqual([{ service: SERVICE, threshold: 'cpu-high', phase: 'ok', since: null }]);
  });

  it('the cleared event names the line and the hysteresis', () => {
    const e = new ThresholdEvaluator([threshold({ durationMs: 0, clearAfterMs: 0, hysteresis: 0.1 })]);
    e.evaluate(samples(replicaIds(2), T0, 0.9), T0);
    const [ev] = e.evaluate(samples(replicaIds(2), T0 + 1000, 0.5), T0 + 1000);
    expect(ev!.why).toBe('cpu-high cleared: avg cpu.utilization over 2 replicas of acme/app is 0.5, no longer > 0.7 (threshold 0.8, hysteresis 0.1) for 0 ms (clearAfterMs 0)');
  });

  it('silence is not recovery: without fresh samples a raised threshold stays raised, a pending one starts over', () => {
    const e = new ThresholdEvaluator([threshold({ durationMs: 20_000, clearAfterMs: 0 })]);
    expect(run(e, [0.9, 0.9, null, 0.9, 0.9, 0.9, null, null, null])).toEqual([[5, 'raised']]);
    expect(e.status()[0]!.phase).toBe('raised');
  });

  it('aggregates over the service only, with max/min/sum', () => {
    const s = [sample(replicaIds(1)[0]!, T0, 0.2), sample(replicaIds(2)[1]!, T0, 0.95), sample('acme/db-1@rev1', T0, 5, 'acme/db')];
    const at = (over: Partial<Threshold>) => new ThresholdEvaluator([threshold({ durationMs: 0, ...over })]).evaluate(s, T0).map((ev) => ev.value);
    expect(at({ aggregation: 'max' })).toEqual([0.95]);
    expect(at({ aggregation: 'avg' })).toEqual([]);
    expect(at({ aggregation: 'min', comparator: '<', value: 0.3 })).toEqual([0.2]);
    expect(at({ aggregation: 'sum', metric: 'cpu.cores', comparator: '>=', value: 0.575 })).toEqual([0.575]);
  });

  it('refuses two thresholds of one name on a service', () => {
    expect(() => new ThresholdEvaluator([threshold(), threshold()])).toThrow(InvalidThreshold);
  });

  it('property: events alternate raised/cleared, and each raised one followed durationMs of the condition holding', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.double({ min: 0, max: 1.5, noNaN: true }), { freq: 8, nil: null }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 0, max: 6 }).map((k) => k * 10_000),
        fc.integer({ min: 0, max: 6 }).map((k) => k * 10_000),
        fc.constantFrom(0, 0.05, 0.2),
        fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
        (levels, durationMs, clearAfterMs, hysteresis, comparator) => {
          const t = threshold({ durationMs, clearAfterMs, hysteresis, comparator, value: 0.7 });
          const events = run(new ThresholdEvaluator([t]), levels);
          events.forEach(([, kind], i) => expect(kind).toBe(i % 2 === 0 ? 'raised' : 'cleared'));
          const holds = (u: number): boolean => (comparator === '>' ? u > 0.7 : comparator === '>=' ? u >= 0.7 : comparator === '<' ? u < 0.7 : u <= 0.7);
          for (const [step, kind] of events) {
            if (kind !== 'raised') continue;
            const need = durationMs / 10_000;
            const window = levels.slice(step - need, step + 1);
            expect(window).toHaveLength(need + 1);
            expect(window.every((u) => u !== null && holds(u))).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
