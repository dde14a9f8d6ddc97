import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PidFileError } from './errors';

/** One line of the pids file: `<pid> <service> <instance>`, easy to read from a shell script too. */
export interface PidRecord {
  pid: number;
  service: string;
  instance: string;
}

export const PID_FILE_NAME = 'pids';

export function pidFilePath(runDir: string): string {
  return path.join(runDir, PID_FILE_NAME);
}

export async function writePidFile(file: string, records: readonly PidRecord[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const header = `# SDMI control plane, written ${new Date().toISOString()}: pid service instance\n`;
  await writeFile(file, header + records.map((r) => `${r.pid} ${r.service} ${r.instance}\n`).join(''));
}

/** The records, or undefined when there is no pids file. */
export async function readPidFile(file: string): Promise<PidRecord[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const records: PidRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [pid, service, instance, ...rest] = line.split(/\s+/);
    if (!pid || !/^\d+$/.test(pid) || !service || !instance || rest.length > 0) {
      throw new PidFileError(file, i + 1, `expected "<pid> <service> <instance>", got "${line}"`);
    }
    records.push({ pid: Number(pid), service, instance });
  });
  return records;
}

export async function removePidFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie has exited; it only waits to be reaped, which an init that does not reap never does.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || process.platform !== 'linux';
  }
}

/**
 * Whether `pid` still is that service's process and not an unrelated one that reused the pid
 * since the file was written. Where there is no /proc, liveness is all we can check.
 */
export function isServiceProcess(pid: number, service: string): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return process.platform !== 'linux';
  }
  return cmdline.split('\0').some((arg) => arg.endsWith(path.join('services', service, 'src', 'main.ts')));
}

/** Sends `sig` to `pid` (a negative pid: its process group); one that is gone already is not an error. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Waits up to `timeoutMs` for `pid` to exit; whether it did. */
export async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}
