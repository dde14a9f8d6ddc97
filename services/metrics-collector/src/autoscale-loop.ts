// The autoscaler: every interval, one collector instance (the holder of a transaction-scoped
// advisory lock) evaluates every AutoscalePolicy and Threshold from the newest stored samples,
// submits scaleService to the scheduler for a decided change, saves what the pure Autoscaler and
// ThresholdEvaluator remember, and announces decisions and threshold events on the bus.
import { type RdmpClient, type BusNames } from '@sdmi/bus';
import { Autoscaler, EMPTY_AUTOSCALER_STATE, ThresholdEvaluator, DEFAULT_STALE_AFTER_MS } from '@sdmi/autoscaling';
import { contracts, type ContainerMetrics, type ListReplicasReply, type ScaleDecision, type ThresholdEvent } from '@sdmi/contracts';
import { SchedulerQueries } from '@sdmi/scheduling';
import type { StartContext } from '@sdmi/service';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { AutoscaleStore, StoredPolicy } from './autoscale-store';
import type { MetricsStore } from './store';

const LOCK = 'sdmi metrics-collector autoscaler';
/** Replicas in these states run and are expected to report samples; the others are coming or going. */
const REPORTING = new Set(['running', 'healthy', 'unhealthy']);
const QUERY_TIMEOUT_MS = 3_000;
const SCALE_TIMEOUT_MS = 30_000;

export interface AutoscaleLoopOptions {
  pool: pg.Pool;
  nc: StartContext['nc'];
  names: BusNames;
  client: RdmpClient;
  store: AutoscaleStore;
  /** Where the samples are read. */
  samples: Pick<MetricsStore, 'latest'>;
  log: Logger;
  intervalMs: number;
}

export interface PassSummary {
  at: number;
  leader: boolean;
  policies: number;
  thresholds: number;
  scaled: number;
  errors: number;
}

export class AutoscaleLoop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #loggedErrors = new Map<string, string>();
  /** The scheduler's listReplicas per service, asked once per pass (policies and thresholds share it). */
  #listed = new Map<string, Promise<ListReplicasReply>>();
  last: PassSummary | undefined;

  constructor(private readonly o: AutoscaleLoopOptions) {}

  start(): this {
    const tick = (): void => {
      if (this.#stopped || this.#running) return;
      this.#running = this.pass()
        .then((s) => void (this.last = s))
        .catch((err: unknown) => this.o.log.warn({ err }, 'autoscale pass failed'))
        .finally(() => (this.#running = undefined));
    };
    this.#timer = setInterval(tick, this.o.intervalMs);
    tick();
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** One evaluation of everything, if this instance gets the lock; the events go out after commit. */
  async pass(now = Date.now()): Promise<PassSummary> {
    const { pool, store } = this.o;
    this.#listed = new Map();
    const db = await pool.connect();
    const summary: PassSummary = { at: now, leader: false, policies: 0, thresholds: 0, scaled: 0, errors: 0 };
    const decisions: ScaleDecision[] = [];
    const events: ThresholdEvent[] = [];
    try {
      await db.query('BEGIN');
      const lock = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [LOCK]);
      if (!lock.rows[0]!.ok) {
        await db.query('ROLLBACK');
        return summary;
      }
      summary.leader = true;
      const policies = await store.policiesForPass(db);
      const thresholds = await store.thresholdsForPass(db);
      summary.policies = policies.length;
      summary.thresholds = thresholds.length;
      const services = [...new Set([...policies.map((p) => p.policy.service), ...thresholds.map((t) => t.threshold.service)])];
      const window = Math.max(DEFAULT_STALE_AFTER_MS, ...policies.map((p) => p.policy.staleAfterMs ?? DEFAULT_STALE_AFTER_MS));
      const samples = services.length === 0 ? [] : await this.o.samples.latest<ContainerMetrics>('container', new Date(now - window), services);

      for (const p of policies) {
        // Another instance that held the lock a moment ago has just evaluated it: twice as many
        // evaluations would not change the windows, but would double the decisions announced.
        if (p.evaluatedAt && now - p.evaluatedAt.getTime() < this.o.intervalMs / 2) continue;
        const r = await this.#evaluate(db, p, samples, now);
        if (r.decision && this.#announce(p, r.decision)) decisions.push(r.decision);
        if (r.scaled) summary.scaled++;
        if (r.error) summary.errors++;
      }

      if (thresholds.length > 0) {
        const evaluator = new ThresholdEvaluator(
          thresholds.map((t) => t.threshold),
          {},
          thresholds.map((t) => t.status),
        );
        // Only replicas that run count: a replica stopped a moment ago still has a fresh sample,
        // and would be aggregated with the ones that replaced it. A service whose replicas the
        // scheduler did not list contributes nothing (a pending run restarts, a raised one stays).
        const running = new Set<string>();
        for (const service of new Set(thresholds.map((t) => t.threshold.service))) {
          const listed = await this.#replicas(service).catch(() => undefined);
          for (const r of listed?.replicas ?? []) if (REPORTING.has(r.state)) running.add(r.id);
        }
        events.push(...evaluator.evaluate(samples.filter((x) => running.has(x.replicaId)), now));
        for (const s of evaluator.status()) await store.saveThresholdStatus(db, s);
      }
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
    for (const d of decisions) this.#publish(this.o.names.scaleDecisions(d.service), 'ScaleDecision', d);
    for (const e of events) {
      this.o.log.info({ service: e.service, threshold: e.threshold, kind: e.kind }, e.why);
      this.#publish(this.o.names.thresholdEvents(e.service), 'ThresholdEvent', e);
    }
    return summary;
  }

  async #evaluate(db: pg.PoolClient, p: StoredPolicy, samples: Parameters<Autoscaler['evaluate']>[0]['samples'], now: number): Promise<{ decision?: ScaleDecision; scaled?: boolean; error?: string }> {
    const { client, store, log } = this.o;
    const service = p.policy.service;
    let current: number;
    let replicas: string[];
    try {
      const [status, listed] = await Promise.all([
        client.query('scheduler', SchedulerQueries.getService, { service }, { timeoutMs: QUERY_TIMEOUT_MS }),
        this.#replicas(service),
      ]);
      current = status.service.desired;
      replicas = listed.replicas.filter((r) => REPORTING.has(r.state)).map((r) => r.id);
    } catch (err) {
      // Nothing is decided without the scheduler's count: a guess could scale the wrong way.
      const error = `the scheduler did not answer for ${service}: ${(err as Error).message}`;
      await store.saveEvaluation(db, service, null, null, error);
      this.#logOnce(service, error, err);
      return { error };
    }
    const autoscaler = new Autoscaler(p.policy, p.state ?? EMPTY_AUTOSCALER_STATE);
    const decision = autoscaler.evaluate({ current, replicas, samples }, now);
    let error: string | null = null;
    let scaled = false;
    if (decision.to !== decision.from) {
      try {
        await client.run('scheduler', { kind: 'scaleService', key: service, payload: { service, replicas: decision.to } }, { timeoutMs: SCALE_TIMEOUT_MS });
        scaled = true;
        log.info({ service, from: decision.from, to: decision.to, reason: decision.reason }, decision.why);
      } catch (err) {
        // The Autoscaler remembers the change as made; the next pass sees the old count and decides again.
        error = `scaleService ${service} ${decision.from} → ${decision.to} failed: ${(err as Error).message}`;
        this.#logOnce(service, error, err);
      }
    }
    if (!error) this.#loggedErrors.delete(service);
    await store.saveEvaluation(db, service, autoscaler.state, decision, error);
    return { decision, scaled, ...(error ? { error } : {}) };
  }

  #replicas(service: string): Promise<ListReplicasReply> {
    let listed = this.#listed.get(service);
    if (!listed) {
      listed = this.o.client.query('scheduler', SchedulerQueries.listReplicas, { service }, { timeoutMs: QUERY_TIMEOUT_MS });
      this.#listed.set(service, listed);
    }
    return listed;
  }

  /** A decision is announced when it changes something, or says something else than the last one did. */
  #announce(p: StoredPolicy, d: ScaleDecision): boolean {
    const last = p.lastDecision;
    return d.to !== d.from || !last || last.reason !== d.reason || last.from !== d.from || last.to !== d.to;
  }

  #publish(subject: string, schema: 'ScaleDecision' | 'ThresholdEvent', body: ScaleDecision | ThresholdEvent): void {
    const checked = contracts().check(schema, body);
    if (!checked.ok) {
      this.o.log.error({ error: checked.error, subject }, `not announcing a ${schema} that breaks its contract`);
      return;
    }
    this.o.nc.publish(subject, JSON.stringify(body));
  }

  #logOnce(service: string, message: string, err: unknown): void {
    if (this.#loggedErrors.get(service) === message) return;
    this.#loggedErrors.set(service, message);
    this.o.log.warn({ err, service }, message);
  }
}
