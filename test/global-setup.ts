// vitest globalSetup: fail fast when the real components are not there, and sweep test-bed
// leftovers (namespaces, bridges, veths, extra dockerd, databases, streams) of runs whose process
// is gone — before the run and after it. Resources of runs still alive (a concurrent vitest) are
// never touched.
import {
  assertComponentsReachable,
  describeInventory,
  inventoryIsEmpty,
  sweepLeftovers,
} from '../packages/testbed/src/index';

async function sweep(when: string): Promise<void> {
  const { removed, errors } = await sweepLeftovers({ orphansOnly: true });
  if (!inventoryIsEmpty(removed)) {
    console.warn(`[global-setup] ${when}: removed test-bed leftovers of finished runs:\n${describeInventory(removed)}`);
  }
  for (const e of errors) console.warn(`[global-setup] ${when}: sweep error: ${e instanceof Error ? e.message : String(e)}`);
}

export default async function setup(): Promise<() => Promise<void>> {
  await assertComponentsReachable();
  await sweep('before the run');
  return async function teardown(): Promise<void> {
    await sweep('after the run');
  };
}
