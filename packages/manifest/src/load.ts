import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ManifestError, ManifestInvalid } from './errors';
import { parseManifest, type ParseOptions } from './parse';
import { resourceId, type Resource } from './resource';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/**
 * Reads manifests from files and directories (a directory's *.yaml, *.yml and *.json, sorted by
 * name, not recursive). Errors of all files are reported together; a resource declared in two
 * files is an error naming both.
 */
export async function loadManifests(paths: readonly string[], opts: ParseOptions = {}): Promise<Resource[]> {
  const files: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch((e: NodeJS.ErrnoException) => {
      throw new ManifestInvalid([new ManifestError({ file: p, line: 0, col: 0 }, '/', 'file', e.code === 'ENOENT' ? 'no such file or directory' : e.message)]);
    });
    if (s.isDirectory()) files.push(...(await readdir(p)).filter((f) => MANIFEST_FILE.test(f)).sort().map((f) => path.join(p, f)));
    else files.push(p);
  }
  const errors: ManifestError[] = [];
  const out: Resource[] = [];
  const seen = new Map<string, Resource>();
  for (const f of files) {
    try {
      for (const r of parseManifest(await readFile(f, 'utf8'), f, opts)) {
        const key = `${r.kind} ${resourceId(r)}`;
        const first = seen.get(key);
        if (first?.source && r.source) {
          errors.push(new ManifestError(r.source, '/spec/name', 'unique', `${key} is declared twice (first at ${first.source.file}:${first.source.line}:${first.source.col})`));
          continue;
        }
        seen.set(key, r);
        out.push(r);
      }
    } catch (e) {
      if (e instanceof ManifestInvalid) errors.push(...e.errors);
      else throw e;
    }
  }
  if (errors.length > 0) throw new ManifestInvalid(errors);
  return out;
}
