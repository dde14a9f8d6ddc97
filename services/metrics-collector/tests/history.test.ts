// The history query's answer from rows: series per key, a bucket's rollup and late raw samples as one point.
import { describe, expect, it } from 'vitest';
import { mergeFields, toSeries, type HistoryRow } from '../src/history';

const row = (key: string, t: number, count: number, avg: number, min: number, max: number): HistoryRow => ({
  kind: 'container',
  key,
  service: 'acme/app',
  bucket: new Date(t),
  bucketMs: 60_000,
  count,
  fields: { 'cpu.usedCores': { avg, min, max } },
});

describe('mergeFields', () => {
  it('weights averages by count, takes min of mins and max of maxes, keeps a field one side lacks', () => {
    expect(mergeFields({ a: { avg: 1, min: 0, max: 2 }, b: { avg: 5, min: 5, max: 5 } }, 3, { a: { avg: 3, min: -1, max: 4 } }, 1)).toEqual({
      a: { avg: 1.5, min: -1, max: 4 },
      b: { avg: 5, min: 5, max: 5 },
    });
  });
});

describe('toSeries', () => {
  it('groups rows by key, merges rows of one bucket, and truncates at the limit', () => {
    const rows = [row('a', 0, 3, 1, 0, 2), row('a', 0, 1, 3, 3, 3), row('a', 60_000, 1, 1, 1, 1), row('b', 0, 2, 2, 1, 3)];
    const all = toSeries(rows, 10);
    expect(all.truncated).toBe(false);
    expect(all.series.map((s) => [s.key, s.points.map((p) => p.count)])).toEqual([
      ['a', [4, 1]],
      ['b', [2]],
    ]);
    expect(all.series[0]!.points[0]!.fields['cpu.usedCores']).toEqual({ avg: 1.5, min: 0, max: 3 });
    const cut = toSeries(rows, 2);
    expect(cut.truncated).toBe(true);
    expect(cut.series.map((s) => [s.key, s.points.length])).toEqual([['a', 2]]);
  });
});
