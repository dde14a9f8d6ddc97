// Reading core-NATS subscriptions of JSON messages, as every SDK iterator over announcements does.
import { asyncQueue } from '@sdmi/bus';

/** What eachJson needs of a message: its subject and its JSON body. */
export interface JsonMessage {
  subject: string;
  json<T>(): T;
}

/** What jsonIterator needs of a subscription: its messages, and ending it. */
export interface JsonSubscription extends AsyncIterable<JsonMessage> {
  unsubscribe(): void;
}

/**
 * Calls `on` with each message of `sub` that is JSON, until the subscription ends; one that is not
 * JSON is skipped (the publishers are ours: a reader could not act on it). Rejects with what ended
 * the subscription, if anything did (a permission violation).
 */
export async function eachJson(sub: AsyncIterable<JsonMessage>, on: (subject: string, data: unknown) => void): Promise<void> {
  for await (const m of sub) {
    let data: unknown;
    try {
      data = m.json();
    } catch {
      continue;
    }
    on(m.subject, data);
  }
}

/**
 * The values `pick` makes of the JSON messages of `sub` (null: skipped), until the iterator is
 * returned (at once, even while it waits: the subscription ends with it) or the subscription ends
 * (the reader ends too; with its error, if it had one).
 */
export function jsonIterator<T>(sub: JsonSubscription, pick: (subject: string, data: unknown) => T | null): AsyncGenerator<T> {
  const q = asyncQueue<T>(() => sub.unsubscribe());
  eachJson(sub, (subject, data) => {
    const v = pick(subject, data);
    if (v !== null) q.push(v);
  }).then(
    () => q.close(),
    (err: unknown) => q.fail(err),
  );
  return q.iterator;
}
