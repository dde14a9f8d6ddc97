import { describe, expect, it } from 'vitest';
import {
  InvalidDatum,
  mapEntries,
  mapRecord,
  namedUuid,
  optional,
  optionalValue,
  ovsMap,
  ovsSet,
  parseDatum,
  parseSchema,
  setValues,
  uuid,
  uuidSet,
} from '@sdmi/ovsdb';

const U1 = '550e8400-e29b-41d4-a716-446655440000';

describe('OVSDB data model', () => {
  it('builds atoms, sets and maps in their RFC 7047 JSON form', () => {
    expect(JSON.stringify(uuid(U1.toUpperCase()))).toBe(`["uuid","${U1}"]`);
    expect(JSON.stringify(namedUuid('row_1'))).toBe('["named-uuid","row_1"]');
    expect(JSON.stringify(ovsSet(['OpenFlow13', 'OpenFlow14']))).toBe('["set",["OpenFlow13","OpenFlow14"]]');
    expect(JSON.stringify(optional(undefined))).toBe('["set",[]]');
    expect(JSON.stringify(optional(5))).toBe('["set",[5]]');
    expect(JSON.stringify(ovsMap({ container: 'web-1', address: '10.0.0.5/24' }))).toBe(
      '["map",[["container","web-1"],["address","10.0.0.5/24"]]]',
    );
    expect(JSON.stringify(ovsMap(new Map([[1, 'a']])))).toBe('["map",[[1,"a"]]]');
  });

  it('refuses malformed uuids and uuid-names', () => {
    expect(() => uuid('nope')).toThrow(InvalidDatum);
    expect(() => namedUuid('1abc')).toThrow(InvalidDatum);
    expect(() => namedUuid('a-b')).toThrow(InvalidDatum);
  });

  it('reads sets with the single-element shorthand, optional values and maps', () => {
    expect(setValues('OpenFlow13')).toEqual(['OpenFlow13']);
    expect(setValues(['set', ['a', 'b']])).toEqual(['a', 'b']);
    expect(setValues(undefined)).toEqual([]);
    expect(optionalValue(['set', []])).toBeUndefined();
    expect(optionalValue(7)).toBe(7);
    expect(() => optionalValue(['set', [1, 2]])).toThrow(InvalidDatum);
    expect(uuidSet(['uuid', U1])).toEqual([U1]);
    expect(uuidSet(['set', [['uuid', U1]]])).toEqual([U1]);
    expect(mapRecord(['map', [['k', 'v']]])).toEqual({ k: 'v' });
    expect(mapEntries(['map', []])).toEqual([]);
    expect(() => mapRecord('x')).toThrow(InvalidDatum);
    expect(() => setValues(['map', []])).toThrow(InvalidDatum);
  });

  it('validates data from the wire', () => {
    expect(parseDatum(['set', [1, ['uuid', U1]]])).toEqual(['set', [1, ['uuid', U1]]]);
    expect(parseDatum(['map', [['a', 1]]])).toEqual(['map', [['a', 1]]]);
    expect(() => parseDatum({ a: 1 })).toThrow(InvalidDatum);
    expect(() => parseDatum(['set', [{}]])).toThrow(InvalidDatum);
    expect(() => parseDatum(['map', [['a']]])).toThrow(InvalidDatum);
    expect(() => parseDatum(null)).toThrow(InvalidDatum);
  });

  it('normalises schema column types to their long form', () => {
    const s = parseSchema({
      name: 'Test',
      version: '1.0.0',
      tables: {
        T: {
          columns: {
            a: { type: 'string' },
            b: { type: { key: { type: 'uuid', refTable: 'T' }, min: 0, max: 'unlimited' } },
            c: { type: { key: 'string', value: 'integer', min: 0, max: 'unlimited' }, mutable: false },
          },
          isRoot: true,
          indexes: [['a']],
        },
      },
    });
    expect(s.tables.T?.columns.a?.type).toEqual({ key: { type: 'string' }, min: 1, max: 1 });
    expect(s.tables.T?.columns.b?.type.key.refTable).toBe('T');
    expect(s.tables.T?.columns.c?.type.value).toEqual({ type: 'integer' });
    expect(s.tables.T?.columns.c?.mutable).toBe(false);
    expect(s.tables.T?.indexes).toEqual([['a']]);
    expect(() => parseSchema({ tables: {} })).toThrow(InvalidDatum);
    expect(() => parseSchema({ name: 'x', tables: { T: { columns: { a: { type: 'blob' } } } } })).toThrow(InvalidDatum);
  });
});
