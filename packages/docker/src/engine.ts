import Docker from 'dockerode';
import {
  type ContainerInfo,
  type ContainerSpec,
  type ContainerSummary,
  type CreatedContainer,
  type ExecOptions,
  type ExecResult,
  type ListOptions,
  type RemoveOptions,
  createContainer,
  execInContainer,
  inspectContainer,
  killContainer,
  listContainers,
  removeContainer,
  startContainer,
  stopContainer,
} from './containers';
import type { EngineContext } from './context';
import { EngineClosed, EngineUnreachable, InvalidSocketPath, isSocketFailure } from './errors';
import { type EventStream, type EventsOptions, openEvents } from './events';
import { imageExists } from './images';
import { type LogStream, type LogsOptions, openLogs } from './logs';
import { type ContainerStats, containerStats } from './stats';
import { type Logger, silentLogger } from './logger';
import { toDockerError } from './translate';

/**
 * The Docker API version spoken. Pinned so that answers keep their shape whatever the daemon's
 * own version (20.10 speaks 1.41; later daemons still accept it).
 */
export const DOCKER_API_VERSION = 'v1.41';

/** sockaddr_un's sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export interface ConnectOptions {
  /** Absolute path of the daemon's unix socket, e.g. `/var/run/docker.sock`. */
  socketPath: string;
  log?: Logger;
}

/** What a Docker host reports about itself: identity and capacity, for node registration. */
export interface NodeInfo {
  /**
   * The daemon's engine ID. Docker 20.10 derives it from /etc/docker/key.json, so several daemons
   * on one machine sharing that config dir report the same ID: tell them apart by `dockerRootDir`,
   * or better give each host a `dockerd --label sdmi.node=<name>`.
   */
  id: string;
  /** The host name the daemon reports. */
  name: string;
  cpus: number;
  memoryBytes: number;
  serverVersion: string;
  /** The daemon's labels (`dockerd --label k=v`), e.g. for placement constraints. */
  labels: Record<string, string>;
  containersRunning: number;
  architecture: string;
  operatingSystem: string;
  kernelVersion: string;
  /** The daemon's data root (`--data-root`): distinct for every daemon on a machine. */
  dockerRootDir: string;
}

/** Refuses anything but an absolute filesystem path that fits a unix socket address. */
export function checkSocketPath(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidSocketPath(value, 'is not a path');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    const reason = value.startsWith('unix://') ? `is a URL, not a path (give "${value.slice('unix://'.length)}")` : 'is a network address';
    throw new InvalidSocketPath(value, reason);
  }
  if (!value.startsWith('/')) throw new InvalidSocketPath(value, 'is not an absolute path');
  if (value.includes('\0')) throw new InvalidSocketPath(value, 'contains a NUL character');
  if (Buffer.byteLength(value) > MAX_SOCKET_PATH_BYTES) {
    throw new InvalidSocketPath(value, `is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket address can hold`);
  }
  return value;
}

function labelsFromList(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (typeof item !== 'string') continue;
    const eq = item.indexOf('=');
    if (eq === -1) out[item] = '';
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/**
 * One Docker host's engine, reached only through its unix socket. Every container it creates
 * carries `sdmi.managed=true` and has no Docker networking (`NetworkMode: none`); it starts, stops,
 * kills, removes, execs into and reads the logs of only containers carrying that label.
 */
export class DockerEngine implements AsyncDisposable {
  readonly #ctx: EngineContext;
  readonly #streams = new Set<EventStream>();
  #closed = false;

  private constructor(
    readonly socketPath: string,
    docker: Docker,
    log: Logger,
  ) {
    this.#ctx = {
      docker,
      socketPath,
      log,
      assertOpen: (operation) => {
        if (this.#closed) throw new EngineClosed(socketPath, operation);
      },
    };
  }

  /** Validates the socket path, and resolves once the daemon answers `GET /_ping` on it. */
  static async connect(options: ConnectOptions): Promise<DockerEngine> {
    const socketPath = checkSocketPath(options?.socketPath);
    // docker-modem starts from DOCKER_HOST / DOCKER_CERT_PATH / DOCKER_CLIENT_TIMEOUT of the
    // environment; each is overridden so that neither TCP nor a timeout (which would cut the event
    // stream) can come in that way.
    const docker = new Docker({
      socketPath,
      host: undefined,
      port: undefined,
      protocol: 'http',
      ca: undefined,
      cert: undefined,
      key: undefined,
      timeout: undefined,
      version: DOCKER_API_VERSION,
    } as Docker.DockerOptions);
    const modem = docker.modem as unknown as { socketPath?: unknown; host?: unknown };
    if (modem.socketPath !== socketPath || modem.host) {
      throw new InvalidSocketPath(socketPath, `did not reach the client (it would use ${String(modem.host ?? modem.socketPath)})`);
    }
    const engine = new DockerEngine(socketPath, docker, options.log ?? silentLogger);
    await engine.ping();
    engine.#ctx.log.debug({ socketPath }, 'docker engine connected');
    return engine;
  }

  /** Resolves when the daemon answers; EngineUnreachable otherwise. */
  async ping(): Promise<void> {
    this.#ctx.assertOpen('ping');
    try {
      await this.#ctx.docker.ping();
    } catch (e) {
      if (isSocketFailure(e)) {
        throw new EngineUnreachable(this.socketPath, `${(e as { code: string }).code}`, { cause: e });
      }
      throw new EngineUnreachable(this.socketPath, `no Docker answer to /_ping: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Identity and capacity of the host. */
  async info(): Promise<NodeInfo> {
    this.#ctx.assertOpen('info');
    let raw: Record<string, unknown>;
    try {
      raw = (await this.#ctx.docker.info()) as Record<string, unknown>;
    } catch (e) {
      throw toDockerError(this.#ctx, 'info', e);
    }
    return {
      id: String(raw.ID ?? ''),
      name: String(raw.Name ?? ''),
      cpus: Number(raw.NCPU),
      memoryBytes: Number(raw.MemTotal),
      serverVersion: String(raw.ServerVersion ?? ''),
      labels: labelsFromList(raw.Labels),
      containersRunning: Number(raw.ContainersRunning ?? 0),
      architecture: String(raw.Architecture ?? ''),
      operatingSystem: String(raw.OperatingSystem ?? ''),
      kernelVersion: String(raw.KernelVersion ?? ''),
      dockerRootDir: String(raw.DockerRootDir ?? ''),
    };
  }

  /**
   * Creates (does not start) a container: `sdmi.managed=true` plus the spec's labels,
   * `NetworkMode: none`, no restart policy (SDMI's reconciler decides). The spec is validated
   * first; bad input changes nothing.
   */
  createContainer(spec: ContainerSpec): Promise<CreatedContainer> {
    return createContainer(this.#ctx, spec);
  }

  /** Starts it; a running container is left as it is. */
  start(id: string): Promise<void> {
    return startContainer(this.#ctx, id);
  }

  /** Stop signal, then SIGKILL after `timeoutSec`; a stopped container is left as it is. */
  stop(id: string, timeoutSec: number): Promise<void> {
    return stopContainer(this.#ctx, id, timeoutSec);
  }

  /** Sends a signal (default SIGKILL) to a running container. */
  kill(id: string, signal?: string | number): Promise<void> {
    return killContainer(this.#ctx, id, signal);
  }

  /** Removes it with its anonymous volumes; a running one only with `force`. */
  remove(id: string, options?: RemoveOptions): Promise<void> {
    return removeContainer(this.#ctx, id, options);
  }

  /** State, health, pid, labels … of any container (ours or not: reading changes nothing). */
  inspect(id: string): Promise<ContainerInfo> {
    return inspectContainer(this.#ctx, id);
  }

  /** SDMI's containers (stopped ones too), or every container with `{ all: true }`. */
  list(options?: ListOptions): Promise<ContainerSummary[]> {
    return listContainers(this.#ctx, options);
  }

  /** Runs argv in a running container and resolves with its exit code and output. */
  exec(id: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
    return execInContainer(this.#ctx, id, argv, options);
  }

  /**
   * The output of one of SDMI's containers, running or stopped, as lines with their times (the
   * last `tail`, or those after `since`); the log as it is now, not followed.
   */
  logs(id: string, options?: LogsOptions): Promise<LogStream> {
    return openLogs(this.#ctx, id, options);
  }

  /** One stats sample of a running container (CPU counters with the previous ones, memory, network); see statsUsage. */
  stats(id: string): Promise<ContainerStats> {
    return containerStats(this.#ctx, id);
  }

  /** A live stream of container events (SDMI's containers unless `all`). */
  async events(options: EventsOptions = {}): Promise<EventStream> {
    const stream = await openEvents(this.#ctx, options, (s) => this.#streams.delete(s));
    if (this.#closed) {
      await stream.close();
      throw new EngineClosed(this.socketPath, 'events');
    }
    this.#streams.add(stream);
    return stream;
  }

  /** Whether the host has the image; never pulls. */
  imageExists(ref: string): Promise<boolean> {
    return imageExists(this.#ctx, ref);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every event stream still open; later calls throw EngineClosed. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#streams].map((s) => s.close()));
    this.#ctx.log.debug({ socketPath: this.socketPath }, 'docker engine closed');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
