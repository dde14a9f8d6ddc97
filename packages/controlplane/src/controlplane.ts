import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { NatsCredentialsEnv, NatsCredentialsError, natsCredentialOptions } from '@sdmi/bus';
import { DEFAULT_NATS_URL, NatsConnectError, RdmpEnv, ServiceEnv, createLogger, hostInstanceId, type Logger } from '@sdmi/service';
import { CredentialsEnv, CredentialsMissingError, adminSeedFile, serviceCredentials } from './credentials';
import {
  ControlPlaneStartError,
  ControlPlaneStateError,
  ServiceExitedError,
  ServiceNotReadyError,
  SpawnError,
  UnknownServiceError,
} from './errors';
import { fileSize, tailFile } from './logs';
import { pidFilePath, removePidFile, writePidFile, type PidRecord } from './pidfile';
import { instancesTaken, prepareDatabase, waitUntilReady } from './readiness';
import { memberStatuses, type ServiceStatus } from './status';

/** The services `up` starts, in this order. */
export const SERVICE_NAMES = [
  'scheduler',
  'network-controller',
  'switch-agent',
  'metrics-collector',
  'dns-manager',
  'node-agent',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The repository root, three levels above this file (packages/controlplane/src). */
export const DEFAULT_ROOT_DIR = fileURLToPath(new URL('../../..', import.meta.url));

export interface ControlPlaneOptions {
  /** Repository root holding `services/<name>/src/main.ts`. */
  rootDir?: string;
  /** Logs go to `<runDir>/logs/<service>.log`, pids to `<runDir>/pids`. Default `<rootDir>/.sdmi`. */
  runDir?: string;
  /** Which services to run; default all of SERVICE_NAMES. */
  services?: readonly string[];
  /** Given to every service as SDMI_NATS_URL; default SDMI_NATS_URL, then nats://127.0.0.1:4222. */
  natsUrl?: string;
  /** Given to each service as SDMI_INSTANCE_ID; default the host name for all of them. */
  instanceId?: (service: string) => string;
  /** Extra environment for every service (over this process's). */
  env?: Readonly<Record<string, string>>;
  /**
   * A credentials directory (`sdmi auth init`): each service connects with its own seed from it and
   * turns access control on with its principals.json; the control plane itself connects as admin.
   */
  credentialsDir?: string;
  /** How long each service has to answer health with ready=true. Default 60 s. */
  readyTimeoutMs?: number;
  /** How long each service has to exit after SIGTERM before SIGKILL. Default 15 s. */
  stopTimeoutMs?: number;
  logger?: Logger;
  /** Called when a service process ends while the control plane did not ask it to. */
  onUnexpectedExit?: (exit: ProcessExit) => void;
}

export interface ManagedProcess {
  service: string;
  instance: string;
  pid: number;
  logFile: string;
}

export interface ProcessExit extends ManagedProcess {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopResult extends ProcessExit {
  /** It outlived the stop timeout and was killed with SIGKILL. */
  forced: boolean;
  /** Exited by itself with code 0. */
  clean: boolean;
}

export const ControlPlaneState = {
  created: 'created',
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  detached: 'detached',
} as const;
export type ControlPlaneState = (typeof ControlPlaneState)[keyof typeof ControlPlaneState];

interface Child extends ManagedProcess {
  process: ChildProcess;
  logStart: number;
  exited: ProcessExit | undefined;
  exit: Promise<ProcessExit>;
  stopping: boolean;
}

/**
 * Runs the SDMI services as local child processes: spawns each one, waits until it answers its
 * health endpoint with ready=true, reports status through the services framework, and stops them
 * with SIGTERM (SIGKILL after a timeout).
 */
export class ControlPlane {
  readonly rootDir: string;
  readonly runDir: string;
  readonly logDir: string;
  readonly pidFile: string;
  readonly services: readonly string[];
  readonly natsUrl: string;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly log: Logger;

  #options: ControlPlaneOptions;
  #state: ControlPlaneState = ControlPlaneState.created;
  #children: Child[] = [];
  #nc: NatsConnection | undefined;
  #stopPromise: Promise<StopResult[]> | undefined;

  constructor(options: ControlPlaneOptions = {}) {
    this.#options = options;
    this.rootDir = path.resolve(options.rootDir ?? DEFAULT_ROOT_DIR);
    this.runDir = path.resolve(options.runDir ?? path.join(this.rootDir, '.sdmi'));
    this.logDir = path.join(this.runDir, 'logs');
    this.pidFile = pidFilePath(this.runDir);
    this.services = options.services ?? SERVICE_NAMES;
    this.natsUrl = options.natsUrl ?? (process.env[ServiceEnv.natsUrl] || DEFAULT_NATS_URL);
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.log = options.logger ?? createLogger('controlplane', hostInstanceId());
    const missing = this.services.filter((s) => !existsSync(this.#mainOf(s)));
    if (missing.length > 0) throw new UnknownServiceError(missing, this.#availableServices());
  }

  get state(): ControlPlaneState {
    return this.#state;
  }

  get processes(): readonly ManagedProcess[] {
    return this.#children.map(({ service, instance, pid, logFile }) => ({ service, instance, pid, logFile }));
  }

  /**
   * Spawns every service and resolves with the status table once all are ready. If one does not
   * come up, all are stopped again and a ControlPlaneStartError lists each failure with its log.
   */
  async start(): Promise<ServiceStatus[]> {
    if (this.#state !== ControlPlaneState.created) {
      throw new ControlPlaneStateError(`start() called when ${this.#state}`, this.#state);
    }
    this.#state = ControlPlaneState.starting;
    try {
      // Before connecting: a directory without the files a service needs is refused up front.
      const dir = this.#options.credentialsDir;
      if (dir) for (const s of this.services) serviceCredentials(dir, s, { ...process.env, ...this.#options.env });
      const credentials = dir ? natsCredentialOptions({ [NatsCredentialsEnv.nkeySeedFile]: adminSeedFile(dir) }) : {};
      this.#nc = await connect({ servers: this.natsUrl.split(','), name: `controlplane/${hostInstanceId()}-${process.pid}`, ...credentials });
    } catch (err) {
      this.#state = ControlPlaneState.stopped;
      if (err instanceof CredentialsMissingError || err instanceof NatsCredentialsError) throw err;
      throw new NatsConnectError(this.natsUrl, { cause: err });
    }
    await mkdir(this.logDir, { recursive: true });
    // The services keep their task records there; it must exist before the first one starts.
    try {
      await prepareDatabase(this.#options.env?.[RdmpEnv.pgUrl] ?? process.env[RdmpEnv.pgUrl], this.log);
    } catch (err) {
      this.#state = ControlPlaneState.stopped;
      await this.#nc.close();
      throw err;
    }
    const failures: Error[] = [];
    // A health answer must come from our child, so nothing else may hold an instance's subject.
    const taken = await instancesTaken(this.#nc, this.services.map((service) => ({ service, instance: this.#instanceOf(service) })));
    if (taken.length > 0) {
      this.#state = ControlPlaneState.stopped;
      await this.#nc.close();
      throw new ControlPlaneStartError(taken);
    }
    for (const service of this.services) {
      try {
        this.#children.push(await this.#spawn(service));
      } catch (err) {
        failures.push(err as Error);
        break;
      }
    }
    if (failures.length === 0) {
      // Written before waiting, so `down` can clean up even if this process dies meanwhile.
      await writePidFile(this.pidFile, this.#pidRecords());
      const outcomes = await Promise.allSettled(this.#children.map((c) => this.#waitReady(c)));
      for (const o of outcomes) if (o.status === 'rejected') failures.push(o.reason as Error);
    }
    if (failures.length > 0) {
      this.#state = ControlPlaneState.running; // so stop() does its work
      await this.stop();
      throw new ControlPlaneStartError(failures);
    }
    this.#state = ControlPlaneState.running;
    this.log.info({ services: this.processes }, 'control plane ready');
    return this.status();
  }

  /** The status table, from `$SRV.INFO` and each instance's health; exited processes included. */
  async status(): Promise<ServiceStatus[]> {
    const nc = this.#nc;
    if (nc === undefined || nc.isClosed()) throw new ControlPlaneStateError('status() needs a started control plane', this.#state);
    return memberStatuses(
      nc,
      this.#children.map((c) => ({
        service: c.service,
        instance: c.instance,
        pid: c.pid,
        exitDetail: c.exited ? (c.exited.signal ? `signal ${c.exited.signal}` : `code ${c.exited.code}`) : undefined,
      })),
    );
  }

  /**
   * SIGTERM to every service, SIGKILL to those still running after stopTimeoutMs; resolves with
   * how each ended. Idempotent. Removes the pids file once all are gone.
   */
  stop(): Promise<StopResult[]> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  /**
   * Leaves the services running on their own (they are in their own process groups and write to
   * their log files) and lets this process exit. The pids file stays for `down`.
   */
  async detach(): Promise<void> {
    if (this.#state !== ControlPlaneState.running) throw new ControlPlaneStateError(`detach() called when ${this.#state}`, this.#state);
    this.#state = ControlPlaneState.detached;
    for (const c of this.#children) {
      c.process.removeAllListeners('exit');
      c.process.unref();
    }
    await this.#nc?.close();
  }

  async #stop(): Promise<StopResult[]> {
    if (this.#state === ControlPlaneState.created || this.#state === ControlPlaneState.detached) {
      this.#state = ControlPlaneState.stopped;
      return [];
    }
    this.#state = ControlPlaneState.stopping;
    const results = await Promise.all(this.#children.map((c) => this.#stopChild(c)));
    await this.#nc?.close().catch(() => undefined);
    await removePidFile(this.pidFile);
    this.#state = ControlPlaneState.stopped;
    this.log.info({ results }, 'control plane stopped');
    return results;
  }

  async #stopChild(c: Child): Promise<StopResult> {
    c.stopping = true;
    if (c.exited) return { ...c.exited, forced: false, clean: false };
    signalGroup(c, 'SIGTERM', false);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
    });
    const first = await Promise.race([c.exit, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return { ...first, forced: false, clean: first.code === 0 && first.signal === null };
    this.log.warn({ service: c.service, pid: c.pid, timeoutMs: this.stopTimeoutMs }, 'no exit after SIGTERM; sending SIGKILL');
    signalGroup(c, 'SIGKILL', true);
    return { ...(await c.exit), forced: true, clean: false };
  }

  /** SDMI_NATS_NKEY_SEED_FILE and SDMI_PRINCIPALS_FILE of `service`, when there is a credentials directory. */
  #credentialEnv(service: string): Record<string, string> {
    const dir = this.#options.credentialsDir;
    if (!dir) return {};
    const c = serviceCredentials(dir, service, { ...process.env, ...this.#options.env });
    return { [CredentialsEnv.seedFile]: c.seedFile, [CredentialsEnv.principalsFile]: c.principalsFile };
  }

  async #spawn(service: string): Promise<Child> {
    const instance = this.#instanceOf(service);
    const logFile = path.join(this.logDir, `${service}.log`);
    const logStart = await fileSize(logFile);
    const fd = openSync(logFile, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(process.execPath, ['--import', tsxLoader(), this.#mainOf(service)], {
        cwd: this.rootDir,
        env: {
          ...process.env,
          ...this.#options.env,
          [ServiceEnv.natsUrl]: this.natsUrl,
          [ServiceEnv.instanceId]: instance,
          ...this.#credentialEnv(service),
        },
        stdio: ['ignore', fd, fd],
        // Its own process group: a Ctrl-C in our terminal reaches only us, and we stop the services
        // in order; after detach() they keep running without us.
        detached: true,
      });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    const spawned = await new Promise<Error | undefined>((resolve) => {
      proc.once('spawn', () => resolve(undefined));
      proc.once('error', resolve);
    });
    if (spawned !== undefined || proc.pid === undefined) throw new SpawnError(service, { cause: spawned ?? new Error('no pid') });
    const child: Child = {
      service,
      instance,
      pid: proc.pid,
      logFile,
      process: proc,
      logStart,
      exited: undefined,
      stopping: false,
      exit: new Promise<ProcessExit>((resolve) => {
        proc.once('exit', (code, signal) => {
          child.exited = { service, instance, pid: proc.pid!, logFile, code, signal };
          if (!child.stopping && this.#state === ControlPlaneState.running) {
            this.log.error(child.exited, 'service exited unexpectedly');
            this.#options.onUnexpectedExit?.(child.exited);
          }
          resolve(child.exited);
        });
      }),
    };
    this.log.info({ service, instance, pid: proc.pid, logFile }, 'spawned');
    return child;
  }

  async #waitReady(c: Child): Promise<void> {
    const outcome = await waitUntilReady(this.#nc!, c.service, c.instance, { timeoutMs: this.readyTimeoutMs, exited: () => c.exited !== undefined, exit: c.exit });
    if (outcome.kind === 'exited') {
      throw new ServiceExitedError(c.service, c.instance, c.exited!.code, c.exited!.signal, c.logFile, await tailFile(c.logFile, c.logStart));
    }
    if (outcome.kind === 'timeout') {
      throw new ServiceNotReadyError(c.service, c.instance, this.readyTimeoutMs, outcome.lastProblem, c.logFile, await tailFile(c.logFile, c.logStart));
    }
    this.log.info({ service: c.service, instance: c.instance, pid: c.pid }, 'ready');
  }

  #instanceOf(service: string): string {
    return this.#options.instanceId?.(service) ?? hostInstanceId();
  }

  #pidRecords(): PidRecord[] {
    return this.#children.map(({ pid, service, instance }) => ({ pid, service, instance }));
  }

  #mainOf(service: string): string {
    return path.join(this.rootDir, 'services', service, 'src', 'main.ts');
  }

  #availableServices(): string[] {
    try {
      return readdirSync(path.join(this.rootDir, 'services')).filter((s) => existsSync(this.#mainOf(s)));
    } catch {
      return [];
    }
  }
}

/** The tsx ESM loader, resolved from this package so services start whatever the cwd is. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

function signalGroup(c: Child, signal: NodeJS.Signals, wholeGroup: boolean): void {
  try {
    // SIGTERM goes to the service itself so it shuts down in order; SIGKILL to its whole group so
    // nothing it started survives.
    process.kill(wholeGroup ? -c.pid : c.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
