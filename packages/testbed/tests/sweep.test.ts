import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeInventory, inventory, inventoryIsEmpty, ownerAlive, sweepLeftovers } from '../src/index';
import { crashedRunTag } from './crashed-run';

const fixture = fileURLToPath(new URL('./fixtures/crashing-run.ts', import.meta.url));

describe('sweep of a crashed run', () => {
  it('removes every kind of resource a killed test process left behind', async () => {
    const tag = await crashedRunTag(fixture);
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
