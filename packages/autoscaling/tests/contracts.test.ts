// The metric contracts refuse malformed samples, thresholds and policies with the field's path and
// the rule that failed: what the metrics-collector will answer on the bus.
import { describe, expect, it } from 'vitest';
import { contracts } from '@sdmi/contracts';
import { T0, policy, sample } from './helpers';

const c = contracts();
const good = sample('acme/app-1@rev1', T0, 0.5);

describe('metric contracts', () => {
  it('a well-formed ContainerMetrics passes', () => {
    expect(c.check('ContainerMetrics', good).ok).toBe(true);
  });

  it.each([
    ['CPU as a string', { ...good, cpu: { ...good.cpu, usedCores: '0.2' } }, '/cpu/usedCores', 'type'],
    ['negative memory', { ...good, memory: { ...good.memory, usedBytes: -1 } }, '/memory/usedBytes', 'minimum'],
    ['no CPU limit', { ...good, cpu: { usedCores: 0.2 } }, '/cpu/limitCores', 'required'],
    ['an unknown version', { ...good, version: 2 }, '/version', 'const'],
    ['an unknown field', { ...good, disk: 1 }, '/disk', 'additionalProperties'],
    ['a bad replica id', { ...good, replicaId: 'app-1' }, '/replicaId', 'pattern'],
    ['a time that is not one', { ...good, at: 'yesterday' }, '/at', 'format'],
  ])('refuses ContainerMetrics with %s', (_what, data, path, rule) => {
    expect(c.check('ContainerMetrics', data)).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path, rule } });
  });

  it('refuses NodeMetrics with a usage ratio over 1, and NetworkMetrics with a fractional counter', () => {
    const node = { version: 1, node: 'host-a', at: new Date(T0).toISOString(), cpu: { usageRatio: 1.2, cores: 4 }, load: { one: 1, five: 1, fifteen: 1 }, memory: { usedBytes: 1, totalBytes: 2 } };
    expect(c.check('NodeMetrics', node)).toMatchObject({ ok: false, error: { path: '/cpu/usageRatio', rule: 'maximum' } });
    const iface = { port: 'vs1', ofport: 3, rxPackets: 1.5, txPackets: 0, rxBytes: 0, txBytes: 0, rxDropped: 0, txDropped: 0, flows: { count: 0, packets: 0, bytes: 0 } };
    const net = { version: 1, node: 'host-a', bridge: 'br-sdmi', at: new Date(T0).toISOString(), interfaces: [iface] };
    expect(c.check('NetworkMetrics', net)).toMatchObject({ ok: false, error: { path: '/interfaces/0/rxPackets', rule: 'type' } });
  });

  const threshold = { version: 1, name: 'cpu-high', service: 'acme/app', metric: 'cpu.utilization', aggregation: 'avg', comparator: '>', value: 0.8, durationMs: 60_000 };
  it.each([
    ['an unknown metric', { ...threshold, metric: 'gpu.utilization' }, '/metric', 'enum'],
    ['an unknown aggregation', { ...threshold, aggregation: 'p99' }, '/aggregation', 'enum'],
    ['a comparator ==', { ...threshold, comparator: '==' }, '/comparator', 'enum'],
    ['a duration over a day', { ...threshold, durationMs: 86_400_001 }, '/durationMs', 'maximum'],
    ['a negative hysteresis', { ...threshold, hysteresis: -0.1 }, '/hysteresis', 'minimum'],
    ['no duration', { ...threshold, durationMs: undefined }, '/durationMs', 'required'],
  ])('refuses a Threshold with %s', (_what, data, path, rule) => {
    expect(c.check('Threshold', JSON.parse(JSON.stringify(data)))).toMatchObject({ ok: false, error: { path, rule } });
  });

  it.each([
    ['a tolerance over 1', { ...policy(), tolerance: 1.5 }, '/tolerance', 'maximum'],
    ['a fractional maximum', { ...policy(), maxReplicas: 2.5 }, '/maxReplicas', 'type'],
    ['a rate period under 1 s', { ...policy(), behavior: { scaleUp: { policies: [{ type: 'Pods', value: 1, periodMs: 10 }] } } }, '/behavior/scaleUp/policies/0/periodMs', 'minimum'],
    ['an unknown selectPolicy', { ...policy(), behavior: { scaleDown: { selectPolicy: 'Avg' } } }, '/behavior/scaleDown/selectPolicy', 'enum'],
  ])('refuses an AutoscalePolicy with %s', (_what, data, path, rule) => {
    expect(c.check('AutoscalePolicy', data)).toMatchObject({ ok: false, error: { path, rule } });
  });
});
