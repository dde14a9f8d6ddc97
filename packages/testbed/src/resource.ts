/** What every test-bed resource offers: a name, an idempotent dispose, and `await using`. */
export interface TestResource extends AsyncDisposable {
  readonly name: string;
  readonly disposed: boolean;
  dispose(): Promise<void>;
}

/**
 * Base of the resource classes: `dispose()` runs `teardown()` once; later and concurrent calls get
 * the same promise (a failed teardown stays failed; the sweep in global-setup catches the rest).
 */
export abstract class Resource implements TestResource {
  #disposal: Promise<void> | undefined;

  abstract readonly name: string;

  get disposed(): boolean {
    return this.#disposal !== undefined;
  }

  dispose(): Promise<void> {
    this.#disposal ??= this.teardown();
    return this.#disposal;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  protected abstract teardown(): Promise<void>;
}

/** Runs every step even when some fail; rethrows the first failure afterwards. */
export async function allSteps(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  let first: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      first ??= { error };
    }
  }
  if (first) throw first.error;
}
