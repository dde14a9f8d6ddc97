import { BridgeNotFound, type OvsSwitch } from '@sdmi/ovsdb';
import { checkIfName, run, testName } from '@sdmi/testbed';

/** A run-unique bridge name `sdmi-<tag>-b<n>` (≤ 15 characters). */
export function bridgeName(): string {
  return checkIfName(testName('b'));
}

/** `ovs-vsctl` for read-only cross-checks of what our client did. */
export async function vsctl(...args: string[]): Promise<string> {
  return (await run('ovs-vsctl', ['--timeout=10', ...args])).trim();
}

/** Deletes bridges through our client, tolerating ones already gone (cleanup in afterEach). */
export async function dropBridges(sw: OvsSwitch, names: string[]): Promise<void> {
  for (const name of names.splice(0)) {
    try {
      await sw.deleteBridge(name);
    } catch (e) {
      if (!(e instanceof BridgeNotFound)) throw e;
    }
  }
}

/** Rejects if `promise` does not settle within `ms` (so a missing update fails the test clearly). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** ovs-vsctl quotes strings only when they need it: `"10.0.0.5/24"` but `web-1`. */
export function unquote(value: string): string {
  return value.replace(/^"(.*)"$/, '$1');
}
