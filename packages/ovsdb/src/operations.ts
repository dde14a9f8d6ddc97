// RFC 7047 §5.2 transaction operations, their results, and builders.
import type { Datum, Row, Uuid } from './datum';

/** Condition functions (RFC 7047 §5.1 <function>). */
export const Functions = {
  Lt: '<',
  Le: '<=',
  Eq: '==',
  Ne: '!=',
  Ge: '>=',
  Gt: '>',
  Includes: 'includes',
  Excludes: 'excludes',
} as const;
export type ConditionFunction = (typeof Functions)[keyof typeof Functions];

/** Mutators (RFC 7047 §5.1 <mutator>). */
export const Mutators = {
  Add: '+=',
  Subtract: '-=',
  Multiply: '*=',
  Divide: '/=',
  Modulo: '%=',
  Insert: 'insert',
  Delete: 'delete',
} as const;
export type Mutator = (typeof Mutators)[keyof typeof Mutators];

/** `[column, function, value]`; the column `_uuid` selects a row by UUID. */
export type Condition = readonly [string, ConditionFunction, Datum];
/** `[column, mutator, value]`. */
export type Mutation = readonly [string, Mutator, Datum];

export interface InsertOp {
  op: 'insert';
  table: string;
  row: Row;
  /** Lets later operations refer to the new row as `["named-uuid", name]`. */
  'uuid-name'?: string;
}
export interface SelectOp {
  op: 'select';
  table: string;
  where: readonly Condition[];
  columns?: readonly string[];
}
export interface UpdateOp {
  op: 'update';
  table: string;
  where: readonly Condition[];
  row: Row;
}
export interface MutateOp {
  op: 'mutate';
  table: string;
  where: readonly Condition[];
  mutations: readonly Mutation[];
}
export interface DeleteOp {
  op: 'delete';
  table: string;
  where: readonly Condition[];
}
export interface WaitOp {
  op: 'wait';
  table: string;
  where: readonly Condition[];
  columns: readonly string[];
  until: '==' | '!=';
  rows: readonly Row[];
  /** Milliseconds to wait; 0 fails at once ("timed out") if the condition does not hold. */
  timeout?: number;
}
export interface CommitOp {
  op: 'commit';
  durable: boolean;
}
export interface AbortOp {
  op: 'abort';
}
export interface CommentOp {
  op: 'comment';
  comment: string;
}
export interface AssertOp {
  op: 'assert';
  lock: string;
}
export type Operation =
  | InsertOp
  | SelectOp
  | UpdateOp
  | MutateOp
  | DeleteOp
  | WaitOp
  | CommitOp
  | AbortOp
  | CommentOp
  | AssertOp;

/** The result of a successful operation; which fields are present depends on the operation. */
export interface OperationResult {
  /** insert */
  uuid?: Uuid;
  /** select */
  rows?: Row[];
  /** update, mutate, delete */
  count?: number;
}

/** Builders for operations, e.g. `Op.insert('Bridge', { name: 'br0' }, 'br')`. */
export const Op = {
  insert(table: string, row: Row, uuidName?: string): InsertOp {
    return uuidName === undefined ? { op: 'insert', table, row } : { op: 'insert', table, row, 'uuid-name': uuidName };
  },
  select(table: string, where: readonly Condition[] = [], columns?: readonly string[]): SelectOp {
    return columns === undefined ? { op: 'select', table, where } : { op: 'select', table, where, columns };
  },
  update(table: string, where: readonly Condition[], row: Row): UpdateOp {
    return { op: 'update', table, where, row };
  },
  mutate(table: string, where: readonly Condition[], mutations: readonly Mutation[]): MutateOp {
    return { op: 'mutate', table, where, mutations };
  },
  delete(table: string, where: readonly Condition[]): DeleteOp {
    return { op: 'delete', table, where };
  },
  wait(
    table: string,
    where: readonly Condition[],
    columns: readonly string[],
    until: '==' | '!=',
    rows: readonly Row[],
    timeout?: number,
  ): WaitOp {
    const op: WaitOp = { op: 'wait', table, where, columns, until, rows };
    if (timeout !== undefined) op.timeout = timeout;
    return op;
  },
  commit(durable = false): CommitOp {
    return { op: 'commit', durable };
  },
  abort(): AbortOp {
    return { op: 'abort' };
  },
  comment(comment: string): CommentOp {
    return { op: 'comment', comment };
  },
  assert(lock: string): AssertOp {
    return { op: 'assert', lock };
  },
} as const;

/** Shorthand for a condition: `where('name', '==', 'br0')`. */
export function where(column: string, fn: ConditionFunction, value: Datum): Condition {
  return [column, fn, value];
}
