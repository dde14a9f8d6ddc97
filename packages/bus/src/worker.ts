import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/nats-core';
import { contracts as sharedContracts, type Contracts, type ErrorInfo, type FollowEventsReply, type Principal, type SubmitReply, type Task, type TaskStatusEvent } from '@sdmi/contracts';
import type { Pool } from 'pg';
import pino, { type Logger } from 'pino';
import { inboxPrefixFor } from './credentials';
import { ErrorCodes, toErrorInfo } from './errors';
import { EventFeed, mayRead } from './event-feed';
import { isTransaction, TaskModes, type Handler, type JsonObject, type TaskMode, type TypedTask } from './handlers';
import { KeyedQueue } from './keyed-queue';
import { migrate } from './migrate';
import { ConsumerLease } from './lease';
import { TaskStore } from './store';
import { ensureStreams, resetConsumer } from './streams';
import type { ReadScope } from './query';
import { BusNames } from './subjects';
import { TransactionRunner, type StepEvent } from './transaction';

export type Authorize = (task: Task) => ErrorInfo | void | Promise<ErrorInfo | void>;

/** A request as it arrived: what a signature covers (subject, bytes) and where it travels (headers). */
export interface SignedRequest {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers?: MsgHdrs;
}

export type Authentication =
  /** `publicKey`: the key that signed, when the principal was proved by one (its inbox is `_INBOX.<key>`). */
  | { readonly ok: true; readonly principal: Principal; readonly publicKey?: string }
  /** `claimed`: who the request says it is from (a key, a name), for the audit; never trusted. */
  | { readonly ok: false; readonly error: ErrorInfo; readonly claimed?: string };

/** Who sent a request, proved (a signature checked against known keys), never read from its body. */
export type Authenticate = (request: SignedRequest) => Authentication;

/** One admission decision of the gateway: the task as it would run, and why it was refused. */
export interface AdmissionRecord {
  readonly task: Task;
  readonly accepted: boolean;
  readonly error?: ErrorInfo;
}

/** Records an admission decision durably; if it throws, the task is refused (UNAVAILABLE). */
export type Audit = (record: AdmissionRecord) => Promise<void>;

export interface RdmpWorkerOptions {
  nc: NatsConnection;
  pool: Pool;
  /** Connection string of the pool's database: the consumer lease holds a session of its own. */
  dbUrl: string;
  /** The service kind whose tasks this worker executes. */
  service: string;
  /** This instance's id; names its broadcast consumer and its broadcast task records. */
  endpoint?: string;
  handlers: readonly Handler[];
  names?: BusNames;
  contracts?: Contracts;
  log?: Logger;
  /** How many resource keys are worked on at once. */
  concurrency?: number;
  /** Consume queued tasks (one endpoint of the service executes each). Default true. */
  queued?: boolean;
  /** Consume broadcast tasks (every endpoint executes each). Default false. */
  broadcast?: boolean;
  maxPayloadBytes?: number;
  ackWaitMs?: number;
  maxAckPending?: number;
  /** Whether the task's principal may do it; unset, everything is allowed. */
  authorize?: Authorize;
  /**
   * Who sent a submit. Unset, the principal is what the request says (or `anonymous`); set, an
   * unproved request is refused UNAUTHENTICATED and one naming another principal PRINCIPAL_MISMATCH.
   */
  authenticate?: Authenticate;
  /** Every submit that passed the envelope check, accepted or refused, is recorded here first. */
  audit?: Audit;
  /** What a follower of the event feed may read; unset, everything. */
  readScope?: ReadScope;
  /** The tenants a task is about (empty: the cluster's own), for the event feed; unset, none. */
  scopeOf?: (task: Task) => readonly string[];
  /** Fault injection for tests. */
  faults?: {
    /** Skip the ack after the effect committed, as a crash there would: JetStream redelivers. */
    loseAck?: (task: Task) => boolean;
    afterStep?: (task: Task, step: StepEvent) => void;
  };
}

const DEFAULT_MAX_PAYLOAD = 256 * 1024;
const RETRY_BASE_MS = 200;
const RETRY_MAX_MS = 5_000;

interface ConsumerPlan {
  stream: string;
  durable: string;
  /** '' for the queued consumer; this instance's id for its broadcast consumer. */
  endpoint: string;
  filter: string;
  newOnly: boolean;
  workQueue: boolean;
}

interface Held {
  msg: JsMsg;
  endpoint: string;
}

/**
 * The receiving side of RDMP for one service instance: validates and persists submitted commands
 * (the gateway), consumes them from JetStream, and executes them exactly once, strictly in order
 * per resource key and in parallel across keys. Multi-step tasks run as transactions with
 * compensation; start() first finishes whatever a crash left open.
 */
export class RdmpWorker {
  readonly names: BusNames;
  readonly endpoint: string;
  private readonly contracts: Contracts;
  private readonly log: Logger;
  private readonly handlers = new Map<string, Handler>();
  private readonly payloadSchemaIds = new Map<string, string>();
  private readonly queue: KeyedQueue<Held>;
  private readonly held = new Set<JsMsg>();
  private readonly inFlight = new Set<string>();
  private readonly stores = new Map<string, TaskStore>();
  private readonly runners = new Map<string, TransactionRunner>();
  private readonly subs: Subscription[] = [];
  private readonly iterators: ConsumerMessages[] = [];
  private readonly loops: Promise<void>[] = [];
  /** Submit and status requests being answered: stop() waits for them before it returns. */
  private readonly replies = new Set<Promise<void>>();
  /** A standby's take-over (reset, recovery, consume) that the lease poll started. */
  private takingOver?: Promise<void>;
  private js!: JetStreamClient;
  private keepAlive?: NodeJS.Timeout;
  private stopping = false;
  private lease?: ConsumerLease;
  private leader = false;
  private readonly counters = { delivered: 0, redelivered: 0, duplicates: 0, completed: 0, failed: 0, rejected: 0 };
  /** Who follows this worker's events through `<p>.follow` (see event-feed.ts). */
  private readonly feed: EventFeed;

  constructor(private readonly opts: RdmpWorkerOptions) {
    this.names = opts.names ?? new BusNames();
    this.endpoint = opts.endpoint ?? `${opts.service}-${randomUUID().slice(0, 8)}`;
    this.contracts = opts.contracts ?? sharedContracts();
    this.log = (opts.log ?? pino({ level: 'silent' })).child({ component: 'rdmp', service: opts.service, endpoint: this.endpoint });
    this.feed = new EventFeed({ nc: opts.nc, log: this.log });
    for (const h of opts.handlers) {
      if (this.handlers.has(h.kind)) throw new Error(`two handlers for kind "${h.kind}"`);
      this.handlers.set(h.kind, h);
      this.payloadSchemaIds.set(h.kind, typeof h.payloadSchema === 'string' ? h.payloadSchema : this.contracts.addSchema(h.payloadSchema));
      if (!this.contracts.has(this.payloadSchemaIds.get(h.kind)!)) throw new Error(`kind "${h.kind}": payload schema ${String(h.payloadSchema)} is not loaded`);
    }
    this.queue = new KeyedQueue<Held>(opts.concurrency ?? 16, (_key, held) => this.execute(held));
  }

  get service(): string {
    return this.opts.service;
  }

  /** `leader` consumes the service's queued tasks; a `standby` waits for the lease. */
  get role(): 'leader' | 'standby' {
    return this.leader || !(this.opts.queued ?? true) ? 'leader' : 'standby';
  }

  /**
   * Since start: messages taken from JetStream (and how many were redeliveries), deliveries of
   * tasks already recorded (applied nothing), and terminal outcomes.
   */
  get stats(): Readonly<typeof this.counters> {
    return { ...this.counters };
  }

  /** True once stop() began: by request, or because the consumer lease was lost. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Kinds this worker executes. */
  get kinds(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * Migrates the database, ensures streams and consumers, finishes open transactions, then
   * starts consuming. Does not answer submit/status requests: see serve() or the handlers.
   */
  async start(): Promise<void> {
    const { nc, pool } = this.opts;
    await migrate(pool);
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, this.names);
    this.js = jetstream(nc);
    this.listenForFollowers();
    const specs: ConsumerPlan[] = [];
    if (this.opts.broadcast) {
      specs.push({ stream: this.names.broadcastStream, durable: this.names.durableBroadcast(this.service, this.endpoint), endpoint: this.endpoint, filter: this.names.broadcast(this.service), newOnly: true, workQueue: false });
    }
    for (const c of specs) await this.consume(jsm, c);
    if (this.opts.queued ?? true) {
      const queued: ConsumerPlan = { stream: this.names.tasksStream, durable: this.names.durableQueued(this.service), endpoint: '', filter: this.names.queued(this.service), newOnly: false, workQueue: true };
      this.lease = new ConsumerLease(this.opts.dbUrl, `rdmp:${this.names.prefix}:${this.service}`, this.log);
      this.lease.onLost = (err) => {
        // Another instance may take over now: consuming on would break per-key order.
        this.log.fatal({ err }, 'consumer lease session lost; stopping this worker');
        void this.stop();
      };
      const takeOver = (): Promise<void> => {
        if (this.stopping) return Promise.resolve();
        // stop() waits for it, so nothing it starts outlives the pool and connection it uses.
        const run = (async () => {
          await this.consume(jsm, queued);
          if (!this.stopping) this.leader = true;
        })();
        this.takingOver = run;
        return run;
      };
      if (await this.lease.tryAcquire()) await takeOver();
      else {
        this.log.info('another instance holds the consumer lease; standing by');
        this.lease.waitFor(takeOver);
      }
    }
    if (this.stopping) return; // stop() came during start-up: leave no keep-alive timer behind it
    // Messages waiting behind a busy key must not time out into a redelivery.
    this.keepAlive = setInterval(() => {
      for (const m of this.held) {
        try {
          m.working();
        } catch (err) {
          // The connection is closed or draining: the message is redelivered and found recorded.
          this.log.warn({ err, seq: m.seq }, 'could not extend the ack wait of a held message');
        }
      }
    }, Math.max(500, Math.floor(this.ackWaitMs / 3)));
    this.keepAlive.unref();
    this.log.info({ kinds: this.kinds, role: this.role }, 'rdmp worker started');
  }

  private get ackWaitMs(): number {
    return this.opts.ackWaitMs ?? 30_000;
  }

  /** Resets the durable consumer to its ack floor, finishes what a crash left open, then consumes. */
  private async consume(jsm: JetStreamManager, c: ConsumerPlan): Promise<void> {
    const maxAckPending = this.opts.maxAckPending ?? 1_000;
    await resetConsumer(jsm, { stream: c.stream, durable: c.durable, filterSubject: c.filter, ackWaitMs: this.ackWaitMs, maxAckPending, deliverNewOnly: c.newOnly, workQueue: c.workQueue });
    // Recovery before consuming: redelivered messages of recovered tasks then find them terminal.
    await this.recover(c.endpoint);
    const consumer = await this.js.consumers.get(c.stream, c.durable);
    const iter = await consumer.consume({ max_messages: Math.min(maxAckPending, 512) });
    if (this.stopping) {
      // stop() came while this was being set up (a take-over): it has already closed the others.
      await iter.close().catch(() => undefined);
      return;
    }
    this.iterators.push(iter);
    this.loops.push(
      this.intake(iter, c.endpoint).catch((err: unknown) => {
        // The consumer failed for good (nothing consumes any more): say so and stop, as when the lease is lost.
        if (this.stopping) return;
        this.log.fatal({ err, stream: c.stream, durable: c.durable }, 'consuming tasks failed; stopping this worker');
        void this.stop();
      }),
    );
  }

  /** Answers submit and task-status requests on plain core-NATS queue subscriptions. */
  serve(): void {
    const { nc } = this.opts;
    this.subs.push(nc.subscribe(this.names.submit(this.service), { queue: this.service, callback: (_e, m) => this.reply(m, (d) => this.handleSubmit(d, m.headers)) }));
    this.subs.push(nc.subscribe(this.names.taskStatus(this.service), { queue: this.service, callback: (_e, m) => this.reply(m, (d) => this.handleStatusQuery(d, m.headers)) }));
  }

  /**
   * The event feed's requests, from start() on whoever answers submits (serve() or a service's
   * framework endpoints). No queue group: every instance executes tasks, so each must hear a follower.
   */
  private listenForFollowers(): void {
    this.subs.push(
      this.opts.nc.subscribe(this.names.follow, {
        callback: (err, m) => {
          if (err) {
            // Credentials made before the feed existed may not subscribe here: no feed, all else works.
            this.log.warn({ err, subject: this.names.follow }, 'cannot hear event-feed followers (regenerate the credentials: sdmi auth init)');
            return;
          }
          if (!m.reply) return; // nobody to tell whether it is followed: not a follower
          this.reply(m, (d) => this.handleFollow(d, m.headers));
        },
      }),
    );
  }

  private reply(m: Msg, handler: (data: Uint8Array) => Promise<unknown>): void {
    const respond = (body: unknown) => {
      try {
        m.respond(JSON.stringify(body));
      } catch (err) {
        // The connection closed meanwhile: the requester times out and resends.
        this.log.warn({ err, subject: m.subject }, 'could not answer a request');
      }
    };
    const done: Promise<void> = handler(m.data)
      .then(
        (r) => respond(r),
        (err: unknown) => {
          this.log.error({ err }, 'request handler failed');
          respond({ ok: false, error: toErrorInfo(err, ErrorCodes.Unavailable) });
        },
      )
      .finally(() => this.replies.delete(done));
    this.replies.add(done);
  }

  /**
   * The event feed: a FollowEventsRequest from a principal that may not subscribe to the event
   * subjects. Checked like a submit (size, JSON, schema, signature), and the inbox must be the
   * asker's own; what it may read is decided now, from its bindings, and again at every renewal.
   */
  async handleFollow(data: Uint8Array, headers?: MsgHdrs): Promise<FollowEventsReply> {
    const who = { service: this.service, endpoint: this.endpoint };
    const no = (error: ErrorInfo): FollowEventsReply => ({ ok: false, ...who, error });
    if (data.length > 4096) return no({ code: ErrorCodes.PayloadTooLarge, message: `follow request is ${data.length} bytes; the limit is 4096 bytes`, path: '/', rule: 'maxBytes' });
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch (err) {
      return no({ code: ErrorCodes.NotJson, message: `follow request is not JSON: ${(err as Error).message}`, path: '/', rule: 'json' });
    }
    const req = this.contracts.check('FollowEventsRequest', body);
    if (!req.ok) return no(req.error);
    let principal: Principal = { id: 'anonymous' };
    if (this.opts.authenticate) {
      const a = this.opts.authenticate({ subject: this.names.follow, data, headers });
      if (!a.ok) return no({ ...a.error, code: ErrorCodes.Unauthenticated });
      principal = a.principal;
      if (a.publicKey && !req.value.inbox.startsWith(`${inboxPrefixFor(a.publicKey)}.`)) {
        return no({ code: ErrorCodes.Forbidden, message: `/inbox: ${req.value.inbox} is not an inbox of the connection that signed (${inboxPrefixFor(a.publicKey)}.…); events go only to the asker`, path: '/inbox', rule: 'ownInbox' });
      }
    }
    const canRead = this.opts.readScope ? await this.opts.readScope(principal) : () => true;
    const r = this.feed.follow(principal.id, canRead, req.value);
    if ('error' in r) return no(r.error);
    return { ok: true, ...who, until: r.until === null ? null : new Date(r.until).toISOString() };
  }

  /**
   * Gateway: validates a SubmitRequest (size, JSON, envelope, kind, payload, authorization) and
   * persists it as a Task in the stream, deduplicated by its id. Refusals change nothing.
   */
  async handleSubmit(data: Uint8Array, headers?: MsgHdrs): Promise<SubmitReply> {
    const max = this.opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD;
    if (data.length > max) {
      return refuse({ code: ErrorCodes.PayloadTooLarge, message: `command is ${data.length} bytes; the limit is ${max} bytes`, path: '/', rule: 'maxBytes', details: { size: data.length, limit: max } });
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch (err) {
      return refuse({ code: ErrorCodes.NotJson, message: `command is not JSON: ${(err as Error).message}`, path: '/', rule: 'json' });
    }
    const env = this.contracts.check('SubmitRequest', body);
    if (!env.ok) return refuse(env.error);
    const req = env.value;
    const mode: TaskMode = req.mode ?? TaskModes.Queued;
    const task: Task = {
      id: req.id,
      service: this.service,
      kind: req.kind,
      key: req.key,
      payload: req.payload,
      principal: req.principal ?? { id: 'anonymous' },
      mode,
      submittedAt: new Date().toISOString(),
      ...(req.expectedRevision !== undefined ? { expectedRevision: req.expectedRevision } : {}),
    };
    const refusal = this.authenticate(task, data, headers) ?? (await this.admit(task));
    if (refusal) {
      const audited = await this.record({ task, accepted: false, error: refusal });
      return refuse(audited ?? refusal);
    }
    const unrecorded = await this.record({ task, accepted: true });
    if (unrecorded) return refuse(unrecorded);
    const subject = mode === TaskModes.Broadcast ? this.names.broadcast(this.service) : this.names.queued(this.service);
    try {
      const ack = await this.js.publish(subject, JSON.stringify(this.contracts.assert('Task', task)), { msgID: task.id });
      // A resend of a known task must not announce it as pending again: it may be long finished.
      if (!ack.duplicate) this.emit(task, '', 'pending', {});
      return { ok: true, taskId: task.id, seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      return refuse({ code: ErrorCodes.Unavailable, message: `could not persist task ${task.id}: ${(err as Error).message}; resend it with the same id` });
    }
  }

  /**
   * With authentication on, replaces the task's principal by the one its signature proves, and
   * says why when none is proved or the request claims someone else. Without, leaves it as sent.
   */
  private authenticate(task: Task, data: Uint8Array, headers: MsgHdrs | undefined): ErrorInfo | undefined {
    if (!this.opts.authenticate) return undefined;
    const claimed = task.principal.id;
    const who = this.opts.authenticate({ subject: this.names.submit(this.service), data, headers });
    if (!who.ok) {
      task.principal = { id: who.claimed ?? (claimed === 'anonymous' ? 'unauthenticated' : `unauthenticated (claims ${claimed})`) };
      return { ...who.error, code: ErrorCodes.Unauthenticated };
    }
    task.principal = who.principal;
    if (claimed !== 'anonymous' && claimed !== who.principal.id) {
      return {
        code: ErrorCodes.PrincipalMismatch,
        message: `/principal/id: the task claims principal ${claimed} but was signed by ${who.principal.id}; leave the field out or name the signer`,
        path: '/principal/id',
        rule: 'signedPrincipal',
        details: { claimed, signedBy: who.principal.id },
      };
    }
    return undefined;
  }

  /** Writes an admission record; what it returns is why the task must be refused instead (the record could not be written). */
  private async record(r: AdmissionRecord): Promise<ErrorInfo | undefined> {
    if (!this.opts.audit) return undefined;
    try {
      await this.opts.audit(r);
      return undefined;
    } catch (err) {
      this.log.error({ err, taskId: r.task.id }, 'could not write the audit record of a submit');
      return { code: ErrorCodes.Unavailable, message: `could not record task ${r.task.id} in the audit log (${(err as Error).message}); nothing was done, resend it with the same id` };
    }
  }

  async handleStatusQuery(data: Uint8Array, headers?: MsgHdrs): Promise<unknown> {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch (err) {
      return { error: { code: ErrorCodes.NotJson, message: `query is not JSON: ${(err as Error).message}`, path: '/', rule: 'json' } };
    }
    const q = this.contracts.check('TaskStatusQuery', body);
    if (!q.ok) return { error: q.error };
    const taskId = q.value.taskId;
    if (this.opts.authenticate) {
      const a = this.opts.authenticate({ subject: this.names.taskStatus(this.service), data, headers });
      if (!a.ok) return { error: { ...a.error, code: ErrorCodes.Unauthenticated } };
      // Its sender, and whoever may read the task's tenants, learn how a task went; to anyone else
      // it is a task this service has not heard of (not even whether it exists is told).
      if (this.opts.readScope && !(await this.mayReadTask(taskId, a.principal))) return { taskId, records: [] };
    }
    return this.contracts.assert('TaskStatusReply', await this.store('').statusOf(taskId));
  }

  private async mayReadTask(taskId: string, principal: Principal): Promise<boolean> {
    const task = await this.store('').taskOf(taskId);
    if (!task || task.principal.id === principal.id) return true; // nothing to tell, or its own
    return mayRead(await this.opts.readScope!(principal), this.opts.scopeOf?.(task) ?? []);
  }

  /**
   * Stops consuming and unsubscribes; tasks already running finish, queued ones are left
   * unacknowledged and go to whoever consumes next. Once it resolves, nothing of the worker uses
   * the pool or the NATS connection any more (requests being answered and a take-over in progress
   * included), so the caller may close them.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const s of this.subs) s.unsubscribe();
    await this.takingOver?.catch(() => undefined);
    for (const it of this.iterators) await it.close().catch(() => undefined);
    await Promise.allSettled(this.loops);
    await this.queue.idle();
    if (this.keepAlive) clearInterval(this.keepAlive);
    await this.lease?.release();
    await Promise.allSettled([...this.replies]);
    this.log.info('rdmp worker stopped');
  }

  // --- execution ---------------------------------------------------------------------------

  /** Checks kind, mode, payload and authorization; what it returns is why the task is refused. */
  private async admit(task: Task): Promise<ErrorInfo | undefined> {
    const handler = this.handlers.get(task.kind);
    if (!handler) {
      return { code: ErrorCodes.UnknownKind, message: `service "${this.service}" has no command kind "${task.kind}"; it knows: ${this.kinds.join(', ') || 'none'}`, path: '/kind', rule: 'knownKind', details: { known: this.kinds } };
    }
    const modes = handler.modes ?? [TaskModes.Queued];
    if (!modes.includes(task.mode)) {
      return { code: ErrorCodes.SchemaViolation, message: `/mode "${task.mode}" is not allowed for kind "${task.kind}"; allowed: ${modes.join(', ')}`, path: '/mode', rule: 'allowedMode' };
    }
    const payload = this.contracts.checkId(this.payloadSchemaIds.get(task.kind)!, task.payload, '/payload');
    if (!payload.ok) return payload.error;
    const denied = await (this.opts.authorize?.(task) ?? undefined);
    if (denied) return { ...denied, code: ErrorCodes.Forbidden };
    return undefined;
  }

  private async intake(iter: ConsumerMessages, endpoint: string): Promise<void> {
    for await (const msg of iter) {
      if (this.stopping) break;
      let task: Task;
      try {
        const parsed = this.contracts.check('Task', JSON.parse(msg.string()));
        if (!parsed.ok) throw Object.assign(new Error(parsed.error.message), { info: parsed.error });
        task = parsed.value;
      } catch (err) {
        // Not a task at all: nothing to execute or record; say so once and drop it for good.
        const info = (err as { info?: ErrorInfo }).info ?? { code: ErrorCodes.NotJson, message: `stream message ${msg.seq} is not JSON: ${(err as Error).message}` };
        this.log.warn({ seq: msg.seq, err: info }, 'rejected a stream message that is not a valid task');
        this.opts.nc.publish(this.names.rejected(this.service), JSON.stringify({ seq: msg.seq, subject: msg.subject, error: info }));
        msg.term();
        this.counters.rejected++;
        continue;
      }
      this.counters.delivered++;
      if (msg.redelivered) this.counters.redelivered++;
      const flightKey = `${task.id}/${endpoint}`;
      if (this.inFlight.has(flightKey)) continue; // a redelivery of a message we still hold
      this.inFlight.add(flightKey);
      this.held.add(msg);
      this.queue.push(task.key, { msg, endpoint });
    }
  }

  /** Runs one held message to a terminal, persisted outcome; retries infrastructure errors in place so order holds. */
  private async execute(held: Held): Promise<void> {
    const { msg, endpoint } = held;
    const task = JSON.parse(msg.string()) as Task;
    if (this.stopping) {
      // Not started yet: leave it unacknowledged for whoever consumes next, in order.
      this.release(task, msg, endpoint, false);
      return;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.executeOnce(task, msg.seq, endpoint);
        break;
      } catch (err) {
        if (this.stopping) {
          this.log.warn({ taskId: task.id, err }, 'stopping with a task unfinished; it will be redelivered');
          this.release(task, msg, endpoint, false);
          return;
        }
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
        this.log.error({ taskId: task.id, err, attempt, delay }, 'task execution hit an infrastructure error; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    const ack = !(this.opts.faults?.loseAck?.(task) ?? false);
    this.release(task, msg, endpoint, ack);
  }

  private release(task: Task, msg: JsMsg, endpoint: string, ack: boolean): void {
    try {
      if (ack) msg.ack();
    } catch (err) {
      // The connection is closed or draining. The effect is committed: the redelivery finds its record.
      // (Throwing here would leave the KeyedQueue's key busy for ever and stop() waiting on it.)
      this.log.warn({ err, taskId: task.id }, 'could not acknowledge a finished task; it will be redelivered');
    }
    this.held.delete(msg);
    this.inFlight.delete(`${task.id}/${endpoint}`);
  }

  private async executeOnce(task: Task, seq: number, endpoint: string): Promise<void> {
    const store = this.store(endpoint);
    const handler = this.handlers.get(task.kind);
    const refusal = await this.admit(task);
    const db = await this.opts.pool.connect();
    let outcome: { status: 'completed' | 'failed'; revision?: number; result?: JsonObject | null; error?: ErrorInfo } | 'duplicate' | 'transaction';
    try {
      await db.query('BEGIN');
      const created = await store.insert(db, task, seq, refusal ? 'failed' : 'executing', refusal);
      if (!created) {
        await db.query('ROLLBACK');
        outcome = 'duplicate';
      } else if (refusal) {
        await db.query('COMMIT');
        outcome = { status: 'failed', error: refusal };
      } else {
        const current = await store.lockRevision(db, task.key);
        if (task.expectedRevision !== undefined && task.expectedRevision !== current) {
          const error: ErrorInfo = {
            code: ErrorCodes.RevisionConflict,
            message: `task expected revision ${task.expectedRevision} of "${task.key}" but it is at revision ${current}; read it again and resubmit`,
            path: '/expectedRevision',
            rule: 'revision',
            details: { expected: task.expectedRevision, actual: current },
          };
          await store.fail(db, task.id, error);
          await db.query('COMMIT');
          outcome = { status: 'failed', error };
        } else if (isTransaction(handler!)) {
          await store.insertSteps(db, task.id, handler.steps(task as TypedTask<unknown>).map((s) => s.name));
          await db.query('COMMIT');
          outcome = 'transaction';
        } else {
          this.emit(task, endpoint, 'executing', {});
          let applied: { result: JsonObject | null } | { error: ErrorInfo };
          try {
            applied = { result: (await handler!.apply({ task: task as TypedTask<unknown>, db, endpoint, log: this.log })) ?? null };
          } catch (err) {
            applied = { error: toErrorInfo(err) };
          }
          if ('result' in applied) {
            const revision = await store.complete(db, task, applied.result);
            await db.query('COMMIT');
            outcome = { status: 'completed', revision, result: applied.result };
          } else {
            // Nothing of a failed handler may stay: roll it all back, then record the failure alone.
            await db.query('ROLLBACK');
            await db.query('BEGIN');
            await store.insert(db, task, seq, 'failed', applied.error);
            await db.query('COMMIT');
            outcome = { status: 'failed', error: applied.error };
          }
        }
      }
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
    if (outcome === 'duplicate') {
      this.counters.duplicates++;
      // Re-announce the recorded outcome: the first announcement may have died with a crash.
      const row = await store.get(this.opts.pool, task.id);
      if (row?.status === 'completed' || row?.status === 'failed') this.emitRow(task, endpoint, row);
      else if (row?.status === 'executing') await this.runTransaction(task, endpoint, row.phase);
      return;
    }
    if (outcome === 'transaction') {
      this.emit(task, endpoint, 'executing', {});
      await this.runTransaction(task, endpoint, 'forward');
      return;
    }
    this.counters[outcome.status]++;
    this.emit(task, endpoint, outcome.status, outcome);
  }

  private async runTransaction(task: Task, endpoint: string, phase: 'forward' | 'compensating'): Promise<void> {
    const handler = this.handlers.get(task.kind);
    if (!handler || !isTransaction(handler)) throw new Error(`no transaction handler for kind "${task.kind}"`);
    const out = await this.runner(endpoint).drive(handler, task, phase);
    this.counters[out.status]++;
    this.emit(task, endpoint, out.status, out);
  }

  private async recover(endpoint: string): Promise<void> {
    const open = await this.store(endpoint).open();
    for (const row of open) {
      this.log.warn({ taskId: row.task.id, kind: row.task.kind, phase: row.phase }, 'recovering an open transaction');
      await this.runTransaction(row.task, endpoint, row.phase);
    }
  }

  private store(endpoint: string): TaskStore {
    let s = this.stores.get(endpoint);
    if (!s) {
      s = new TaskStore(this.opts.pool, this.service, endpoint);
      this.stores.set(endpoint, s);
    }
    return s;
  }

  private runner(endpoint: string): TransactionRunner {
    let r = this.runners.get(endpoint);
    if (!r) {
      r = new TransactionRunner(this.opts.pool, this.store(endpoint), this.log, {
        onStep: (task, step) => this.emit(task, endpoint, 'executing', { step }),
        ...(this.opts.faults?.afterStep ? { afterStep: this.opts.faults.afterStep } : {}),
      });
      this.runners.set(endpoint, r);
    }
    return r;
  }

  private emitRow(task: Task, endpoint: string, row: { status: TaskStatusEvent['status']; revision: string | null; result: JsonObject | null; error: ErrorInfo | null }): void {
    this.emit(task, endpoint, row.status, {
      ...(row.revision !== null ? { revision: Number(row.revision) } : {}),
      result: row.result,
      ...(row.error ? { error: row.error } : {}),
    });
  }

  private emit(
    task: Task,
    endpoint: string,
    status: TaskStatusEvent['status'],
    extra: { revision?: number; result?: JsonObject | null; error?: ErrorInfo; step?: StepEvent },
  ): void {
    const ev: TaskStatusEvent = {
      taskId: task.id,
      service: this.service,
      kind: task.kind,
      key: task.key,
      endpoint,
      status,
      at: new Date().toISOString(),
      ...(extra.revision !== undefined ? { revision: extra.revision } : {}),
      ...(extra.result ? { result: extra.result } : {}),
      ...(extra.error ? { error: extra.error } : {}),
      ...(extra.step ? { step: extra.step } : {}),
    };
    try {
      this.opts.nc.publish(this.names.taskEvents(this.service, task.id), JSON.stringify(this.contracts.assert('TaskStatusEvent', ev)));
      this.feed.forward(ev, () => this.opts.scopeOf?.(task) ?? []);
    } catch (err) {
      // The record in PostgreSQL is the truth; a lost event is recovered by a status query.
      this.log.warn({ err, taskId: task.id }, 'could not publish a status event');
    }
  }
}

function refuse(error: ErrorInfo): SubmitReply {
  return { ok: false, error };
}
