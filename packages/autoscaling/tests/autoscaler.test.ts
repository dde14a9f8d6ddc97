import { describe, expect, it } from 'vitest';
import { contracts } from '@sdmi/contracts';
import { Autoscaler, InvalidAutoscalePolicy, scaleDownLimit, scaleUpLimit, DEFAULT_SCALE_UP } from '../src/index';
import { SERVICE, T0, changes, policy, replicaIds, sample, samples, simulate } from './helpers';

const c = contracts();

describe('Autoscaler', () => {
  it('scales up at once on high load and says why, naming the inputs', () => {
    const a = new Autoscaler(policy());
    const replicas = replicaIds(3);
    const d = a.evaluate({ current: 3, replicas, samples: samples(replicas, T0, 0.9) }, T0);
    expect(d).toMatchObject({ service: SERVICE, from: 3, to: 5, reason: 'recommended', at: new Date(T0).toISOString() });
    expect(d.inputs).toMatchObject({ metric: 'cpu.utilization', target: 0.6, tolerance: 0.1, replicas: 3, fresh: 3, missing: 0, recommendation: 5, stabilized: 5 });
    expect(d.why).toBe('acme/app 3 → 5: avg cpu.utilization 0.9 over 3 of 3 replicas with a fresh sample, target 0.6; ratio 1.5 (tolerance 0.1); ceil(3 × 1.5) = 5');
    expect(c.check('ScaleDecision', d).ok).toBe(true);
  });

  it('every evaluation is a decision, "no change" included', () => {
    const a = new Autoscaler(policy());
    const replicas = replicaIds(3);
    const d = a.evaluate({ current: 3, replicas, samples: samples(replicas, T0, 0.62) }, T0);
    expect(d).toMatchObject({ from: 3, to: 3, reason: 'within-tolerance' });
    expect(d.why).toContain('within tolerance');
    expect(c.check('ScaleDecision', d).ok).toBe(true);
  });

  it('with no sample decides nothing and remembers nothing', () => {
    const a = new Autoscaler(policy());
    const d = a.evaluate({ current: 3, replicas: replicaIds(3), samples: [] }, T0);
    expect(d).toMatchObject({ from: 3, to: 3, reason: 'no-data', inputs: { value: null, ratio: null, recommendation: null, fresh: 0, missing: 3 } });
    expect(d.why).toBe('acme/app stays at 3: none of its 3 running replicas has a cpu.utilization sample newer than 30000 ms, so nothing is decided');
    expect(a.state.recommendations).toEqual([]);
    expect(c.check('ScaleDecision', d).ok).toBe(true);
  });

  it('a node-agent that stops reporting does not scale: stale samples are no data', () => {
    const a = new Autoscaler(policy());
    const replicas = replicaIds(3);
    const old = samples(replicas, T0, 0.05);
    const trace = [0, 30_001, 60_000, 600_000].map((dt) => a.evaluate({ current: 3, replicas, samples: old }, T0 + dt));
    expect(trace.map((d) => d.reason)).toEqual(['stabilized', 'no-data', 'no-data', 'no-data']);
    // The first (fresh) one wanted 1 but the 5-minute window held it at 3; the silence after is no data.
    expect(trace.every((d) => d.to === 3)).toBe(true);
  });

  it('ignores samples of other services', () => {
    const a = new Autoscaler(policy());
    const d = a.evaluate({ current: 2, replicas: replicaIds(2), samples: [sample(replicaIds(1, 'acme/db')[0]!, T0, 5, 'acme/db')] }, T0);
    expect(d.reason).toBe('no-data');
  });

  it('scale-down waits for the stabilisation window, using the highest recommendation within it', () => {
    const a = new Autoscaler(policy({ behavior: { scaleDown: { stabilizationWindowMs: 60_000 } } }));
    const trace = simulate(a, 4, 12, 10_000, (i) => (i < 2 ? 2.4 : 0.6));
    // Steps 0 and 1: 4 replicas at 0.6 (within tolerance, recommendation 4); then 4 × 0.15 → 1.
    expect(trace.slice(2, 7).map((d) => [d.to, d.reason])).toEqual(Array(5).fill([4, 'stabilized']));
    expect(trace[2]!.why).toContain('held at 4, the highest recommendation within the scale-down stabilisation window of 60000 ms');
    // The last recommendation of 4 was at step 1 (10 s); at 70 s it has left the window.
    expect(trace[7]).toMatchObject({ from: 4, to: 1, reason: 'recommended', at: new Date(T0 + 70_000).toISOString() });
  });

  it('a fresh autoscaler (no history) watches a whole window before its first scale-down', () => {
    const a = new Autoscaler(policy({ behavior: { scaleDown: { stabilizationWindowMs: 60_000 } } }));
    const trace = simulate(a, 4, 8, 10_000, () => 0.6);
    expect(trace.map((d) => d.to)).toEqual([4, 4, 4, 4, 4, 4, 1, 1]);
  });

  it('scale-up stabilisation uses the lowest recommendation within its window', () => {
    const a = new Autoscaler(policy({ behavior: { scaleUp: { stabilizationWindowMs: 30_000 } } }));
    const trace = simulate(a, 2, 6, 10_000, () => 2.4);
    expect(trace.map((d) => d.to)).toEqual([2, 2, 2, 4, 4, 4]);
    expect(trace[0]!.why).toContain('scale-up stabilisation window of 30000 ms');
  });

  it('scale-up rate policies: Pods 1 per 30 s', () => {
    const a = new Autoscaler(policy({ behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodMs: 30_000 }] } } }));
    const trace = simulate(a, 1, 7, 10_000, () => 6);
    expect(trace.map((d) => d.to)).toEqual([2, 2, 2, 3, 3, 3, 4]);
    expect(trace[0]!.reason).toBe('rate-limited');
    expect(trace[0]!.why).toContain('the Max of the scale-up rate policies (1 pods per 30000 ms) allows 2 now');
  });

  it('scale-down rate policies: Percent 50 per 15 s', () => {
    const a = new Autoscaler(policy({ behavior: { scaleDown: { stabilizationWindowMs: 0, policies: [{ type: 'Percent', value: 50, periodMs: 15_000 }] } } }));
    const trace = simulate(a, 16, 4, 15_000, () => 0.01);
    expect(trace.map((d) => d.to)).toEqual([8, 4, 2, 1]);
  });

  it('selectPolicy Min takes the least permissive policy, Disabled none', () => {
    const rules = { stabilizationWindowMs: 0, selectPolicy: 'Min' as const, policies: DEFAULT_SCALE_UP.policies };
    expect(scaleUpLimit(10, rules, [], T0)).toBe(14);
    expect(scaleUpLimit(10, { ...rules, selectPolicy: 'Max' }, [], T0)).toBe(20);
    expect(scaleUpLimit(10, { ...rules, selectPolicy: 'Disabled' }, [], T0)).toBe(10);
    expect(scaleDownLimit(10, { ...rules, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 3, periodMs: 15_000 }] }, [{ at: T0 - 1000, from: 12, to: 10 }], T0)).toBe(9);
    const a = new Autoscaler(policy({ behavior: { scaleDown: { stabilizationWindowMs: 0, selectPolicy: 'Disabled' } } }));
    const d = a.evaluate({ current: 4, replicas: replicaIds(4), samples: samples(replicaIds(4), T0, 0.1) }, T0);
    expect(d).toMatchObject({ to: 4, reason: 'rate-limited' });
    expect(d.why).toContain('scale-down is disabled (selectPolicy Disabled)');
  });

  it('min and max cap the change, and say so', () => {
    const a = new Autoscaler(policy({ minReplicas: 2, maxReplicas: 5 }));
    const up = a.evaluate({ current: 4, replicas: replicaIds(4), samples: samples(replicaIds(4), T0, 1.2) }, T0);
    expect(up).toMatchObject({ to: 5, reason: 'bounded' });
    expect(up.why).toContain('capped at maxReplicas 5');
    const b = new Autoscaler(policy({ minReplicas: 2, maxReplicas: 5, behavior: { scaleDown: { stabilizationWindowMs: 0 } } }));
    expect(b.evaluate({ current: 4, replicas: replicaIds(4), samples: samples(replicaIds(4), T0, 0.01) }, T0)).toMatchObject({ to: 2, reason: 'bounded' });
    expect(b.evaluate({ current: 9, replicas: [], samples: [] }, T0)).toMatchObject({ to: 5, reason: 'above-max' });
    expect(b.evaluate({ current: 1, replicas: [], samples: [] }, T0)).toMatchObject({ to: 2, reason: 'below-min' });
    expect(b.evaluate({ current: 0, replicas: [], samples: [] }, T0)).toMatchObject({ to: 0, reason: 'disabled' });
  });

  it('refuses minReplicas above maxReplicas with the path', () => {
    expect(() => new Autoscaler(policy({ minReplicas: 5, maxReplicas: 3 }))).toThrow(InvalidAutoscalePolicy);
    try {
      new Autoscaler(policy({ minReplicas: 5, maxReplicas: 3 }));
    } catch (e) {
      expect((e as InvalidAutoscalePolicy).info).toEqual({ code: 'INVALID_AUTOSCALE_POLICY', message: '/maxReplicas 3 is below /minReplicas 5', path: '/maxReplicas', rule: 'minReplicas' });
    }
  });

  it('its state survives a restart: a new instance from `state` decides the same', () => {
    const p = policy({ behavior: { scaleDown: { stabilizationWindowMs: 60_000 } } });
    const a = new Autoscaler(p);
    simulate(a, 4, 3, 10_000, (i) => (i < 2 ? 2.4 : 0.6));
    const b = new Autoscaler(p, JSON.parse(JSON.stringify(a.state)));
    const obs = { current: 4, replicas: replicaIds(4), samples: samples(replicaIds(4), T0 + 30_000, 0.15) };
    expect(b.evaluate(obs, T0 + 30_000)).toEqual(a.evaluate(obs, T0 + 30_000));
  });

  it('without a scale-down window, a load swinging ±40 % flaps; with the default window it does not', () => {
    const swing = (i: number): number => 3 * 0.6 * (i % 4 < 2 ? 1.4 : 0.6);
    const flappy = simulate(new Autoscaler(policy({ behavior: { scaleDown: { stabilizationWindowMs: 0 } } })), 3, 80, 15_000, swing);
    const steady = simulate(new Autoscaler(policy()), 3, 80, 15_000, swing);
    expect(changes(flappy)).toBeGreaterThan(30);
    expect(changes(steady)).toBe(1);
  });
});
