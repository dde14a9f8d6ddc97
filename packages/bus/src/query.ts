// Queries: reads that change nothing and are not recorded, so they are plain core-NATS
// request/reply instead of tasks. One server per service instance subscribes to
// `<prefix>.query.<service>.*` in the service's queue group (any instance answers) and checks
// every request before a handler sees it: size, JSON, a known query name, the request's schema.
// The reply is checked against the query's reply schema before it leaves, and travels in a
// QueryReply envelope: `{ ok: true, result }` or `{ ok: false, error }`.
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/nats-core';
import { contracts as sharedContracts, type Contracts, type ErrorInfo, type Principal, type QueryContract, type QueryReply } from '@sdmi/contracts';
import pino, { type Logger } from 'pino';
import { ErrorCodes, RdmpError, TaskError } from './errors';
import { BusNames } from './subjects';
import type { Authenticate } from './worker';

/** A query's handler, its types erased so that one server holds handlers of many queries. */
export interface QueryHandler {
  readonly query: QueryContract<unknown, unknown>;
  /** Gets a request that passed the request schema; throws to refuse (an error with `info` keeps its code). */
  handle(request: unknown, ctx: QueryContext): Promise<unknown>;
}

export interface QueryContext {
  readonly log: Logger;
  /** Who asked: proved by its signature when the server authenticates, else `anonymous`. */
  readonly principal: Principal;
  /**
   * Whether the asker may see something of `tenant` (undefined: a cluster-wide thing). A handler
   * leaves out what this refuses, so a tenant never sees another tenant's resources.
   */
  canRead(tenant: string | undefined): boolean;
}

/** What a principal may read; see QueryContext.canRead. */
export type ReadScope = (principal: Principal) => Promise<(tenant: string | undefined) => boolean>;

/** Binds a handler to its query's contract (the types of request and reply come from it). */
export function serveQuery<Req, Res>(query: QueryContract<Req, Res>, handle: (request: Req, ctx: QueryContext) => Promise<Res> | Res): QueryHandler {
  return { query: query as QueryContract<unknown, unknown>, handle: async (request, ctx) => handle(request as Req, ctx) };
}

export interface QueryServerOptions {
  nc: NatsConnection;
  /** The service whose queries these are (`scheduler`): the subject's second token. */
  service: string;
  handlers: readonly QueryHandler[];
  names?: BusNames;
  contracts?: Contracts;
  log?: Logger;
  maxRequestBytes?: number;
  /** Unset: anyone may ask (principal `anonymous`). Set: an unsigned or badly signed query is refused UNAUTHENTICATED. */
  authenticate?: Authenticate;
  /** What the asker may read; unset, everything. */
  readScope?: ReadScope;
}

const DEFAULT_MAX_REQUEST = 64 * 1024;

/** An error of another package that carries a bus-ready `info` (a scheduling rule's error, say). */
function infoOf(err: unknown): ErrorInfo | undefined {
  if (err instanceof RdmpError) return err.info;
  if (err instanceof TaskError) return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  const info = (err as { info?: Partial<ErrorInfo> } | null)?.info;
  if (typeof info?.code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(info.code) && typeof info.message === 'string' && info.message.length > 0) {
    return { code: info.code, message: info.message, ...(info.path !== undefined ? { path: info.path } : {}), ...(info.rule !== undefined ? { rule: info.rule } : {}), ...(info.details ? { details: info.details } : {}) };
  }
  return undefined;
}

export class QueryServer {
  readonly names: BusNames;
  private readonly contracts: Contracts;
  private readonly log: Logger;
  private readonly handlers = new Map<string, QueryHandler>();
  private sub?: Subscription;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: QueryServerOptions) {
    this.names = opts.names ?? new BusNames();
    this.contracts = opts.contracts ?? sharedContracts();
    this.log = (opts.log ?? pino({ level: 'silent' })).child({ component: 'queries', service: opts.service });
    for (const h of opts.handlers) {
      if (this.handlers.has(h.query.name)) throw new Error(`two handlers for query "${h.query.name}"`);
      for (const id of [h.query.request, h.query.reply]) if (!this.contracts.has(id)) throw new Error(`query "${h.query.name}": schema ${id} is not loaded`);
      this.handlers.set(h.query.name, h);
    }
  }

  /** Names of the queries served. */
  get queries(): string[] {
    return [...this.handlers.keys()];
  }

  start(): this {
    if (this.sub) return this;
    this.sub = this.opts.nc.subscribe(this.names.queries(this.opts.service), {
      queue: this.opts.service,
      callback: (_err, m) => {
        const done: Promise<void> = this.answer(m).finally(() => this.inFlight.delete(done));
        this.inFlight.add(done);
      },
    });
    return this;
  }

  /** Stops taking queries and waits for those being answered. */
  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  private async answer(m: Msg): Promise<void> {
    const name = m.subject.slice(m.subject.lastIndexOf('.') + 1);
    const reply = await this.handle(name, m.data, m.headers);
    try {
      m.respond(JSON.stringify(reply));
    } catch (err) {
      // The connection closed meanwhile: the asker times out and may ask again (a query is harmless).
      this.log.warn({ err, subject: m.subject }, 'could not answer a query');
    }
  }

  /** Answers one query (`name` as in the subject); never throws. */
  async handle(name: string, data: Uint8Array, headers?: MsgHdrs): Promise<QueryReply> {
    const refuse = (error: ErrorInfo): QueryReply => ({ ok: false, error });
    const max = this.opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST;
    if (data.length > max) {
      return refuse({ code: ErrorCodes.PayloadTooLarge, message: `query ${name} is ${data.length} bytes; the limit is ${max} bytes`, path: '/', rule: 'maxBytes', details: { size: data.length, limit: max } });
    }
    let principal: Principal = { id: 'anonymous' };
    if (this.opts.authenticate) {
      const who = this.opts.authenticate({ subject: this.names.query(this.opts.service, name), data, headers });
      if (!who.ok) return refuse({ ...who.error, code: ErrorCodes.Unauthenticated, message: `query ${name}: ${who.error.message}` });
      principal = who.principal;
    }
    const handler = this.handlers.get(name);
    if (!handler) {
      return refuse({
        code: ErrorCodes.UnknownQuery,
        message: `service "${this.opts.service}" has no query "${name}"; it knows: ${this.queries.join(', ') || 'none'}`,
        rule: 'knownQuery',
        details: { query: name, known: this.queries },
      });
    }
    let body: unknown = {};
    // An empty body is the empty request, so that `nats req <subject> ''` works for queries without parameters.
    if (data.length > 0) {
      try {
        body = JSON.parse(Buffer.from(data).toString('utf8'));
      } catch (err) {
        return refuse({ code: ErrorCodes.NotJson, message: `query ${name} is not JSON: ${(err as Error).message}`, path: '/', rule: 'json' });
      }
    }
    const req = this.contracts.checkId(handler.query.request, body);
    if (!req.ok) return refuse({ ...req.error, message: `query ${name}: ${req.error.message}` });
    let result: unknown;
    try {
      const canRead = (await this.opts.readScope?.(principal)) ?? (() => true);
      result = await handler.handle(req.value, { log: this.log, principal, canRead });
    } catch (err) {
      const info = infoOf(err);
      if (info) return refuse(info);
      this.log.error({ err, query: name }, 'query handler failed');
      return refuse({ code: ErrorCodes.HandlerFailed, message: `query ${name} failed: ${err instanceof Error ? err.message : String(err)}` });
    }
    const out = this.contracts.checkId(handler.query.reply, result);
    if (!out.ok) {
      // Our own bug: say so rather than send what the asker would refuse anyway.
      this.log.error({ query: name, err: out.error }, 'query reply breaks its contract');
      return refuse({ code: ErrorCodes.HandlerFailed, message: `query ${name} produced a reply that breaks its contract: ${out.error.message}`, ...(out.error.path ? { path: out.error.path } : {}), ...(out.error.rule ? { rule: out.error.rule } : {}) });
    }
    return { ok: true, result: out.value as Record<string, unknown> };
  }
}
