import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Contracts, SchemaIds } from '@sdmi/contracts';
import { readExampleFiles, readSchemaFiles } from '@sdmi/contracts/internal';

const c = new Contracts();
const schemas = readSchemaFiles();
const examples = readExampleFiles();
// Files that only hold $defs for others to reference are not messages.
const messageSchemas = schemas.filter((s) => !s.file.endsWith('defs.schema.json'));

describe('schemas', () => {
  it.each(messageSchemas.map((s) => [s.file]))('%s has valid and invalid examples', (file) => {
    const mine = examples.filter((e) => e.schemaFile === file);
    expect(mine.filter((e) => e.expect === 'valid').length).toBeGreaterThan(0);
    expect(mine.filter((e) => e.expect === 'invalid').length).toBeGreaterThan(0);
  });

  it.each(examples.map((e) => [e.file, e]))('%s', (_file, e) => {
    const schema = schemas.find((s) => s.file === e.schemaFile);
    expect(schema, `no schema ${e.schemaFile}`).toBeDefined();
    const r = c.checkId(schema!.id, e.data);
    expect(r.ok).toBe(e.expect === 'valid');
  });

  it('every named id resolves to a loaded schema', () => {
    for (const id of Object.values(SchemaIds)) expect(c.has(id)).toBe(true);
  });

  it('generated types are not stale', () => {
    const out = execFileSync('pnpm', ['-s', 'check:gen'], { encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});

describe('violations name the field and the rule', () => {
  const base = { id: '6f1c2f0e-8a43-4a63-9d2b-1d1a2b3c4d5e', kind: 'scale', key: 'svc/a', payload: {} };
  it('missing property', () => {
    const { id: _omit, ...noId } = base;
    const r = c.check('SubmitRequest', noId);
    expect(r).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path: '/id', rule: 'required' } });
  });
  it('unknown property', () => {
    const r = c.check('SubmitRequest', { ...base, colour: 'red' });
    expect(r).toMatchObject({ ok: false, error: { path: '/colour', rule: 'additionalProperties' } });
  });
  it('format', () => {
    const r = c.check('SubmitRequest', { ...base, id: 'nope' });
    expect(r).toMatchObject({ ok: false, error: { path: '/id', rule: 'format' } });
    if (!r.ok) expect(r.error.message).toBe('/id must match format "uuid"');
  });
  it('inline payload schemas are added once and checked with a path prefix', () => {
    const id = 'https://sdmi.invalid/schemas/test/replicas.schema.json';
    c.addSchema({ $id: id, type: 'object', required: ['replicas'], properties: { replicas: { type: 'integer', minimum: 0 } } });
    c.addSchema({ $id: id, type: 'object' });
    const r = c.checkId(id, { replicas: -1 }, '/payload');
    expect(r).toMatchObject({ ok: false, error: { path: '/payload/replicas', rule: 'minimum' } });
  });
});
