// metrics-collector's tables (migrations/): raw samples and refusals for the raw window, then the
// samples' rollups per time bucket for the retention.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate, type MetricsKind } from '@sdmi/bus';
import type { ContainerMetrics, ErrorInfo, NodeMetrics, TopReply } from '@sdmi/contracts';
import type pg from 'pg';
import type { HistoryRow } from './history';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');

export interface StoredSample {
  kind: MetricsKind;
  key: string;
  service: string | null;
  at: string;
  body: unknown;
}

export interface RollupSettings {
  /** Raw samples are kept this long, then rolled up. */
  rawMs: number;
  /** Width of a rollup's bucket. */
  bucketMs: number;
  /** Rollups are kept this long. */
  retentionMs: number;
}

export interface RollupPass {
  /** Raw samples rolled up (and deleted). */
  rolledUp: number;
  /** Rollup rows written or merged into. */
  buckets: number;
  /** Refusals past the raw window deleted. */
  refusals: number;
  /** Rollups past the retention deleted. */
  expired: number;
}

export interface StoredRollup {
  bucket: string;
  bucketMs: number;
  service: string | null;
  count: number;
  fields: Record<string, { avg: number; min: number; max: number }>;
}

/** Any constant; hashed, as the other services' lock names are. */
const ROLLUP_LOCK = 'metrics-collector.rollup';

/**
 * The CTEs `per_field` (avg/min/max of every value metrics.rollup_values finds, per kind, key and
 * bucket) and `per_bucket` (service and sample count) over a CTE `source` of samples with a
 * `bucket` column: one summary for what the roll-up writes and what history reads from raw rows.
 */
function bucketSummary(source: 'gone' | 'raw'): string {
  return `per_field AS (
    SELECT v.kind, v.key, v.bucket, jsonb_object_agg(v.field, v.stats) AS fields
    FROM (
      SELECT g.kind, g.key, g.bucket, x.field, jsonb_build_object('avg', avg(x.value), 'min', min(x.value), 'max', max(x.value)) AS stats
      FROM ${source} g CROSS JOIN LATERAL metrics.rollup_values(g.kind, g.body) x
      GROUP BY g.kind, g.key, g.bucket, x.field
    ) v
    GROUP BY v.kind, v.key, v.bucket
  ), per_bucket AS (
    SELECT kind, key, bucket, max(service) AS service, count(*)::int AS n FROM ${source} GROUP BY kind, key, bucket
  )`;
}

export class MetricsStore {
  constructor(private readonly pool: pg.Pool) {}

  async migrate(): Promise<void> {
    await migrate(this.pool, migrationsDir);
  }

  async insert(s: StoredSample): Promise<void> {
    await this.insertMany([s]);
  }

  /** One INSERT for all of them (arrays unnested: five parameters whatever the count). */
  async insertMany(batch: readonly StoredSample[]): Promise<void> {
    if (batch.length === 0) return;
    await this.pool.query(
      'INSERT INTO metrics.sample (kind, key, service, at, body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])',
      [batch.map((s) => s.kind), batch.map((s) => s.key), batch.map((s) => s.service), batch.map((s) => s.at), batch.map((s) => JSON.stringify(s.body))],
    );
  }

  async refuse(subject: string, error: ErrorInfo): Promise<void> {
    await this.pool.query('INSERT INTO metrics.refusal (subject, error) VALUES ($1, $2)', [subject, JSON.stringify(error)]);
  }

  /**
   * One pass of downsampling and retention at `now`: the raw samples older than the raw window,
   * rounded down to a bucket boundary (so that a bucket is rolled up whole), are deleted and rolled
   * up into metrics.rollup in one statement, merged into a bucket's row when it exists (late
   * samples); refusals older than the raw window and rollups older than the retention are deleted.
   * One collector passes at a time (a transaction-scoped advisory lock; the others skip the pass):
   * the statement would be correct concurrently too, but two of them deleting the same rows could
   * deadlock. Returns what went, or null when another collector held the pass.
   */
  async rollup(now: number, o: RollupSettings): Promise<RollupPass | null> {
    const rawCutoff = new Date(Math.floor((now - o.rawMs) / o.bucketMs) * o.bucketMs);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [ROLLUP_LOCK]);
      if (!lock.rows[0]?.ok) {
        await client.query('ROLLBACK');
        return null;
      }
      const r = await client.query<{ rows: string; buckets: string }>(
        `WITH gone AS (
           DELETE FROM metrics.sample WHERE at < $1
           RETURNING kind, key, service, body, date_bin(make_interval(secs => $2::float8 / 1000), at, timestamptz 'epoch') AS bucket
         ), ${bucketSummary('gone')}, written AS (
           INSERT INTO metrics.rollup AS r (kind, key, bucket, bucket_ms, service, count, fields)
           SELECT b.kind, b.key, b.bucket, $2, b.service, b.n, coalesce(f.fields, '{}'::jsonb)
           FROM per_bucket b LEFT JOIN per_field f USING (kind, key, bucket)
           ON CONFLICT (kind, key, bucket) DO UPDATE SET
             count = r.count + excluded.count,
             fields = metrics.merge_rollup(r.fields, r.count, excluded.fields, excluded.count),
             service = coalesce(excluded.service, r.service),
             bucket_ms = greatest(r.bucket_ms, excluded.bucket_ms)
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM gone) AS rows, (SELECT count(*) FROM written) AS buckets`,
        [rawCutoff, o.bucketMs],
      );
      const refusals = await client.query('DELETE FROM metrics.refusal WHERE at < $1', [new Date(now - o.rawMs)]);
      const expired = await client.query('DELETE FROM metrics.rollup WHERE bucket < $1', [new Date(now - o.retentionMs)]);
      await client.query('COMMIT');
      return { rolledUp: Number(r.rows[0]?.rows ?? 0), buckets: Number(r.rows[0]?.buckets ?? 0), refusals: refusals.rowCount ?? 0, expired: expired.rowCount ?? 0 };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Rollups of one kind with this key, oldest first (tests and diagnostics). */
  async rollups(kind: MetricsKind, key: string): Promise<StoredRollup[]> {
    const r = await this.pool.query<{ bucket: Date; bucket_ms: number; service: string | null; count: number; fields: StoredRollup['fields'] }>(
      'SELECT bucket, bucket_ms, service, count, fields FROM metrics.rollup WHERE kind = $1 AND key = $2 ORDER BY bucket',
      [kind, key],
    );
    return r.rows.map((x) => ({ bucket: x.bucket.toISOString(), bucketMs: x.bucket_ms, service: x.service, count: x.count, fields: x.fields }));
  }

  /**
   * The history query's rows: rollups of buckets starting in [from, to) and the raw samples of that
   * span bucketed alike (the same summary, by metrics.rollup_values), ordered by key then bucket,
   * at most `limit` of them.
   */
  async history(q: { kind: 'node' | 'container'; key?: string; service?: string; from: Date; to: Date; bucketMs: number; limit: number }): Promise<HistoryRow[]> {
    const r = await this.pool.query<{ kind: 'node' | 'container'; key: string; service: string | null; bucket: Date; bucket_ms: number; count: number; fields: HistoryRow['fields'] }>(
      `WITH raw AS (
         SELECT kind, key, service, body, date_bin(make_interval(secs => $4::float8 / 1000), at, timestamptz 'epoch') AS bucket
         FROM metrics.sample
         WHERE kind = $1 AND at >= $2 AND at < $3 AND ($5::text IS NULL OR key = $5) AND ($6::text IS NULL OR service = $6)
       ), ${bucketSummary('raw')}
       SELECT b.kind, b.key, b.service, b.bucket, $4::int AS bucket_ms, b.n AS count, coalesce(f.fields, '{}'::jsonb) AS fields
       FROM per_bucket b LEFT JOIN per_field f USING (kind, key, bucket)
       UNION ALL
       SELECT kind, key, service, bucket, bucket_ms, count, fields FROM metrics.rollup
       WHERE kind = $1 AND bucket >= $2 AND bucket < $3 AND ($5::text IS NULL OR key = $5) AND ($6::text IS NULL OR service = $6)
       ORDER BY key, bucket
       LIMIT $7`,
      [q.kind, q.from, q.to, q.bucketMs, q.key ?? null, q.service ?? null, q.limit],
    );
    return r.rows.map((x) => ({ kind: x.kind, key: x.key, service: x.service, bucket: x.bucket, bucketMs: x.bucket_ms, count: x.count, fields: x.fields }));
  }

  /**
   * The latest sample of each key of a kind taken since `since`, of these services only when given
   * (the Prometheus endpoint's gauges; the autoscaler's evaluations, which read it here because the
   * subscription is a queue group: no instance's memory holds every sample).
   */
  async latest<T>(kind: MetricsKind, since: Date, services?: readonly string[]): Promise<T[]> {
    const r = await this.pool.query<{ body: T }>(
      'SELECT DISTINCT ON (key) body FROM metrics.sample WHERE kind = $1 AND at >= $2 AND ($3::text[] IS NULL OR service = ANY($3)) ORDER BY key, at DESC',
      [kind, since, services ?? null],
    );
    return r.rows.map((x) => x.body);
  }

  /** Rows of one kind with this key, newest first (tests and diagnostics). */
  async samples(kind: MetricsKind, key: string): Promise<unknown[]> {
    const r = await this.pool.query<{ body: unknown }>('SELECT body FROM metrics.sample WHERE kind = $1 AND key = $2 ORDER BY at DESC', [kind, key]);
    return r.rows.map((x) => x.body);
  }

  async top(staleAfterMs: number, service: string | undefined): Promise<Omit<TopReply, 'at' | 'staleAfterMs'>> {
    const since = new Date(Date.now() - staleAfterMs);
    const nodes = await this.latest<NodeMetrics>('node', since);
    const replicas = await this.latest<ContainerMetrics>('container', since, service ? [service] : undefined);
    replicas.sort((a, b) => a.service.localeCompare(b.service) || a.replicaId.localeCompare(b.replicaId));
    const count = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics.refusal');
    const last = await this.pool.query<{ at: Date; subject: string; error: ErrorInfo }>('SELECT at, subject, error FROM metrics.refusal ORDER BY id DESC LIMIT 1');
    const l = last.rows[0];
    return { nodes, replicas, refused: { count: Number(count.rows[0]?.n ?? 0), last: l ? { at: l.at.toISOString(), subject: l.subject, error: l.error } : null } };
  }
}
