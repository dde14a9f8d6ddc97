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

/** A `docker` command failed; names the command and what it printed. */
export class DockerCommandError extends Error {
  override readonly name = 'DockerCommandError';
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly output: string,
    options?: { cause: unknown },
  ) {
    super(`docker ${argv.slice(0, 3).join(' ')}${argv.length > 3 ? ' …' : ''} failed (${code === null ? 'did not run' : `exit ${code}`}): ${output.split('\n').slice(-10).join('\n') || '(no output)'}`, options);
  }
}

/** An image of the control plane could not be built; names the image and the step that failed. */
export class ImageBuildError extends Error {
  override readonly name = 'ImageBuildError';
  constructor(
    readonly image: string,
    readonly step: string,
    options: { cause: unknown },
  ) {
    super(`cannot build ${image}: ${step} failed: ${messageOf(options.cause)}`, options);
  }
}

/** Containers labelled with this run dir are running: the control plane already runs from it as containers. */
export class ContainersAlreadyRunningError extends Error {
  override readonly name = 'ContainersAlreadyRunningError';
  constructor(
    readonly runDir: string,
    readonly containers: readonly string[],
  ) {
    super(`the control plane already runs from ${runDir} as containers (${containers.join(', ')}); stop it first with down`);
  }
}

/** A setting of the DNS server (SDMI_DNS_*, SDMI_PDNS_*, SDMI_DOT_PORT) is not usable; nothing was started. */
export class DnsConfigError extends Error {
  override readonly name = 'DnsConfigError';
  constructor(
    readonly setting: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`${setting}${value === '' ? '' : `=${value}`} ${reason}`);
  }
}

/** Something else listens on a port the embedded DNS server needs; nothing was started on it. */
export class DnsPortInUseError extends Error {
  override readonly name = 'DnsPortInUseError';
  constructor(
    readonly port: number,
    /** What it was for: `DNS (UDP and TCP)`, `the PowerDNS API`, `DNS over TLS`. */
    readonly purpose: string,
    /** The variable that chooses another port. */
    readonly setting: string,
  ) {
    super(`127.0.0.1:${port}, the embedded DNS server's port for ${purpose}, is in use by another program; choose another with ${setting}=<port>`);
  }
}

/**
 * The embedded DNS server did not come up: pdns_server or dnsdist exited or did not answer in
 * time (naming its log), or what it needs first (its database, certificate, a tool) failed.
 */
export class DnsServerStartError extends Error {
  override readonly name = 'DnsServerStartError';
  constructor(
    readonly program: string,
    readonly reason: string,
    readonly logFile: string | undefined,
    readonly logTail: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`${program} did not start: ${reason}${logFile === undefined ? '' : `; last lines of ${logFile}:\n${logTail.join('\n') || '(empty)'}`}`, options);
  }
}
