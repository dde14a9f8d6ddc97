import { type Row, parseRow } from './datum';
import { ConnectionClosed, InvalidDatum, Misuse } from './errors';
import type { JsonRpcConnection } from './rpc';

/** Which changes a monitor reports for a table (RFC 7047 §4.1.5 <monitor-select>). */
export interface MonitorSelect {
  initial?: boolean;
  insert?: boolean;
  delete?: boolean;
  modify?: boolean;
}

/** What to watch in one table: the columns (all when absent) and the kinds of change. */
export interface MonitorRequest {
  columns?: readonly string[];
  select?: MonitorSelect;
}

/** Table name → request(s). */
export type MonitorRequests = Record<string, MonitorRequest | readonly MonitorRequest[]>;

/**
 * One row's change: `new` only for an insert (and initial rows), `old` only for a delete, both for
 * a modify (`old` then holds only the columns that changed).
 */
export interface RowUpdate {
  old?: Row;
  new?: Row;
}

/** Table name → row UUID → change. */
export type TableUpdates = Record<string, Record<string, RowUpdate>>;

export function parseTableUpdates(json: unknown): TableUpdates {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new InvalidDatum('table-updates must be an object', json);
  const out: TableUpdates = {};
  for (const [table, rows] of Object.entries(json)) {
    if (rows === null || typeof rows !== 'object') throw new InvalidDatum(`table-update for ${table} must be an object`, rows);
    const t: Record<string, RowUpdate> = {};
    for (const [uuid, change] of Object.entries(rows as Record<string, unknown>)) {
      const c = change as { old?: unknown; new?: unknown };
      const u: RowUpdate = {};
      if (c.old !== undefined) u.old = parseRow(c.old);
      if (c.new !== undefined) u.new = parseRow(c.new);
      t[uuid] = u;
    }
    out[table] = t;
  }
  return out;
}

const DONE = Symbol('done');

/**
 * A running RFC 7047 monitor. `initial` holds the rows that existed when it started; iterating
 * (once) yields every later update in order. Leaving the loop, `cancel()` or `await using` sends
 * `monitor_cancel`. If the connection goes away the iteration throws the connection's error.
 */
export class Monitor implements AsyncIterable<TableUpdates>, AsyncDisposable {
  readonly #queue: Array<TableUpdates | typeof DONE | Error> = [];
  readonly #waiters: Array<(item: TableUpdates | typeof DONE | Error) => void> = [];
  #iterated = false;
  #canceled: Promise<void> | undefined;
  #initial: TableUpdates = {};
  readonly #unsubscribe: Array<() => void> = [];

  /** @internal Use OvsdbClient.monitor(). */
  constructor(
    private readonly rpc: JsonRpcConnection,
    readonly db: string,
    /** The monitor's id (the `json-value` of RFC 7047), unique on its connection. */
    readonly id: string,
  ) {
    this.#unsubscribe.push(
      rpc.onNotification((method, params) => {
        if (method !== 'update' || params[0] !== id || this.#canceled) return;
        try {
          this.#push(parseTableUpdates(params[1]));
        } catch (e) {
          this.#push(e as Error);
        }
      }),
      rpc.onClose((error) => this.#push(error)),
    );
  }

  /** @internal */
  setInitial(updates: TableUpdates): void {
    this.#initial = updates;
  }

  /** The rows that matched when the monitor started (all as `new`). */
  get initial(): TableUpdates {
    return this.#initial;
  }

  #push(item: TableUpdates | Error | typeof DONE): void {
    const w = this.#waiters.shift();
    if (w) w(item);
    else this.#queue.push(item);
  }

  #take(): Promise<TableUpdates | typeof DONE | Error> {
    const item = this.#queue.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<TableUpdates> {
    if (this.#iterated) throw new Misuse(`monitor ${this.id} is already being iterated (iterate a monitor once)`);
    if (this.#canceled) throw new Misuse(`monitor ${this.id} was canceled`);
    this.#iterated = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<TableUpdates> {
    try {
      for (;;) {
        const item = await this.#take();
        if (item === DONE) return;
        if (item instanceof Error) throw item;
        yield item;
      }
    } finally {
      await this.cancel();
    }
  }

  /**
   * Stops the monitor: sends `monitor_cancel` (unless the connection is gone) and ends the
   * iteration. Idempotent.
   */
  cancel(): Promise<void> {
    this.#canceled ??= (async () => {
      for (const u of this.#unsubscribe) u();
      this.#push(DONE);
      if (!this.rpc.isOpen) return;
      try {
        await this.rpc.request('monitor_cancel', [this.id]);
      } catch (e) {
        // Closed while canceling: the server dropped the monitor with the connection.
        if (!(e instanceof ConnectionClosed) && this.rpc.isOpen) throw e;
      }
    })();
    return this.#canceled;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.cancel();
  }
}
