// The tenant-scoped live feed of task events. Event subjects (`<p>.evt.task.<svc>.<id>`) carry no
// tenant, so a principal that may read only some tenants may not subscribe to them at all; instead
// it asks every worker, on `<p>.follow`, to send it the events it may read. Each worker keeps its
// followers here, for a while only (the asker renews), and forwards an event to those whose read
// scope admits the task's tenants. Nothing here touches the event's stream or its durability: a
// follower that misses an event finds the outcome with a status query, as anyone does.
import type { NatsConnection } from '@nats-io/nats-core';
import type { ErrorInfo, FollowEventsRequest, TaskStatusEvent } from '@sdmi/contracts';
import type { Logger } from 'pino';
import { ErrorCodes } from './errors';

/** Whether a follower may read something of `tenant` (undefined: the cluster's own). */
export type CanRead = (tenant: string | undefined) => boolean;

/**
 * Whether a task of these tenants may be read: a reader of one of them may (a task touching two
 * tenants is each one's business); a task of no tenant only by a reader of the cluster's own.
 */
export function mayRead(canRead: CanRead, tenants: readonly string[]): boolean {
  return tenants.length === 0 ? canRead(undefined) : tenants.some((t) => canRead(t));
}

interface Follower {
  readonly principal: string;
  readonly canRead: CanRead;
  readonly services?: ReadonlySet<string>;
  until: number;
}

export interface EventFeedOptions {
  nc: NatsConnection;
  log: Logger;
  /** At most this many followers per worker; past it a new one is refused (UNAVAILABLE). */
  maxFollowers?: number;
  now?: () => number;
}

/** Followers of one worker, by inbox. */
export class EventFeed {
  readonly #followers = new Map<string, Follower>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(private readonly o: EventFeedOptions) {
    this.#max = o.maxFollowers ?? 1000;
    this.#now = o.now ?? Date.now;
  }

  get size(): number {
    this.#prune();
    return this.#followers.size;
  }

  /**
   * Starts, renews (same inbox) or, with ttlMs 0, stops sending to `request.inbox`. Returns until
   * when, null when stopped, or why it is refused. The caller has checked who asks and that the
   * inbox is theirs.
   */
  follow(principal: string, canRead: CanRead, request: FollowEventsRequest): { until: number | null } | { error: ErrorInfo } {
    this.#prune();
    if (request.ttlMs === 0) {
      this.#followers.delete(request.inbox);
      return { until: null };
    }
    const known = this.#followers.get(request.inbox);
    if (!known && this.#followers.size >= this.#max) {
      return { error: { code: ErrorCodes.Unavailable, message: `this worker already sends events to ${this.#max} followers; stop one (ttlMs 0) or try again later`, path: '/inbox', rule: 'maxFollowers' } };
    }
    const until = this.#now() + request.ttlMs;
    this.#followers.set(request.inbox, { principal, canRead, until, ...(request.services ? { services: new Set(request.services) } : {}) });
    return { until };
  }

  /** Sends the event to every follower that may read its task ({@link mayRead}). */
  forward(ev: TaskStatusEvent, tenantsOf: readonly string[] | (() => readonly string[])): void {
    if (this.#followers.size === 0) return;
    this.#prune();
    // Worked out only when someone follows: most events have no follower at all.
    const tenants = typeof tenantsOf === 'function' ? tenantsOf() : tenantsOf;
    let body: string | undefined;
    for (const [inbox, f] of this.#followers) {
      if (f.services && !f.services.has(ev.service)) continue;
      if (!mayRead(f.canRead, tenants)) continue;
      body ??= JSON.stringify(ev);
      try {
        this.o.nc.publish(inbox, body);
      } catch (err) {
        this.o.log.warn({ err, follower: f.principal }, 'could not send an event to a follower');
      }
    }
  }

  #prune(): void {
    const now = this.#now();
    for (const [inbox, f] of this.#followers) if (f.until <= now) this.#followers.delete(inbox);
  }
}
