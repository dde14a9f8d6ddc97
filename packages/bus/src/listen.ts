import pg from 'pg';
import type { Logger } from 'pino';

export interface PgListenerOptions {
  dbUrl: string;
  channel: string;
  /** Shows in pg_stat_activity, so a test or an operator can find (and kill) the session. */
  applicationName: string;
  log: Logger;
  /** Each NOTIFY on the channel. */
  onNotify: () => void;
  /** After every (re)connection: a change committed while it was away was not notified. */
  onConnected?: () => void;
  /** Wait before a reconnect; default 2 s. */
  retryMs?: number;
}

/**
 * LISTEN on a PostgreSQL session of its own that comes back by itself. Every way the session can
 * fail (connect refused, an error, the server ending it) leads to exactly one retry: the client
 * emits 'error' and 'end' as well when its connect fails, and a retry per event doubled the
 * attempts at every round (a network-controller held over a thousand connections within 20 s of
 * its database going away). Callers keep a resync timer: notifications are prompt, not certain.
 */
export class PgListener {
  #client: pg.Client | undefined;
  #stopped = false;

  constructor(private readonly opts: PgListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(opts.channel)) throw new Error(`channel "${opts.channel}" must be a plain lower-case identifier`);
  }

  /** Connects and LISTENs; the first failure is thrown (later ones are retried). */
  async start(): Promise<void> {
    await this.#connect();
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  async #connect(): Promise<void> {
    const { dbUrl, channel, applicationName, log, onNotify, onConnected } = this.opts;
    const client = new pg.Client({ connectionString: dbUrl, application_name: applicationName });
    client.on('notification', () => onNotify());
    let lost = false;
    const reconnect = (err?: unknown) => {
      if (lost || this.#stopped) return;
      lost = true;
      log.warn({ err, channel }, 'lost the LISTEN connection; reconnecting');
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => undefined);
      setTimeout(() => {
        if (!this.#stopped) this.#connect().catch(() => undefined);
      }, this.opts.retryMs ?? 2_000).unref();
    };
    client.on('error', reconnect);
    client.on('end', () => reconnect());
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (err) {
      reconnect(err);
      throw err;
    }
    this.#client = client;
    onConnected?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }
}
