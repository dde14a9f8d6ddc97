import pg from 'pg';
import type { Logger } from 'pino';

/**
 * Who consumes a service's queued tasks. Two instances pulling from one durable consumer would
 * interleave a key's tasks, so exactly one holds this lease: a PostgreSQL advisory lock on a
 * session of its own. The lock dies with the session, so a killed holder frees it at once and a
 * standby takes over; JetStream then redelivers what the holder had not acknowledged, in order.
 */
export class ConsumerLease {
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly name: string,
    private readonly log: Logger,
    private readonly pollMs = 1_000,
  ) {}

  /** Tries once; true when this instance now holds the lease. */
  async tryAcquire(): Promise<boolean> {
    if (this.closed) return false;
    if (!this.client) {
      const c = new pg.Client({ connectionString: this.connectionString, application_name: `sdmi-lease:${this.name}` });
      await c.connect();
      c.on('error', (err) => this.onLost(err));
      if (this.closed) {
        // release() came while connecting: this session would outlive it (and might take the lock).
        await c.end().catch(() => undefined);
        return false;
      }
      this.client = c;
    }
    let ok: boolean;
    try {
      const r = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [this.name]);
      ok = r.rows[0]!.ok;
    } catch (err) {
      if (this.closed) return false; // release() ended the session under the query
      throw err;
    }
    if (this.closed) {
      // release() came during the query: whatever it got, the session goes (and the lock with it).
      await this.dropClient();
      return false;
    }
    return ok;
  }

  /** Polls until acquired (or closed), then calls onAcquired once. */
  waitFor(onAcquired: () => Promise<void>): void {
    const attempt = async (): Promise<void> => {
      if (this.closed) return;
      try {
        if (await this.tryAcquire()) {
          this.log.info({ lease: this.name }, 'took over the consumer lease');
          await onAcquired();
          return;
        }
      } catch (err) {
        // Dropping the session frees the lock, so another standby may try instead of us.
        if (!this.closed) this.log.warn({ err, lease: this.name }, 'lease attempt or take-over failed; retrying');
        await this.dropClient();
      }
      // No poll may be left behind by release(), which can come while an attempt is under way.
      if (!this.closed) this.timer = setTimeout(() => void attempt(), this.pollMs);
    };
    void attempt();
  }

  onLost: (err: Error) => void = (err) => {
    this.log.fatal({ err, lease: this.name }, 'lost the consumer lease session');
  };

  async release(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.dropClient();
  }

  private async dropClient(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

/**
 * Which instance of a service runs its reconciling passes: a session-level advisory lock on a
 * connection of its own, tried at the start of each pass (no polling of its own). The lock dies
 * with the session, so a killed leader frees it at once and the next instance to pass takes it; a
 * lost connection makes this instance a follower until it takes the lock again.
 */
export class LeaderLock {
  #client: pg.Client | undefined;
  #held = false;

  constructor(
    private readonly connectionString: string,
    private readonly name: string,
  ) {}

  get held(): boolean {
    return this.#held;
  }

  /** True when this instance holds the lock (now, or from before). */
  async tryAcquire(): Promise<boolean> {
    if (!this.#client) {
      const c = new pg.Client({ connectionString: this.connectionString, application_name: this.name });
      c.on('error', () => {
        if (this.#client === c) this.#client = undefined;
        this.#held = false;
      });
      await c.connect();
      this.#client = c;
    }
    if (this.#held) return true;
    const r = await this.#client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [this.name]);
    this.#held = r.rows[0]!.ok;
    return this.#held;
  }

  async release(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    this.#held = false;
    await c?.end().catch(() => undefined);
  }
}
