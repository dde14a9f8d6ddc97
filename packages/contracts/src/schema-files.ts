import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the repository's `schemas/` folder is; SDMI_SCHEMAS_DIR overrides it (containers). */
export const schemasDir: string =
  process.env.SDMI_SCHEMAS_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../schemas');

/** Every `$id` lives below this base; it is an identifier under `.invalid` and never fetched. */
export const schemaIdBase = 'https://sdmi.invalid/schemas/';

export interface SchemaFile {
  /** Path relative to the schemas folder, e.g. `rdmp/task.schema.json`. */
  readonly file: string;
  readonly id: string;
  readonly schema: Record<string, unknown>;
}

export interface ExampleFile {
  readonly file: string;
  readonly schemaFile: string;
  readonly expect: 'valid' | 'invalid';
  readonly data: unknown;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

/** Reads every `*.schema.json` below the schemas folder, sorted by path so output is stable. */
export function readSchemaFiles(dir: string = schemasDir): SchemaFile[] {
  return walk(dir)
    .filter((f) => f.endsWith('.schema.json'))
    .sort()
    .map((full) => {
      const schema = JSON.parse(readFileSync(full, 'utf8')) as Record<string, unknown>;
      const file = relative(dir, full);
      const id = schema.$id;
      if (typeof id !== 'string' || id !== schemaIdBase + file) {
        throw new Error(`schema ${file}: $id must be "${schemaIdBase + file}", found ${JSON.stringify(id)}`);
      }
      return { file, id, schema };
    });
}

/** Examples beside each schema: `examples/<name>.(valid|invalid).<case>.json`. */
export function readExampleFiles(dir: string = schemasDir): ExampleFile[] {
  return walk(dir)
    .filter((f) => /\/examples\/[^/]+\.(valid|invalid)(\.[^/]+)?\.json$/.test(f))
    .sort()
    .map((full) => {
      const file = relative(dir, full);
      const m = /^(.*)\/examples\/([^/.]+)\.(valid|invalid)(?:\.[^/]+)?\.json$/.exec(file);
      if (!m) throw new Error(`example ${file}: name must be <schema>.(valid|invalid).<case>.json`);
      return {
        file,
        schemaFile: `${m[1]}/${m[2]}.schema.json`,
        expect: m[3] as 'valid' | 'invalid',
        data: JSON.parse(readFileSync(full, 'utf8')) as unknown,
      };
    });
}
