// The shape of every reconciler here: level-triggered passes, one at a time, asked for by events
// and by a timer. A burst of triggers (a scale of many replicas, a manifest of many networks) is
// one pass, not one per event; a trigger during a pass asks for one more after it, since the pass
// may have read before the change.
import type { Logger } from 'pino';

export interface PassLoopOptions {
  /** One pass; a throw is logged and the next pass retries. */
  pass: () => Promise<void>;
  /** A pass at least this often. */
  everyMs: number;
  log: Logger;
  /** For the log line of a failed pass, e.g. "dns". */
  what: string;
  /** How long a trigger waits for more before its pass starts. Default 50 ms. */
  coalesceMs?: number;
}

export class PassLoop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(private readonly o: PassLoopOptions) {}

  start(): void {
    this.#timer = setInterval(() => this.trigger(), this.o.everyMs);
    this.trigger();
  }

  /** Asks for a pass: now, or right after the one under way. */
  trigger(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      await new Promise((r) => setTimeout(r, this.o.coalesceMs ?? 50));
      do {
        this.#again = false;
        await this.o.pass().catch((err: unknown) => this.o.log.warn({ err }, `${this.o.what} pass failed; the next one retries`));
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#running = undefined));
  }

  /** No pass starts after this; resolves when the one under way has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
