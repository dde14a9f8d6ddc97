// What starting the services has in common whether they run as processes or as containers: the
// database they need before the first one starts, the check that nobody else answers for an
// instance, and the wait for each one's health to say ready.
import { Empty, type NatsConnection } from '@nats-io/nats-core';
import { defaultPgUrl, ensureDatabase } from '@sdmi/bus';
import { DuplicateInstanceError, healthSubject, isNoResponders, requestHealth, type Logger } from '@sdmi/service';
import { ControlPlaneStartError } from './errors';
import { messageOf } from './text';

const POLL_MS = 250;

/** Creates the services' database if it is missing; refuses with the reason when PostgreSQL is not usable. */
export async function prepareDatabase(pgUrl: string | undefined, log: Logger): Promise<void> {
  const url = pgUrl ?? defaultPgUrl();
  try {
    const db = await ensureDatabase(url);
    log.info({ db: new URL(url).pathname.slice(1), outcome: db }, 'database ready');
  } catch (err) {
    throw new ControlPlaneStartError([new Error(`PostgreSQL at ${new URL(url).host} is not usable (${(err as Error).message}); run \`bash deploy/setup.sh\``, { cause: err })]);
  }
}

/** One DuplicateInstanceError per instance whose health subject something already answers. */
export async function instancesTaken(nc: NatsConnection, instances: readonly { service: string; instance: string }[]): Promise<DuplicateInstanceError[]> {
  const taken = await Promise.all(
    instances.map(async ({ service, instance }) => {
      const subject = healthSubject(service, instance);
      try {
        await nc.request(subject, Empty, { timeout: 2000 });
      } catch (err) {
        if (isNoResponders(err)) return undefined;
      }
      return new DuplicateInstanceError(service, instance, subject);
    }),
  );
  return taken.filter((e) => e !== undefined);
}

export type ReadyOutcome = { kind: 'ready' } | { kind: 'exited' } | { kind: 'timeout'; lastProblem: string };

export interface WaitReadyOptions {
  timeoutMs: number;
  /** Whether the service has ended (checked before every attempt). */
  exited: () => boolean;
  /** Settles when it ends, so a death cuts the pause between attempts short. */
  exit: Promise<unknown>;
}

/** Asks the instance's health until it says ready, the service ends, or the time is up. */
export async function waitUntilReady(nc: NatsConnection, service: string, instance: string, options: WaitReadyOptions): Promise<ReadyOutcome> {
  const subject = healthSubject(service, instance);
  const deadline = Date.now() + options.timeoutMs;
  let lastProblem = 'no health reply yet';
  for (;;) {
    if (options.exited()) return { kind: 'exited' };
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { kind: 'timeout', lastProblem };
    try {
      const health = await requestHealth(nc, subject, { timeout: Math.max(1, Math.min(2000, remaining)) });
      if (health.ready) return { kind: 'ready' };
      const failing = health.checks.filter((k) => !k.ok).map((k) => (k.detail ? `${k.name}: ${k.detail}` : k.name));
      lastProblem = `health says not ready (${failing.join('; ') || 'no failing check named'})`;
    } catch (err) {
      lastProblem = isNoResponders(err) ? `nothing answers ${subject} yet` : `health request failed: ${messageOf(err)}`;
    }
    await Promise.race([new Promise((resolve) => setTimeout(resolve, POLL_MS)), options.exit]);
  }
}
