// The autoscaler's tables (migrations/metrics_002_autoscale.sql). Commands write through the task's
// client, so a policy or threshold commits with its RDMP task; the loop reads and writes in the
// transaction that holds its leader lock.
import type { AutoscalerState, ThresholdStatus } from '@sdmi/autoscaling';
import type { AutoscalePolicy, AutoscaleStatusReply, ScaleDecision, Threshold } from '@sdmi/contracts';
import type pg from 'pg';

type Db = Pick<pg.ClientBase, 'query'>;

export interface StoredPolicy {
  policy: AutoscalePolicy;
  state: AutoscalerState | null;
  lastDecision: ScaleDecision | null;
  evaluatedAt: Date | null;
}

export interface StoredThreshold {
  threshold: Threshold;
  status: ThresholdStatus;
}

export class AutoscaleStore {
  /** Creates or replaces; the remembered state survives unless the metric changed (its windows would mean another thing). */
  async putPolicy(db: Db, policy: AutoscalePolicy): Promise<{ created: boolean }> {
    const r = await db.query<{ created: boolean }>(
      `INSERT INTO metrics.autoscale_policy (service, policy) VALUES ($1, $2)
       ON CONFLICT (service) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now(),
         state = CASE WHEN metrics.autoscale_policy.policy->>'metric' = EXCLUDED.policy->>'metric' THEN metrics.autoscale_policy.state END
       RETURNING (xmax = 0) AS created`,
      [policy.service, JSON.stringify(policy)],
    );
    return { created: r.rows[0]!.created };
  }

  async deletePolicy(db: Db, service: string): Promise<boolean> {
    return ((await db.query('DELETE FROM metrics.autoscale_policy WHERE service = $1', [service])).rowCount ?? 0) > 0;
  }

  async putThreshold(db: Db, t: Threshold): Promise<{ created: boolean; wasRaised: boolean }> {
    const before = await db.query<{ phase: string }>('SELECT phase FROM metrics.threshold WHERE service = $1 AND name = $2 FOR UPDATE', [t.service, t.name]);
    await db.query(
      `INSERT INTO metrics.threshold (service, name, threshold) VALUES ($1, $2, $3)
       ON CONFLICT (service, name) DO UPDATE SET threshold = EXCLUDED.threshold, phase = 'ok', since = NULL, updated_at = now()`,
      [t.service, t.name, JSON.stringify(t)],
    );
    const phase = before.rows[0]?.phase;
    return { created: phase === undefined, wasRaised: phase === 'raised' || phase === 'clearing' };
  }

  async deleteThreshold(db: Db, service: string, name: string): Promise<boolean> {
    return ((await db.query('DELETE FROM metrics.threshold WHERE service = $1 AND name = $2', [service, name])).rowCount ?? 0) > 0;
  }

  /** Every policy, locked for the pass that evaluates them. */
  async policiesForPass(db: Db): Promise<StoredPolicy[]> {
    const r = await db.query<{ policy: AutoscalePolicy; state: AutoscalerState | null; last_decision: ScaleDecision | null; evaluated_at: Date | null }>(
      'SELECT policy, state, last_decision, evaluated_at FROM metrics.autoscale_policy ORDER BY service FOR UPDATE',
    );
    return r.rows.map((x) => ({ policy: x.policy, state: x.state, lastDecision: x.last_decision, evaluatedAt: x.evaluated_at }));
  }

  async saveEvaluation(db: Db, service: string, state: AutoscalerState | null, decision: ScaleDecision | null, error: string | null): Promise<void> {
    await db.query(
      `UPDATE metrics.autoscale_policy SET state = COALESCE($2, state), last_decision = COALESCE($3, last_decision), last_error = $4, evaluated_at = now() WHERE service = $1`,
      [service, state ? JSON.stringify(state) : null, decision ? JSON.stringify(decision) : null, error],
    );
  }

  async thresholdsForPass(db: Db): Promise<StoredThreshold[]> {
    const r = await db.query<{ threshold: Threshold; phase: ThresholdStatus['phase']; since: Date | null }>(
      'SELECT threshold, phase, since FROM metrics.threshold ORDER BY service, name FOR UPDATE',
    );
    return r.rows.map((x) => ({
      threshold: x.threshold,
      status: { service: x.threshold.service, threshold: x.threshold.name, phase: x.phase, since: x.since ? x.since.getTime() : null },
    }));
  }

  async saveThresholdStatus(db: Db, s: ThresholdStatus): Promise<void> {
    await db.query('UPDATE metrics.threshold SET phase = $3, since = $4 WHERE service = $1 AND name = $2 AND (phase <> $3 OR since IS DISTINCT FROM $4)', [
      s.service,
      s.threshold,
      s.phase,
      s.since === null ? null : new Date(s.since),
    ]);
  }

  async status(db: Db, service: string | undefined): Promise<AutoscaleStatusReply> {
    const p = await db.query<{ policy: AutoscalePolicy; last_decision: ScaleDecision | null; last_error: string | null }>(
      `SELECT policy, last_decision, last_error FROM metrics.autoscale_policy WHERE $1::text IS NULL OR service = $1 ORDER BY service`,
      [service ?? null],
    );
    const t = await db.query<{ threshold: Threshold; phase: ThresholdStatus['phase']; since: Date | null }>(
      `SELECT threshold, phase, since FROM metrics.threshold WHERE $1::text IS NULL OR service = $1 ORDER BY service, name`,
      [service ?? null],
    );
    return {
      policies: p.rows.map((x) => ({ policy: x.policy, lastDecision: x.last_decision, lastError: x.last_error })),
      thresholds: t.rows.map((x) => ({ threshold: x.threshold, phase: x.phase, since: x.since ? x.since.toISOString() : null })),
    };
  }
}
