import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeInventory, inventory, inventoryIsEmpty, ownerAlive, sweepLeftovers } from '../src/index';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/crashing-run.ts', import.meta.url));

/** Runs the crashing fixture in its own process; resolves with its run tag once it is dead. */
function crashingRun(): Promise<string> {
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

describe('sweep of a crashed run', () => {
  it('removes every kind of resource a killed test process left behind', async () => {
    const tag = await crashingRun();
    expect(ownerAlive(tag)).toBe(false);
    const left = await inventory({ tag });
    expect(left.namespaces).toHaveLength(1);
    expect(left.bridges).toHaveLength(1);
    expect(left.databases).toHaveLength(1);
    expect(left.streams).toHaveLength(1);
    expect(left.directories).toHaveLength(1);
    expect(left.processes.map((p) => p.argv[0])).toContain('dockerd');

    const { errors } = await sweepLeftovers({ tag });
    expect(errors).toEqual([]);
    const after = await inventory({ tag });
    expect(describeInventory(after)).toBe('');
    expect(inventoryIsEmpty(after)).toBe(true);
  });
});
