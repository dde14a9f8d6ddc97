import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ContractViolation, UnknownSchema } from './errors';
import type { ErrorInfo } from './generated/types';
import { SchemaIds, type SchemaName } from './ids';
import type { SdmiContracts } from './generated/types';
import { readSchemaFiles } from './schema-files';

// ajv-formats is CommonJS with a default export; under ESM interop it arrives one level deep.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => void;

export type CheckResult<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

type Named = { [K in SchemaName]-?: NonNullable<SdmiContracts[K]> };

/**
 * All bus contracts, loaded once from schemas/ and compiled on first use. The same instance
 * validates on the sending and on the receiving side.
 */
export class Contracts {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(schemas = readSchemaFiles()) {
    this.ajv = new Ajv2020({ allErrors: false, strict: true, allowUnionTypes: true });
    addFormats(this.ajv);
    for (const s of schemas) this.ajv.addSchema(s.schema, s.id);
  }

  /** Adds a schema (e.g. a command kind's payload schema) unless one with its $id is loaded. */
  addSchema(schema: { $id: string } & Record<string, unknown>): string {
    if (!this.ajv.getSchema(schema.$id)) this.ajv.addSchema(schema);
    return schema.$id;
  }

  has(id: string): boolean {
    return this.ajv.getSchema(id) !== undefined;
  }

  /** Validates against a schema by $id; on failure says which field broke which rule. */
  checkId<T = unknown>(id: string, data: unknown, pathPrefix = ''): CheckResult<T> {
    const validate = this.validator(id);
    if (validate(data)) return { ok: true, value: data as T };
    return { ok: false, error: describeViolation(validate.errors ?? [], pathPrefix) };
  }

  check<N extends SchemaName>(name: N, data: unknown, pathPrefix = ''): CheckResult<Named[N]> {
    return this.checkId<Named[N]>(SchemaIds[name], data, pathPrefix);
  }

  /** Like check, but throws ContractViolation: for data we produce ourselves. */
  assert<N extends SchemaName>(name: N, data: unknown): Named[N] {
    const r = this.check(name, data);
    if (!r.ok) throw new ContractViolation(r.error);
    return r.value;
  }

  private validator(id: string): ValidateFunction {
    let v = this.compiled.get(id);
    if (!v) {
      v = this.ajv.getSchema(id);
      if (!v) throw new UnknownSchema(id);
      this.compiled.set(id, v);
    }
    return v;
  }
}

let shared: Contracts | undefined;
/** The process-wide instance: schemas are read and compiled once. */
export function contracts(): Contracts {
  shared ??= new Contracts();
  return shared;
}

/**
 * Turns ajv's first error into one sentence naming the field (a JSON pointer) and the rule.
 * Errors from a failed oneOf branch are less useful than the branch-level error, so the first
 * error that is not a combinator summary is chosen.
 */
export function describeViolation(errors: readonly ErrorObject[], pathPrefix = ''): ErrorInfo {
  const e = errors.find((x) => !['oneOf', 'anyOf', 'if', 'not'].includes(x.keyword)) ?? errors[0];
  if (!e) return { code: 'SCHEMA_VIOLATION', message: 'invalid (no detail)', rule: 'unknown' };
  let path = pathPrefix + e.instancePath;
  let message: string;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      path = `${path}/${String(p.missingProperty)}`;
      message = `${path} is required`;
      break;
    case 'additionalProperties':
      path = `${path}/${String(p.additionalProperty)}`;
      message = `${path} is not an allowed property`;
      break;
    default:
      message = `${path || '/'} ${e.message ?? 'is invalid'}`;
  }
  return { code: 'SCHEMA_VIOLATION', message, path: path || '/', rule: e.keyword, details: { ...p } };
}
