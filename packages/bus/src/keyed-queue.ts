/**
 * Runs items strictly one after another per key, and items of different keys in parallel, at
 * most `concurrency` keys at a time. Keys wait their turn in arrival order, so a busy key cannot
 * starve the others. The runner must not throw: it is where retries and failures are handled.
 */
export class KeyedQueue<T> {
  private readonly queues = new Map<string, T[]>();
  private readonly ready: string[] = [];
  private active = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly run: (key: string, item: T) => Promise<void>,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  }

  /** Items accepted and not yet finished, over all keys. */
  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  push(key: string, item: T): void {
    const q = this.queues.get(key);
    if (q) {
      q.push(item); // the key is running or already waiting in `ready`
      return;
    }
    this.queues.set(key, [item]);
    this.ready.push(key);
    this.pump();
  }

  /** Resolves when every accepted item has finished. */
  idle(): Promise<void> {
    if (this.queues.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.active++;
      void this.drain(key);
    }
  }

  private async drain(key: string): Promise<void> {
    const q = this.queues.get(key)!;
    // The head stays in the queue while it runs, so push() sees the key as busy.
    while (q.length > 0) {
      await this.run(key, q[0]!);
      q.shift();
    }
    this.queues.delete(key);
    this.active--;
    this.pump();
    if (this.queues.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
