// Docker has no call that stops an exec'd process: an exec outlives the connection that started
// it. So a timed-out exec is killed from the host through /proc, which is only right when dockerd
// numbers processes as we do (same pid namespace); that is checked here, never assumed.
import { readFile, readdir, readlink } from 'node:fs/promises';

/**
 * The parent pid in a /proc/<pid>/stat line. The command name (field 2) may hold spaces and
 * parentheses, so the fields are read after its last ')'.
 */
export function ppidOf(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close === -1) return undefined;
  const ppid = Number(stat.slice(close + 2).split(' ')[1]);
  return Number.isSafeInteger(ppid) ? ppid : undefined;
}

/** `root` and every descendant of it now, parents first. */
export async function processTree(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    // A process may exit while we look: it has no descendants left to kill.
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    const ppid = stat === undefined ? undefined : ppidOf(stat);
    if (ppid === undefined) continue;
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

const pidNamespace = (pid: number | 'self'): Promise<string | undefined> => readlink(`/proc/${pid}/ns/pid`).catch(() => undefined);

/**
 * SIGKILLs `pid` and its descendants, provided `pid` lives in the pid namespace of `anchorPid` (the
 * container's init, as dockerd reported it) and that namespace is not ours. A dockerd in another
 * pid namespace reports numbers that name unrelated processes here; both would then resolve to
 * host processes in our own namespace, and the kill is refused.
 */
export async function killInNamespace(pid: number, anchorPid: number): Promise<{ killed: number[] } | { refused: string }> {
  if (!(pid > 0) || !(anchorPid > 0)) return { refused: `no pid to kill (exec pid ${pid}, container pid ${anchorPid})` };
  const [target, anchor, own] = await Promise.all([pidNamespace(pid), pidNamespace(anchorPid), pidNamespace('self')]);
  if (target === undefined || anchor === undefined) return { refused: `pid ${pid} or ${anchorPid} is not visible in /proc (gone, or dockerd is in another pid namespace)` };
  if (target !== anchor) return { refused: `pid ${pid} is not in the container's pid namespace` };
  if (anchor === own) return { refused: `the container shares our pid namespace, so its pids cannot be told from ours` };
  const killed: number[] = [];
  for (const p of await processTree(pid)) {
    try {
      process.kill(p, 'SIGKILL');
      killed.push(p);
    } catch (err) {
      // Gone in the meantime: that is what we wanted.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return { killed };
}
