// An async iterator fed by callbacks (subscriptions, timers): what arrives is queued until the
// reader takes it, a failure is thrown once the queue is drained, and return() ends a reader that
// waits for the next value at once (a generator would take it only when a value came, maybe never).

export interface AsyncQueue<T> {
  readonly iterator: AsyncGenerator<T>;
  /** Whether the reader ended (return(), a failure thrown) or close() was called. */
  readonly closed: boolean;
  push(value: T): void;
  /** The first failure wins; ignored once closed. */
  fail(err: unknown): void;
  /** Ends the iterator (a waiting reader gets done); runs onClose once. */
  close(): void;
}

/** `onClose` runs once, however the iterator ends: unsubscribe there. */
export function asyncQueue<T>(onClose: () => void): AsyncQueue<T> {
  const queue: T[] = [];
  let failure: { err: unknown } | undefined;
  let closed = false;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    wake?.();
    wake = null;
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    onClose();
    poke();
  };
  async function* read(): AsyncGenerator<T> {
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (failure) throw failure.err;
        if (closed) return;
        await new Promise<void>((r) => (wake = r));
        if (closed) return;
      }
    } finally {
      close();
    }
  }
  const iterator = read();
  const finish = iterator.return.bind(iterator);
  iterator.return = (value) => {
    close();
    return finish(value);
  };
  return {
    iterator,
    get closed() {
      return closed;
    },
    push(value) {
      queue.push(value);
      poke();
    },
    fail(err) {
      if (closed) return;
      failure ??= { err };
      poke();
    },
    close,
  };
}
