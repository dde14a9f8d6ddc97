// What the benchmarks print around their numbers: seconds, medians, aligned tables, and the facts
// of the machine a run was made on (shared machines: the load before a run says whether others
// were busy). One copy for every bench that reports this way.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** Milliseconds as seconds, or a dash for a measurement that did not happen. */
export const sec = (ms: number | undefined, digits = 2): string => (ms === undefined || !Number.isFinite(ms) ? '–' : (ms / 1000).toFixed(digits));

/** Median of the finite values (a round that measured nothing does not count); NaN when none. */
export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rows as columns: the first two left-aligned, the rest right-aligned, a rule under the header row. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export const loadavg = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

export function machineFacts(): Record<string, string> {
  let dockerVersion = 'unknown';
  try {
    dockerVersion = execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8' }).trim();
  } catch (err) {
    dockerVersion = `not runnable (${(err as Error).message})`;
  }
  return {
    nproc: String(os.availableParallelism()),
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    kernel: os.release(),
    docker: dockerVersion,
    loadavg: loadavg(),
  };
}
