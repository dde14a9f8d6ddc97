import { describe, expect, it } from 'vitest';
import { asyncQueue } from '../src/async-queue';

describe('asyncQueue', () => {
  it('hands over what was pushed in order, then throws the first failure', async () => {
    let closes = 0;
    const q = asyncQueue<number>(() => closes++);
    q.push(1);
    q.push(2);
    q.fail(new Error('first'));
    q.fail(new Error('second'));
    const seen: number[] = [];
    await expect((async () => {
      for await (const v of q.iterator) seen.push(v);
    })()).rejects.toThrow('first');
    expect(seen).toEqual([1, 2]);
    expect(closes).toBe(1);
    expect(q.closed).toBe(true);
  });

  it('return() ends a reader waiting for a value at once, and closes once', async () => {
    let closes = 0;
    const q = asyncQueue<number>(() => closes++);
    const waiting = q.iterator.next();
    await q.iterator.return(undefined);
    expect(await waiting).toEqual({ value: undefined, done: true });
    q.close();
    expect(closes).toBe(1);
  });
});
