import { open, stat } from 'node:fs/promises';

/** Current size of a file, 0 if it does not exist: where a new process's output will start. */
export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/**
 * The last `lines` lines written to `file` after byte `from`. Reads at most the last 64 KiB, which
 * holds far more than the few lines an error message needs.
 */
export async function tailFile(file: string, from = 0, lines = 20): Promise<string[]> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = (await fh.stat()).size;
    const start = Math.max(from, size - 65_536);
    if (size <= start) return [];
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf.toString('utf8').split('\n').filter((l) => l.trim() !== '').slice(-lines);
  } finally {
    await fh.close();
  }
}
