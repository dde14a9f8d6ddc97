import { stringify } from 'yaml';
import { ChangeActions, resourceLabel, type Change, type Plan } from '@sdmi/manifest';
import { UsageError } from './exit';

export const OutputFormats = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OutputFormats)[number];

export function outputFormat(raw: string | undefined): OutputFormat {
  if (raw === undefined) return 'table';
  if ((OutputFormats as readonly string[]).includes(raw)) return raw as OutputFormat;
  throw new UsageError(`-o must be one of ${OutputFormats.join(', ')}, got "${raw}"`);
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Data as the user asked for it: the table for people, JSON or YAML of the full objects for programs. */
export function render(format: OutputFormat, data: unknown, asTable: () => string): string {
  if (format === 'json') return JSON.stringify(data, null, 2);
  if (format === 'yaml') return stringify(data).trimEnd();
  return asTable();
}

const SYMBOL: Record<string, string> = {
  [ChangeActions.Create]: '+',
  [ChangeActions.Update]: '~',
  [ChangeActions.Scale]: '~',
  [ChangeActions.Delete]: '-',
  [ChangeActions.Unchanged]: '=',
  [ChangeActions.Keep]: '=',
};

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? '(none)' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function changeLines(c: Change): string[] {
  const where = c.resource?.source ? `  (${c.resource.source.file}:${c.resource.source.line})` : '';
  const head = `${SYMBOL[c.action] ?? '?'} ${c.action.padEnd(9)} ${resourceLabel(c)}${where}`;
  const note = c.action === ChangeActions.Keep ? ['      kept: TenantConfigs have no delete command'] : [];
  return [head, ...c.fields.map((f) => `      ${f.path}: ${short(f.from)} -> ${short(f.to)}`), ...note];
}

export function formatPlan(plan: Plan): string {
  if (plan.changes.length === 0) return 'nothing declared';
  const counts = new Map<string, number>();
  for (const c of plan.changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  const summary = [...counts].map(([a, n]) => `${n} to ${a === 'unchanged' || a === 'keep' ? `${a === 'keep' ? 'keep' : 'leave unchanged'}` : a}`).join(', ');
  return [...plan.changes.flatMap(changeLines), '', `plan: ${summary}`].join('\n');
}

/** Plain-object view of a plan for -o json|yaml (without parser internals). */
export function planData(plan: Plan): unknown {
  return plan.changes.map((c) => ({ action: c.action, kind: c.kind, id: c.id, fields: c.fields, ...(c.resource?.source ? { source: c.resource.source } : {}) }));
}

export function age(since: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
