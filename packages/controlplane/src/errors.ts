import { messageOf } from './text';

/** A requested service has no `services/<name>/src/main.ts`. */
export class UnknownServiceError extends Error {
  override readonly name = 'UnknownServiceError';
  constructor(
    readonly services: readonly string[],
    readonly available: readonly string[],
  ) {
    super(`unknown service(s) ${services.join(', ')}; available: ${available.join(', ') || 'none'}`);
  }
}

/** A service process could not be spawned at all. */
export class SpawnError extends Error {
  override readonly name = 'SpawnError';
  constructor(
    readonly service: string,
    options: { cause: unknown },
  ) {
    super(`cannot start ${service}: ${messageOf(options.cause)}`, options);
  }
}

/** A service process ended before it became ready. */
export class ServiceExitedError extends Error {
  override readonly name = 'ServiceExitedError';
  constructor(
    readonly service: string,
    readonly instance: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly logFile: string,
    readonly logTail: readonly string[],
  ) {
    super(
      `${service} (instance ${instance}) exited with ${signal ? `signal ${signal}` : `code ${code}`} before it was ready; ` +
        `last lines of ${logFile}:\n${logTail.join('\n') || '(empty)'}`,
    );
  }
}

/** A service process runs but did not report ready=true in time. */
export class ServiceNotReadyError extends Error {
  override readonly name = 'ServiceNotReadyError';
  constructor(
    readonly service: string,
    readonly instance: string,
    readonly timeoutMs: number,
    /** What the last health attempt said: failing checks, no responders, a timeout. */
    readonly lastProblem: string,
    readonly logFile: string,
    readonly logTail: readonly string[],
  ) {
    super(
      `${service} (instance ${instance}) was not ready within ${timeoutMs} ms: ${lastProblem}; ` +
        `last lines of ${logFile}:\n${logTail.join('\n') || '(empty)'}`,
    );
  }
}

/** Some services did not come up; all the started ones were stopped again. */
export class ControlPlaneStartError extends AggregateError {
  override readonly name = 'ControlPlaneStartError';
  constructor(errors: readonly Error[]) {
    super(errors, `control plane did not start: ${errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
  }
}

/** A pids file names live service processes: the control plane already runs from this run dir. */
export class AlreadyRunningError extends Error {
  override readonly name = 'AlreadyRunningError';
  constructor(
    readonly pidFile: string,
    readonly running: readonly { service: string; pid: number }[],
  ) {
    super(
      `the control plane already runs from ${pidFile} (${running.map((r) => `${r.service} pid ${r.pid}`).join(', ')}); stop it first with down`,
    );
  }
}

/** The pids file exists but cannot be read as one. */
export class PidFileError extends Error {
  override readonly name = 'PidFileError';
  constructor(
    readonly pidFile: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${pidFile}:${line}: ${reason}`);
  }
}

/** The control plane was used out of order (start twice, status after stop). */
export class ControlPlaneStateError extends Error {
  override readonly name = 'ControlPlaneStateError';
  constructor(
    message: string,
    readonly state: string,
  ) {
    super(message);
  }
}
