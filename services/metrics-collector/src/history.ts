// The history query's answer from its rows: pure, so that merging is tested without a database.
import type { HistoryFields, HistoryQuery, HistoryReply } from '@sdmi/contracts';

export interface HistoryRow {
  kind: 'node' | 'container';
  key: string;
  service: string | null;
  bucket: Date;
  bucketMs: number;
  count: number;
  fields: HistoryFields;
}

/** Two summaries of one bucket as one, as metrics.merge_rollup does in SQL: averages weighted by count. */
export function mergeFields(a: HistoryFields, an: number, b: HistoryFields, bn: number): HistoryFields {
  const out: HistoryFields = {};
  for (const f of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[f];
    const y = b[f];
    out[f] = x && y ? { avg: (x.avg * an + y.avg * bn) / (an + bn), min: Math.min(x.min, y.min), max: Math.max(x.max, y.max) } : (x ?? y)!;
  }
  return out;
}

/**
 * Rows ordered by key then bucket (a rollup and raw samples of one bucket adjacent) into series;
 * rows of one key and bucket become one point. At most `limit` points.
 */
export function toSeries(rows: readonly HistoryRow[], limit: number): { series: HistoryReply['series']; truncated: boolean } {
  const series: HistoryReply['series'] = [];
  let points = 0;
  let truncated = false;
  for (const r of rows) {
    let s = series.at(-1);
    if (!s || s.key !== r.key || s.kind !== r.kind) series.push((s = { kind: r.kind, key: r.key, service: r.service, points: [] }));
    s.service ??= r.service;
    const bucket = r.bucket.toISOString();
    const last = s.points.at(-1);
    if (last && last.bucket === bucket) {
      last.fields = mergeFields(last.fields, last.count, r.fields, r.count);
      last.count += r.count;
      last.bucketMs = Math.max(last.bucketMs, r.bucketMs);
      continue;
    }
    if (points === limit) {
      truncated = true;
      break;
    }
    points++;
    s.points.push({ bucket, bucketMs: r.bucketMs, count: r.count, fields: r.fields });
  }
  return { series: series.filter((s) => s.points.length > 0), truncated };
}

/** Points in one answer at most (the reply's schema allows as many). */
export const HISTORY_POINTS = 10_000;

/** The history query answered from the store at `now`, in buckets of `bucketMs`. */
export async function answerHistory(
  store: { history(q: { kind: 'node' | 'container'; key?: string; service?: string; from: Date; to: Date; bucketMs: number; limit: number }): Promise<HistoryRow[]> },
  q: HistoryQuery,
  bucketMs: number,
  now: number,
): Promise<HistoryReply> {
  const from = new Date(Math.floor(Date.parse(q.from) / bucketMs) * bucketMs);
  const to = new Date(q.to ? Date.parse(q.to) : now);
  // A bucket may come as two rows (its rollup and late raw samples): twice the points, and one more to tell truncation.
  const limit = 2 * HISTORY_POINTS + 1;
  const rows = await store.history({ kind: q.kind, key: q.key, service: q.service, from, to, bucketMs, limit });
  const { series, truncated } = toSeries(rows, HISTORY_POINTS);
  return { at: new Date(now).toISOString(), from: from.toISOString(), to: to.toISOString(), series, truncated: truncated || rows.length === limit };
}
