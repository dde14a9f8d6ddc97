import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { BusNames } from './subjects';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface StreamOptions {
  /** JetStream's dedupe window for task ids; past it, PostgreSQL still dedupes. */
  duplicateWindowMs?: number;
  broadcastMaxAgeMs?: number;
  eventsMaxAgeMs?: number;
}

/** Creates the bus streams, or brings their configuration up to date. Idempotent. */
export async function ensureStreams(jsm: JetStreamManager, names: BusNames, opts: StreamOptions = {}): Promise<void> {
  const p = names.prefix;
  const wanted: Array<Partial<StreamConfig> & { name: string; subjects: string[] }> = [
    {
      name: names.tasksStream,
      subjects: [`${p}.task.*.q`],
      // A queued task is gone from the stream once its service acknowledged it.
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(opts.duplicateWindowMs ?? 2 * MINUTE),
    },
    {
      name: names.broadcastStream,
      subjects: [`${p}.task.*.b`],
      // Every endpoint has its own consumer, so broadcast tasks age out instead.
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(opts.broadcastMaxAgeMs ?? 24 * HOUR),
      duplicate_window: nanos(opts.duplicateWindowMs ?? 2 * MINUTE),
    },
    {
      name: names.eventsStream,
      subjects: [`${p}.evt.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(opts.eventsMaxAgeMs ?? 24 * HOUR),
    },
  ];
  for (const cfg of wanted) {
    try {
      await jsm.streams.info(cfg.name);
      await jsm.streams.update(cfg.name, cfg);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(cfg);
    }
  }
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  maxAckPending: number;
  /** Broadcast endpoints start at new tasks the first time they appear. */
  deliverNewOnly?: boolean;
}

export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  try {
    await jsm.consumers.info(spec.stream, spec.durable);
    await jsm.consumers.update(spec.stream, spec.durable, {
      ack_wait: nanos(spec.ackWaitMs),
      max_ack_pending: spec.maxAckPending,
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(spec.stream, {
      durable_name: spec.durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: spec.filterSubject,
      ack_wait: nanos(spec.ackWaitMs),
      max_ack_pending: spec.maxAckPending,
      deliver_policy: spec.deliverNewOnly ? DeliverPolicy.New : DeliverPolicy.All,
      // Redeliveries are how a crashed endpoint's work gets done: never give up on a task.
      max_deliver: -1,
    });
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10059 || // stream not found
    e?.api_error?.err_code === 10014 || // consumer not found
    /not found/i.test(String(e?.message ?? ''))
  );
}
