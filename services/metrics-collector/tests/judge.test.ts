// What the collector accepts and refuses, on the contract's own examples (no bus needed).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BusNames } from '@sdmi/bus';
import { judge } from '../src/collector';

const names = new BusNames('t1');
const example = (f: string): string => readFileSync(new URL(`../../../schemas/metrics/examples/${f}`, import.meta.url), 'utf8');

describe('judge', () => {
  it('stores a valid sample under its key', () => {
    const v = judge(names, 't1.metrics.container.acme_app-3_rev2', example('container-metrics.valid.json'));
    expect(v).toMatchObject({ ok: true, sample: { kind: 'container', key: 'acme/app-3@rev2', service: 'acme/app' } });
    expect(judge(names, 't1.metrics.node.host-a', example('node-metrics.valid.json'))).toMatchObject({ ok: true, sample: { kind: 'node', key: 'host-a', service: null } });
  });
  it('refuses a broken field with its path and rule, a subject that names another, non-JSON and unknown kinds', () => {
    const bad = JSON.parse(example('container-metrics.valid.json')) as { cpu: { usedCores: number } };
    bad.cpu.usedCores = -1;
    expect(judge(names, 't1.metrics.container.acme_app-3_rev2', JSON.stringify(bad))).toMatchObject({ ok: false, error: { code: 'CONTRACT_VIOLATION', path: '/cpu/usedCores', rule: 'minimum' } });
    expect(judge(names, 't1.metrics.container.other_x-1_rev1', example('container-metrics.valid.json'))).toMatchObject({ ok: false, error: { path: '/replicaId', rule: 'subject' } });
    expect(judge(names, 't1.metrics.node.host-a', '{')).toMatchObject({ ok: false, error: { rule: 'json' } });
    expect(judge(names, 't1.metrics.disk.host-a', '{}')).toMatchObject({ ok: false, error: { rule: 'subject' } });
  });
});
