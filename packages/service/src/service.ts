import { connect } from '@nats-io/transport-node';
import { Empty, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { AccessEnv } from '@sdmi/access';
import { NatsCredentialsEnv, bindSigner, natsCredentials } from '@sdmi/bus';
import { contracts, type HealthReply } from '@sdmi/contracts';
import { findUnknownEnv, loadServiceConfig, type ServiceConfig } from './config';
import { RdmpEnv } from './rdmp';
import {
  DuplicateInstanceError,
  EndpointError,
  ErrorCode,
  InvalidConfigError,
  NatsConnectError,
  ServiceStartError,
  ServiceStateError,
  ServiceStopError,
  StopTimeoutError,
  messageOf,
  type ErrorInfo,
} from './errors';
import { frameworkEndpointStats } from './framework';
import { decodeJsonRequest, encodeJson, isNoResponders } from './json';
import { createLogger, type Logger } from './logger';
import { HEALTH_ENDPOINT, endpointSubject, healthSubject, instanceSubject } from './subjects';

export const ServiceState = {
  created: 'created',
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
} as const;
export type ServiceState = (typeof ServiceState)[keyof typeof ServiceState];

/** Process exit codes of runUntilSignal(), so a supervisor can tell why a service ended. */
export const ExitCode = {
  ok: 0,
  startFailed: 1,
  stopFailed: 2,
  stopTimedOut: 3,
  connectionLost: 4,
  /** A second signal arrived while stopping: the operator asked to stop waiting. */
  forced: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface SdmiServiceOptions {
  /** The service kind: a NATS subject token, e.g. `scheduler`. */
  name: string;
  /** Semantic version, as the services framework requires. */
  version: string;
  /** One line: what the service is for. Shown by `$SRV.INFO`. */
  description: string;
  /** Extra `$SRV` metadata; `instance` and `pid` are always added by the runtime. */
  metadata?: Record<string, string>;
  /** Where SDMI_* settings are read from; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Settings used when the environment does not give one (e.g. node-agent's per-host instance id). */
  defaults?: Partial<ServiceConfig>;
  /** Other SDMI_* variables this process reads, so they are not reported as unknown. */
  knownEnv?: readonly string[];
  /** Defaults to createLogger(name, instanceId). */
  logger?: Logger;
}

export interface ReadinessOutcome {
  ok: boolean;
  detail?: string;
}
/** Resolving (with nothing or true) means ready; false, `{ ok: false }` or throwing means not. */
export type ReadinessCheck = () => Promise<ReadinessOutcome | boolean | void> | ReadinessOutcome | boolean | void;

export interface ReadinessCheckOptions {
  /** A failing optional check marks the service degraded but still ready. Default true. */
  required?: boolean;
}

/** The health endpoint's reply: the HealthReply contract of schemas/service. */
export type { HealthReply };
export type HealthCheckResult = HealthReply['checks'][number];

export const EndpointScope = {
  /** `sdmi.svc.<service>.<name>`, load-balanced over all instances (queue group). */
  service: 'service',
  /** `sdmi.svc.<service>.<instance>.<name>`, this instance only. */
  instance: 'instance',
} as const;
export type EndpointScope = (typeof EndpointScope)[keyof typeof EndpointScope];

export interface RequestContext {
  subject: string;
  headers: MsgHdrs | undefined;
  log: Logger;
  /** The raw message, for what the JSON helpers do not cover. */
  msg: ServiceMsg;
}

export interface EndpointSpec<Req = unknown, Res = unknown> {
  /** Overrides the subject that `scope` would give (e.g. a contract subject like `sdmi.cmd.scheduler`). */
  subject?: string;
  /** Default `service`. */
  scope?: EndpointScope;
  /** Queue group; defaults to the framework's (`q`). Ignored meaning for instance-scoped subjects. */
  queue?: string;
  metadata?: Record<string, string>;
  /**
   * The handler gets the request's bytes as they came (a Uint8Array), unparsed: for endpoints
   * that must judge the bytes themselves (size, JSON) and answer in their own contract's shape.
   */
  raw?: boolean;
  /**
   * Turns the parsed JSON body into the request (validate here). Throw EndpointError for a
   * specific reply; anything else thrown becomes INVALID_REQUEST.
   */
  decode?: (body: unknown) => Req;
  /** Its return value is the JSON reply; throw EndpointError to reply with an error. */
  handler: (request: Req, ctx: RequestContext) => Promise<Res> | Res;
}

export interface RegisteredEndpoint {
  name: string;
  subject: string;
}

export interface StartContext {
  nc: NatsConnection;
  log: Logger;
  service: SdmiService;
}
/** Runs after NATS is connected and before endpoints are served; may return its own stop hook. */
export type StartHook = (ctx: StartContext) => Promise<StopHook | void> | StopHook | void;
export type StopHook = () => Promise<void> | void;

export interface RunOptions {
  signals?: readonly NodeJS.Signals[];
  /** Defaults to process.exit; tests pass their own. */
  exit?: (code: ExitCode) => void;
}

interface EndpointEntry {
  name: string;
  subject: string;
  queue: string | undefined;
  metadata: Record<string, string> | undefined;
  spec: EndpointSpec<any, any>;
}

const ENDPOINT_NAME = /^[A-Za-z0-9_-]+$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * The runtime every SDMI service is composed on: one NATS connection, registration with the NATS
 * services framework (`$SRV.PING|INFO|STATS`), a per-instance health endpoint with pluggable
 * readiness checks, JSON endpoints, and an orderly, idempotent shutdown.
 */
export class SdmiService {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly config: ServiceConfig;
  readonly instanceId: string;
  readonly log: Logger;
  readonly healthSubject: string;

  #state: ServiceState = ServiceState.created;
  #metadata: Record<string, string>;
  #env: Readonly<Record<string, string | undefined>>;
  #knownEnv: readonly string[];
  #nc: NatsConnection | undefined;
  #framework: Service | undefined;
  #endpoints = new Map<string, EndpointEntry>();
  #checks = new Map<string, { check: ReadinessCheck; required: boolean }>();
  #startHooks: { name: string; hook: StartHook }[] = [];
  #stopStack: { name: string; hook: StopHook }[] = [];
  #inflight = new Set<Promise<void>>();
  #startedAt = 0;
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #onConnectionLost: ((err: unknown) => void) | undefined;

  constructor(options: SdmiServiceOptions) {
    const problems = [];
    if (!SERVICE_NAME.test(options.name)) {
      problems.push({ key: 'name', value: options.name, reason: 'must be lower-case letters, digits and "-", starting with a letter', source: 'option' as const });
    }
    if (!SEMVER.test(options.version)) {
      problems.push({ key: 'version', value: options.version, reason: 'must be a semantic version such as 1.2.3', source: 'option' as const });
    }
    if (problems.length > 0) throw new InvalidConfigError(problems);
    this.name = options.name;
    this.version = options.version;
    this.description = options.description;
    this.#env = options.env ?? process.env;
    // The RDMP attachment's variables belong to this package too.
    this.#knownEnv = [...Object.values(RdmpEnv), ...Object.values(NatsCredentialsEnv), ...Object.values(AccessEnv), ...(options.knownEnv ?? [])];
    this.config = loadServiceConfig(this.#env, options.defaults);
    this.instanceId = this.config.instanceId;
    this.log = options.logger ?? createLogger(this.name, this.instanceId, { level: this.config.logLevel });
    this.healthSubject = healthSubject(this.name, this.instanceId);
    // The runtime's keys win: the control plane finds its children by them.
    this.#metadata = { ...options.metadata, instance: this.instanceId, pid: String(process.pid) };
  }

  get state(): ServiceState {
    return this.#state;
  }

  /** The connection, for composed packages (JetStream consumers, publishers). Only while started. */
  get nc(): NatsConnection {
    if (this.#nc === undefined) throw new ServiceStateError(`${this.name}: no NATS connection before start()`, this.#state);
    return this.#nc;
  }

  /** The id the services framework gave this instance (shown as `id` by `$SRV.*`). */
  get frameworkId(): string | undefined {
    return this.#framework?.info().id;
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.#metadata;
  }

  addReadinessCheck(name: string, check: ReadinessCheck, options: ReadinessCheckOptions = {}): this {
    this.#assertConfigurable('addReadinessCheck');
    if (this.#checks.has(name)) throw new ServiceStateError(`${this.name}: readiness check "${name}" is already registered`, this.#state);
    this.#checks.set(name, { check, required: options.required ?? true });
    return this;
  }

  /**
   * Adds a JSON endpoint. Before start() it is served once start() resolves; after start() it is
   * subscribed at once (await `nc.flush()` before telling another connection to use it).
   */
  addEndpoint<Req = unknown, Res = unknown>(name: string, spec: EndpointSpec<Req, Res>): RegisteredEndpoint {
    this.#assertConfigurable('addEndpoint');
    if (!ENDPOINT_NAME.test(name)) {
      throw new InvalidConfigError([{ key: 'endpoint', value: name, reason: 'must be letters, digits, "-" or "_"', source: 'option' }]);
    }
    if (name === HEALTH_ENDPOINT || this.#endpoints.has(name)) {
      throw new ServiceStateError(`${this.name}: endpoint "${name}" is already registered`, this.#state);
    }
    const subject =
      spec.subject ??
      (spec.scope === EndpointScope.instance ? instanceSubject(this.name, this.instanceId, name) : endpointSubject(this.name, name));
    const entry: EndpointEntry = { name, subject, queue: spec.queue, metadata: spec.metadata, spec };
    this.#endpoints.set(name, entry);
    if (this.#framework !== undefined) this.#serve(this.#framework, entry);
    return { name, subject };
  }

  onStart(name: string, hook: StartHook): this {
    if (this.#state !== ServiceState.created) throw new ServiceStateError(`${this.name}: onStart("${name}") after start()`, this.#state);
    this.#startHooks.push({ name, hook });
    return this;
  }

  /** Stop hooks run in reverse order of registration, before the NATS connection is drained. */
  onStop(name: string, hook: StopHook): this {
    this.#assertConfigurable('onStop');
    this.#stopStack.push({ name, hook });
    return this;
  }

  /** Connects, runs start hooks, registers with the services framework and serves endpoints. */
  start(): Promise<void> {
    if (this.#state !== ServiceState.created) {
      return Promise.reject(new ServiceStateError(`${this.name}: start() called when ${this.#state}`, this.#state));
    }
    this.#state = ServiceState.starting;
    this.#startPromise = this.#start();
    return this.#startPromise;
  }

  /**
   * Stops serving, waits for requests in flight, runs stop hooks (reverse order), drains and
   * closes the connection. Safe to call any number of times, from any state: every call gets the
   * same outcome.
   */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  /** Runs the readiness checks now. */
  async health(): Promise<HealthReply> {
    const timeoutMs = this.config.checkTimeoutMs;
    const entries = [...this.#checks];
    const results = await Promise.all(entries.map(([name, { check }]) => runCheck(name, check, timeoutMs)));
    const checks: HealthCheckResult[] = [];
    let ready = true;
    if (this.#state !== ServiceState.running) {
      checks.push({ name: 'lifecycle', ok: false, detail: this.#state });
      ready = false;
    }
    results.forEach((result, i) => {
      checks.push(result);
      if (!result.ok && entries[i]![1].required) ready = false;
    });
    return contracts().assert('HealthReply', {
      status: checks.every((c) => c.ok) ? 'ok' : 'degraded',
      ready,
      checks,
      instance: this.instanceId,
      uptimeSeconds: this.#startedAt === 0 ? 0 : Math.round((Date.now() - this.#startedAt) / 100) / 10,
    });
  }

  /**
   * Starts, then stops on SIGTERM/SIGINT and exits: 0 after a clean stop, non-zero (ExitCode) when
   * start or stop fails, stop outlasts SDMI_STOP_TIMEOUT_MS, the connection is lost for good, or a
   * second signal arrives while stopping. Resolves once started.
   */
  async runUntilSignal(options: RunOptions = {}): Promise<void> {
    const exit = options.exit ?? ((code: ExitCode) => process.exit(code));
    const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    let shuttingDown = false;
    const shutdown = async (reason: string, cleanCode: ExitCode) => {
      shuttingDown = true;
      this.log.info({ reason }, 'shutting down');
      const timeoutMs = this.config.stopTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StopTimeoutError(this.name, timeoutMs)), timeoutMs);
      });
      try {
        await Promise.race([this.stop(), deadline]);
        this.log.info({ exitCode: cleanCode }, 'stopped');
        exit(cleanCode);
      } catch (err) {
        const code = err instanceof StopTimeoutError ? ExitCode.stopTimedOut : ExitCode.stopFailed;
        this.log.error({ err, exitCode: code }, 'stop failed');
        exit(code);
      } finally {
        clearTimeout(timer);
      }
    };
    for (const signal of signals) {
      process.on(signal, () => {
        if (shuttingDown) {
          this.log.warn({ signal, exitCode: ExitCode.forced }, 'second signal while stopping; exiting now');
          exit(ExitCode.forced);
          return;
        }
        void shutdown(signal, ExitCode.ok);
      });
    }
    this.#onConnectionLost = (err) => {
      if (!shuttingDown) void shutdown(`NATS connection closed: ${messageOf(err)}`, ExitCode.connectionLost);
    };
    try {
      await this.start();
    } catch (err) {
      if (shuttingDown) return; // a signal during start: shutdown() decides the exit code
      this.log.fatal({ err, exitCode: ExitCode.startFailed }, 'start failed');
      exit(ExitCode.startFailed);
    }
  }

  async #start(): Promise<void> {
    this.#startedAt = Date.now();
    for (const { key, suggestion } of findUnknownEnv(this.#env, this.#knownEnv)) {
      this.log.warn({ key, suggestion }, suggestion ? `unknown environment variable ${key} ignored; did you mean ${suggestion}?` : `unknown environment variable ${key} ignored`);
    }
    let nc: NatsConnection;
    // Read before connecting: an unusable seed file is a configuration error, not a NATS one.
    let credentials: ReturnType<typeof natsCredentials>;
    try {
      credentials = natsCredentials(this.#env);
    } catch (err) {
      this.#state = ServiceState.stopped;
      throw err;
    }
    try {
      nc = await connect({
        servers: this.config.natsUrl.split(','),
        name: `${this.name}/${this.instanceId}`,
        // A service outlives NATS restarts; it gives up only when the connection is closed for it.
        maxReconnectAttempts: -1,
        // SDMI_NATS_NKEY_SEED_FILE / SDMI_NATS_TLS_CA: the service's own principal (docs/security.md).
        ...credentials.options,
      });
    } catch (err) {
      this.#state = ServiceState.stopped;
      throw new NatsConnectError(this.config.natsUrl, { cause: err });
    }
    this.#nc = nc;
    // Its requests (submits, queries) are signed by the key it authenticated with.
    if (credentials.signer) bindSigner(nc, credentials.signer);
    this.#watchConnection(nc);
    try {
      await this.#assertUniqueInstance(nc);
      for (const { name, hook } of this.#startHooks) {
        let stopHook: StopHook | void;
        try {
          stopHook = await hook({ nc, log: this.log, service: this });
        } catch (err) {
          throw new ServiceStartError(this.name, `start hook "${name}"`, { cause: err });
        }
        if (typeof stopHook === 'function') this.#stopStack.push({ name, hook: stopHook });
      }
      try {
        this.#framework = await new Svcm(nc).add({
          name: this.name,
          version: this.version,
          description: this.description,
          metadata: this.#metadata,
        });
        this.#serveHealth(this.#framework);
        for (const entry of this.#endpoints.values()) this.#serve(this.#framework, entry);
        // Subscribing only queues SUBs; once the server has answered a PING it has them all, so a
        // request from another connection made after start() resolves finds its responder.
        await nc.flush();
      } catch (err) {
        throw new ServiceStartError(this.name, 'services framework registration', { cause: err });
      }
    } catch (err) {
      const failures = await this.#teardown();
      for (const f of failures) this.log.error({ err: f.error, step: f.step }, 'cleanup after failed start');
      this.#state = ServiceState.stopped;
      throw err;
    }
    this.#state = ServiceState.running;
    this.log.info(
      { version: this.version, nats: nc.getServer(), framework: this.#framework.info().id, health: this.healthSubject },
      'started',
    );
  }

  async #stop(): Promise<void> {
    if (this.#state === ServiceState.created) {
      this.#state = ServiceState.stopped;
      return;
    }
    if (this.#state === ServiceState.starting) {
      // Let start finish (or fail and clean up after itself) so nothing it opens is leaked.
      await this.#startPromise?.catch(() => undefined);
    }
    if (this.#state === ServiceState.stopped) return;
    this.#state = ServiceState.stopping;
    this.log.info('stopping');
    const failures = await this.#teardown();
    this.#state = ServiceState.stopped;
    if (failures.length > 0) throw new ServiceStopError(this.name, failures);
  }

  /** Undo whatever start got to; never throws, returns what failed. */
  async #teardown(): Promise<{ step: string; error: unknown }[]> {
    const failures: { step: string; error: unknown }[] = [];
    if (this.#framework !== undefined) {
      // Drains the endpoint and $SRV subscriptions: no new requests, queued ones are delivered.
      const err = await this.#framework.stop().catch((e: unknown) => e);
      if (err instanceof Error) failures.push({ step: 'services framework stop', error: err });
    }
    await Promise.allSettled([...this.#inflight]);
    for (const { name, hook } of [...this.#stopStack].reverse()) {
      try {
        await hook();
      } catch (err) {
        failures.push({ step: `stop hook "${name}"`, error: err });
      }
    }
    const nc = this.#nc;
    if (nc !== undefined && !nc.isClosed()) {
      try {
        // Hooks ran first because they may still need the connection (acks, final publishes).
        await nc.drain();
      } catch (err) {
        failures.push({ step: 'NATS drain', error: err });
        await nc.close().catch(() => undefined);
      }
    }
    return failures;
  }

  #watchConnection(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.log.warn({ server: s.server }, 'NATS disconnected');
        else if (s.type === 'reconnect') this.log.info({ server: s.server }, 'NATS reconnected');
        else if (s.type === 'error') this.log.error({ err: s.error }, 'NATS error');
      }
    })().catch(() => undefined);
    void nc.closed().then((err) => {
      if (this.#state === ServiceState.running) {
        this.log.error({ err }, 'NATS connection closed unexpectedly');
        this.#onConnectionLost?.(err ?? new Error('closed'));
      }
    });
  }

  async #assertUniqueInstance(nc: NatsConnection): Promise<void> {
    try {
      await nc.request(this.healthSubject, Empty, { timeout: this.config.checkTimeoutMs });
    } catch (err) {
      if (isNoResponders(err)) return;
    }
    // Something answered or at least listens: two instances with one id would split health replies.
    throw new DuplicateInstanceError(this.name, this.instanceId, this.healthSubject);
  }

  #serveHealth(framework: Service): void {
    framework.addEndpoint(HEALTH_ENDPOINT, {
      subject: this.healthSubject,
      metadata: { kind: 'health' },
      handler: (err, msg) => {
        if (err) return;
        this.#track(
          this.health().then(
            (reply) => void msg.respond(JSON.stringify(reply)),
            (e: unknown) => void this.#replyError(msg, HEALTH_ENDPOINT, e),
          ),
        );
      },
    });
  }

  #serve(framework: Service, entry: EndpointEntry): void {
    framework.addEndpoint(entry.name, {
      subject: entry.subject,
      ...(entry.queue !== undefined ? { queue: entry.queue } : {}),
      ...(entry.metadata !== undefined ? { metadata: entry.metadata } : {}),
      handler: (err, msg) => {
        if (err) return; // the framework stops the service itself on a subscription error
        const t0 = Date.now();
        let syncMs = 0;
        const done: Promise<void> = this.#handle(entry, msg).then((failed) => {
          const stats = frameworkEndpointStats(framework, entry.name);
          // The framework times only the synchronous part of a handler; add the asynchronous rest.
          stats?.addProcessingTime(Date.now() - t0 - syncMs);
          if (failed) stats?.countError(failed);
        });
        syncMs = Date.now() - t0;
        this.#track(done);
      },
    });
  }

  /** Resolves to the error replied with, if any; never rejects. */
  async #handle(entry: EndpointEntry, msg: ServiceMsg): Promise<Error | undefined> {
    try {
      const body = entry.spec.raw ? msg.data : decodeJsonRequest(msg.data);
      let request: unknown = body;
      if (entry.spec.decode) {
        try {
          request = entry.spec.decode(body);
        } catch (err) {
          throw err instanceof EndpointError
            ? err
            : new EndpointError({ code: ErrorCode.INVALID_REQUEST, message: messageOf(err) }, { status: 400, cause: err });
        }
      }
      const result = await entry.spec.handler(request, { subject: msg.subject, headers: msg.headers, log: this.log, msg });
      if (msg.reply) msg.respond(encodeJson(result));
      return undefined;
    } catch (err) {
      return this.#replyError(msg, entry.name, err);
    }
  }

  #replyError(msg: ServiceMsg, endpoint: string, err: unknown): Error {
    let status: number;
    let info: ErrorInfo;
    if (err instanceof EndpointError) {
      status = err.status;
      info = err.info;
      this.log.debug({ endpoint, code: info.code, status }, info.message);
    } else {
      status = 500;
      info = { code: ErrorCode.INTERNAL, message: messageOf(err) };
      this.log.error({ err, endpoint }, 'endpoint handler failed');
    }
    if (msg.reply) msg.respondError(status, info.message, JSON.stringify({ error: info }));
    return err instanceof Error ? err : new Error(info.message);
  }

  #track(p: Promise<void>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  #assertConfigurable(what: string): void {
    if (this.#state === ServiceState.stopping || this.#state === ServiceState.stopped) {
      throw new ServiceStateError(`${this.name}: ${what}() after stop()`, this.#state);
    }
  }
}

async function runCheck(name: string, check: ReadinessCheck, timeoutMs: number): Promise<HealthCheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthCheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ name, ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const run = (async (): Promise<HealthCheckResult> => {
    try {
      const outcome = await check();
      if (outcome === undefined || outcome === true) return { name, ok: true };
      if (outcome === false) return { name, ok: false };
      return outcome.detail === undefined ? { name, ok: outcome.ok } : { name, ok: outcome.ok, detail: outcome.detail };
    } catch (err) {
      return { name, ok: false, detail: messageOf(err) };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
