import { parseRow } from './datum';
import { CommitFailed, InvalidDatum, OperationFailed, ProtocolError } from './errors';
import { Monitor, type MonitorRequests, type TableUpdates, parseTableUpdates } from './monitor';
import type { Operation, OperationResult } from './operations';
import { JsonRpcConnection, type RequestOptions, type RpcOptions } from './rpc';
import { type DatabaseSchema, parseSchema } from './schema';
import type { Transport } from './transport';

export type ClientOptions = RpcOptions;

/** A lock notification (RFC 7047 §4.1.9, §4.1.10). */
export const LockEvents = {
  /** A lock we asked for (and were queued on) is now ours. */
  Locked: 'locked',
  /** Another client stole a lock we held. */
  Stolen: 'stolen',
} as const;
export type LockEvent = (typeof LockEvents)[keyof typeof LockEvents];

/**
 * An RFC 7047 client on one connection. Methods map one to one to the protocol's; transact errors
 * become OperationFailed / CommitFailed. Create it with `connectOvsdb()` or from any Transport.
 */
export class OvsdbClient implements AsyncDisposable {
  readonly rpc: JsonRpcConnection;
  #monitors = 0;

  constructor(transport: Transport, options: ClientOptions = {}) {
    this.rpc = new JsonRpcConnection(transport, options);
  }

  get target(): string {
    return this.rpc.target;
  }

  get isOpen(): boolean {
    return this.rpc.isOpen;
  }

  /** RFC 7047 §4.1.1 list_dbs. */
  async listDbs(options?: RequestOptions): Promise<string[]> {
    const result = await this.rpc.request('list_dbs', [], options);
    if (!Array.isArray(result) || !result.every((d) => typeof d === 'string')) {
      throw new ProtocolError('list_dbs did not return an array of strings', result);
    }
    return result;
  }

  /** RFC 7047 §4.1.2 get_schema, normalised by parseSchema. */
  async getSchema(db: string, options?: RequestOptions): Promise<DatabaseSchema> {
    return parseSchema(await this.rpc.request('get_schema', [db], options));
  }

  /**
   * RFC 7047 §4.1.3 transact: runs the operations atomically and resolves with one result per
   * operation. If an operation fails, nothing is changed and this rejects with OperationFailed
   * (its index, error, details); if the commit fails (e.g. an index constraint), with CommitFailed.
   * Aborting `options.signal` sends `cancel` (§4.1.4) and rejects with RequestCanceled.
   */
  async transact(db: string, operations: readonly Operation[], options?: RequestOptions): Promise<OperationResult[]> {
    const result = await this.rpc.request('transact', [db, ...operations], options);
    if (!Array.isArray(result)) throw new ProtocolError('transact did not return an array', result);
    for (let i = 0; i < result.length; i++) {
      const r = result[i] as { error?: unknown; details?: unknown } | null;
      if (r !== null && typeof r === 'object' && typeof r.error === 'string') {
        const details = typeof r.details === 'string' ? r.details : undefined;
        if (i < operations.length) throw new OperationFailed(i, r.error, details, operations[i]);
        throw new CommitFailed(i, r.error, details);
      }
    }
    if (result.length < operations.length) {
      throw new ProtocolError(`transact returned ${result.length} results for ${operations.length} operations`, result);
    }
    return result.slice(0, operations.length).map((r, i) => toResult(r, operations[i]));
  }

  /**
   * RFC 7047 §4.1.5 monitor. Resolves once the server accepted it, with the initial rows in
   * `monitor.initial`; iterate the monitor for later updates.
   */
  async monitor(db: string, requests: MonitorRequests, options?: RequestOptions): Promise<Monitor> {
    const id = `sdmi-monitor-${++this.#monitors}`;
    // Subscribe before asking, so no update can slip between the reply and the subscription.
    const monitor = new Monitor(this.rpc, db, id);
    try {
      const initial = await this.rpc.request('monitor', [db, id, requests], options);
      monitor.setInitial(parseTableUpdates(initial));
    } catch (e) {
      await monitor.cancel().catch(() => {});
      throw e;
    }
    return monitor;
  }

  /** RFC 7047 §4.1.7 monitor_cancel (Monitor.cancel() calls this for you). */
  async monitorCancel(id: string, options?: RequestOptions): Promise<void> {
    await this.rpc.request('monitor_cancel', [id], options);
  }

  /** RFC 7047 §4.1.8 lock: true when the lock is ours now; false when queued (a `locked` notification follows). */
  async lock(id: string, options?: RequestOptions): Promise<boolean> {
    return lockResult(await this.rpc.request('lock', [id], options));
  }

  /** RFC 7047 §4.1.8 steal: takes the lock from its holder (who gets a `stolen` notification). */
  async steal(id: string, options?: RequestOptions): Promise<boolean> {
    return lockResult(await this.rpc.request('steal', [id], options));
  }

  /** RFC 7047 §4.1.8 unlock. */
  async unlock(id: string, options?: RequestOptions): Promise<void> {
    await this.rpc.request('unlock', [id], options);
  }

  /** Called for `locked` and `stolen` notifications; returns an unsubscribe function. */
  onLockEvent(handler: (event: LockEvent, lockId: string) => void): () => void {
    return this.rpc.onNotification((method, params) => {
      if ((method === LockEvents.Locked || method === LockEvents.Stolen) && typeof params[0] === 'string') {
        handler(method, params[0]);
      }
    });
  }

  /** RFC 7047 §4.1.11 echo: resolves when the server echoed our parameters back. */
  async echo(options?: RequestOptions): Promise<void> {
    const token = `sdmi-${Date.now()}`;
    const result = await this.rpc.request('echo', [token], options);
    if (!Array.isArray(result) || result[0] !== token) throw new ProtocolError('echo reply does not match the request', result);
  }

  close(): Promise<void> {
    return this.rpc.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function lockResult(result: unknown): boolean {
  const locked = (result as { locked?: unknown } | null)?.locked;
  if (typeof locked !== 'boolean') throw new ProtocolError('lock reply has no "locked" boolean', result);
  return locked;
}

function toResult(json: unknown, op: Operation | undefined): OperationResult {
  if (json === null || typeof json !== 'object') throw new ProtocolError(`no result for operation ${op?.op ?? '?'}`, json);
  const r = json as { uuid?: unknown; rows?: unknown; count?: unknown };
  const out: OperationResult = {};
  if (r.uuid !== undefined) {
    const u = r.uuid;
    if (!Array.isArray(u) || u[0] !== 'uuid' || typeof u[1] !== 'string') throw new InvalidDatum('insert result uuid is not a uuid', u);
    out.uuid = ['uuid', u[1]];
  }
  if (r.rows !== undefined) {
    if (!Array.isArray(r.rows)) throw new ProtocolError('select result rows is not an array', r.rows);
    out.rows = r.rows.map((row) => parseRow(row));
  }
  if (typeof r.count === 'number') out.count = r.count;
  return out;
}

export type { TableUpdates };
