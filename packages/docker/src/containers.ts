import { PassThrough } from 'node:stream';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { EngineContext } from './context';
import { ContainerNotManaged, ContainerNotRunning, ExecTimeout, InvalidArgument, InvalidContainerSpec, statusOf } from './errors';
import type { HealthState } from './events';
import { MANAGED_LABEL, MANAGED_VALUE, checkLabelFilter, checkSpecLabels, isPlainObject, labelFilters } from './labels';
import { killInNamespace } from './procfs';
import { toDockerError } from './translate';

/** Docker's container states. */
export const ContainerStates = {
  Created: 'created',
  Running: 'running',
  Paused: 'paused',
  Restarting: 'restarting',
  Removing: 'removing',
  Exited: 'exited',
  Dead: 'dead',
} as const;
export type ContainerState = (typeof ContainerStates)[keyof typeof ContainerStates];

export interface HealthCheckSpec {
  /** `["CMD", argv…]` (run directly) or `["CMD-SHELL", "shell command"]` (run by /bin/sh -c). */
  test: readonly string[];
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures before the container is unhealthy (at least 1). */
  retries: number;
  /** Failures during this time after start do not count. */
  startPeriodMs?: number;
}

export interface ContainerLimits {
  /** CPUs (fractional), e.g. 0.5; Docker's NanoCpus. */
  cpus?: number;
  /** Memory limit; swap is not added on top (MemorySwap = Memory). */
  memoryBytes?: number;
}

/** What SDMI asks of a container. Networking is not part of it: SDMI wires it, not Docker. */
export interface ContainerSpec {
  name: string;
  image: string;
  /** Replaces the image's CMD. */
  command?: readonly string[];
  env?: Record<string, string>;
  /** Caller labels (e.g. sdmi.service, sdmi.replica, sdmi.revision); sdmi.managed is added, never given. */
  labels?: Record<string, string>;
  limits?: ContainerLimits;
  healthCheck?: HealthCheckSpec;
  /** Seconds between SIGTERM and SIGKILL when the container is stopped (Docker's default is 10). */
  stopTimeoutSec?: number;
}

export interface CreatedContainer {
  id: string;
  name: string;
}

export interface ContainerInfo {
  id: string;
  name: string;
  /** The image reference the container was created from. */
  image: string;
  /** The image's id (sha256:…). */
  imageId: string;
  state: ContainerState;
  /** Process id of the container's init process on the host; 0 when not running. */
  pid: number;
  health: HealthState;
  labels: Record<string, string>;
  managed: boolean;
  networkMode: string;
  limits: ContainerLimits;
  createdAt: Date;
  /** Undefined when never started. */
  startedAt: Date | undefined;
  /** Undefined unless it has stopped since its last start. */
  finishedAt: Date | undefined;
  /** Set when the container has exited (or is dead). */
  exitCode: number | undefined;
  oomKilled: boolean;
  /** Docker's error for the last start, if it failed. */
  error: string | undefined;
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  labels: Record<string, string>;
  managed: boolean;
  createdAt: Date;
}

export interface ListOptions {
  /** Only containers with all these labels (value `true`: the key with any value). */
  labels?: Record<string, string | true>;
  /** Every container on the host, not only SDMI's; default false. */
  all?: boolean;
}

export interface RemoveOptions {
  /** Kill it first if it runs; default false (a running container is refused). */
  force?: boolean;
}

export interface ExecOptions {
  /** Default 60 000 ms; on expiry ExecTimeout (the process keeps running unless `killOnTimeout`). */
  timeoutMs?: number;
  /** Output kept per stream; the rest is dropped and `truncated` set. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Written to the process's stdin, which is then closed (it reads EOF). Without it, no stdin. */
  stdin?: string | Uint8Array;
  /**
   * On timeout, SIGKILL the exec'd process and its descendants through /proc, so that nothing of it
   * runs on unseen. Needs the rights to signal the container's processes and a dockerd in our pid
   * namespace (checked: otherwise nothing is killed). ExecTimeout says whether it was. Default false.
   */
  killOnTimeout?: boolean;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Whether stdout or stderr went beyond maxOutputBytes. */
  truncated: boolean;
}

const SPEC_KEYS = new Set(['name', 'image', 'command', 'env', 'labels', 'limits', 'healthCheck', 'stopTimeoutSec']);
const LIMIT_KEYS = new Set(['cpus', 'memoryBytes']);
const HEALTH_KEYS = new Set(['test', 'intervalMs', 'timeoutMs', 'retries', 'startPeriodMs']);

/** Docker's own rule for names (daemon/names.go), with a length cap. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}$/;
/** Docker refuses memory limits below 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** Docker's NanoCpus granularity: 0.01 CPU is the least it accepts. */
export const MIN_CPUS = 0.01;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function refuseUnknown(obj: Record<string, unknown>, known: Set<string>, base: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) {
      throw new InvalidContainerSpec(`${base}/${k}`, 'unknown-field', obj[k], `is not a field of ${base || 'the spec'} (known: ${[...known].join(', ')})`);
    }
  }
}

/**
 * Validates a container spec (every field, unknown ones refused) and builds Docker's create body.
 * Pure: `hostCpus` is the host's CPU count, for the cpus limit.
 */
export function buildCreateBody(spec: unknown, hostCpus?: number): Docker.ContainerCreateOptions & { name: string } {
  if (!isPlainObject(spec)) throw new InvalidContainerSpec('/', 'spec-object', spec, 'must be an object with at least name and image');
  refuseUnknown(spec, SPEC_KEYS, '');
  const s = spec as Partial<ContainerSpec> & Record<string, unknown>;
  if (typeof s.name !== 'string' || !CONTAINER_NAME.test(s.name)) {
    throw new InvalidContainerSpec('/name', 'container-name', s.name, 'is not a valid container name (2 to 128 characters: letters, digits, "_", "." and "-", starting with a letter or digit)');
  }
  if (typeof s.image !== 'string' || !/^[^\s\p{Cc}]{1,255}$/u.test(s.image)) {
    throw new InvalidContainerSpec('/image', 'image-ref', s.image, 'is not an image reference (a non-empty string without whitespace, e.g. "sdmi/base:busybox")');
  }
  if (s.command !== undefined && (!isStringArray(s.command) || s.command.length === 0)) {
    throw new InvalidContainerSpec('/command', 'argv', s.command, 'must be a non-empty array of strings (the program and its arguments)');
  }
  const env: string[] = [];
  if (s.env !== undefined) {
    if (!isPlainObject(s.env)) throw new InvalidContainerSpec('/env', 'env-object', s.env, 'must be an object of variable names to string values');
    for (const [k, v] of Object.entries(s.env)) {
      if (!/^[^=\0]+$/.test(k)) throw new InvalidContainerSpec(`/env/${k}`, 'env-name', k, 'is not a valid environment variable name (non-empty, no "=" or NUL)');
      if (typeof v !== 'string' || v.includes('\0')) throw new InvalidContainerSpec(`/env/${k}`, 'env-value', v, 'must be a string without NUL');
      env.push(`${k}=${v}`);
    }
  }
  const labels = checkSpecLabels(s.labels);
  const hostConfig: Docker.HostConfig = {
    // SDMI, not Docker, wires networking: veths from OVS are put into the namespace afterwards.
    NetworkMode: 'none',
    RestartPolicy: { Name: 'no' },
  };
  if (s.limits !== undefined) {
    if (!isPlainObject(s.limits)) throw new InvalidContainerSpec('/limits', 'limits-object', s.limits, 'must be an object with cpus and/or memoryBytes');
    refuseUnknown(s.limits, LIMIT_KEYS, '/limits');
    const { cpus, memoryBytes } = s.limits as ContainerLimits;
    if (cpus !== undefined) {
      if (typeof cpus !== 'number' || !Number.isFinite(cpus) || cpus < MIN_CPUS) {
        throw new InvalidContainerSpec('/limits/cpus', 'cpus-minimum', cpus, `must be a number of CPUs, at least ${MIN_CPUS}`);
      }
      if (hostCpus !== undefined && cpus > hostCpus) {
        throw new InvalidContainerSpec('/limits/cpus', 'cpus-available', cpus, `is more than the ${hostCpus} CPUs of this Docker host`);
      }
      hostConfig.NanoCpus = Math.round(cpus * 1e9);
    }
    if (memoryBytes !== undefined) {
      if (!isInt(memoryBytes) || memoryBytes < MIN_MEMORY_BYTES) {
        throw new InvalidContainerSpec('/limits/memoryBytes', 'memory-minimum', memoryBytes, `must be a whole number of bytes, at least ${MIN_MEMORY_BYTES} (6 MiB, Docker's minimum)`);
      }
      hostConfig.Memory = memoryBytes;
      // No swap beyond the limit: a replica over its memory is OOM-killed, not slowed down unseen.
      hostConfig.MemorySwap = memoryBytes;
    }
  }
  let healthcheck: Docker.HealthConfig | undefined;
  if (s.healthCheck !== undefined) {
    const h = s.healthCheck as unknown;
    if (!isPlainObject(h)) throw new InvalidContainerSpec('/healthCheck', 'health-object', h, 'must be an object with test, intervalMs, timeoutMs and retries');
    refuseUnknown(h, HEALTH_KEYS, '/healthCheck');
    const hc = h as Partial<HealthCheckSpec>;
    const test = hc.test;
    const validTest =
      isStringArray(test) &&
      ((test[0] === 'CMD' && test.length >= 2 && test[1] !== '') || (test[0] === 'CMD-SHELL' && test.length === 2 && test[1] !== ''));
    if (!validTest) {
      throw new InvalidContainerSpec('/healthCheck/test', 'health-test', test, 'must be ["CMD", program, args…] or ["CMD-SHELL", "shell command"]');
    }
    for (const key of ['intervalMs', 'timeoutMs'] as const) {
      if (!isInt(hc[key]) || hc[key] < 1) throw new InvalidContainerSpec(`/healthCheck/${key}`, 'duration-positive', hc[key], 'must be a whole number of milliseconds, at least 1');
    }
    // Docker reads 0 as "inherit the image's value (3)": refuse it instead of surprising.
    if (!isInt(hc.retries) || hc.retries < 1) throw new InvalidContainerSpec('/healthCheck/retries', 'retries-positive', hc.retries, 'must be a whole number, at least 1');
    if (hc.startPeriodMs !== undefined && (!isInt(hc.startPeriodMs) || hc.startPeriodMs < 0)) {
      throw new InvalidContainerSpec('/healthCheck/startPeriodMs', 'duration-non-negative', hc.startPeriodMs, 'must be a whole number of milliseconds, at least 0');
    }
    healthcheck = {
      Test: [...test],
      Interval: hc.intervalMs! * 1e6,
      Timeout: hc.timeoutMs! * 1e6,
      Retries: hc.retries,
      StartPeriod: (hc.startPeriodMs ?? 0) * 1e6,
    };
  }
  if (s.stopTimeoutSec !== undefined && (!isInt(s.stopTimeoutSec) || s.stopTimeoutSec < 0)) {
    throw new InvalidContainerSpec('/stopTimeoutSec', 'seconds-non-negative', s.stopTimeoutSec, 'must be a whole number of seconds, at least 0');
  }
  return {
    name: s.name,
    Image: s.image,
    ...(s.command ? { Cmd: [...s.command] } : {}),
    ...(env.length ? { Env: env } : {}),
    Labels: { ...labels, [MANAGED_LABEL]: MANAGED_VALUE },
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(s.stopTimeoutSec !== undefined ? { StopTimeout: s.stopTimeoutSec } : {}),
    HostConfig: hostConfig,
  };
}

/** Docker writes "0001-01-01T00:00:00Z" for "never". */
function dockerTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value.startsWith('0001-')) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const HEALTH = new Set(['starting', 'healthy', 'unhealthy']);

/** Maps Docker's inspect answer to ContainerInfo. Pure. */
export function toContainerInfo(raw: Docker.ContainerInspectInfo): ContainerInfo {
  const state = raw.State;
  const labels = raw.Config?.Labels ?? {};
  const status = state.Status as ContainerState;
  const health = state.Health?.Status;
  const limits: ContainerLimits = {};
  if (raw.HostConfig?.NanoCpus) limits.cpus = raw.HostConfig.NanoCpus / 1e9;
  if (raw.HostConfig?.Memory) limits.memoryBytes = raw.HostConfig.Memory;
  return {
    id: raw.Id,
    name: raw.Name.replace(/^\//, ''),
    image: raw.Config?.Image ?? '',
    imageId: raw.Image,
    state: status,
    pid: state.Running ? state.Pid : 0,
    health: health !== undefined && HEALTH.has(health) ? (health as HealthState) : 'none',
    labels,
    managed: labels[MANAGED_LABEL] === MANAGED_VALUE,
    networkMode: raw.HostConfig?.NetworkMode ?? '',
    limits,
    createdAt: new Date(raw.Created),
    startedAt: dockerTime(state.StartedAt),
    finishedAt: status === 'running' ? undefined : dockerTime(state.FinishedAt),
    exitCode: status === 'exited' || status === 'dead' ? state.ExitCode : undefined,
    oomKilled: state.OOMKilled,
    error: state.Error ? state.Error : undefined,
  };
}

function checkRef(operation: string, id: unknown): string {
  if (typeof id !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(id)) {
    throw new InvalidArgument(operation, '/id', 'container-ref', id, 'is not a container id or name');
  }
  return id;
}

async function rawInspect(ctx: EngineContext, operation: string, id: string): Promise<Docker.ContainerInspectInfo> {
  try {
    return await ctx.docker.getContainer(id).inspect();
  } catch (e) {
    throw toDockerError(ctx, operation, e, { container: id });
  }
}

/** Inspects and refuses containers SDMI did not create. */
async function managed(ctx: EngineContext, operation: string, id: string): Promise<Docker.ContainerInspectInfo> {
  const raw = await rawInspect(ctx, operation, id);
  if (raw.Config?.Labels?.[MANAGED_LABEL] !== MANAGED_VALUE) throw new ContainerNotManaged(id, operation, ctx.socketPath);
  return raw;
}

/** A host's CPU count does not change while dockerd runs: asked once per engine. */
const hostCpusCache = new WeakMap<EngineContext, number>();

async function hostCpus(ctx: EngineContext): Promise<number | undefined> {
  let n = hostCpusCache.get(ctx);
  if (n === undefined) {
    try {
      n = ((await ctx.docker.info()) as { NCPU: number }).NCPU;
      hostCpusCache.set(ctx, n);
    } catch (e) {
      throw toDockerError(ctx, 'createContainer', e);
    }
  }
  return n;
}

export async function createContainer(ctx: EngineContext, spec: ContainerSpec): Promise<CreatedContainer> {
  ctx.assertOpen('createContainer');
  // Refuse bad input before any request; only a valid spec with a cpus limit costs an info call.
  buildCreateBody(spec);
  const body = buildCreateBody(spec, (spec as ContainerSpec).limits?.cpus === undefined ? undefined : await hostCpus(ctx));
  try {
    const c = await ctx.docker.createContainer(body);
    ctx.log.info({ socketPath: ctx.socketPath, id: c.id, name: body.name, image: body.Image }, 'container created');
    return { id: c.id, name: body.name };
  } catch (e) {
    throw toDockerError(ctx, 'createContainer', e, { name: body.name, image: body.Image });
  }
}

/** Starts a created or stopped container; a running one is left as it is. */
export async function startContainer(ctx: EngineContext, id: string): Promise<void> {
  ctx.assertOpen('start');
  checkRef('start', id);
  await managed(ctx, 'start', id);
  try {
    await ctx.docker.getContainer(id).start();
  } catch (e) {
    if (statusOf(e) === 304) return; // already running
    throw toDockerError(ctx, 'start', e, { container: id });
  }
  ctx.log.info({ socketPath: ctx.socketPath, id }, 'container started');
}

/** SIGTERM (the image's stop signal), then SIGKILL after `timeoutSec`; a stopped one is left as it is. */
export async function stopContainer(ctx: EngineContext, id: string, timeoutSec: number): Promise<void> {
  ctx.assertOpen('stop');
  checkRef('stop', id);
  if (!isInt(timeoutSec) || timeoutSec < 0) throw new InvalidArgument('stop', '/timeoutSec', 'seconds-non-negative', timeoutSec, 'must be a whole number of seconds, at least 0');
  await managed(ctx, 'stop', id);
  try {
    await ctx.docker.getContainer(id).stop({ t: timeoutSec });
  } catch (e) {
    if (statusOf(e) === 304) return; // already stopped
    throw toDockerError(ctx, 'stop', e, { container: id });
  }
  ctx.log.info({ socketPath: ctx.socketPath, id, timeoutSec }, 'container stopped');
}

const SIGNAL = /^(?:SIG)?[A-Z][A-Z0-9+-]*$|^[1-9]\d?$/;

export async function killContainer(ctx: EngineContext, id: string, signal: string | number = 'SIGKILL'): Promise<void> {
  ctx.assertOpen('kill');
  checkRef('kill', id);
  const sig = String(signal);
  if (!SIGNAL.test(sig) || (typeof signal === 'number' && (!isInt(signal) || signal < 1 || signal > 64))) {
    throw new InvalidArgument('kill', '/signal', 'signal', signal, 'is not a signal (a name such as "SIGTERM" or a number from 1 to 64)');
  }
  const raw = await managed(ctx, 'kill', id);
  if (!raw.State.Running) throw new ContainerNotRunning(id, 'kill', ctx.socketPath);
  try {
    await ctx.docker.getContainer(id).kill({ signal: sig });
  } catch (e) {
    throw toDockerError(ctx, 'kill', e, { container: id });
  }
  ctx.log.info({ socketPath: ctx.socketPath, id, signal: sig }, 'container signalled');
}

/** Removes the container and its anonymous volumes. */
export async function removeContainer(ctx: EngineContext, id: string, options: RemoveOptions = {}): Promise<void> {
  ctx.assertOpen('remove');
  checkRef('remove', id);
  if (!isPlainObject(options) || (options.force !== undefined && typeof options.force !== 'boolean')) {
    throw new InvalidArgument('remove', '/options/force', 'boolean', options?.force, 'must be true or false');
  }
  await managed(ctx, 'remove', id);
  try {
    await ctx.docker.getContainer(id).remove({ force: options.force === true, v: true });
  } catch (e) {
    throw toDockerError(ctx, 'remove', e, { container: id });
  }
  ctx.log.info({ socketPath: ctx.socketPath, id, force: options.force === true }, 'container removed');
}

export async function inspectContainer(ctx: EngineContext, id: string): Promise<ContainerInfo> {
  ctx.assertOpen('inspect');
  checkRef('inspect', id);
  return toContainerInfo(await rawInspect(ctx, 'inspect', id));
}

/** Containers, stopped ones too; SDMI's only unless `all`. */
export async function listContainers(ctx: EngineContext, options: ListOptions = {}): Promise<ContainerSummary[]> {
  ctx.assertOpen('list');
  if (!isPlainObject(options)) throw new InvalidArgument('list', '/options', 'options-object', options, 'must be an object');
  const labels = checkLabelFilter('list', '/labels', options.labels);
  const wanted = options.all === true ? labels : { ...labels, [MANAGED_LABEL]: MANAGED_VALUE };
  const label = labelFilters(wanted);
  let rows: Docker.ContainerInfo[];
  try {
    rows = await ctx.docker.listContainers({ all: true, ...(label.length ? { filters: { label } } : {}) });
  } catch (e) {
    throw toDockerError(ctx, 'list', e);
  }
  return rows.map((r) => {
    const l = r.Labels ?? {};
    return {
      id: r.Id,
      name: (r.Names?.[0] ?? '').replace(/^\//, ''),
      image: r.Image,
      state: r.State as ContainerState,
      labels: l,
      managed: l[MANAGED_LABEL] === MANAGED_VALUE,
      createdAt: new Date(r.Created * 1000),
    };
  });
}

const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;

/** Collects one output stream up to a cap. */
class Capped extends PassThrough {
  readonly chunks: Buffer[] = [];
  size = 0;
  truncated = false;
  constructor(private readonly cap: number) {
    super();
    this.on('data', (c: Buffer) => {
      const room = this.cap - this.size;
      if (room <= 0) {
        this.truncated ||= c.length > 0;
        return;
      }
      const part = c.length > room ? c.subarray(0, room) : c;
      if (part.length < c.length) this.truncated = true;
      this.chunks.push(part);
      this.size += part.length;
    });
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Kills a timed-out exec's process tree; false when it was not (already ended, or not ours to kill). */
async function killExec(ctx: EngineContext, exec: Docker.Exec, id: string, containerPid: number): Promise<boolean> {
  let info: Docker.ExecInspectInfo;
  try {
    info = await exec.inspect();
  } catch (e) {
    ctx.log.warn({ socketPath: ctx.socketPath, id, err: toDockerError(ctx, 'exec', e, { container: id }).info }, 'timed-out exec not killed: Docker did not say its pid');
    return false;
  }
  if (!info.Running) return false;
  const outcome = await killInNamespace(info.Pid, containerPid).catch((e: unknown) => ({ refused: (e as Error).message }));
  if ('refused' in outcome) {
    ctx.log.warn({ socketPath: ctx.socketPath, id, pid: info.Pid, reason: outcome.refused }, 'timed-out exec not killed');
    return false;
  }
  ctx.log.info({ socketPath: ctx.socketPath, id, pids: outcome.killed }, 'timed-out exec killed');
  return outcome.killed.length > 0;
}

/** Runs argv in the running container (no shell, no TTY) and waits for it to exit. */
export async function execInContainer(ctx: EngineContext, id: string, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  ctx.assertOpen('exec');
  checkRef('exec', id);
  if (!isStringArray(argv) || argv.length === 0 || argv[0] === '') {
    throw new InvalidArgument('exec', '/argv', 'argv', argv, 'must be a non-empty array of strings (the program and its arguments)');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  if (!isInt(timeoutMs) || timeoutMs < 1) throw new InvalidArgument('exec', '/options/timeoutMs', 'duration-positive', timeoutMs, 'must be a whole number of milliseconds, at least 1');
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  if (!isInt(cap) || cap < 0) throw new InvalidArgument('exec', '/options/maxOutputBytes', 'bytes-non-negative', cap, 'must be a whole number of bytes, at least 0');
  const input = options.stdin;
  if (input !== undefined && typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new InvalidArgument('exec', '/options/stdin', 'stdin', input, 'must be a string or bytes');
  }
  const raw = await managed(ctx, 'exec', id);
  if (!raw.State.Running) throw new ContainerNotRunning(id, 'exec', ctx.socketPath);

  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await ctx.docker.getContainer(id).exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true, AttachStdin: input !== undefined, Tty: false });
    stream = (await exec.start({ hijack: true, stdin: input !== undefined })) as unknown as Duplex;
  } catch (e) {
    throw toDockerError(ctx, 'exec', e, { container: id });
  }
  // A write into a process that exited without reading fails (EPIPE); the exit code, read below,
  // is what tells how the exec went.
  stream.on('error', () => undefined);
  const stdout = new Capped(cap);
  const stderr = new Capped(cap);
  ctx.docker.modem.demuxStream(stream, stdout, stderr);
  // Half-closing the connection is how Docker's own client ends stdin: dockerd then closes the
  // process's stdin and goes on sending its output.
  if (input !== undefined) stream.end(input);
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
  stream.destroy();
  if (!finished) {
    const killed = options.killOnTimeout === true && (await killExec(ctx, exec, id, raw.State.Pid));
    throw new ExecTimeout(id, argv, timeoutMs, ctx.socketPath, { stdout: stdout.text(), stderr: stderr.text() }, killed);
  }
  // The output ends when the process closes it, which can be a moment before Docker records the exit.
  const deadline = Date.now() + 5_000;
  for (;;) {
    let info: Docker.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch (e) {
      throw toDockerError(ctx, 'exec', e, { container: id });
    }
    if (!info.Running && info.ExitCode !== null) {
      return { exitCode: info.ExitCode, stdout: stdout.text(), stderr: stderr.text(), truncated: stdout.truncated || stderr.truncated };
    }
    if (Date.now() > deadline) throw new ExecTimeout(id, argv, timeoutMs, ctx.socketPath, { stdout: stdout.text(), stderr: stderr.text() });
    await new Promise((r) => setTimeout(r, 20));
  }
}
