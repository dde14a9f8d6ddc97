// PassLoop's promises, as pure logic (no services): triggers coalesce, passes never overlap, a
// trigger during a pass gets one more pass, a failed pass is logged and the next runs, stop waits.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PassLoop } from '../src/pass-loop';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = pino({ level: 'silent' });
/** Waits for a condition (up to 5 s, however slow the machine), then lets the caller assert. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !cond(); i++) await sleep(20);
}

describe('PassLoop', () => {
  it('a burst of triggers is one pass; a trigger during a pass asks for exactly one more; passes never overlap', async () => {
    let passes = 0;
    let inside = 0;
    let overlapped = false;
    let release: () => void = () => undefined;
    const loop = new PassLoop({
      everyMs: 60_000,
      log,
      what: 'test',
      coalesceMs: 20,
      pass: async () => {
        passes++;
        inside++;
        if (inside > 1) overlapped = true;
        if (passes === 1) await new Promise<void>((r) => (release = r));
        inside--;
      },
    });
    for (let i = 0; i < 10; i++) loop.trigger();
    await until(() => passes === 1);
    await sleep(60);
    expect(passes).toBe(1);
    for (let i = 0; i < 5; i++) loop.trigger(); // during the first pass
    release();
    await until(() => passes === 2 && inside === 0);
    await sleep(60);
    expect(passes).toBe(2);
    expect(overlapped).toBe(false);
    await loop.stop();
  });

  it('a failed pass is logged and the next trigger passes again; after stop nothing passes', async () => {
    let passes = 0;
    const warned: string[] = [];
    const loop = new PassLoop({
      everyMs: 60_000,
      log: { warn: (_o: unknown, msg: string) => warned.push(msg) } as unknown as typeof log,
      what: 'test',
      coalesceMs: 5,
      pass: async () => {
        passes++;
        if (passes === 1) throw new Error('boom');
      },
    });
    loop.trigger();
    await until(() => warned.length === 1);
    expect(warned).toEqual(['test pass failed; the next one retries']);
    loop.trigger();
    await until(() => passes === 2);
    expect(passes).toBe(2);
    await loop.stop();
    loop.trigger();
    await sleep(30);
    expect(passes).toBe(2);
  });

  it('start passes at once and then on the timer', async () => {
    let passes = 0;
    const loop = new PassLoop({ everyMs: 40, log, what: 'test', coalesceMs: 1, pass: async () => void passes++ });
    loop.start();
    // No trigger but the timer's after the first: three passes mean the timer works.
    await until(() => passes >= 3);
    await loop.stop();
    expect(passes).toBeGreaterThanOrEqual(3);
  });
});
