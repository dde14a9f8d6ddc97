import type { SourceLocation } from './resource';

/** One thing wrong with a manifest, pointed at where it was written: file:line:col, the path inside the resource, the rule. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(
    readonly location: SourceLocation,
    /** JSON pointer inside the document (e.g. /spec/replicas). */
    readonly path: string,
    /** The schema keyword or our own rule the input broke (minimum, required, unique, syntax, ...). */
    readonly rule: string,
    readonly detail: string,
  ) {
    super(`${location.file}:${location.line}:${location.col}: ${detail} (rule ${rule}, at ${path})`);
  }
}

/** Every error of a manifest (or of several files), so they can all be fixed in one pass. */
export class ManifestInvalid extends Error {
  override readonly name = 'ManifestInvalid';
  constructor(readonly errors: readonly ManifestError[]) {
    super(`${errors.length} error${errors.length === 1 ? '' : 's'} in manifest:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
}
