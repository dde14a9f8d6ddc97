import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../src/keyed-queue';

const tick = () => new Promise((r) => setImmediate(r));

describe('KeyedQueue', () => {
  it('runs one key strictly in order and different keys in parallel, within the limit', async () => {
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const perKeyRunning = new Map<string, number>();
    const q = new KeyedQueue<number>(3, async (key, n) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      perKeyRunning.set(key, (perKeyRunning.get(key) ?? 0) + 1);
      expect(perKeyRunning.get(key)).toBe(1);
      await tick();
      log.push(`${key}:${n}`);
      perKeyRunning.set(key, perKeyRunning.get(key)! - 1);
      running--;
    });
    for (let i = 0; i < 20; i++) for (const k of ['a', 'b', 'c', 'd', 'e']) q.push(k, i);
    await q.idle();
    for (const k of ['a', 'b', 'c', 'd', 'e']) {
      expect(log.filter((l) => l.startsWith(`${k}:`))).toEqual(Array.from({ length: 20 }, (_, i) => `${k}:${i}`));
    }
    expect(maxRunning).toBe(3);
    expect(q.size).toBe(0);
  });

  it('accepts work for a key while that key is running', async () => {
    const log: number[] = [];
    const q = new KeyedQueue<number>(1, async (_k, n) => {
      await tick();
      log.push(n);
      if (n === 1) q.push('k', 3);
    });
    q.push('k', 1);
    q.push('k', 2);
    await q.idle();
    expect(log).toEqual([1, 2, 3]);
  });

  it('idle() resolves at once when nothing is queued', async () => {
    await new KeyedQueue<number>(1, async () => undefined).idle();
  });

  it('refuses a non-positive concurrency', () => {
    expect(() => new KeyedQueue<number>(0, async () => undefined)).toThrow(RangeError);
  });
});
