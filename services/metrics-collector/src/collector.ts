// Takes every metric sample of the cluster off core NATS, checks it against its kind's contract
// and stores it; a sample that breaks its contract is refused: not stored, counted, reported on
// the bus (with the contract's path, rule and message) and logged once per subject and rule.
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
  retentionMs: number;
}

export class Collector {
  #sub?: ReturnType<StartContext['nc']['subscribe']>;
  #prune?: NodeJS.Timeout;
  #pending = new Set<Promise<void>>();
  readonly #logged = new Set<string>();
  stored = 0;
  refused = 0;

  constructor(private readonly o: CollectorOptions) {}

  start(): this {
    const { nc, names, log } = this.o;
    // A queue group: with several collectors each sample is stored once.
    this.#sub = nc.subscribe(names.allMetrics, { queue: COLLECTOR });
    void (async () => {
      for await (const m of this.#sub!) {
        const p = this.handle(m.subject, m.string()).catch((err: unknown) => log.warn({ err, subject: m.subject }, 'sample not stored'));
        this.#pending.add(p);
        void p.finally(() => this.#pending.delete(p));
      }
    })();
    const prune = (): void =>
      void this.o.store.prune(this.o.retentionMs).then(
        (n) => n > 0 && log.debug({ rows: n }, 'pruned samples past the retention'),
        (err: unknown) => log.warn({ err }, 'retention pass failed'),
      );
    prune();
    // Often enough that the table holds at most a tenth of the retention more than it should.
    this.#prune = setInterval(prune, Math.max(1_000, Math.min(60_000, this.o.retentionMs / 10)));
    return this;
  }

  async handle(subject: string, raw: string): Promise<void> {
    const v = judge(this.o.names, subject, raw);
    if (v.ok) {
      await this.o.store.insert(v.sample);
      this.stored++;
      return;
    }
    this.refused++;
    const key = `${subject}\u0000${v.error.rule ?? ''}`;
    if (!this.#logged.has(key)) {
      this.#logged.add(key);
      this.o.log.warn({ subject, error: v.error }, `sample refused: ${v.error.message} (further refusals of this subject and rule are counted, not logged)`);
    }
    // Recorded before it is announced: whoever hears of the refusal finds it counted by top.
    await this.o.store.refuse(subject, v.error).catch((err: unknown) => this.o.log.warn({ err, subject }, 'refusal not recorded'));
    this.o.nc.publish(this.o.names.rejected(COLLECTOR), JSON.stringify({ subject, at: new Date().toISOString(), error: v.error }));
  }

  async stop(): Promise<void> {
    clearInterval(this.#prune);
    this.#sub?.unsubscribe();
    await Promise.all(this.#pending);
  }
}
