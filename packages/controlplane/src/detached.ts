import { AlreadyRunningError } from './errors';
import { gone, isAlive, isServiceProcess, pidFilePath, readPidFile, removePidFile, signal, type PidRecord } from './pidfile';

export const DetachedOutcome = {
  /** Ended after SIGTERM. */
  stopped: 'stopped',
  /** Still there after the timeout; killed with SIGKILL. */
  killed: 'killed',
  /** Was already gone. */
  notRunning: 'not-running',
  /** The pid now belongs to another program; left alone. */
  notOurs: 'not-ours',
} as const;
export type DetachedOutcome = (typeof DetachedOutcome)[keyof typeof DetachedOutcome];

export interface DetachedStopResult extends PidRecord {
  outcome: DetachedOutcome;
}

/**
 * Refuses to start a second control plane on the same run dir while the first one's services
 * live; a pids file whose processes are all gone is stale and removed.
 */
export async function assertNotRunning(runDir: string): Promise<void> {
  const file = pidFilePath(runDir);
  const records = await readPidFile(file);
  if (records === undefined) return;
  const running = records.filter((r) => isServiceProcess(r.pid, r.service));
  if (running.length > 0) throw new AlreadyRunningError(file, running);
  await removePidFile(file);
}

/**
 * Stops the services listed in `<runDir>/pids` (they are not our children, so their exit is
 * watched by polling): SIGTERM, then SIGKILL to the process group after `stopTimeoutMs`.
 * Resolves to undefined when there is no pids file; removes it when done.
 */
export async function stopDetached(runDir: string, options: { stopTimeoutMs?: number } = {}): Promise<DetachedStopResult[] | undefined> {
  const file = pidFilePath(runDir);
  const records = await readPidFile(file);
  if (records === undefined) return undefined;
  const timeoutMs = options.stopTimeoutMs ?? 15_000;
  const results = await Promise.all(
    records.map(async (r): Promise<DetachedStopResult> => {
      if (!isAlive(r.pid)) return { ...r, outcome: DetachedOutcome.notRunning };
      if (!isServiceProcess(r.pid, r.service)) return { ...r, outcome: DetachedOutcome.notOurs };
      signal(r.pid, 'SIGTERM');
      if (await gone(r.pid, timeoutMs)) return { ...r, outcome: DetachedOutcome.stopped };
      signal(-r.pid, 'SIGKILL');
      await gone(r.pid, 5_000);
      return { ...r, outcome: DetachedOutcome.killed };
    }),
  );
  await removePidFile(file);
  return results;
}
