import type { Task } from '@sdmi/contracts';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** A task whose payload has been validated against its kind's schema. */
export type TypedTask<P> = Omit<Task, 'payload'> & { payload: P };

/** A JSON Schema for a kind's payload: its $id, if already loaded, or the schema itself. */
export type PayloadSchema = string | ({ $id: string } & Record<string, unknown>);

export const TaskModes = { Queued: 'queued', Broadcast: 'broadcast' } as const;
export type TaskMode = (typeof TaskModes)[keyof typeof TaskModes];

interface HandlerBase {
  readonly kind: string;
  readonly payloadSchema: PayloadSchema;
  /** Modes this kind may be sent in; queued only unless stated. */
  readonly modes?: readonly TaskMode[];
}

export interface ApplyContext<P> {
  readonly task: TypedTask<P>;
  /** The task's database transaction: whatever is written through it commits with the task. */
  readonly db: PoolClient;
  readonly endpoint: string;
  readonly log: Logger;
}

/** A single-step command whose whole effect is in the database, applied exactly once. */
export interface ApplyHandler<P = unknown> extends HandlerBase {
  apply(ctx: ApplyContext<P>): Promise<JsonObject | void>;
}

export interface StepContext<P> {
  readonly task: TypedTask<P>;
  readonly endpoint: string;
  readonly pool: Pool;
  readonly log: Logger;
  /** Outputs of the steps before this one, by index (null where a step returned nothing). */
  readonly outputs: readonly (JsonValue | null)[];
}

export interface UndoContext<P> extends StepContext<P> {
  /** This step's own output, or null when it never finished (crash or failure inside do()). */
  readonly output: JsonValue | null;
}

/**
 * One step of a transaction. `do` must be idempotent: after a crash it runs again. `undo` must
 * tolerate a `do` that never happened or stopped half way, since a crash can leave either.
 */
export interface Step<P = unknown> {
  readonly name: string;
  do(ctx: StepContext<P>): Promise<JsonValue | void>;
  undo(ctx: UndoContext<P>): Promise<void>;
}

export interface FinalizeContext<P> extends ApplyContext<P> {
  readonly outputs: readonly (JsonValue | null)[];
}

/**
 * A multi-step command: its steps are persisted before the first acts; on failure the done steps
 * are undone in reverse; after a crash, start-up recovery finishes or undoes it.
 */
export interface TransactionHandler<P = unknown> extends HandlerBase {
  /** Must return the same step names for the same task every time (recovery relies on it). */
  steps(task: TypedTask<P>): readonly Step<P>[];
  /** Runs in the database transaction that marks the task completed. */
  finalize?(ctx: FinalizeContext<P>): Promise<JsonObject | void>;
}

export type Handler = ApplyHandler<any> | TransactionHandler<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function isTransaction(h: Handler): h is TransactionHandler<unknown> {
  return typeof (h as TransactionHandler).steps === 'function';
}
