// Manifests are YAML (several resources as `---`-separated documents) or JSON (one resource or an
// array of them; JSON is read by the same YAML 1.2 parser). Each resource is checked against the
// ManifestResource contract, i.e. the very schema its bus command is checked against, and an error
// is pointed back at the file, line and column of the offending node.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type ParsedNode } from 'yaml';
import { contracts as sharedContracts, type Contracts, type ErrorInfo } from '@sdmi/contracts';
import { ManifestError, ManifestInvalid } from './errors';
import { resourceId, type Resource, type SourceLocation } from './resource';

export interface ParseOptions {
  contracts?: Contracts;
  /**
   * Rules beyond the schema (e.g. the scheduler's semantic checks of a ServiceSpec), run on each
   * resource that passed its schema; each problem's path is relative to the spec.
   */
  semantic?: (r: Resource) => readonly ErrorInfo[];
}

interface Located {
  /** The value as JavaScript. */
  value: unknown;
  /** Path of this resource's root inside its document (an index when the document is an array). */
  root: (string | number)[];
  doc: Document.Parsed;
}

/**
 * Parses one manifest file's text into resources, every one valid against its contract. Throws
 * ManifestInvalid listing every bad resource (one error each: the first rule it breaks), so a user
 * fixes a file in one pass rather than one error per run.
 */
export function parseManifest(text: string, file: string, opts: ParseOptions = {}): Resource[] {
  const c = opts.contracts ?? sharedContracts();
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const errors: ManifestError[] = [];
  const at = (offset: number): SourceLocation => ({ file, ...lines.linePos(offset) });
  if (!Array.isArray(docs)) return []; // an empty stream: nothing declared

  const items: Located[] = [];
  for (const doc of docs) {
    const syntax = doc.errors[0];
    if (syntax) {
      errors.push(new ManifestError(at(syntax.pos[0]), '/', 'syntax', `${syntax.message.split('\n')[0]}`));
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // `---` followed by nothing
    if (Array.isArray(value)) value.forEach((v: unknown, i) => items.push({ value: v, root: [i], doc }));
    else items.push({ value, root: [], doc });
  }

  const resources: Resource[] = [];
  const seen = new Map<string, SourceLocation>();
  for (const item of items) {
    const rootNode = nodeAt(item.doc, item.root);
    const start = at(rootNode?.range?.[0] ?? 0);
    const checked = c.check('ManifestResource', item.value);
    if (!checked.ok) {
      errors.push(fromViolation(checked.error, item, at));
      continue;
    }
    const r = { ...(item.value as Omit<Resource, 'source'>), source: start } as Resource;
    const problems = opts.semantic?.(r) ?? [];
    if (problems.length > 0) {
      for (const p of problems) errors.push(fromViolation({ ...p, path: `/spec${p.path && p.path !== '/' ? p.path : ''}` }, item, at));
      continue;
    }
    const key = `${r.kind} ${resourceId(r)}`;
    const first = seen.get(key);
    if (first) {
      errors.push(new ManifestError(start, '/spec/name', 'unique', `${key} is declared twice (first at ${first.file}:${first.line}:${first.col})`));
      continue;
    }
    seen.set(key, start);
    resources.push(r);
  }
  if (errors.length > 0) throw new ManifestInvalid(errors);
  return resources;
}

/** The node at a JSON-pointer-like path, or the deepest existing ancestor (a missing property points at its parent). */
function nodeAt(doc: Document.Parsed, path: readonly (string | number)[]): ParsedNode | null {
  let node: ParsedNode | null = doc.contents;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair || !pair.value) return node;
      node = pair.value as ParsedNode;
    } else if (isSeq(node)) {
      const child = node.items[Number(step)];
      if (child === undefined || child === null) return node;
      node = child as ParsedNode;
    } else {
      return node;
    }
  }
  return node;
}

/** The key node of a property, for errors about the property itself (not allowed, unique). */
function keyAt(doc: Document.Parsed, path: readonly (string | number)[], key: string): Node | null {
  const parent = nodeAt(doc, path);
  if (!isMap(parent)) return null;
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return pair && isScalar(pair.key) ? pair.key : null;
}

function pointerSteps(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function fromViolation(e: ErrorInfo, item: Located, at: (offset: number) => SourceLocation): ManifestError {
  const path = e.path ?? '/';
  const steps = pointerSteps(path);
  const rule = e.rule ?? 'schema';
  let node: Node | null;
  if (rule === 'additionalProperties' && steps.length > 0) {
    node = keyAt(item.doc, [...item.root, ...steps.slice(0, -1)], steps[steps.length - 1]!);
  } else {
    node = nodeAt(item.doc, [...item.root, ...steps]);
  }
  const prefix = item.root.length > 0 ? `/${item.root.join('/')}` : '';
  return new ManifestError(at(node?.range?.[0] ?? 0), `${prefix}${path === '/' ? '' : path}` || '/', rule, explain(e));
}

/** ajv's sentence, with the allowed values spelled out where it only says "must be equal to one of the allowed values". */
function explain(e: ErrorInfo): string {
  const d = e.details as { allowedValues?: unknown[]; allowedValue?: unknown } | undefined;
  if (e.rule === 'enum' && Array.isArray(d?.allowedValues)) return `${e.message}: ${d.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.rule === 'const' && d?.allowedValue !== undefined) return `${e.message}: ${JSON.stringify(d.allowedValue)}`;
  return e.message;
}
