// One class per failure mode, each with a stable UPPER_SNAKE code and a bus-ready `info`
// ({ code, message, path, rule, details }, the shape of the contracts' ErrorInfo), so the
// node-agent can fail a task or report an event with `err.info` as is. Messages say what failed,
// which thing (and on which Docker host), and what to do about it.

/** Bus-ready description of a failure (same shape as the contracts' ErrorInfo). */
export interface DockerErrorInfo {
  /** Stable UPPER_SNAKE code; one per error class. */
  code: string;
  message: string;
  /** JSON pointer to the offending input field, when one is to blame. */
  path?: string;
  /** The validation rule that failed, for validation errors. */
  rule?: string;
  details?: Record<string, unknown>;
}

export const DockerErrorCode = {
  INVALID_SOCKET_PATH: 'INVALID_SOCKET_PATH',
  ENGINE_UNREACHABLE: 'ENGINE_UNREACHABLE',
  ENGINE_CLOSED: 'ENGINE_CLOSED',
  INVALID_CONTAINER_SPEC: 'INVALID_CONTAINER_SPEC',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  IMAGE_NOT_FOUND: 'IMAGE_NOT_FOUND',
  CONTAINER_NAME_TAKEN: 'CONTAINER_NAME_TAKEN',
  CONTAINER_NOT_FOUND: 'CONTAINER_NOT_FOUND',
  CONTAINER_NOT_MANAGED: 'CONTAINER_NOT_MANAGED',
  CONTAINER_NOT_RUNNING: 'CONTAINER_NOT_RUNNING',
  CONTAINER_RUNNING: 'CONTAINER_RUNNING',
  EXEC_TIMEOUT: 'EXEC_TIMEOUT',
  EVENT_STREAM_LOST: 'EVENT_STREAM_LOST',
  EVENT_STREAM_MALFORMED: 'EVENT_STREAM_MALFORMED',
  LOG_STREAM_MALFORMED: 'LOG_STREAM_MALFORMED',
  MISUSE: 'MISUSE',
  DOCKER_API_ERROR: 'DOCKER_API_ERROR',
} as const;
export type DockerErrorCode = (typeof DockerErrorCode)[keyof typeof DockerErrorCode];

const show = (value: unknown): string => {
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

/** Base of every error this package throws on purpose; `info` can be put on the bus as is. */
export abstract class DockerError extends Error {
  readonly info: DockerErrorInfo;
  protected constructor(info: DockerErrorInfo & { code: DockerErrorCode }, options?: { cause?: unknown }) {
    super(info.message, options);
    this.info = info;
  }
  get code(): DockerErrorCode {
    return this.info.code as DockerErrorCode;
  }
}

/** `connect()` was given something other than an absolute path to a unix socket (e.g. a TCP URL). */
export class InvalidSocketPath extends DockerError {
  override readonly name = 'InvalidSocketPath';
  constructor(value: unknown, reason: string) {
    super({
      code: DockerErrorCode.INVALID_SOCKET_PATH,
      message: `socketPath ${show(value)} ${reason}: SDMI talks to a Docker Engine only through its unix socket (e.g. "/var/run/docker.sock"), never over TCP`,
      path: '/socketPath',
      rule: 'unix-socket-path',
      details: { value },
    });
  }
}

/** Nothing answers on the socket (missing, refused, or not a Docker Engine). */
export class EngineUnreachable extends DockerError {
  override readonly name = 'EngineUnreachable';
  constructor(
    readonly socketPath: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.ENGINE_UNREACHABLE,
        message: `Docker Engine at ${socketPath} is unreachable (${reason}): is dockerd running with -H unix://${socketPath}?`,
        details: { socketPath, reason },
      },
      options,
    );
  }
}

/** A call on an engine after its `close()`. */
export class EngineClosed extends DockerError {
  override readonly name = 'EngineClosed';
  constructor(
    readonly socketPath: string,
    operation: string,
  ) {
    super({
      code: DockerErrorCode.ENGINE_CLOSED,
      message: `${operation} on the Docker Engine at ${socketPath} after close(): connect again to use it`,
      details: { socketPath, operation },
    });
  }
}

/** A container spec breaks one rule; `path` names the field, `rule` the rule. Nothing was created. */
export class InvalidContainerSpec extends DockerError {
  override readonly name = 'InvalidContainerSpec';
  constructor(path: string, rule: string, value: unknown, reason: string) {
    super({
      code: DockerErrorCode.INVALID_CONTAINER_SPEC,
      message: `container spec ${path}: ${show(value)} ${reason}`,
      path,
      rule,
      details: { value },
    });
  }
}

/** An argument of a call other than a container spec is invalid (id, signal, timeout, argv …). */
export class InvalidArgument extends DockerError {
  override readonly name = 'InvalidArgument';
  constructor(operation: string, path: string, rule: string, value: unknown, reason: string) {
    super({
      code: DockerErrorCode.INVALID_ARGUMENT,
      message: `${operation}: ${path.slice(1)} ${show(value)} ${reason}`,
      path,
      rule,
      details: { operation, value },
    });
  }
}

/** The image is not on this Docker host. SDMI never pulls: images are built or loaded per host. */
export class ImageNotFound extends DockerError {
  override readonly name = 'ImageNotFound';
  constructor(
    readonly image: string,
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.IMAGE_NOT_FOUND,
        message: `image "${image}" is not on the Docker host at ${socketPath}: build or load it there first (SDMI never pulls from a registry)`,
        path: '/image',
        details: { image, socketPath },
      },
      options,
    );
  }
}

/** Another container (ours or not) already has this name on this host. */
export class ContainerNameTaken extends DockerError {
  override readonly name = 'ContainerNameTaken';
  constructor(
    readonly containerName: string,
    /** The id of the container holding the name, when Docker said it. */
    readonly holder: string | undefined,
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    const by = holder === undefined ? '' : ` by container ${holder.slice(0, 12)}`;
    super(
      {
        code: DockerErrorCode.CONTAINER_NAME_TAKEN,
        message: `container name "${containerName}" is already in use on the Docker host at ${socketPath}${by}: choose another name or remove that container first`,
        path: '/name',
        details: { name: containerName, holder, socketPath },
      },
      options,
    );
  }
}

/** No container with this id or name exists on this host. */
export class ContainerNotFound extends DockerError {
  override readonly name = 'ContainerNotFound';
  constructor(
    readonly container: string,
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.CONTAINER_NOT_FOUND,
        message: `no container "${container}" on the Docker host at ${socketPath}: it was removed or never existed (list() shows what is there)`,
        details: { container, socketPath },
      },
      options,
    );
  }
}

/**
 * The container exists but does not carry `sdmi.managed=true`: SDMI does not start, stop, kill,
 * remove or exec into containers it did not create.
 */
export class ContainerNotManaged extends DockerError {
  override readonly name = 'ContainerNotManaged';
  constructor(
    readonly container: string,
    readonly operation: string,
    readonly socketPath: string,
  ) {
    super({
      code: DockerErrorCode.CONTAINER_NOT_MANAGED,
      message: `${operation} refused: container "${container}" on the Docker host at ${socketPath} is not managed by SDMI (no label sdmi.managed=true), so SDMI leaves it alone`,
      details: { container, operation, socketPath },
    });
  }
}

/** The operation needs a running container (kill, exec) and this one is not running. */
export class ContainerNotRunning extends DockerError {
  override readonly name = 'ContainerNotRunning';
  constructor(
    readonly container: string,
    readonly operation: string,
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.CONTAINER_NOT_RUNNING,
        message: `${operation} refused: container "${container}" on the Docker host at ${socketPath} is not running: start it first`,
        details: { container, operation, socketPath },
      },
      options,
    );
  }
}

/** `remove()` without `force` of a container that is running. */
export class ContainerRunning extends DockerError {
  override readonly name = 'ContainerRunning';
  constructor(
    readonly container: string,
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.CONTAINER_RUNNING,
        message: `remove refused: container "${container}" on the Docker host at ${socketPath} is running: stop it first or remove it with { force: true }`,
        details: { container, socketPath },
      },
      options,
    );
  }
}

/**
 * An exec did not finish within its timeout. Its output so far is in `details`. Unless `killed`
 * (the exec's `killOnTimeout`), the process may still run inside the container: Docker cannot
 * stop an exec'd process on its own.
 */
export class ExecTimeout extends DockerError {
  override readonly name = 'ExecTimeout';
  constructor(
    readonly container: string,
    readonly argv: readonly string[],
    readonly timeoutMs: number,
    readonly socketPath: string,
    output: { stdout: string; stderr: string },
    readonly killed = false,
  ) {
    super({
      code: DockerErrorCode.EXEC_TIMEOUT,
      message: `exec ${show(argv)} in container "${container}" on the Docker host at ${socketPath} did not finish within ${timeoutMs} ms${killed ? '; it was killed' : ''}`,
      details: { container, argv, timeoutMs, socketPath, killed, ...output },
    });
  }
}

/** The event stream ended or broke without us closing it (dockerd stopped, socket dropped). */
export class EventStreamLost extends DockerError {
  override readonly name = 'EventStreamLost';
  constructor(
    readonly socketPath: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.EVENT_STREAM_LOST,
        message: `event stream from the Docker Engine at ${socketPath} was lost (${reason}): events after the last one received were not seen; open a new stream with { since } set to that event's time`,
        details: { socketPath, reason },
      },
      options,
    );
  }
}

/** The event stream carried something that is not a sequence of JSON event objects. */
export class EventStreamMalformed extends DockerError {
  override readonly name = 'EventStreamMalformed';
  constructor(
    readonly socketPath: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.EVENT_STREAM_MALFORMED,
        message: `event stream from the Docker Engine at ${socketPath} is malformed: ${reason}`,
        details: { socketPath, reason },
      },
      options,
    );
  }
}

/** A container's log body is not multiplexed frames of timestamped messages (a TTY container's raw output, say). */
export class LogStreamMalformed extends DockerError {
  override readonly name = 'LogStreamMalformed';
  constructor(
    readonly socketPath: string,
    reason: string,
  ) {
    super({
      code: DockerErrorCode.LOG_STREAM_MALFORMED,
      message: `container logs from the Docker Engine at ${socketPath} are malformed: ${reason}`,
      details: { socketPath, reason },
    });
  }
}

/** An API used the wrong way (an event stream iterated twice, or after it was closed). */
export class Misuse extends DockerError {
  override readonly name = 'Misuse';
  constructor(message: string) {
    super({ code: DockerErrorCode.MISUSE, message });
  }
}

/** Docker refused a request for a reason none of the classes above describes. */
export class DockerApiError extends DockerError {
  override readonly name = 'DockerApiError';
  constructor(
    readonly operation: string,
    readonly statusCode: number | undefined,
    dockerMessage: string,
    readonly socketPath: string,
    options?: { cause?: unknown },
  ) {
    super(
      {
        code: DockerErrorCode.DOCKER_API_ERROR,
        message: `${operation} failed on the Docker host at ${socketPath}${statusCode === undefined ? '' : ` (HTTP ${statusCode})`}: ${dockerMessage}`,
        details: { operation, statusCode, dockerMessage, socketPath },
      },
      options,
    );
  }
}

/** What a dockerode/docker-modem failure carries. */
interface ModemError {
  statusCode?: number;
  json?: { message?: string } | string | null;
  code?: string;
  message?: string;
}

/** The daemon's own message of a failed request (without docker-modem's "(HTTP code …)" prefix). */
export function dockerMessage(err: unknown): string {
  const e = err as ModemError;
  if (e && typeof e.json === 'object' && e.json && typeof e.json.message === 'string') return e.json.message.trim();
  if (e && typeof e.json === 'string' && e.json.trim()) return e.json.trim();
  return (e?.message ?? String(err)).trim();
}

export function statusOf(err: unknown): number | undefined {
  const s = (err as ModemError | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

const SOCKET_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'ECONNRESET', 'EPIPE']);

/** Whether the failure is the socket itself (no daemon) rather than an answer from the daemon. */
export function isSocketFailure(err: unknown): boolean {
  const code = (err as ModemError | undefined)?.code;
  return typeof code === 'string' && SOCKET_ERRORS.has(code);
}
