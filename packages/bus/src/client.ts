import { randomUUID } from 'node:crypto';
import { errors as natsErrors, type NatsConnection } from '@nats-io/nats-core';
import { contracts as sharedContracts, type Contracts, type ErrorInfo, type QueryContract, type QueryReply, type SubmitRequest, type TaskStatusEvent, type TaskStatusReply } from '@sdmi/contracts';
import { ErrorCodes, QueryFailed, Timeout, errorFromInfo, BadMessage, type RdmpError } from './errors';
import { asyncQueue } from './async-queue';
import { inboxPrefixFor } from './credentials';
import { signRequest, signerOf, type Signer } from './signature';
import { BusNames } from './subjects';

export interface RdmpClientOptions {
  names?: BusNames;
  contracts?: Contracts;
  /** Per request; a submit is resent with the same id this many times on a timeout. */
  requestTimeoutMs?: number;
  retries?: number;
  /**
   * Signs submits and queries (docs/security.md): default, the key the connection authenticated
   * with (connectNats and the service runtime bind it); `null` sends unsigned.
   */
  signer?: Signer | null;
}

export type Command = Omit<SubmitRequest, 'id'> & { id?: string };

export interface Receipt {
  taskId: string;
  seq: number;
  duplicate: boolean;
}

export interface Outcome {
  taskId: string;
  endpoint: string;
  status: 'completed' | 'failed';
  revision?: number;
  result?: Record<string, unknown>;
  error?: TaskStatusEvent['error'];
}

export interface QueryOptions {
  timeoutMs?: number;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** For a broadcast task: how many endpoints must finish. Default 1. */
  endpoints?: number;
}

export interface FollowOptions {
  /** Only these services' tasks (RDMP service names: `scheduler`, `node-<host>`); default all. */
  services?: readonly string[];
  /** How long each worker sends without hearing from us again, ms; renewed at a third of it. Default 30000. */
  ttlMs?: number;
  /** How long to wait for the first worker to answer, ms. Default the client's request timeout (5000). */
  answerTimeoutMs?: number;
}

const TERMINAL = new Set(['completed', 'failed']);

/** The sending side of RDMP: submit commands, query and await their outcome, follow events. */
export class RdmpClient {
  readonly names: BusNames;
  private readonly contracts: Contracts;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: RdmpClientOptions = {},
  ) {
    this.names = opts.names ?? new BusNames();
    this.contracts = opts.contracts ?? sharedContracts();
  }

  /** Request options: the timeout, and the signature headers when there is a signer. */
  private requestOptions(subject: string, data: string | Uint8Array, timeout: number): { timeout: number; headers?: ReturnType<typeof signRequest> } {
    const signer = this.opts.signer === undefined ? signerOf(this.nc) : this.opts.signer;
    return signer ? { timeout, headers: signRequest(signer, subject, data) } : { timeout };
  }

  /**
   * Sends a command; resolves once the service persisted it as a task. Throws the error class of
   * the refusal (BadMessage, UnknownKind, Forbidden, ...) when refused. Resending is safe.
   */
  async submit(service: string, command: Command): Promise<Receipt> {
    const req = { ...command, id: command.id ?? randomUUID() };
    const checked = this.contracts.check('SubmitRequest', req);
    if (!checked.ok) throw new BadMessage(checked.error);
    return this.submitRaw(service, JSON.stringify(req), req.id);
  }

  /** Sends bytes as they are (tests use it to send what the typed API would refuse). */
  async submitRaw(service: string, data: string | Uint8Array, taskId = 'unknown'): Promise<Receipt> {
    const retries = this.opts.retries ?? 2;
    let lastErr: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        // Signed again on each attempt: a resend is a new request, within the skew of its own time.
        const subject = this.names.submit(service);
        const m = await this.nc.request(subject, data, this.requestOptions(subject, data, this.opts.requestTimeoutMs ?? 5_000));
        const reply = this.contracts.check('SubmitReply', m.json());
        if (!reply.ok) throw new BadMessage({ ...reply.error, message: `service "${service}" sent an invalid reply: ${reply.error.message}` });
        const r = reply.value;
        if (!r.ok) throw errorFromInfo(r.error);
        return { taskId: r.taskId, seq: r.seq, duplicate: r.duplicate };
      } catch (err) {
        if (!isRetryable(err)) throw err;
        lastErr = err;
        // Nobody answering usually means a service instance is restarting: give it a moment.
        if (attempt < retries) await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
    throw new Timeout({ code: ErrorCodes.Timeout, message: `service "${service}" did not accept task ${taskId} after ${retries + 1} attempts: ${(lastErr as Error).message}` }, { cause: lastErr });
  }

  async status(service: string, taskId: string): Promise<TaskStatusReply> {
    const subject = this.names.taskStatus(service);
    const query = JSON.stringify({ taskId });
    // Signed: with access control on, only the task's sender and readers of its tenants are told.
    const m = await this.nc.request(subject, query, this.requestOptions(subject, query, this.opts.requestTimeoutMs ?? 5_000));
    const body = m.json<{ error?: TaskStatusEvent['error'] }>();
    if (body.error) throw errorFromInfo(body.error);
    return this.contracts.assert('TaskStatusReply', body);
  }

  /**
   * Resolves with the outcome once the task is terminal (on `endpoints` endpoints, for a
   * broadcast task). Subscribes before asking, so an outcome cannot slip between the two.
   */
  async wait(service: string, taskId: string, opts: WaitOptions = {}): Promise<Outcome[]> {
    const need = opts.endpoints ?? 1;
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const done = new Map<string, Outcome>();
    const note = (records: TaskStatusReply['records']) => {
      for (const r of records) if (TERMINAL.has(r.status)) done.set(r.endpoint, { taskId, ...r, status: r.status as Outcome['status'] });
    };
    const sub = this.nc.subscribe(this.names.taskEvents(service, taskId));
    const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
    let refused = false;
    try {
      note((await this.status(service, taskId)).records);
      if (done.size < need) {
        try {
          for await (const m of sub) {
            const ev = this.contracts.check('TaskStatusEvent', m.json());
            if (!ev.ok || !TERMINAL.has(ev.value.status)) continue;
            const e = ev.value;
            done.set(e.endpoint, {
              taskId,
              endpoint: e.endpoint,
              status: e.status as Outcome['status'],
              ...(e.revision !== undefined ? { revision: e.revision } : {}),
              ...(e.result ? { result: e.result } : {}),
              ...(e.error ? { error: e.error } : {}),
            });
            if (done.size >= need) break;
          }
        } catch (err) {
          // A principal that may not read task events (a tenant's user: the subjects carry no
          // tenant) learns the outcome from the task's status instead.
          if (!(err instanceof natsErrors.PermissionViolationError)) throw err;
          refused = true;
        }
      }
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
    for (let pause = 100; refused && done.size < need && Date.now() < deadline; pause = Math.min(1_000, pause * 2)) {
      await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, deadline - Date.now()))));
      note((await this.status(service, taskId)).records);
    }
    if (done.size < need) {
      throw new Timeout({ code: ErrorCodes.Timeout, message: `task ${taskId} on "${service}": ${done.size} of ${need} endpoint(s) finished within ${timeoutMs} ms`, details: { finished: [...done.keys()] } });
    }
    return [...done.values()];
  }

  /** submit + wait for a queued task; throws the task's error class when it failed. */
  async run(service: string, command: Command, opts: WaitOptions = {}): Promise<Outcome> {
    const receipt = await this.submit(service, command);
    const [outcome] = await this.wait(service, receipt.taskId, opts);
    if (outcome!.status === 'failed') throw errorFromInfo(outcome!.error ?? { code: ErrorCodes.HandlerFailed, message: 'failed' });
    return outcome!;
  }

  /**
   * Task status events this principal may read, as they happen, until the iterator is returned:
   * the event feed (event-feed.ts), for a principal that may not subscribe to the event subjects
   * (a tenant's user). Every worker of every service hears the signed request on `<p>.follow` and
   * sends what the asker's bindings let it read to an inbox of this connection; the request is
   * renewed while the iterator lives and withdrawn (ttlMs 0) when it ends. Throws the refusal
   * when a worker refuses (UNAUTHENTICATED, FORBIDDEN for an inbox not ours), and TIMEOUT when
   * no worker answers. Events arrive from each worker in order; between workers, by arrival.
   */
  follow(opts: FollowOptions = {}): AsyncGenerator<TaskStatusEvent> {
    const ttlMs = opts.ttlMs ?? 30_000;
    const signer = this.opts.signer === undefined ? signerOf(this.nc) : this.opts.signer;
    // In the connection's own inbox (its key's, which its credential may subscribe to), whoever signs.
    const own = signerOf(this.nc);
    const base = `${own ? inboxPrefixFor(own.publicKey) : '_INBOX'}.${randomUUID().replace(/-/g, '')}`;
    const inbox = `${base}.ev`;
    const answers = `${base}.ack`;
    const request = (ttl: number): void => {
      const req = { inbox, ttlMs: ttl, ...(opts.services ? { services: [...opts.services] } : {}) };
      const checked = this.contracts.check('FollowEventsRequest', req);
      if (!checked.ok) throw new BadMessage(checked.error);
      const body = JSON.stringify(req);
      const headers = signer ? signRequest(signer, this.names.follow, body) : undefined;
      this.nc.publish(this.names.follow, body, { reply: answers, ...(headers ? { headers } : {}) });
    };
    const events = this.nc.subscribe(inbox);
    const acks = this.nc.subscribe(answers);
    let answered = false;
    const q = asyncQueue<TaskStatusEvent>(() => {
      clearTimeout(noAnswer);
      clearInterval(renew);
      try {
        request(0);
      } catch {
        // the connection is closing: the workers forget us at ttlMs anyway
      }
      events.unsubscribe();
      acks.unsubscribe();
    });
    void (async () => {
      for await (const m of events) {
        const ev = this.contracts.check('TaskStatusEvent', jsonOf(m.data));
        if (ev.ok) q.push(ev.value);
      }
    })().catch((err: unknown) => q.fail(err));
    void (async () => {
      for await (const m of acks) {
        // An empty body is the server's "no responders" status: the no-answer timer says so.
        if (m.data.length === 0) continue;
        const a = this.contracts.check('FollowEventsReply', jsonOf(m.data));
        if (!a.ok) continue;
        // One worker refusing means its events would be missed without a word: stop and say why.
        if (!a.value.ok) q.fail(errorFromInfo(a.value.error));
        answered = true;
      }
    })().catch((err: unknown) => q.fail(err));
    const timeoutMs = opts.answerTimeoutMs ?? this.opts.requestTimeoutMs ?? 5_000;
    const noAnswer = setTimeout(() => {
      if (!answered) q.fail(new Timeout({ code: ErrorCodes.Timeout, message: `no service answered the request to follow events on ${this.names.follow} within ${timeoutMs} ms` }));
    }, timeoutMs);
    // A new worker (a restart, a take-over) hears the next renewal.
    const renew = setInterval(() => {
      try {
        request(ttlMs);
      } catch (err) {
        q.fail(err);
      }
    }, Math.max(1_000, Math.floor(ttlMs / 3)));
    request(ttlMs);
    return q.iterator;
  }

  /**
   * Asks one of a service's queries. The request is checked against the query's request schema
   * before it is sent, the reply against its reply schema; a refusal is thrown as its error class
   * (BadMessage, UnknownQuery, or QueryFailed carrying the service's own code). Asked again, with
   * back-off, while no instance answers: a query changes nothing.
   */
  async query<Req, Res>(service: string, query: QueryContract<Req, Res>, request: Req, opts: QueryOptions = {}): Promise<Res> {
    const checked = this.contracts.checkId(query.request, request);
    if (!checked.ok) throw new BadMessage({ ...checked.error, message: `query ${query.name}: ${checked.error.message}` });
    const reply = await this.queryRaw(service, query.name, JSON.stringify(request), opts);
    if (!reply.ok) throw queryError(reply.error);
    const result = this.contracts.checkId<Res>(query.reply, reply.result);
    if (!result.ok) throw new BadMessage({ ...result.error, message: `service "${service}" sent an invalid reply to query ${query.name}: ${result.error.message}` });
    return result.value;
  }

  /** Sends bytes as they are to a query by name and returns the checked envelope (tests send what query() would refuse). */
  async queryRaw(service: string, name: string, data: string | Uint8Array, opts: QueryOptions = {}): Promise<QueryReply> {
    const retries = this.opts.retries ?? 2;
    let lastErr: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        const subject = this.names.query(service, name);
        const m = await this.nc.request(subject, data, this.requestOptions(subject, data, opts.timeoutMs ?? this.opts.requestTimeoutMs ?? 5_000));
        const reply = this.contracts.check('QueryReply', m.json());
        if (!reply.ok) throw new BadMessage({ ...reply.error, message: `service "${service}" sent an invalid reply to query ${name}: ${reply.error.message}` });
        return reply.value;
      } catch (err) {
        if (!isRetryable(err)) throw err;
        lastErr = err;
        if (attempt < retries) await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
    throw new Timeout({ code: ErrorCodes.Timeout, message: `no instance of service "${service}" answered query ${name} after ${retries + 1} attempts: ${(lastErr as Error).message}` }, { cause: lastErr });
  }

  /** Status events of one service's tasks (or all), until the iterator is returned. */
  async *events(service = '*'): AsyncGenerator<TaskStatusEvent> {
    const sub = this.nc.subscribe(this.names.taskEvents(service, '*'));
    try {
      for await (const m of sub) {
        const ev = this.contracts.check('TaskStatusEvent', m.json());
        if (ev.ok) yield ev.value;
      }
    } finally {
      sub.unsubscribe();
    }
  }
}

/** The bus's own refusals keep their classes; anything else is the service's answer to the query. */
function queryError(info: ErrorInfo): RdmpError {
  const e = errorFromInfo(info);
  return e.name === 'TaskFailed' ? new QueryFailed(info) : e;
}

/** A message's JSON, or undefined (which no contract accepts) when it is none. */
function jsonOf(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRetryable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  // nats.js: a request with no reply in time; "no responders" means nothing listens (yet).
  return e?.name === 'TimeoutError' || /timeout|no responders/i.test(String(e?.message ?? ''));
}
