// The OVSDB data model of RFC 7047 §5.1, as it travels in JSON, and conversions to plain TS values.
import { InvalidDatum } from './errors';

/** A row UUID: `["uuid", "550e8400-e29b-41d4-a716-446655440000"]`. */
export type Uuid = readonly ['uuid', string];
/** A reference, within one transaction, to a row inserted with `uuid-name`: `["named-uuid", "br0"]`. */
export type NamedUuid = readonly ['named-uuid', string];
/** An atomic value: integer, real, boolean, string, or a (named) UUID. */
export type Atom = string | number | boolean | Uuid | NamedUuid;
/** A set: `["set", [a, b]]`. A set of exactly one element may also be sent as the bare atom. */
export type OvsSet = readonly ['set', readonly Atom[]];
/** A map: `["map", [[k1, v1], [k2, v2]]]`. */
export type OvsMap = readonly ['map', ReadonlyArray<readonly [Atom, Atom]>];
/** Any column value. */
export type Datum = Atom | OvsSet | OvsMap;
/** A row as sent or received: column name → value. */
export type Row = Record<string, Datum>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `uuid-name`s are identifiers: a letter or underscore, then letters, digits, underscores. */
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function uuid(value: string): Uuid {
  if (!UUID_RE.test(value)) throw new InvalidDatum(`not a UUID: ${JSON.stringify(value)}`, value);
  return ['uuid', value.toLowerCase()];
}

export function namedUuid(name: string): NamedUuid {
  if (!ID_RE.test(name)) throw new InvalidDatum(`not a valid uuid-name: ${JSON.stringify(name)}`, name);
  return ['named-uuid', name];
}

export function isUuid(value: unknown): value is Uuid {
  return Array.isArray(value) && value.length === 2 && value[0] === 'uuid' && typeof value[1] === 'string';
}

export function isNamedUuid(value: unknown): value is NamedUuid {
  return Array.isArray(value) && value.length === 2 && value[0] === 'named-uuid' && typeof value[1] === 'string';
}

export function isAtom(value: unknown): value is Atom {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    isUuid(value) ||
    isNamedUuid(value)
  );
}

/** A set datum from values. */
export function ovsSet(values: Iterable<Atom>): OvsSet {
  const list = [...values];
  for (const v of list) if (!isAtom(v)) throw new InvalidDatum('set elements must be atoms', v);
  return ['set', list];
}

/** An empty set or a one-element set: how optional columns (min 0, max 1) are written. */
export function optional(value: Atom | undefined | null): OvsSet {
  return ovsSet(value === undefined || value === null ? [] : [value]);
}

/** A map datum from a record (string keys) or from entries (any atom keys). */
export function ovsMap(entries: Readonly<Record<string, Atom>> | Iterable<readonly [Atom, Atom]>): OvsMap {
  const list: Array<readonly [Atom, Atom]> =
    Symbol.iterator in Object(entries) && !isPlainRecord(entries)
      ? [...(entries as Iterable<readonly [Atom, Atom]>)]
      : Object.entries(entries as Record<string, Atom>);
  for (const [k, v] of list) {
    if (!isAtom(k) || !isAtom(v)) throw new InvalidDatum('map keys and values must be atoms', [k, v]);
  }
  return ['map', list.map(([k, v]) => [k, v] as const)];
}

/** The elements of a set column, accepting the single-atom shorthand. */
export function setValues(datum: Datum | undefined): Atom[] {
  if (datum === undefined) return [];
  if (isAtom(datum)) return [datum];
  if (datum[0] === 'set') return [...datum[1]];
  throw new InvalidDatum('expected a set, got a map', datum);
}

/** The value of an optional column (a set of 0 or 1 elements), or undefined when empty. */
export function optionalValue(datum: Datum | undefined): Atom | undefined {
  const values = setValues(datum);
  if (values.length > 1) throw new InvalidDatum(`expected at most one value, got ${values.length}`, datum);
  return values[0];
}

/** The entries of a map column. */
export function mapEntries(datum: Datum | undefined): Array<readonly [Atom, Atom]> {
  if (datum === undefined) return [];
  if (Array.isArray(datum) && datum[0] === 'map') return [...(datum as OvsMap)[1]];
  throw new InvalidDatum('expected a map', datum);
}

/** A string→string map column (external_ids, other_config, options …) as a plain record. */
export function mapRecord(datum: Datum | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of mapEntries(datum)) {
    if (typeof k !== 'string' || typeof v !== 'string') throw new InvalidDatum('expected a string→string map', datum);
    out[k] = v;
  }
  return out;
}

/** The UUID string of a uuid atom. */
export function uuidString(datum: Datum | undefined): string {
  if (isUuid(datum)) return datum[1];
  throw new InvalidDatum('expected a uuid', datum);
}

/** All UUID strings of a set-of-uuid column (e.g. Bridge.ports). */
export function uuidSet(datum: Datum | undefined): string[] {
  return setValues(datum).map((a) => uuidString(a));
}

/**
 * Checks that a JSON value from the wire is a datum (RFC 7047 §5.1) and returns it typed.
 * Throws InvalidDatum naming what is wrong.
 */
export function parseDatum(json: unknown): Datum {
  if (isAtom(json)) return json;
  if (Array.isArray(json) && json.length === 2) {
    if (json[0] === 'set' && Array.isArray(json[1])) {
      for (const v of json[1]) if (!isAtom(v)) throw new InvalidDatum('set element is not an atom', v);
      return json as unknown as OvsSet;
    }
    if (json[0] === 'map' && Array.isArray(json[1])) {
      for (const pair of json[1]) {
        if (!Array.isArray(pair) || pair.length !== 2 || !isAtom(pair[0]) || !isAtom(pair[1])) {
          throw new InvalidDatum('map entry is not a [key, value] pair of atoms', pair);
        }
      }
      return json as unknown as OvsMap;
    }
  }
  throw new InvalidDatum(`not an OVSDB datum: ${JSON.stringify(json)}`, json);
}

/** Checks every column of a row object from the wire. */
export function parseRow(json: unknown): Row {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new InvalidDatum('a row must be a JSON object', json);
  const row: Row = {};
  for (const [k, v] of Object.entries(json)) row[k] = parseDatum(v);
  return row;
}

function isPlainRecord(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Map);
}
