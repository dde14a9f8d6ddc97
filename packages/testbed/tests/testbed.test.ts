import { describe, expect, it } from 'vitest';
import {
  AlreadyDisposed,
  TeardownFailed,
  Testbed,
  inventory,
  inventoryIsEmpty,
  listNamespaces,
  run,
  runId,
  sweepLeftovers,
} from '../src/index';
import { expectNothingLeft } from './leak-check';

describe('Testbed', () => {
  it('disposes what it tracks in reverse order of creation', async () => {
    const order: string[] = [];
    const tb = new Testbed();
    tb.defer('first', () => order.push('first'));
    tb.defer('second', () => order.push('second'));
    tb.defer('third', async () => void order.push('third'));
    await tb.dispose();
    expect(order).toEqual(['third', 'second', 'first']);
    expect(tb.resources).toEqual([]);
  });

  it('tries every resource when one fails, then reports the failures', async () => {
    const tb = new Testbed();
    const ns = await tb.namespace();
    tb.defer('broken', () => {
      throw new Error('cannot clean this');
    });
    const db = await tb.database();
    const failure = await tb.dispose().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(TeardownFailed);
    expect((failure as TeardownFailed).errors).toHaveLength(1);
    expect((failure as TeardownFailed).message).toContain('cannot clean this');
    expect(ns.disposed && db.disposed).toBe(true);
    expect(await listNamespaces()).not.toContain(ns.name);
    expect(() => tb.defer('late', () => {})).toThrow(AlreadyDisposed);
  });

  it('await using cleans up everything when the test body throws', async () => {
    const names: string[] = [];
    await expect(
      (async () => {
        await using tb = new Testbed();
        const br = await tb.bridge();
        const ns = await tb.namespace({ bridge: br, address: '10.81.0.1/24' });
        const s = await tb.stream();
        names.push(br.name, ns.name, s.name);
        expect(inventoryIsEmpty(await tb.inventory())).toBe(false);
        throw new Error('assertion failed in the middle of a test');
      })(),
    ).rejects.toThrow('assertion failed');
    expect(names).toHaveLength(3);
    await expectNothingLeft();
  });

  it('the sweep removes leftovers of runs that are gone, and leaves live runs alone', async () => {
    // A namespace and a bridge as a crashed run would leave them: a tag without a live owner.
    const orphanTag = runId() === 'tzzzz' ? 'tzzzy' : 'tzzzz';
    const orphanNs = `sdmi-${orphanTag}-1`;
    const orphanBr = `sdmi-${orphanTag}-b2`;
    await run('ip', ['netns', 'add', orphanNs]);
    await run('ovs-vsctl', ['add-br', orphanBr, '--', 'set', 'Bridge', orphanBr, 'datapath_type=netdev']);
    await using tb = new Testbed();
    const live = await tb.namespace();

    const { removed, errors } = await sweepLeftovers({ tag: orphanTag });
    expect(errors).toEqual([]);
    expect(removed.namespaces).toEqual([orphanNs]);
    expect(removed.bridges).toEqual([orphanBr]);
    expect(inventoryIsEmpty(await inventory({ tag: orphanTag }))).toBe(true);

    const again = await sweepLeftovers({ tag: runId() });
    expect(inventoryIsEmpty(again.removed)).toBe(true); // this run is alive: untouched
    expect(await listNamespaces()).toContain(live.name);
  });
});
