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
  /**
   * The stream is a work queue: acknowledged messages are gone from it, so delivering "all"
   * is exactly the unacknowledged ones (and JetStream allows nothing else on such a stream).
   */
  workQueue?: boolean;
}

/**
 * Creates the durable consumer, or re-creates it from its ack floor. A consumer taken over from a
 * crashed instance holds that instance's unacknowledged messages, and JetStream would redeliver
 * them only after their ack wait, behind newer messages: a key's tasks would run out of order.
 * Starting again right after the ack floor (on a work-queue stream: from the start, which holds only
 * unacknowledged messages) delivers every unacknowledged message first, in stream order; the ones acknowledged out of order after the floor come again and are recognised as
 * duplicates by their task records.
 */
export async function resetConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  let startSeq: number | undefined;
  try {
    const info = await jsm.consumers.info(spec.stream, spec.durable);
    startSeq = info.ack_floor.stream_seq + 1;
    await jsm.consumers.delete(spec.stream, spec.durable);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await jsm.consumers.add(spec.stream, {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: spec.filterSubject,
    ack_wait: nanos(spec.ackWaitMs),
    max_ack_pending: spec.maxAckPending,
    ...(startSeq !== undefined && !spec.workQueue
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }
      : { deliver_policy: spec.deliverNewOnly ? DeliverPolicy.New : DeliverPolicy.All }),
    // Redeliveries are how a crashed endpoint's work gets done: never give up on a task.
    max_deliver: -1,
  });
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10059 || // stream not found
    e?.api_error?.err_code === 10014 || // consumer not found
    /not found/i.test(String(e?.message ?? ''))
  );
}

/** Deletes the bus streams of a prefix (a test run's, or a cluster being torn down). */
export async function removeStreams(jsm: JetStreamManager, names: BusNames): Promise<void> {
  for (const s of [names.tasksStream, names.broadcastStream, names.eventsStream]) {
    try {
      await jsm.streams.delete(s);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
