// The sweep tests' common step: run a fixture that starts test-bed resources and then dies
// without cleaning up, in a process of its own.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `fixture` (a path) with tsx; resolves with the run tag it printed, once its process is gone. */
export function crashedRunTag(fixture: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(`${repoRoot}node_modules/.bin/tsx`, [fixture], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const tag = /^t[0-9a-z]{4}$/m.exec(out)?.[0];
      if (tag) resolve(tag);
      else reject(new Error(`fixture printed no tag:\n${out}\n${err}`));
    });
  });
}
