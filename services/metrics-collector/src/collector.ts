// Takes every metric sample of the cluster off core NATS, checks it against its kind's contract
// and stores it (batched into multi-row INSERTs, at most maxInflight samples in flight: past that
// they are dropped and counted); a sample that breaks its contract is refused: not stored, counted,
// reported on the bus (with the contract's path, rule and message) and logged once per subject and
// rule. Periodically rolls raw samples past the raw window up into buckets and prunes the rollups.
import { BusNames, MetricsKinds, metricsToken, type MetricsKind } from '@sdmi/bus';
import { contracts, type ErrorInfo, type SchemaName } from '@sdmi/contracts';
import type { StartContext } from '@sdmi/service';
import type { Logger } from 'pino';
import type { MetricsStore, StoredSample } from './store';

export const COLLECTOR = 'metrics-collector';

const SCHEMA: Record<MetricsKind, SchemaName> = { node: 'NodeMetrics', container: 'ContainerMetrics', network: 'NetworkMetrics' };

type Verdict = { ok: true; sample: StoredSample } | { ok: false; error: ErrorInfo };

const refusal = (message: string, path: string, rule: string): ErrorInfo => ({ code: 'CONTRACT_VIOLATION', message, path, rule });

/** What a sample on `subject` is, or why it is refused; pure, so that tests need no bus. */
export function judge(names: BusNames, subject: string, raw: string): Verdict {
  const head = `${names.prefix}.metrics.`;
  const [kind, id, ...more] = subject.startsWith(head) ? subject.slice(head.length).split('.') : [];
  if (!kind || !(MetricsKinds as readonly string[]).includes(kind) || !id || more.length > 0) {
    return { ok: false, error: refusal(`subject ${subject} is not ${head}<node|container|network>.<id>`, '', 'subject') };
  }
  const k = kind as MetricsKind;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    return { ok: false, error: refusal(`not JSON: ${(e as Error).message}`, '', 'json') };
  }
  const checked = contracts().check(SCHEMA[k], data);
  if (!checked.ok) return { ok: false, error: { ...checked.error, code: 'CONTRACT_VIOLATION' } };
  const v = checked.value as { node: string; at: string; replicaId?: string; service?: string };
  // The subject names what the sample is about: one published under another's name is refused,
  // else a subscriber to one replica's subject would be told about another.
  const key = k === 'container' ? v.replicaId! : v.node;
  const expected = k === 'container' ? metricsToken(key) : key;
  if (id !== expected) {
    const path = k === 'container' ? '/replicaId' : '/node';
    return { ok: false, error: refusal(`${path} "${key}" does not match the subject's id "${id}" (expected "${expected}")`, path, 'subject') };
  }
  return { ok: true, sample: { kind: k, key, service: v.service ?? null, at: v.at, body: data } };
}

export interface CollectorOptions {
  nc: StartContext['nc'];
  names: BusNames;
  store: MetricsStore;
  log: Logger;
  /** Raw samples are rolled up once older than this. */
  rawMs: number;
  /** Width of a rollup's bucket. */
  rollupBucketMs: number;
  /** Rollups are kept this long. */
  retentionMs: number;
  /** Samples taken but not yet stored (queued, being inserted, refusals being recorded) past which new ones are dropped. */
  maxInflight: number;
  /** Rows per INSERT at most (default 500). */
  batchRows?: number;
  /** INSERTs running at once at most (default 4, of the pool's 10: top and the Prometheus endpoint read from the same pool). */
  writers?: number;
}

export class Collector {
  #sub?: ReturnType<StartContext['nc']['subscribe']>;
  #maintain?: NodeJS.Timeout;
  #intake?: Promise<void>;
  readonly #queue: StoredSample[] = [];
  readonly #writing = new Set<Promise<void>>();
  #writers = 0;
  #recording = 0;
  #storing = 0;
  #burst = 0;
  readonly #logged = new Set<string>();
  stored = 0;
  refused = 0;
  /** Samples dropped because maxInflight were already in flight. */
  dropped = 0;
  /** Valid samples whose INSERT failed (the database refused or was away). */
  failed = 0;

  constructor(private readonly o: CollectorOptions) {}

  /** Samples taken and not yet stored or recorded. */
  get inflight(): number {
    return this.#queue.length + this.#storing + this.#recording;
  }

  start(): this {
    const { nc, names, log } = this.o;
    // A queue group: with several collectors each sample is stored once.
    this.#sub = nc.subscribe(names.allMetrics, { queue: COLLECTOR });
    this.#intake = (async () => {
      for await (const m of this.#sub!) this.take(m.subject, m.string());
    })();
    const maintain = (): void =>
      void this.o.store.rollup(Date.now(), { rawMs: this.o.rawMs, bucketMs: this.o.rollupBucketMs, retentionMs: this.o.retentionMs }).then(
        (p) => p && p.rolledUp + p.refusals + p.expired > 0 && log.debug(p, 'rolled up raw samples past the raw window, pruned past the retention'),
        (err: unknown) => log.warn({ err }, 'rollup and retention pass failed'),
      );
    maintain();
    // A bucket is rolled up at most this long after it left the raw window.
    this.#maintain = setInterval(maintain, Math.max(1_000, Math.min(60_000, this.o.rawMs / 10, this.o.rollupBucketMs)));
    return this;
  }

  /**
   * One message off the bus: dropped when too many are in flight (core NATS has no flow control:
   * without a bound, a burst faster than the database queues in memory), else judged and queued
   * for storing, or refused.
   */
  take(subject: string, raw: string): void {
    if (this.inflight >= this.o.maxInflight) {
      this.dropped++;
      if (this.#burst++ === 0) this.o.log.warn({ maxInflight: this.o.maxInflight }, `${this.o.maxInflight} samples in flight: dropping samples until the backlog is stored (the burst's count is logged when it ends)`);
      return;
    }
    const v = judge(this.o.names, subject, raw);
    if (v.ok) {
      this.#queue.push(v.sample);
      this.#write();
      return;
    }
    this.#recording++;
    void this.#refuse(subject, v.error).finally(() => {
      this.#recording--;
      this.#drained();
    });
  }

  /**
   * Starts a writer unless enough run: each takes what is queued (up to batchRows) into one
   * multi-row INSERT, and again until the queue is empty. One sample alone is inserted at once;
   * under load the batches grow with the queue.
   */
  #write(): void {
    if (this.#writers >= (this.o.writers ?? 4)) return;
    this.#writers++;
    const w = (async () => {
      try {
        while (this.#queue.length > 0) {
          const batch = this.#queue.splice(0, this.o.batchRows ?? 500);
          this.#storing += batch.length;
          try {
            await this.o.store.insertMany(batch);
            this.stored += batch.length;
          } catch (err) {
            this.failed += batch.length;
            this.o.log.warn({ err, samples: batch.length }, 'samples not stored');
          } finally {
            this.#storing -= batch.length;
          }
          this.#drained();
        }
      } finally {
        // In the same turn as the empty queue was seen: a sample queued after it starts a writer.
        this.#writers--;
      }
    })();
    this.#writing.add(w);
    void w.finally(() => this.#writing.delete(w));
  }

  /** Ends a burst of drops once the backlog is half gone (so that a burst at the bound logs once, not once per sample stored). */
  #drained(): void {
    if (this.#burst > 0 && this.inflight <= this.o.maxInflight / 2) {
      this.o.log.warn({ dropped: this.#burst, total: this.dropped }, `dropped ${this.#burst} samples in a burst over ${this.o.maxInflight} in flight`);
      this.#burst = 0;
    }
  }

  async #refuse(subject: string, error: ErrorInfo): Promise<void> {
    this.refused++;
    const key = `${subject}\u0000${error.rule ?? ''}`;
    if (!this.#logged.has(key)) {
      this.#logged.add(key);
      this.o.log.warn({ subject, error }, `sample refused: ${error.message} (further refusals of this subject and rule are counted, not logged)`);
    }
    // Recorded before it is announced: whoever hears of the refusal finds it counted by top.
    await this.o.store.refuse(subject, error).catch((err: unknown) => this.o.log.warn({ err, subject }, 'refusal not recorded'));
    this.o.nc.publish(this.o.names.rejected(COLLECTOR), JSON.stringify({ subject, at: new Date().toISOString(), error }));
  }

  /** Stops taking samples and waits until those taken are stored. */
  async stop(): Promise<void> {
    clearInterval(this.#maintain);
    this.#sub?.unsubscribe();
    await this.#intake;
    while (this.#writing.size > 0 || this.#recording > 0) {
      await Promise.all(this.#writing);
      if (this.#recording > 0) await new Promise((r) => setTimeout(r, 10));
    }
  }
}
