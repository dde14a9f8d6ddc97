import {
  ConnectionClosed,
  ConnectionLost,
  FramingError,
  PeerUnresponsive,
  ProtocolError,
  RequestCanceled,
  RequestTimeout,
  RpcError,
} from './errors';
import { JsonStreamFramer } from './framer';
import { type Logger, silentLogger } from './logger';
import type { Transport } from './transport';

/** How long an aborted request waits for the server to process the cancel before it is rejected anyway. */
export const CANCEL_GRACE_MS = 2_000;

export interface RpcOptions {
  /** Default timeout of a request (default 30 s; 0 = none). */
  requestTimeoutMs?: number;
  /**
   * Send our own "echo" when nothing was received for this long, and drop the connection as dead
   * (PeerUnresponsive) if the echo is not answered within the same time. Default 5 s; 0 disables.
   */
  echoIntervalMs?: number;
  /** Largest JSON message accepted from the peer (default 64 MiB). */
  maxMessageBytes?: number;
  logger?: Logger;
}

export interface RequestOptions {
  /** Overrides the connection's request timeout (0 = none). */
  timeoutMs?: number;
  /** Aborting sends an RFC 7047 "cancel" for the request and rejects it with RequestCanceled. */
  signal?: AbortSignal;
}

/** A notification (a message with `"id": null`) from the server. */
export type NotificationHandler = (method: string, params: unknown[]) => void;

interface Pending {
  method: string;
  resolve(result: unknown): void;
  reject(error: Error): void;
  cleanup(): void;
}

/**
 * JSON-RPC 1.0 over a Transport: request ids and correlation, timeouts, cancel, the peer's "echo"
 * requests answered, our own echo probes to detect a dead peer, and a clear error for every
 * request in flight when the connection goes away.
 */
export class JsonRpcConnection {
  readonly #transport: Transport;
  readonly #framer: JsonStreamFramer;
  readonly #pending = new Map<number, Pending>();
  readonly #notificationHandlers = new Set<NotificationHandler>();
  readonly #closeHandlers = new Set<(error: Error) => void>();
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  readonly #echoIntervalMs: number;
  #nextId = 1;
  #lastReceived = Date.now();
  #echoTimer: ReturnType<typeof setInterval> | undefined;
  #probeInFlight = false;
  /** Set once the connection is unusable; every later call rejects with it. */
  #closedError: ConnectionClosed | ConnectionLost | undefined;
  #closing: Promise<void> | undefined;
  /** How many echo requests from the peer we answered (observable in tests and logs). */
  echoesAnswered = 0;
  /** How many replies matched no pending request (late replies after a timeout or cancel). */
  unmatchedReplies = 0;

  constructor(transport: Transport, options: RpcOptions = {}) {
    this.#transport = transport;
    this.#framer = new JsonStreamFramer({ maxMessageBytes: options.maxMessageBytes });
    this.#log = options.logger ?? silentLogger;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#echoIntervalMs = options.echoIntervalMs ?? 5_000;
    transport.start({
      data: (chunk) => this.#onData(chunk),
      closed: (error) => this.#onClosed(error),
    });
    if (this.#echoIntervalMs > 0) {
      this.#echoTimer = setInterval(() => this.#probe(), Math.max(50, Math.floor(this.#echoIntervalMs / 2)));
      this.#echoTimer.unref?.();
    }
  }

  get target(): string {
    return this.#transport.target;
  }

  /** Whether the connection can still carry requests. */
  get isOpen(): boolean {
    return this.#closedError === undefined;
  }

  /** Number of requests waiting for a reply. */
  get inFlight(): number {
    return this.#pending.size;
  }

  onNotification(handler: NotificationHandler): () => void {
    this.#notificationHandlers.add(handler);
    return () => this.#notificationHandlers.delete(handler);
  }

  /** Called once when the connection ends (our close or a loss), with the error calls now get. */
  onClose(handler: (error: Error) => void): () => void {
    if (this.#closedError) {
      const e = this.#closedError;
      queueMicrotask(() => handler(e));
      return () => {};
    }
    this.#closeHandlers.add(handler);
    return () => this.#closeHandlers.delete(handler);
  }

  /** Sends a request and resolves with its result; rejects with RpcError if the server answers with an error. */
  request(method: string, params: unknown[], options: RequestOptions = {}): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#errorFor(method));
    if (options.signal?.aborted) {
      return Promise.reject(new RequestCanceled(method, { cause: options.signal.reason, confirmed: false }));
    }
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        // RFC 7047 §4.1.4 says the server answers the original request with the error "canceled"
        // (→ RequestCanceled with confirmed = true). ovsdb-server 3.1 instead drops the request
        // silently. So an echo follows the cancel as a barrier: the server handles messages in
        // order, and once the echo is answered the cancel has been processed either way.
        this.notify('cancel', [id]);
        if (timer) clearTimeout(timer);
        const rejectUnconfirmed = () =>
          settle(() => reject(new RequestCanceled(method, { cause: options.signal?.reason, confirmed: false })));
        this.request('echo', ['sdmi-cancel-barrier'], { timeoutMs: CANCEL_GRACE_MS }).then(rejectUnconfirmed, rejectUnconfirmed);
      };
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const settle = (fn: () => void) => {
        if (!this.#pending.has(id)) return;
        this.#pending.delete(id);
        cleanup();
        fn();
      };
      this.#pending.set(id, { method, resolve, reject, cleanup });
      if (timeoutMs > 0) {
        timer = setTimeout(() => settle(() => reject(new RequestTimeout(method, timeoutMs))), timeoutMs);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#send({ method, params, id });
    });
  }

  /** Sends a notification (no reply expected). */
  notify(method: string, params: unknown[]): void {
    if (this.#closedError) return;
    this.#send({ method, params, id: null });
  }

  /** Closes the connection; requests in flight reject with ConnectionClosed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#shutdown(new ConnectionClosed(this.target, undefined));
      await this.#transport.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #send(message: object): void {
    const text = JSON.stringify(message);
    this.#log.debug({ target: this.target, message: text.length > 2000 ? `${text.slice(0, 2000)}…` : text }, 'ovsdb send');
    this.#transport.write(text);
  }

  #errorFor(method: string | undefined): Error {
    const e = this.#closedError;
    if (e instanceof ConnectionLost) return new ConnectionLost(this.target, method, { cause: e.cause });
    return new ConnectionClosed(this.target, method);
  }

  #onData(chunk: Uint8Array): void {
    this.#lastReceived = Date.now();
    for (const value of this.#framer.push(chunk)) {
      if (value instanceof FramingError) {
        this.#log.warn({ target: this.target, err: value }, 'ovsdb stream is not JSON; dropping the connection');
        this.#transport.destroy(value);
        return;
      }
      this.#dispatch(value);
    }
  }

  #dispatch(message: unknown): void {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.#log.warn({ target: this.target, message }, 'ovsdb: not a JSON-RPC message');
      return;
    }
    const m = message as { method?: unknown; params?: unknown; id?: unknown; result?: unknown; error?: unknown };
    if (typeof m.method === 'string') {
      const params = Array.isArray(m.params) ? m.params : [];
      if (m.id === null || m.id === undefined) {
        for (const h of this.#notificationHandlers) h(m.method, params);
        return;
      }
      // A request from the server. OVSDB servers send "echo" as their keep-alive.
      if (m.method === 'echo') {
        this.echoesAnswered++;
        this.#send({ result: params, error: null, id: m.id });
      } else {
        this.#send({ result: null, error: 'unknown method', id: m.id });
      }
      return;
    }
    if (typeof m.id !== 'number') {
      this.#log.warn({ target: this.target, message }, 'ovsdb: reply with an id we never use');
      return;
    }
    const pending = this.#pending.get(m.id);
    if (!pending) {
      // Late reply after a timeout or cancel.
      this.unmatchedReplies++;
      this.#log.debug({ target: this.target, id: m.id }, 'ovsdb: reply to no pending request');
      return;
    }
    this.#pending.delete(m.id);
    pending.cleanup();
    if (m.error !== null && m.error !== undefined) {
      if (m.error === 'canceled') pending.reject(new RequestCanceled(pending.method, { confirmed: true }));
      else {
        const details = (m.error as { details?: unknown }).details;
        pending.reject(new RpcError(pending.method, m.error, typeof details === 'string' ? details : undefined));
      }
    } else if (!('result' in m)) {
      pending.reject(new RpcError(pending.method, new ProtocolError('reply has neither result nor error', message)));
    } else {
      pending.resolve(m.result);
    }
  }

  #probe(): void {
    if (this.#closedError || this.#probeInFlight) return;
    if (Date.now() - this.#lastReceived < this.#echoIntervalMs) return;
    this.#probeInFlight = true;
    const timeoutMs = this.#echoIntervalMs;
    this.request('echo', ['sdmi-keepalive'], { timeoutMs })
      .catch((e: unknown) => {
        if (e instanceof RequestTimeout && this.isOpen) {
          const dead = new PeerUnresponsive(this.target, timeoutMs);
          this.#log.warn({ target: this.target, err: dead }, 'ovsdb peer unresponsive; dropping the connection');
          // Reject in-flight work now: a dead peer may never let the socket close.
          this.#shutdown(new ConnectionLost(this.target, undefined, { cause: dead }));
          this.#transport.destroy(dead);
        }
      })
      .finally(() => (this.#probeInFlight = false));
  }

  #onClosed(error?: Error): void {
    if (this.#closedError) return;
    this.#shutdown(new ConnectionLost(this.target, undefined, { cause: error ?? new Error('the peer closed the connection') }));
  }

  #shutdown(error: ConnectionClosed | ConnectionLost): void {
    if (this.#closedError) return;
    this.#closedError = error;
    if (this.#echoTimer) clearInterval(this.#echoTimer);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      p.cleanup();
      p.reject(this.#errorFor(p.method));
    }
    for (const h of this.#closeHandlers) h(error);
    this.#closeHandlers.clear();
  }
}
