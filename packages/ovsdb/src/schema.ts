// RFC 7047 §3.2 database schemas, normalised so that callers need not handle the short forms.
import { InvalidDatum } from './errors';

export const AtomicTypes = {
  Integer: 'integer',
  Real: 'real',
  Boolean: 'boolean',
  String: 'string',
  Uuid: 'uuid',
} as const;
export type AtomicType = (typeof AtomicTypes)[keyof typeof AtomicTypes];

export interface BaseType {
  type: AtomicType;
  enum?: unknown;
  minInteger?: number;
  maxInteger?: number;
  minReal?: number;
  maxReal?: number;
  minLength?: number;
  maxLength?: number;
  refTable?: string;
  refType?: 'strong' | 'weak';
}

/** A column type in its long form: min/max always present, `max` a number or 'unlimited'. */
export interface ColumnType {
  key: BaseType;
  value?: BaseType;
  min: number;
  max: number | 'unlimited';
}

export interface ColumnSchema {
  type: ColumnType;
  ephemeral: boolean;
  mutable: boolean;
}

export interface TableSchema {
  columns: Record<string, ColumnSchema>;
  maxRows?: number;
  isRoot: boolean;
  indexes: string[][];
}

export interface DatabaseSchema {
  name: string;
  version: string;
  cksum?: string;
  tables: Record<string, TableSchema>;
}

const ATOMIC = new Set<string>(Object.values(AtomicTypes));

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidDatum(`${what} must be a JSON object`, v);
  return v as Record<string, unknown>;
}

function baseType(v: unknown, what: string): BaseType {
  if (typeof v === 'string') {
    if (!ATOMIC.has(v)) throw new InvalidDatum(`${what}: unknown atomic type ${JSON.stringify(v)}`, v);
    return { type: v as AtomicType };
  }
  const o = obj(v, what);
  if (typeof o.type !== 'string' || !ATOMIC.has(o.type)) throw new InvalidDatum(`${what}: unknown atomic type`, v);
  return { ...(o as object), type: o.type as AtomicType } as BaseType;
}

function columnType(v: unknown, what: string): ColumnType {
  if (typeof v === 'string') return { key: baseType(v, what), min: 1, max: 1 };
  const o = obj(v, what);
  const t: ColumnType = {
    key: baseType(o.key, `${what}.key`),
    min: typeof o.min === 'number' ? o.min : 1,
    max: o.max === 'unlimited' ? 'unlimited' : typeof o.max === 'number' ? o.max : 1,
  };
  if (o.value !== undefined) t.value = baseType(o.value, `${what}.value`);
  return t;
}

/** Validates and normalises a schema as returned by `get_schema` (or read from a .ovsschema file). */
export function parseSchema(json: unknown): DatabaseSchema {
  const o = obj(json, 'schema');
  if (typeof o.name !== 'string') throw new InvalidDatum('schema has no name', json);
  const tables: Record<string, TableSchema> = {};
  for (const [tname, tv] of Object.entries(obj(o.tables, 'schema.tables'))) {
    const t = obj(tv, `table ${tname}`);
    const columns: Record<string, ColumnSchema> = {};
    for (const [cname, cv] of Object.entries(obj(t.columns, `table ${tname} columns`))) {
      const c = obj(cv, `column ${tname}.${cname}`);
      columns[cname] = {
        type: columnType(c.type, `column ${tname}.${cname}`),
        ephemeral: c.ephemeral === true,
        mutable: c.mutable !== false,
      };
    }
    const table: TableSchema = {
      columns,
      isRoot: t.isRoot === true,
      indexes: Array.isArray(t.indexes) ? (t.indexes as string[][]) : [],
    };
    if (typeof t.maxRows === 'number') table.maxRows = t.maxRows;
    tables[tname] = table;
  }
  const schema: DatabaseSchema = { name: o.name, version: typeof o.version === 'string' ? o.version : '', tables };
  if (typeof o.cksum === 'string') schema.cksum = o.cksum;
  return schema;
}
