import type { Duplex } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import {
  FramingError,
  NetconfError,
  ProtocolError,
  RpcError,
  type RpcErrorDetail,
  RpcTimeout,
  SessionClosed,
} from './errors';
import { Deframer, type Framing, encode } from './framing';
import { ATTR, NETCONF_BASE_NS, type ParsedXml, type XmlTree, asArray, buildXml, parseXml, textOf } from './xml';

export const BASE_1_0 = 'urn:ietf:params:netconf:base:1.0';
export const BASE_1_1 = 'urn:ietf:params:netconf:base:1.1';
export const CAP_CANDIDATE = 'urn:ietf:params:netconf:capability:candidate:1.0';
export const CAP_CONFIRMED_COMMIT_1_1 = 'urn:ietf:params:netconf:capability:confirmed-commit:1.1';
export const CAP_VALIDATE_1_1 = 'urn:ietf:params:netconf:capability:validate:1.1';

export type Datastore = 'running' | 'candidate' | 'startup';
export type EditOperation = 'merge' | 'replace' | 'create' | 'delete' | 'remove';
export type DefaultOperation = 'merge' | 'replace' | 'none';
export type ErrorOption = 'stop-on-error' | 'continue-on-error' | 'rollback-on-error';
export type TestOption = 'test-then-set' | 'set' | 'test-only';

/** `nc:operation` on an element of an edit-config's config: `{ vlan: { ...operation('delete'), id: 100 } }`. */
export function operation(op: EditOperation): { '@_nc:operation': EditOperation } {
  return { [`${ATTR}nc:operation`]: op } as { '@_nc:operation': EditOperation };
}

/** A successful reply. */
export interface RpcReply {
  /** The reply as parsed (namespace prefixes dropped), the `rpc-reply` element. */
  reply: ParsedXml;
  /** The reply as it came. */
  xml: string;
  /** rpc-errors of severity warning, if any. */
  warnings: RpcErrorDetail[];
}

/** A reply carrying `<data>` (get, get-config). */
export interface DataReply extends RpcReply {
  /** The children of `<data>` as parsed, e.g. `data.vlans.vlan`; {} when empty. */
  data: ParsedXml;
}

export interface SessionOptions {
  /**
   * Base capabilities to advertise; default both 1.0 and 1.1. The session uses chunked framing
   * (base:1.1) when both sides advertise 1.1, end-of-message framing otherwise.
   */
  capabilities?: readonly string[];
  /** How long to wait for the server's hello and for each reply; default 30 s. */
  timeoutMs?: number;
  /**
   * Whether {@link NetconfSession.open} resolves only once the server has answered a first,
   * read-only request (default true): see {@link PROBE}.
   */
  probe?: boolean;
}

/**
 * The first request of a session: a get-config of running with an empty filter, which selects
 * nothing (RFC 6241 §6.4.2) and changes nothing. netconfd (yuma123) leaves a message that reaches
 * it within some tens of milliseconds of the client's hello unread until more bytes come: on a
 * loaded machine the first request of a session then waits for ever. So a session is ready only
 * once this has been answered (a reply or an rpc-error, either proves the server reads us), and
 * while it is not, it is sent again every {@link NUDGE_MS}: a harmless next message that makes
 * such a server read the ones before it.
 */
export const PROBE: XmlTree = { 'get-config': { source: { running: '' }, filter: { [`${ATTR}type`]: 'subtree' } } };
export const NUDGE_MS = 1000;
const MAX_NUDGES = 5;

export interface SshOptions extends SessionOptions {
  host: string;
  port: number;
  username: string;
  privateKey?: string | Buffer;
  password?: string;
  /**
   * The server's public host key as in a known_hosts or .pub file (`ssh-ed25519 AAAA...`): the
   * connection is refused if the server shows another. Required unless `acceptAnyHostKey`.
   */
  hostKey?: string;
  /** Accept whatever host key the server shows (a lab switch whose key is not known yet). */
  acceptAnyHostKey?: boolean;
  /** More ssh2 connect settings (they override the ones above). */
  ssh?: Partial<ConnectConfig>;
}

interface Pending {
  operation: string;
  resolve(r: RpcReply): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One NETCONF session (RFC 6241) on a byte stream, usually the `netconf` SSH subsystem
 * ({@link connectNetconf}). Replies are matched to requests by message-id; requests can be in flight
 * together. Every operation rejects with {@link RpcError} when the server answers with an rpc-error
 * of severity error, with {@link SessionClosed} when the session ends first.
 */
export class NetconfSession {
  #deframer = new Deframer('eom');
  #framing: Framing = 'eom';
  #nextId = 1;
  #pending = new Map<string, Pending>();
  #closed: NetconfError | undefined;
  #helloWaiters: { resolve(): void; reject(e: Error): void } | undefined;
  #closeListeners: ((reason: NetconfError) => void)[] = [];
  #timeoutMs: number;
  #serverCapabilities: string[] = [];
  #sessionId = 0;
  #onEnd: (() => void) | undefined;

  private constructor(
    readonly stream: Duplex,
    readonly clientCapabilities: readonly string[],
    timeoutMs: number,
  ) {
    this.#timeoutMs = timeoutMs;
    stream.on('data', (d: Buffer) => this.#onData(d));
    stream.on('error', (e: Error) => this.#end(new SessionClosed(`NETCONF transport failed: ${e.message}`, { cause: e })));
    stream.on('close', () => this.#end(new SessionClosed('NETCONF session closed')));
    stream.on('end', () => this.#end(new SessionClosed('NETCONF session closed by the server')));
  }

  /** Starts a session on an open stream: sends our hello, waits for the server's. */
  static async open(stream: Duplex, options: SessionOptions = {}, onEnd?: () => void): Promise<NetconfSession> {
    const caps = options.capabilities ?? [BASE_1_0, BASE_1_1];
    if (!caps.includes(BASE_1_0) && !caps.includes(BASE_1_1)) {
      throw new NetconfError('the client must advertise base:1.0 or base:1.1');
    }
    const s = new NetconfSession(stream, caps, options.timeoutMs ?? 30_000);
    s.#onEnd = onEnd;
    const hello = new Promise<void>((resolve, reject) => (s.#helloWaiters = { resolve, reject }));
    const timer = setTimeout(() => s.#end(new RpcTimeout('no hello from the NETCONF server in time')), s.#timeoutMs);
    try {
      s.#write(
        buildXml({ hello: { [`${ATTR}xmlns`]: NETCONF_BASE_NS, capabilities: { capability: [...caps] } } }),
        'eom',
      );
      await hello;
      clearTimeout(timer);
      if (options.probe ?? true) await s.#probe();
    } catch (e) {
      s.#end(e instanceof NetconfError ? e : new SessionClosed(String(e)));
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return s;
  }

  /** Sends {@link PROBE} until one is answered. */
  async #probe(): Promise<void> {
    const once = () => this.rpc(PROBE).then(
      () => undefined,
      (e: unknown) => {
        if (!(e instanceof RpcError)) throw e;
      },
    );
    const first = once();
    let nudges = 0;
    const nudge = setInterval(() => {
      if (++nudges > MAX_NUDGES) return clearInterval(nudge);
      // Its reply (or its end with the session) is of no interest: the first one's is awaited.
      once().catch(() => undefined);
    }, NUDGE_MS);
    try {
      await first;
    } finally {
      clearInterval(nudge);
    }
  }

  /** The session-id the server gave this session. */
  get sessionId(): number {
    return this.#sessionId;
  }

  /** The capabilities in the server's hello. */
  get serverCapabilities(): readonly string[] {
    return this.#serverCapabilities;
  }

  /** The framing in use after the hello: 'chunked' (base:1.1) or 'eom' (base:1.0). */
  get framing(): Framing {
    return this.#framing;
  }

  /** Whether the server advertised a capability (compared without its `?parameters`). */
  hasCapability(uri: string): boolean {
    return this.#serverCapabilities.some((c) => c === uri || c.split('?')[0] === uri);
  }

  /** Whether the session has ended. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Called once when the session ends, with why. */
  onClose(listener: (reason: NetconfError) => void): void {
    if (this.#closed) listener(this.#closed);
    else this.#closeListeners.push(listener);
  }

  // ------------------------------------------------------------------------------------------
  // operations (RFC 6241 §7, §8)

  /** `<get>` with an optional subtree filter (a tree of the nodes to select). */
  async get(options: { filter?: XmlTree } = {}): Promise<DataReply> {
    return this.#data('get', { get: filterOf(options.filter) });
  }

  /** `<get-config>` of a datastore, with an optional subtree filter. */
  async getConfig(source: Datastore, options: { filter?: XmlTree } = {}): Promise<DataReply> {
    return this.#data('get-config', { 'get-config': { source: { [source]: '' }, ...filterOf(options.filter) } });
  }

  /**
   * `<edit-config>`: `config` is the content of `<config>`, e.g.
   * `{ vlans: { '@_xmlns': NS, vlan: { id: 100, name: 'blue' } } }`; an element's own operation is
   * set with {@link operation}.
   */
  async editConfig(
    target: Datastore,
    config: XmlTree,
    options: { defaultOperation?: DefaultOperation; errorOption?: ErrorOption; testOption?: TestOption } = {},
  ): Promise<RpcReply> {
    const body: XmlTree = { target: { [target]: '' } };
    if (options.defaultOperation) body['default-operation'] = options.defaultOperation;
    if (options.testOption) body['test-option'] = options.testOption;
    if (options.errorOption) body['error-option'] = options.errorOption;
    body.config = config;
    return this.rpc({ 'edit-config': body });
  }

  /** `<copy-config>` from one datastore to another. */
  async copyConfig(target: Datastore, source: Datastore): Promise<RpcReply> {
    return this.rpc({ 'copy-config': { target: { [target]: '' }, source: { [source]: '' } } });
  }

  async lock(target: Datastore): Promise<RpcReply> {
    return this.rpc({ lock: { target: { [target]: '' } } });
  }

  async unlock(target: Datastore): Promise<RpcReply> {
    return this.rpc({ unlock: { target: { [target]: '' } } });
  }

  /**
   * `<validate>` (:validate:1.1) of a datastore, or of a configuration given inline (a tree as for
   * {@link editConfig}'s config).
   */
  async validate(source: Datastore | XmlTree): Promise<RpcReply> {
    return this.rpc({ validate: { source: typeof source === 'string' ? { [source]: '' } : { config: source } } });
  }

  /**
   * `<commit>` of the candidate (:candidate). With `confirmed`, a confirmed commit
   * (:confirmed-commit:1.1): the server rolls back unless another commit confirms it within
   * `confirmTimeout` seconds (default 600); with `persist`, it survives the end of this session and
   * is confirmed or cancelled by `persistId` from any session. A plain commit (with `persistId`
   * when the confirmed commit was persisted) confirms a pending confirmed commit.
   */
  async commit(
    options: { confirmed?: boolean; confirmTimeout?: number; persist?: string; persistId?: string } = {},
  ): Promise<RpcReply> {
    const body: XmlTree = {};
    if (options.confirmed) {
      body.confirmed = '';
      if (options.confirmTimeout !== undefined) {
        if (!Number.isInteger(options.confirmTimeout) || options.confirmTimeout < 1) {
          throw new NetconfError(`confirm-timeout must be a positive whole number of seconds, got ${options.confirmTimeout}`);
        }
        body['confirm-timeout'] = options.confirmTimeout;
      }
      if (options.persist !== undefined) body.persist = options.persist;
    }
    if (options.persistId !== undefined) body['persist-id'] = options.persistId;
    return this.rpc({ commit: body });
  }

  /** `<cancel-commit>`: rolls back a pending confirmed commit (with `persistId` for a persisted one). */
  async cancelCommit(options: { persistId?: string } = {}): Promise<RpcReply> {
    return this.rpc({ 'cancel-commit': options.persistId !== undefined ? { 'persist-id': options.persistId } : '' });
  }

  /** `<discard-changes>`: the candidate becomes running again. */
  async discardChanges(): Promise<RpcReply> {
    return this.rpc({ 'discard-changes': '' });
  }

  /** `<kill-session>` of another session (its locks are released, its work aborted). */
  async killSession(sessionId: number): Promise<RpcReply> {
    return this.rpc({ 'kill-session': { 'session-id': sessionId } });
  }

  /**
   * `<close-session>`, then the transport is closed. Resolves once the server has answered (or the
   * session was already over).
   */
  async closeSession(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.rpc({ 'close-session': '' });
    } catch (e) {
      if (!(e instanceof SessionClosed)) throw e;
    } finally {
      this.#end(new SessionClosed('NETCONF session closed by the client'));
    }
  }

  /** Ends the transport without `<close-session>` (the server sees the connection drop). */
  destroy(): void {
    this.#end(new SessionClosed('NETCONF session closed by the client'));
  }

  /**
   * Sends one `<rpc>` whose content is `body` (a tree, e.g. `{ 'get-config': {...} }`) and waits
   * for its reply. Rejects with RpcError when the reply holds an rpc-error of severity error.
   */
  rpc(body: XmlTree, options: { timeoutMs?: number } = {}): Promise<RpcReply> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = String(this.#nextId++);
    const operationName = Object.keys(body).find((k) => !k.startsWith(ATTR)) ?? 'rpc';
    const xml = buildXml({
      rpc: { [`${ATTR}message-id`]: id, [`${ATTR}xmlns`]: NETCONF_BASE_NS, [`${ATTR}xmlns:nc`]: NETCONF_BASE_NS, ...body },
    });
    return new Promise<RpcReply>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RpcTimeout(`${operationName}: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { operation: operationName, resolve, reject, timer });
      try {
        this.#write(xml, this.#framing);
      } catch (e) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  // ------------------------------------------------------------------------------------------

  async #data(name: string, body: XmlTree): Promise<DataReply> {
    const r = await this.rpc(body);
    const data = r.reply.data;
    return { ...r, data: data && typeof data === 'object' ? (data as ParsedXml) : {} };
  }

  #write(xml: string, framing: Framing): void {
    const frame = encode(`<?xml version="1.0" encoding="UTF-8"?>${xml}`, framing);
    this.stream.write(frame);
  }

  #onData(d: Buffer): void {
    if (this.#closed) return;
    this.#deframer.push(d);
    try {
      for (let msg = this.#deframer.next(); msg !== undefined; msg = this.#closed ? undefined : this.#deframer.next()) {
        this.#onMessage(msg);
      }
    } catch (e) {
      const err = e instanceof NetconfError ? e : new ProtocolError(String(e));
      this.#end(err instanceof FramingError || err instanceof ProtocolError ? err : new ProtocolError(err.message));
    }
  }

  #onMessage(xml: string): void {
    let doc: ParsedXml;
    try {
      doc = parseXml(xml);
    } catch (e) {
      throw new ProtocolError(`unreadable NETCONF message: ${(e as Error).message}`, { cause: e });
    }
    if (this.#helloWaiters) {
      const hello = doc.hello as ParsedXml | undefined;
      if (!hello || typeof hello !== 'object') throw new ProtocolError('the server did not start with a hello');
      const caps = asArray((hello.capabilities as ParsedXml | undefined)?.capability).map((c) => (textOf(c) ?? '').trim());
      const sid = Number(textOf(hello['session-id']));
      if (!Number.isInteger(sid) || sid < 1) throw new ProtocolError('the server hello has no valid session-id');
      this.#serverCapabilities = caps;
      this.#sessionId = sid;
      if (caps.includes(BASE_1_1) && this.clientCapabilities.includes(BASE_1_1)) {
        this.#framing = 'chunked';
      } else if (!caps.includes(BASE_1_0) || !this.clientCapabilities.includes(BASE_1_0)) {
        throw new ProtocolError('the server and the client have no NETCONF base version in common');
      }
      // Everything after the hello, both ways, is in the framing chosen.
      this.#deframer.framing = this.#framing;
      const w = this.#helloWaiters;
      this.#helloWaiters = undefined;
      w.resolve();
      return;
    }
    const reply = doc['rpc-reply'] as ParsedXml | undefined;
    if (!reply || typeof reply !== 'object') {
      if (doc.notification) return; // not subscribed to any; ignored
      throw new ProtocolError(`unexpected NETCONF message: ${xml.slice(0, 200)}`);
    }
    const id = textOf(reply[`${ATTR}message-id`]);
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending || id === undefined) return; // a reply to a request that timed out
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const details = asArray<ParsedXml>(reply['rpc-error']).map(parseRpcError);
    const errors = details.filter((d) => d.severity !== 'warning');
    if (errors.length > 0) pending.reject(new RpcError(pending.operation, details, xml));
    else pending.resolve({ reply, xml, warnings: details });
  }

  #end(reason: NetconfError): void {
    if (this.#closed) return;
    this.#closed = reason;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.#pending.clear();
    if (this.#helloWaiters) {
      this.#helloWaiters.reject(reason);
      this.#helloWaiters = undefined;
    }
    this.stream.end();
    this.stream.destroy();
    this.#onEnd?.();
    for (const l of this.#closeListeners.splice(0)) l(reason);
  }
}

function filterOf(filter: XmlTree | undefined): XmlTree {
  return filter ? { filter: { [`${ATTR}type`]: 'subtree', ...filter } } : {};
}

/** One `<rpc-error>` element, parsed. */
export function parseRpcError(e: ParsedXml): RpcErrorDetail {
  const info = e['error-info'];
  const d: RpcErrorDetail = {
    type: textOf(e['error-type'])?.trim() ?? '',
    tag: textOf(e['error-tag'])?.trim() ?? '',
    severity: textOf(e['error-severity'])?.trim() ?? 'error',
  };
  const appTag = textOf(e['error-app-tag'])?.trim();
  if (appTag) d.appTag = appTag;
  const path = textOf(e['error-path'])?.trim();
  if (path) d.path = path;
  const message = textOf(e['error-message'])?.trim();
  if (message) d.message = message;
  if (info && typeof info === 'object') d.info = info as Record<string, unknown>;
  return d;
}

/**
 * Opens a NETCONF session over SSH (RFC 6242): connects, authenticates, starts the `netconf`
 * subsystem and exchanges hellos. The SSH connection ends with the session.
 */
export async function connectNetconf(options: SshOptions): Promise<NetconfSession> {
  if (!options.hostKey && !options.acceptAnyHostKey) {
    throw new NetconfError('connectNetconf needs the server\'s hostKey (or acceptAnyHostKey: true)');
  }
  const expected = options.hostKey ? hostKeyBlob(options.hostKey) : undefined;
  const conn = new Client();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const stream = await new Promise<Duplex>((resolve, reject) => {
    const fail = (e: Error) => {
      conn.end();
      reject(e instanceof NetconfError ? e : new SessionClosed(`SSH to ${options.host}:${options.port}: ${e.message}`, { cause: e }));
    };
    conn.once('error', fail);
    conn.once('ready', () => {
      conn.subsys('netconf', (err, channel) => {
        if (err) return fail(err);
        conn.removeListener('error', fail);
        resolve(channel);
      });
    });
    conn.connect({
      host: options.host,
      port: options.port,
      username: options.username,
      privateKey: options.privateKey,
      password: options.password,
      readyTimeout: timeoutMs,
      hostVerifier: expected ? (key: Buffer) => key.equals(expected) : undefined,
      ...options.ssh,
    });
  });
  conn.on('error', () => {}); // surfaces as the channel's close
  try {
    return await NetconfSession.open(stream, options, () => conn.end());
  } catch (e) {
    conn.end();
    throw e;
  }
}

/** The key blob of an OpenSSH public key line (`type base64 [comment]`). */
function hostKeyBlob(line: string): Buffer {
  const b64 = line.trim().split(/\s+/)[1];
  if (!b64) throw new NetconfError('hostKey must be an OpenSSH public key line ("ssh-ed25519 AAAA...")');
  return Buffer.from(b64, 'base64');
}
