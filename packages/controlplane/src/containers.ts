import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { NatsCredentialsEnv, NatsCredentialsError, natsCredentialOptions } from '@sdmi/bus';
import { DEFAULT_NATS_URL, NatsConnectError, RdmpEnv, ServiceEnv, createLogger, hostInstanceId, type Logger } from '@sdmi/service';
import { DEFAULT_ROOT_DIR, SERVICE_NAMES, ControlPlaneState } from './controlplane';
import { CredentialsEnv, CredentialsMissingError, adminSeedFile, containerSeedCopy, removeContainerSeedCopies, serviceCredentials } from './credentials';
import { DnsEnv } from './dns-config';
import { docker, tryDocker } from './docker-cli';
import { ContainersAlreadyRunningError, ControlPlaneStartError, ControlPlaneStateError, ServiceExitedError, ServiceNotReadyError, UnknownServiceError } from './errors';
import { buildControlPlaneImages, serviceDockerfile } from './images';
import { instancesTaken, prepareDatabase, waitUntilReady } from './readiness';
import { memberStatuses, type ServiceStatus } from './status';

/** Every container of a control plane carries its run dir here; `down` finds exactly its own by it. */
export const CONTROLPLANE_LABEL = 'sdmi.controlplane';
export const SERVICE_LABEL = 'sdmi.controlplane.service';
export const INSTANCE_LABEL = 'sdmi.controlplane.instance';

export interface ContainerControlPlaneOptions {
  /** Repository root: the images' build context. */
  rootDir?: string;
  /** Identifies this control plane's containers (label sdmi.controlplane). Default `<rootDir>/.sdmi`. */
  runDir?: string;
  services?: readonly string[];
  /** Given to every service as SDMI_NATS_URL; default SDMI_NATS_URL, then nats://127.0.0.1:4222. */
  natsUrl?: string;
  /** Given to each service as SDMI_INSTANCE_ID; default the host name for all of them. */
  instanceId?: (service: string) => string;
  /** Environment for every service, over the SDMI_* variables of this process (nothing else of it is passed). */
  env?: Readonly<Record<string, string>>;
  /** As ControlPlane's: each container gets a copy of its own seed (readable by its user) and principals.json, read-only. */
  credentialsDir?: string;
  /** The daemon (`docker -H`); default the CLI's own (DOCKER_HOST, else the local socket). */
  dockerHost?: string;
  /** The image of each service; those not given are built (or found up to date) by buildControlPlaneImages. */
  images?: Readonly<Record<string, string>>;
  /** Progress of the image build, one line per step. */
  onBuildProgress?: (message: string) => void;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** What `docker stop` waits after SIGTERM before SIGKILL. Default 15 s. */
  stopTimeoutMs?: number;
  logger?: Logger;
  /** Called when a container ends while the control plane did not ask it to. */
  onUnexpectedExit?: (exit: ContainerExit) => void;
}

export interface ManagedContainer {
  service: string;
  instance: string;
  /** Its name, e.g. `sdmi-cp-scheduler-vm`. */
  container: string;
  id: string;
  image: string;
  /** Its main process as the host sees it. */
  pid: number;
}

export interface ContainerExit extends ManagedContainer {
  code: number | null;
}

export interface ContainerStopResult extends ContainerExit {
  /** Still running after the stop timeout; Docker killed it with SIGKILL. */
  forced: boolean;
  /** Exited by itself with code 0. */
  clean: boolean;
}

interface Running extends ManagedContainer {
  waiter: ChildProcess | undefined;
  exited: ContainerExit | undefined;
  exit: Promise<ContainerExit | undefined>;
  stopping: boolean;
}

/**
 * Runs the SDMI services as containers on the host network (so they reach NATS, PostgreSQL and
 * one another's listeners on loopback as processes do), one image per service, and otherwise
 * behaves as ControlPlane: waits until each answers health with ready=true, reports the same
 * status table, stops them (docker stop, then removes them). After detach() the containers run
 * on without this process; stopContainers(runDir) finds them again by their label.
 */
export class ContainerControlPlane {
  readonly rootDir: string;
  readonly runDir: string;
  readonly services: readonly string[];
  readonly natsUrl: string;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly log: Logger;

  #options: ContainerControlPlaneOptions;
  #state: ControlPlaneState = ControlPlaneState.created;
  #containers: Running[] = [];
  #nc: NatsConnection | undefined;
  #stopPromise: Promise<ContainerStopResult[]> | undefined;

  constructor(options: ContainerControlPlaneOptions = {}) {
    this.#options = options;
    this.rootDir = path.resolve(options.rootDir ?? DEFAULT_ROOT_DIR);
    this.runDir = path.resolve(options.runDir ?? path.join(this.rootDir, '.sdmi'));
    this.services = options.services ?? SERVICE_NAMES;
    this.natsUrl = options.natsUrl ?? (process.env[ServiceEnv.natsUrl] || DEFAULT_NATS_URL);
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.log = options.logger ?? createLogger('controlplane', hostInstanceId());
    const missing = this.services.filter((s) => options.images?.[s] === undefined && !existsSync(serviceDockerfile(this.rootDir, s)));
    if (missing.length > 0) throw new UnknownServiceError(missing, SERVICE_NAMES.filter((s) => existsSync(serviceDockerfile(this.rootDir, s))));
  }

  get state(): ControlPlaneState {
    return this.#state;
  }

  get containers(): readonly ManagedContainer[] {
    return this.#containers.map(({ service, instance, container, id, image, pid }) => ({ service, instance, container, id, image, pid }));
  }

  /**
   * Builds what images are missing, runs a container per service and resolves with the status
   * table once all are ready. If one does not come up, all are stopped and removed again and a
   * ControlPlaneStartError lists each failure with the container's last log lines.
   */
  async start(): Promise<ServiceStatus[]> {
    if (this.#state !== ControlPlaneState.created) throw new ControlPlaneStateError(`start() called when ${this.#state}`, this.#state);
    this.#state = ControlPlaneState.starting;
    const host = this.#options.dockerHost;
    const leftovers = await listContainers(this.runDir, host);
    const running = leftovers.filter((c) => c.running);
    if (running.length > 0) {
      this.#state = ControlPlaneState.stopped;
      throw new ContainersAlreadyRunningError(this.runDir, running.map((c) => c.name));
    }
    // Ended ones from a run that was never brought down would only hold their names.
    if (leftovers.length > 0) await docker(['rm', '-f', ...leftovers.map((c) => c.id)], { host });
    try {
      const dir = this.#options.credentialsDir;
      if (dir) for (const s of this.services) serviceCredentials(dir, s, { ...process.env, ...this.#options.env });
      const credentials = dir ? natsCredentialOptions({ [NatsCredentialsEnv.nkeySeedFile]: adminSeedFile(dir) }) : {};
      this.#nc = await connect({ servers: this.natsUrl.split(','), name: `controlplane/${hostInstanceId()}-${process.pid}`, ...credentials });
    } catch (err) {
      this.#state = ControlPlaneState.stopped;
      if (err instanceof CredentialsMissingError || err instanceof NatsCredentialsError) throw err;
      throw new NatsConnectError(this.natsUrl, { cause: err });
    }
    const env = this.#serviceEnv();
    try {
      await prepareDatabase(env[RdmpEnv.pgUrl], this.log);
      const taken = await instancesTaken(this.#nc, this.services.map((service) => ({ service, instance: this.#instanceOf(service) })));
      if (taken.length > 0) throw new ControlPlaneStartError(taken);
    } catch (err) {
      this.#state = ControlPlaneState.stopped;
      await this.#nc.close();
      throw err;
    }
    const failures: Error[] = [];
    try {
      const images = await this.#images();
      for (const service of this.services) this.#containers.push(await this.#run(service, images[service]!, env));
    } catch (err) {
      failures.push(err as Error);
    }
    if (failures.length === 0) {
      const outcomes = await Promise.allSettled(this.#containers.map((c) => this.#waitReady(c)));
      for (const o of outcomes) if (o.status === 'rejected') failures.push(o.reason as Error);
    }
    if (failures.length > 0) {
      this.#state = ControlPlaneState.running; // so stop() does its work
      await this.stop();
      throw new ControlPlaneStartError(failures);
    }
    this.#state = ControlPlaneState.running;
    this.log.info({ containers: this.containers }, 'control plane ready');
    return this.status();
  }

  /** The status table, from `$SRV.INFO` and each instance's health; PID is the host's view of the container's process. */
  async status(): Promise<ServiceStatus[]> {
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) throw new ControlPlaneStateError('status() needs a started control plane', this.#state);
    return memberStatuses(
      nc,
      this.#containers.map((c) => ({ service: c.service, instance: c.instance, pid: c.pid, exitDetail: c.exited ? `code ${c.exited.code}` : undefined })),
    );
  }

  /** Stops and removes every container (SIGTERM, SIGKILL after stopTimeoutMs); resolves with how each ended. Idempotent. */
  stop(): Promise<ContainerStopResult[]> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  /** Leaves the containers running and lets this process exit; `down` (stopContainers) stops them later. */
  async detach(): Promise<void> {
    if (this.#state !== ControlPlaneState.running) throw new ControlPlaneStateError(`detach() called when ${this.#state}`, this.#state);
    this.#state = ControlPlaneState.detached;
    for (const c of this.#containers) c.waiter?.kill();
    await this.#nc?.close();
  }

  async #stop(): Promise<ContainerStopResult[]> {
    if (this.#state === ControlPlaneState.created || this.#state === ControlPlaneState.detached) {
      this.#state = ControlPlaneState.stopped;
      return [];
    }
    this.#state = ControlPlaneState.stopping;
    const results = await Promise.all(
      this.#containers.map(async (c): Promise<ContainerStopResult> => {
        c.stopping = true;
        const ended = await stopAndRemove(c.id, this.stopTimeoutMs, this.#options.dockerHost, containerLogFile(this.runDir, c.container));
        c.waiter?.kill();
        return { ...this.#managed(c), ...ended };
      }),
    );
    // A `docker run` that failed half way (created, not started) leaves a container we never tracked.
    const tracked = new Set(this.#containers.map((c) => c.id));
    const stray = (await listContainers(this.runDir, this.#options.dockerHost).catch(() => [])).filter((c) => !tracked.has(c.id));
    if (stray.length > 0) await tryDocker(['rm', '--force', ...stray.map((c) => c.id)], { host: this.#options.dockerHost });
    removeContainerSeedCopies(this.runDir);
    await this.#nc?.close().catch(() => undefined);
    this.#state = ControlPlaneState.stopped;
    this.log.info({ results }, 'control plane stopped');
    return results;
  }

  async #images(): Promise<Record<string, string>> {
    const given = this.#options.images ?? {};
    const missing = this.services.filter((s) => given[s] === undefined);
    if (missing.length === 0) return { ...given };
    const built = await buildControlPlaneImages({
      rootDir: this.rootDir,
      services: missing,
      dockerHost: this.#options.dockerHost,
      logger: this.log,
      ...(this.#options.onBuildProgress ? { onProgress: this.#options.onBuildProgress } : {}),
    });
    return { ...given, ...built.images };
  }

  /**
   * What a service's process would get from ControlPlane, less the rest of this process's
   * environment (PATH, HOME… are the image's own): the SDMI_* variables, the options' env, and
   * the NATS URL.
   */
  #serviceEnv(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith('SDMI_') && v !== undefined) env[k] = v;
    return { ...env, ...this.#options.env, [ServiceEnv.natsUrl]: this.natsUrl };
  }

  /** The container's copy of its seed and the principals file, when there is a credentials directory. */
  #credentialEnv(service: string): Record<string, string> {
    const dir = this.#options.credentialsDir;
    if (!dir) return {};
    const c = serviceCredentials(dir, service, { ...process.env, ...this.#options.env });
    // The node-agent runs as root in its container; the others as the images' user.
    const seedFile = containerSeedCopy(this.runDir, c.seedFile, service === 'node-agent' ? undefined : SERVICE_CONTAINER_USER);
    return { [CredentialsEnv.seedFile]: seedFile, [CredentialsEnv.principalsFile]: c.principalsFile };
  }

  async #run(service: string, image: string, baseEnv: Record<string, string>): Promise<Running> {
    const host = this.#options.dockerHost;
    const instance = this.#instanceOf(service);
    const env = { ...baseEnv, [ServiceEnv.instanceId]: instance, ...this.#credentialEnv(service) };
    const name = containerName(service, instance);
    const args = [
      'run',
      '--detach',
      '--name',
      name,
      '--label',
      `${CONTROLPLANE_LABEL}=${this.runDir}`,
      '--label',
      `${SERVICE_LABEL}=${service}`,
      '--label',
      `${INSTANCE_LABEL}=${instance}`,
      ...runArgs(serviceContainerSpec(service, env)),
      '--stop-timeout',
      String(Math.ceil(this.stopTimeoutMs / 1000)),
      // Names only: the values reach the CLI through its environment, so a database password is
      // not in any process's argv.
      ...Object.keys(env).flatMap((k) => ['--env', k]),
      image,
    ];
    const id = await docker(args, { host, env, timeoutMs: 120_000 });
    const pid = Number(await docker(['inspect', '--format', '{{.State.Pid}}', id], { host }));
    const c: Running = { service, instance, container: name, id, image, pid, waiter: undefined, exited: undefined, exit: Promise.resolve(undefined), stopping: false };
    c.exit = this.#watch(c);
    this.log.info({ service, instance, container: name, image, pid }, 'container started');
    return c;
  }

  /** `docker wait` in the background: resolves when the container ends (undefined if we stopped watching). */
  #watch(c: Running): Promise<ContainerExit | undefined> {
    const argv = this.#options.dockerHost !== undefined ? ['-H', this.#options.dockerHost, 'wait', c.id] : ['wait', c.id];
    const waiter = spawn('docker', argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    c.waiter = waiter;
    let out = '';
    waiter.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    return new Promise((resolve) => {
      waiter.once('error', () => resolve(undefined));
      waiter.once('close', (code) => {
        const exitCode = Number(out.trim());
        if (code !== 0 || out.trim() === '' || !Number.isInteger(exitCode)) return resolve(undefined);
        c.exited = { ...this.#managed(c), code: exitCode };
        if (!c.stopping && this.#state === ControlPlaneState.running) {
          this.log.error(c.exited, 'service container exited unexpectedly');
          this.#options.onUnexpectedExit?.(c.exited);
        }
        resolve(c.exited);
      });
    });
  }

  async #waitReady(c: Running): Promise<void> {
    const outcome = await waitUntilReady(this.#nc!, c.service, c.instance, { timeoutMs: this.readyTimeoutMs, exited: () => c.exited !== undefined, exit: c.exit });
    const logs = `docker logs ${c.container}`;
    if (outcome.kind === 'exited') throw new ServiceExitedError(c.service, c.instance, c.exited!.code, null, logs, await this.#tail(c));
    if (outcome.kind === 'timeout') throw new ServiceNotReadyError(c.service, c.instance, this.readyTimeoutMs, outcome.lastProblem, logs, await this.#tail(c));
    this.log.info({ service: c.service, instance: c.instance, container: c.container }, 'ready');
  }

  async #tail(c: Running): Promise<string[]> {
    const r = await tryDocker(['logs', '--tail', '20', c.id], { host: this.#options.dockerHost });
    return `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  }

  #managed(c: Running): ManagedContainer {
    return { service: c.service, instance: c.instance, container: c.container, id: c.id, image: c.image, pid: c.pid };
  }

  #instanceOf(service: string): string {
    return this.#options.instanceId?.(service) ?? hostInstanceId();
  }
}

export function containerName(service: string, instance: string): string {
  return `sdmi-cp-${service}-${instance}`;
}

/** What a service's container needs from the host besides its image and environment. */
export interface ServiceContainerSpec {
  /** The host's: NATS, PostgreSQL and the OpenFlow listener are on loopback, as for processes. */
  networkMode: 'host';
  capAdd: string[];
  /** /proc/sys (and the rest of what Docker masks or mounts read-only in /proc) as the host's: `--security-opt systempaths=unconfined`. */
  unconfinedSystemPaths: boolean;
  /** `host` to see (and enter the namespaces of) the host's processes. */
  pidMode: 'host' | undefined;
  /** `host` to carry the host's name. */
  utsMode: 'host' | undefined;
  /** Host paths mounted at the same paths. */
  binds: string[];
  /** Host files mounted read-only at the same paths. */
  readOnlyBinds: string[];
}

/** The user the service images run as (`USER` in deploy/images/<service>/Dockerfile), all but the node-agent. */
export const SERVICE_CONTAINER_USER = { uid: 65534, gid: 65534 } as const;

/**
 * The node-agent works on the host: Docker's socket and Open vSwitch's (mounted at the same
 * paths); the host's process table, to enter containers' network namespaces by pid (`--pid host`,
 * `nsenter`: SYS_ADMIN, SYS_PTRACE); links (NET_ADMIN) and /proc/sys/net (writable only with
 * `systempaths=unconfined`); and the host's name, its node name unless SDMI_NODE_NAME says. Not
 * `--privileged`: that asks for every capability, which fails where Docker itself runs without
 * some (as in a container). dns-manager gets the PowerDNS API key file (SDMI_PDNS_API_KEY_FILE),
 * read-only. The other services need nothing but the host network.
 */
export function serviceContainerSpec(service: string, env: Readonly<Record<string, string>>): ServiceContainerSpec {
  const spec: ServiceContainerSpec = { networkMode: 'host', capAdd: [], unconfinedSystemPaths: false, pidMode: undefined, utsMode: undefined, binds: [], readOnlyBinds: [] };
  // A service's own seed and the cluster's principals file, when the bus has credentials.
  const credentials = [env[CredentialsEnv.seedFile], env[CredentialsEnv.principalsFile]].filter((f): f is string => typeof f === 'string' && f !== '');
  const keyFile = env[DnsEnv.apiKeyFile];
  if (service === 'dns-manager' && keyFile) return { ...spec, readOnlyBinds: [keyFile, ...credentials] };
  if (service !== 'node-agent') return { ...spec, readOnlyBinds: credentials };
  const dockerSocket = env.SDMI_DOCKER_SOCKET || '/var/run/docker.sock';
  const ovsdb = env.SDMI_OVSDB || 'unix:/var/run/openvswitch/db.sock';
  // The directory, not the socket: a restarted ovsdb-server makes a new socket file.
  const ovsDir = ovsdb.startsWith('unix:') ? [path.dirname(ovsdb.slice('unix:'.length))] : [];
  return { ...spec, capAdd: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'], unconfinedSystemPaths: true, pidMode: 'host', utsMode: 'host', binds: [dockerSocket, ...ovsDir], readOnlyBinds: credentials };
}

function runArgs(spec: ServiceContainerSpec): string[] {
  return [
    '--network',
    spec.networkMode,
    ...spec.capAdd.flatMap((c) => ['--cap-add', c]),
    ...(spec.unconfinedSystemPaths ? ['--security-opt', 'systempaths=unconfined'] : []),
    ...(spec.pidMode ? ['--pid', spec.pidMode] : []),
    ...(spec.utsMode ? ['--uts', spec.utsMode] : []),
    ...spec.binds.flatMap((b) => ['--volume', `${b}:${b}`]),
    ...spec.readOnlyBinds.flatMap((b) => ['--volume', `${b}:${b}:ro`]),
  ];
}

/**
 * How a container ended when stopped: `docker stop` (SIGTERM, SIGKILL after the timeout), then
 * removed. Its output is kept first in `<runDir>/logs/<container>.log`, as a process's would be:
 * removing the container would otherwise take the only copy of why a service ended.
 */
async function stopAndRemove(id: string, stopTimeoutMs: number, host: string | undefined, logFile: string): Promise<{ code: number | null; forced: boolean; clean: boolean }> {
  const wasRunning = (await tryDocker(['inspect', '--format', '{{.State.Running}}', id], { host })).stdout.trim() === 'true';
  await tryDocker(['stop', '--time', String(Math.ceil(stopTimeoutMs / 1000)), id], { host, timeoutMs: stopTimeoutMs + 30_000 });
  const inspected = await tryDocker(['inspect', '--format', '{{.State.ExitCode}}', id], { host });
  const code = inspected.code === 0 ? Number(inspected.stdout.trim()) : null;
  const output = await tryDocker(['logs', id], { host });
  if (output.code === 0) {
    mkdirSync(path.dirname(logFile), { recursive: true });
    writeFileSync(logFile, output.stdout + output.stderr, { mode: 0o600 });
  }
  await tryDocker(['rm', '--force', id], { host });
  // 137 = 128 + SIGKILL: the service outlived the timeout (or was killed before we asked).
  return { code, forced: wasRunning && code === 137, clean: code === 0 };
}

/** Where a stopped container's output is kept. */
export function containerLogFile(runDir: string, container: string): string {
  return path.join(path.resolve(runDir), 'logs', `${container}.log`);
}

export interface LabelledContainer {
  id: string;
  name: string;
  service: string;
  instance: string;
  running: boolean;
}

/** The containers of the control plane started with this run dir, running or not. */
export async function listContainers(runDir: string, host?: string): Promise<LabelledContainer[]> {
  const out = await docker(
    [
      'ps',
      '--all',
      '--no-trunc',
      '--filter',
      `label=${CONTROLPLANE_LABEL}=${path.resolve(runDir)}`,
      '--format',
      `{{.ID}}\t{{.Names}}\t{{.Label "${SERVICE_LABEL}"}}\t{{.Label "${INSTANCE_LABEL}"}}\t{{.State}}`,
    ],
    { host },
  );
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [id = '', name = '', service = '', instance = '', state = ''] = l.split('\t');
      return { id, name, service, instance, running: state === 'running' || state === 'restarting' };
    });
}

export const ContainerOutcome = {
  /** Ended after SIGTERM, then removed. */
  stopped: 'stopped',
  /** Still running after the timeout; killed, then removed. */
  killed: 'killed',
  /** Ended after SIGTERM, but with a non-zero exit code (its own stop failed or outlasted SDMI_STOP_TIMEOUT_MS: see its kept log); removed. */
  stopFailed: 'stop-failed',
  /** Had already ended; removed. */
  notRunning: 'not-running',
} as const;
export type ContainerOutcome = (typeof ContainerOutcome)[keyof typeof ContainerOutcome];

export interface ContainerDownResult extends LabelledContainer {
  code: number | null;
  outcome: ContainerOutcome;
}

/** What `down` does for `up --containers --detach`: stops and removes every container labelled with the run dir. */
export async function stopContainers(runDir: string, options: { stopTimeoutMs?: number; dockerHost?: string } = {}): Promise<ContainerDownResult[]> {
  const order = (service: string) => {
    const i = SERVICE_NAMES.indexOf(service as (typeof SERVICE_NAMES)[number]);
    return i < 0 ? SERVICE_NAMES.length : i;
  };
  const found = (await listContainers(runDir, options.dockerHost)).sort((a, b) => order(a.service) - order(b.service) || a.name.localeCompare(b.name));
  return Promise.all(
    found.map(async (c): Promise<ContainerDownResult> => {
      const ended = await stopAndRemove(c.id, options.stopTimeoutMs ?? 15_000, options.dockerHost, containerLogFile(runDir, c.name));
      const outcome = !c.running ? ContainerOutcome.notRunning : ended.forced ? ContainerOutcome.killed : ended.clean ? ContainerOutcome.stopped : ContainerOutcome.stopFailed;
      return { ...c, code: ended.code, outcome };
    }),
  );
}
