import { expect } from 'vitest';
import { describeInventory, inventory, runId } from '../src/index';

/** Asserts that nothing created by this test file's run is left. */
export async function expectNothingLeft(): Promise<void> {
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
}
