// metrics-collector's tables (migrations/): raw samples and refusals, pruned to the retention.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate, type MetricsKind } from '@sdmi/bus';
import type { ContainerMetrics, ErrorInfo, NodeMetrics, TopReply } from '@sdmi/contracts';
import type pg from 'pg';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');

export interface StoredSample {
  kind: MetricsKind;
  key: string;
  service: string | null;
  at: string;
  body: unknown;
}

export class MetricsStore {
  constructor(private readonly pool: pg.Pool) {}

  async migrate(): Promise<void> {
    await migrate(this.pool, migrationsDir);
  }

  async insert(s: StoredSample): Promise<void> {
    await this.pool.query('INSERT INTO metrics.sample (kind, key, service, at, body) VALUES ($1, $2, $3, $4, $5)', [s.kind, s.key, s.service, s.at, JSON.stringify(s.body)]);
  }

  async refuse(subject: string, error: ErrorInfo): Promise<void> {
    await this.pool.query('INSERT INTO metrics.refusal (subject, error) VALUES ($1, $2)', [subject, JSON.stringify(error)]);
  }

  /** Deletes what is older than the retention; returns how many rows went. */
  async prune(retentionMs: number): Promise<number> {
    const cutoff = new Date(Date.now() - retentionMs);
    const a = await this.pool.query('DELETE FROM metrics.sample WHERE at < $1', [cutoff]);
    const b = await this.pool.query('DELETE FROM metrics.refusal WHERE at < $1', [cutoff]);
    return (a.rowCount ?? 0) + (b.rowCount ?? 0);
  }

  /** Rows of one kind with this key, newest first (tests and diagnostics). */
  async samples(kind: MetricsKind, key: string): Promise<unknown[]> {
    const r = await this.pool.query<{ body: unknown }>('SELECT body FROM metrics.sample WHERE kind = $1 AND key = $2 ORDER BY at DESC', [kind, key]);
    return r.rows.map((x) => x.body);
  }

  async top(staleAfterMs: number, service: string | undefined): Promise<Omit<TopReply, 'at' | 'staleAfterMs'>> {
    const since = new Date(Date.now() - staleAfterMs);
    const latest = async <T>(kind: MetricsKind, extra: string, args: unknown[]): Promise<T[]> => {
      const r = await this.pool.query<{ body: T }>(
        `SELECT DISTINCT ON (key) body FROM metrics.sample WHERE kind = $1 AND at >= $2 ${extra} ORDER BY key, at DESC`,
        [kind, since, ...args],
      );
      return r.rows.map((x) => x.body);
    };
    const nodes = await latest<NodeMetrics>('node', '', []);
    const replicas = await latest<ContainerMetrics>('container', service ? 'AND service = $3' : '', service ? [service] : []);
    replicas.sort((a, b) => a.service.localeCompare(b.service) || a.replicaId.localeCompare(b.replicaId));
    const count = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM metrics.refusal');
    const last = await this.pool.query<{ at: Date; subject: string; error: ErrorInfo }>('SELECT at, subject, error FROM metrics.refusal ORDER BY id DESC LIMIT 1');
    const l = last.rows[0];
    return { nodes, replicas, refused: { count: Number(count.rows[0]?.n ?? 0), last: l ? { at: l.at.toISOString(), subject: l.subject, error: l.error } : null } };
  }
}
