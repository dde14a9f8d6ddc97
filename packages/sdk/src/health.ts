// The bookkeeping behind a Service's `health` hook, kept apart from the watch so that the rules
// (when a check is due, when failures take a member out, when it may join again) are pure and
// tested without a cluster. The watch asks it what to do; it never runs anything itself.

/** What a health hook found: whether the replica does its part in the workflow, and why (or why not). */
export interface HealthResult {
  readonly healthy: boolean;
  readonly detail: string;
}

/** A replica's last health check, as the watch keeps it on the member. */
export interface MemberHealth extends HealthResult {
  /** When the check ended (ms since the epoch). */
  readonly at: number;
  /** Failed checks in a row, this one included; 0 when it passed. */
  readonly failures: number;
}

/** Default time between two checks of one replica. */
export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;
/** Default number of failed checks in a row that takes a member out. */
export const DEFAULT_HEALTH_RETRIES = 3;
/** Default time a health hook may take before it counts as failed. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 10_000;

export interface HealthPolicy {
  readonly intervalMs: number;
  readonly retries: number;
}

/**
 * What a check changed: `bench` when it was the failure that reached the retries (the member is to
 * leave), `readmit` when it was the first pass of a benched replica (it may join again).
 */
export type HealthChange = 'bench' | 'readmit' | null;

interface Entry {
  last: MemberHealth | null;
  nextAt: number;
  benched: boolean;
}

/** Health state per replica id: its last check, when the next is due, and whether it is benched. */
export class HealthLedger {
  private readonly entries = new Map<string, Entry>();

  constructor(readonly policy: HealthPolicy) {
    if (!(policy.intervalMs > 0)) throw new RangeError(`healthIntervalMs must be > 0, not ${policy.intervalMs}`);
    if (!Number.isInteger(policy.retries) || policy.retries < 1) throw new RangeError(`healthRetries must be an integer >= 1, not ${policy.retries}`);
  }

  /** A replica never checked is due at once, so a fresh member's health is known within a poll. */
  due(id: string, now: number): boolean {
    const e = this.entries.get(id);
    return e === undefined || now >= e.nextAt;
  }

  record(id: string, result: HealthResult, now: number): { health: MemberHealth; change: HealthChange } {
    const e = this.entries.get(id) ?? { last: null, nextAt: 0, benched: false };
    const failures = result.healthy ? 0 : (e.last?.failures ?? 0) + 1;
    const health: MemberHealth = { healthy: result.healthy, detail: result.detail, at: now, failures };
    let change: HealthChange = null;
    if (result.healthy && e.benched) {
      e.benched = false;
      change = 'readmit';
    } else if (!result.healthy && !e.benched && failures >= this.policy.retries) {
      e.benched = true;
      change = 'bench';
    }
    e.last = health;
    // From the end of the check: a slow hook must not be run back to back.
    e.nextAt = now + this.policy.intervalMs;
    this.entries.set(id, e);
    return { health, change };
  }

  /** Out of membership for its health until a check passes again. */
  benched(id: string): boolean {
    return this.entries.get(id)?.benched ?? false;
  }

  get(id: string): MemberHealth | null {
    return this.entries.get(id)?.last ?? null;
  }

  /** Drops every replica not in `ids` (gone from the service: a successor starts with a clean record). */
  keepOnly(ids: ReadonlySet<string>): void {
    for (const id of [...this.entries.keys()]) if (!ids.has(id)) this.entries.delete(id);
  }
}
