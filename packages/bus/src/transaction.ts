import type { ErrorInfo, Task } from '@sdmi/contracts';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { ErrorCodes, toErrorInfo } from './errors';
import type { JsonObject, JsonValue, Step, TransactionHandler, TypedTask } from './handlers';
import { StepStates, type StepRow, type TaskStore } from './store';

export interface StepEvent {
  index: number;
  name: string;
  state: 'doing' | 'done' | 'undoing' | 'undone';
}

export interface TransactionHooks {
  onStep(task: Task, step: StepEvent): void;
  /** Test seam for crash tests: called after each persisted step transition. */
  afterStep?(task: Task, step: StepEvent): void;
}

export type TransactionOutcome =
  | { status: 'completed'; revision: number; result: JsonObject | null }
  | { status: 'failed'; error: ErrorInfo };

const UNDO_ATTEMPTS = 3;

/**
 * Drives one multi-step task forward, or backward after a failure, from whatever state its
 * persisted steps are in: the same code runs a new task and resumes one after a crash.
 */
export class TransactionRunner {
  constructor(
    private readonly pool: Pool,
    private readonly store: TaskStore,
    private readonly log: Logger,
    private readonly hooks: TransactionHooks,
  ) {}

  async drive(handler: TransactionHandler<unknown>, task: Task, phase: 'forward' | 'compensating'): Promise<TransactionOutcome> {
    const steps = handler.steps(task as TypedTask<unknown>);
    const rows = await this.store.steps(task.id);
    const names = steps.map((s) => s.name);
    if (rows.length !== steps.length || rows.some((r, i) => r.name !== names[i])) {
      // The code's step list no longer matches what was persisted: guessing would be worse.
      const error: ErrorInfo = {
        code: ErrorCodes.StepsChanged,
        message: `task ${task.id} (${task.kind}) was persisted with steps [${rows.map((r) => r.name).join(', ')}] but the handler now has [${names.join(', ')}]; it needs an operator`,
      };
      await this.store.fail(this.pool, task.id, error);
      return { status: 'failed', error };
    }
    const log = this.log.child({ taskId: task.id, kind: task.kind });
    if (phase === 'forward') {
      const failure = await this.forward(task, steps, rows, log);
      if (!failure) {
        try {
          return await this.finish(handler, task, rows, log);
        } catch (err) {
          return this.compensate(task, steps, rows, toErrorInfo(err), log);
        }
      }
      return this.compensate(task, steps, rows, failure, log);
    }
    const row = await this.store.get(this.pool, task.id);
    return this.compensate(task, steps, rows, row?.error ?? { code: ErrorCodes.StepFailed, message: 'compensating' }, log);
  }

  /** Runs the steps not yet done; returns the failure, if any. Mutates `rows` as it goes. */
  private async forward(task: Task, steps: readonly Step<unknown>[], rows: StepRow[], log: Logger): Promise<ErrorInfo | undefined> {
    for (let i = 0; i < steps.length; i++) {
      const row = rows[i]!;
      if (row.state === StepStates.Done) continue;
      const step = steps[i]!;
      await this.transition(task, row, StepStates.Doing);
      let output: JsonValue | null;
      try {
        output = (await step.do({ task: task as TypedTask<unknown>, endpoint: this.store.endpoint, pool: this.pool, log, outputs: rows.map((r) => r.output) })) ?? null;
      } catch (err) {
        const info = toErrorInfo(err, ErrorCodes.StepFailed);
        log.warn({ step: step.name, err: info }, 'step failed');
        return {
          code: ErrorCodes.StepFailed,
          message: `step ${i + 1}/${steps.length} "${step.name}" failed: ${info.message}`,
          details: { step: step.name, index: i, cause: info },
        };
      }
      row.output = output;
      await this.transition(task, row, StepStates.Done, output);
    }
    return undefined;
  }

  private async finish(handler: TransactionHandler<unknown>, task: Task, rows: StepRow[], log: Logger): Promise<TransactionOutcome> {
    const db = await this.pool.connect();
    try {
      await db.query('BEGIN');
      await this.store.lockRevision(db, task.key);
      const result =
        (await handler.finalize?.({ task: task as TypedTask<unknown>, db, endpoint: this.store.endpoint, log, outputs: rows.map((r) => r.output) })) ?? null;
      const revision = await this.store.complete(db, task, result);
      await db.query('COMMIT');
      return { status: 'completed', revision, result };
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  /** Undoes, newest first, every step that started; the task then ends failed with `cause`. */
  private async compensate(task: Task, steps: readonly Step<unknown>[], rows: StepRow[], cause: ErrorInfo, log: Logger): Promise<TransactionOutcome> {
    await this.store.startCompensating(task.id, cause);
    for (let i = steps.length - 1; i >= 0; i--) {
      const row = rows[i]!;
      if (row.state === StepStates.Pending || row.state === StepStates.Undone) continue;
      const step = steps[i]!;
      await this.transition(task, row, StepStates.Undoing);
      let lastErr: unknown;
      for (let attempt = 1; attempt <= UNDO_ATTEMPTS; attempt++) {
        try {
          await step.undo({ task: task as TypedTask<unknown>, endpoint: this.store.endpoint, pool: this.pool, log, outputs: rows.map((r) => r.output), output: row.output });
          lastErr = undefined;
          break;
        } catch (err) {
          lastErr = err;
          log.warn({ step: step.name, attempt, err: toErrorInfo(err) }, 'undo failed');
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
      if (lastErr !== undefined) {
        const error: ErrorInfo = {
          code: ErrorCodes.CompensationFailed,
          message: `undoing step "${step.name}" failed ${UNDO_ATTEMPTS} times (${toErrorInfo(lastErr).message}) after: ${cause.message}; steps before it are still done and need an operator`,
          details: { step: step.name, index: i, cause },
        };
        await this.store.fail(this.pool, task.id, error);
        return { status: 'failed', error };
      }
      await this.transition(task, row, StepStates.Undone);
    }
    await this.store.fail(this.pool, task.id, cause);
    return { status: 'failed', error: cause };
  }

  private async transition(task: Task, row: StepRow, state: StepEvent['state'], output?: JsonValue | null): Promise<void> {
    await this.store.setStep(task.id, row.idx, state, output);
    row.state = state;
    const ev: StepEvent = { index: row.idx, name: row.name, state };
    this.hooks.onStep(task, ev);
    this.hooks.afterStep?.(task, ev);
  }
}
