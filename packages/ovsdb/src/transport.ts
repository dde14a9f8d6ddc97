// The protocol core talks to a Transport; only unix.ts and tcp.ts know about node:net.
import { ConnectFailed } from './errors';

/** What a transport reports to the protocol core. */
export interface TransportHandlers {
  /** Bytes received, in arrival order (any chunking). */
  data(chunk: Uint8Array): void;
  /** The stream ended or failed. Called exactly once; `error` is absent on a clean end. */
  closed(error?: Error): void;
}

/** A connected, ordered, reliable byte stream to one OVSDB server. */
export interface Transport {
  /** Where it goes, for messages, e.g. `unix:/var/run/openvswitch/db.sock`. */
  readonly target: string;
  /** Starts delivering events. Called once, right after connecting. */
  start(handlers: TransportHandlers): void;
  /** Queues bytes for sending. Errors surface through `closed`. */
  write(data: string): void;
  /** Closes the stream; resolves once it is closed (idempotent). `closed` is still reported. */
  close(): Promise<void>;
  /** Drops the stream at once (no graceful end), e.g. after a dead peer was detected. */
  destroy(error?: Error): void;
}

/** Opens a transport. */
export type Connector = () => Promise<Transport>;

/**
 * The part of a node:net Socket a stream transport needs, so that the shared adapter below needs
 * no import of node:net.
 */
export interface StreamSocketLike {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  write(data: string): unknown;
  end(): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed: boolean;
}

/** Adapts a connected socket to the Transport interface. Used by the unix and TCP transports. */
export class SocketTransport implements Transport {
  #handlers: TransportHandlers | undefined;
  #error: Error | undefined;
  #closed = false;
  readonly #whenClosed: Promise<void>;
  #resolveClosed!: () => void;
  /** Data and close events that arrive before start(). */
  readonly #early: Array<Uint8Array> = [];

  constructor(
    readonly target: string,
    private readonly socket: StreamSocketLike,
  ) {
    this.#whenClosed = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.on('data', (chunk) => {
      if (this.#handlers) this.#handlers.data(chunk);
      else this.#early.push(chunk);
    });
    socket.on('error', (error) => {
      this.#error ??= error;
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#resolveClosed();
      this.#handlers?.closed(this.#error);
    });
  }

  start(handlers: TransportHandlers): void {
    if (this.#handlers) throw new Error('transport already started');
    this.#handlers = handlers;
    for (const chunk of this.#early.splice(0)) handlers.data(chunk);
    if (this.#closed) handlers.closed(this.#error);
  }

  write(data: string): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  close(): Promise<void> {
    if (!this.#closed) this.socket.end();
    // A peer that does not close its side would keep the socket half-open: force it shortly after.
    const force = setTimeout(() => this.socket.destroy(), 1000);
    return this.#whenClosed.finally(() => clearTimeout(force));
  }

  destroy(error?: Error): void {
    if (error) this.#error ??= error;
    this.socket.destroy();
  }
}

/** A socket still connecting: what openSocket needs besides the StreamSocketLike side. */
export interface ConnectingSocket extends StreamSocketLike {
  once(event: 'connect', listener: () => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Waits for a socket the unix or TCP transport just created to connect, within the timeout, and
 * wraps it; a refusal or a timeout becomes ConnectFailed naming the target.
 */
export function openSocket(target: string, socket: ConnectingSocket, connectTimeoutMs = 10_000): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectFailed(target, { cause: new Error(`no connection within ${connectTimeoutMs} ms`) }));
    }, connectTimeoutMs);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new ConnectFailed(target, { cause: e }));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(new SocketTransport(target, socket));
    });
  });
}
