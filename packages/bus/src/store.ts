import type { ErrorInfo, Task, TaskStatusReply } from '@sdmi/contracts';
import type { Pool, PoolClient } from 'pg';
import type { JsonObject, JsonValue } from './handlers';

export const StepStates = { Pending: 'pending', Doing: 'doing', Done: 'done', Undoing: 'undoing', Undone: 'undone' } as const;
export type StepState = (typeof StepStates)[keyof typeof StepStates];

export interface TaskRow {
  status: 'pending' | 'executing' | 'completed' | 'failed';
  phase: 'forward' | 'compensating';
  revision: string | null;
  result: JsonObject | null;
  error: ErrorInfo | null;
  task: Task;
  seq: string;
}

export interface StepRow {
  idx: number;
  name: string;
  state: StepState;
  output: JsonValue | null;
}

/** The SQL of RDMP's task records, in one place. */
export class TaskStore {
  constructor(
    private readonly pool: Pool,
    private readonly service: string,
    readonly endpoint: string,
  ) {}

  /** Inserts the task's record unless it exists; true when this call created it. */
  async insert(db: PoolClient, task: Task, seq: number, status: 'executing' | 'failed', error?: ErrorInfo): Promise<boolean> {
    const r = await db.query(
      `INSERT INTO rdmp.task (id, endpoint, service, kind, key, seq, task, status, error, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $8 = 'failed' THEN now() END)
       ON CONFLICT (id, endpoint) DO NOTHING`,
      [task.id, this.endpoint, this.service, task.kind, task.key, seq, task, status, error ?? null],
    );
    return r.rowCount === 1;
  }

  async get(db: PoolClient | Pool, taskId: string): Promise<TaskRow | undefined> {
    const r = await db.query<TaskRow>(
      'SELECT status, phase, revision, result, error, task, seq FROM rdmp.task WHERE id = $1 AND endpoint = $2',
      [taskId, this.endpoint],
    );
    return r.rows[0];
  }

  /** Locks the resource's revision row for this transaction, creating it at revision 0. */
  async lockRevision(db: PoolClient, key: string): Promise<number> {
    // One round trip: the no-op update of an existing row takes its lock like SELECT ... FOR UPDATE.
    const r = await db.query<{ revision: string }>(
      `INSERT INTO rdmp.resource AS r (key) VALUES ($1)
       ON CONFLICT (key) DO UPDATE SET revision = r.revision RETURNING revision`,
      [key],
    );
    return Number(r.rows[0]!.revision);
  }

  /** Marks the task completed and increments its resource's revision (locked by lockRevision). */
  async complete(db: PoolClient, task: Task, result: JsonObject | null): Promise<number> {
    const r = await db.query<{ revision: string }>(
      `WITH bumped AS (UPDATE rdmp.resource SET revision = revision + 1 WHERE key = $3 RETURNING revision)
       UPDATE rdmp.task SET status = 'completed', result = $4, revision = (SELECT revision FROM bumped), finished_at = now()
       WHERE id = $1 AND endpoint = $2 RETURNING revision`,
      [task.id, this.endpoint, task.key, result],
    );
    return Number(r.rows[0]!.revision);
  }

  async fail(db: PoolClient | Pool, taskId: string, error: ErrorInfo): Promise<void> {
    await db.query(
      `UPDATE rdmp.task SET status = 'failed', error = $3, finished_at = now() WHERE id = $1 AND endpoint = $2`,
      [taskId, this.endpoint, error],
    );
  }

  async insertSteps(db: PoolClient, taskId: string, names: readonly string[]): Promise<void> {
    await db.query(
      `INSERT INTO rdmp.task_step (task_id, endpoint, idx, name, state)
       SELECT $1, $2, i - 1, n, 'pending' FROM unnest($3::text[]) WITH ORDINALITY AS s(n, i)
       ON CONFLICT DO NOTHING`,
      [taskId, this.endpoint, names],
    );
  }

  async steps(taskId: string): Promise<StepRow[]> {
    const r = await this.pool.query<StepRow>(
      'SELECT idx, name, state, output FROM rdmp.task_step WHERE task_id = $1 AND endpoint = $2 ORDER BY idx',
      [taskId, this.endpoint],
    );
    return r.rows;
  }

  async setStep(taskId: string, idx: number, state: StepState, output?: JsonValue | null, error?: ErrorInfo): Promise<void> {
    await this.pool.query(
      `UPDATE rdmp.task_step SET state = $4, output = COALESCE($5, output), error = COALESCE($6, error)
       WHERE task_id = $1 AND endpoint = $2 AND idx = $3`,
      [taskId, this.endpoint, idx, state, output === undefined ? null : JSON.stringify(output), error ?? null],
    );
  }

  async startCompensating(taskId: string, error: ErrorInfo): Promise<void> {
    await this.pool.query(
      `UPDATE rdmp.task SET phase = 'compensating', error = $3 WHERE id = $1 AND endpoint = $2`,
      [taskId, this.endpoint, error],
    );
  }

  /** Transactions this endpoint left open, oldest first: start-up recovery finishes them. */
  async open(): Promise<TaskRow[]> {
    const r = await this.pool.query<TaskRow>(
      `SELECT status, phase, revision, result, error, task, seq FROM rdmp.task
       WHERE service = $1 AND endpoint = $2 AND status = 'executing' ORDER BY seq`,
      [this.service, this.endpoint],
    );
    return r.rows;
  }

  /** The task as it was submitted (any endpoint's record of it), for who may read its status. */
  async taskOf(taskId: string): Promise<Task | undefined> {
    const r = await this.pool.query<{ task: Task }>('SELECT task FROM rdmp.task WHERE id = $1 AND service = $2 LIMIT 1', [taskId, this.service]);
    return r.rows[0]?.task;
  }

  /** Every endpoint's record of a task: what the task-status query answers. */
  async statusOf(taskId: string): Promise<TaskStatusReply> {
    const r = await this.pool.query<{
      endpoint: string; kind: string; key: string; status: TaskRow['status']; revision: string | null;
      result: JsonObject | null; error: ErrorInfo | null; steps: Array<{ index: number; name: string; state: StepState }> | null;
    }>(
      `SELECT t.endpoint, t.kind, t.key, t.status, t.revision, t.result, t.error,
              (SELECT json_agg(json_build_object('index', s.idx, 'name', s.name, 'state', s.state) ORDER BY s.idx)
                 FROM rdmp.task_step s WHERE s.task_id = t.id AND s.endpoint = t.endpoint) AS steps
       FROM rdmp.task t WHERE t.id = $1 AND t.service = $2 ORDER BY t.endpoint`,
      [taskId, this.service],
    );
    return {
      taskId,
      records: r.rows.map((row) => ({
        endpoint: row.endpoint,
        kind: row.kind,
        key: row.key,
        status: row.status,
        ...(row.revision !== null ? { revision: Number(row.revision) } : {}),
        ...(row.result !== null ? { result: row.result } : {}),
        ...(row.error !== null ? { error: row.error } : {}),
        ...(row.steps !== null ? { steps: row.steps } : {}),
      })),
    };
  }
}
