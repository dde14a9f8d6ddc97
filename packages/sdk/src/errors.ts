import type { ServiceStatus } from '@sdmi/contracts';

/** A service did not come to serve as declared: rolled back, paused, or not within the time allowed. */
export class ServiceNotConverged extends Error {
  override readonly name = 'ServiceNotConverged';
  constructor(
    readonly service: string,
    readonly reason: string,
    readonly status?: ServiceStatus,
  ) {
    super(`service ${service}: ${reason}`);
  }
}

/** There is no service of that id (the scheduler does not know it). */
export class ServiceNotFound extends Error {
  override readonly name = 'ServiceNotFound';
  constructor(readonly service: string) {
    super(`service ${service} does not exist`);
  }
}

/** A change of a plan failed; the changes before it were made, the ones after it were not. */
export class PlanFailed extends Error {
  override readonly name = 'PlanFailed';
  constructor(
    readonly change: string,
    readonly done: readonly string[],
    readonly notDone: readonly string[],
    options: { cause: unknown },
  ) {
    super(`${change} failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }
}
