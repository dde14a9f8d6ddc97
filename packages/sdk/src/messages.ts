// Reading core-NATS subscriptions of JSON messages, as every SDK iterator over announcements does.

/** What eachJson needs of a message: its subject and its JSON body. */
export interface JsonMessage {
  subject: string;
  json<T>(): T;
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
