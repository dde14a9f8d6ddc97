import {
  BundleCtrlType,
  BundleFlags,
  ControllerRole,
  encode,
  Framer,
  ErrorCode,
  ErrorType,
  MultipartFlags,
  OFP_VERSION,
  PortReason,
  type MessageOf,
  type MultipartReplyBody,
  type MultipartRequestBody,
  type OfpMessage,
  type OfpPort,
} from '@sdmi/openflow';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from './clock';
import { BatchRejected, ConnectionClosed, HandshakeFailed, OfpErrorReply, RequestTimeout } from './errors';
import type { Transport } from './transport';

/** A message as the caller builds it: the connection assigns the xid. */
export type Outgoing = OfpMessage extends infer M ? (M extends OfpMessage ? Omit<M, 'xid'> : never) : never;

export interface ConnectionOptions {
  clock?: Clock;
  log?: Logger;
  /** Send an ECHO_REQUEST after this long without hearing from the switch. */
  echoIntervalMs?: number;
  /** Declare the peer dead when an echo is not answered within this. */
  echoTimeoutMs?: number;
  requestTimeoutMs?: number;
  handshakeTimeoutMs?: number;
}

export interface ConnectionEvents {
  onReady(conn: SwitchConnection): void;
  /** Asynchronous messages from the switch (PACKET_IN, PORT_STATUS, FLOW_REMOVED, unsolicited ERROR...). */
  onMessage(conn: SwitchConnection, msg: OfpMessage): void;
  onClose(conn: SwitchConnection, reason: string): void;
}

export const ConnectionState = { Handshake: 'handshake', Ready: 'ready', Closed: 'closed' } as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

interface Pending {
  what: string;
  timer: unknown;
  resolve(msg: OfpMessage | OfpMessage[]): void;
  reject(err: Error): void;
  /** Multipart: replies collected until one arrives without the MORE flag. */
  parts?: OfpMessage[];
}

interface Batch {
  xids: Map<number, number>; // xid → index in the batch
  errors: Array<{ index: number; error: MessageOf<'ERROR'> }>;
}

/**
 * One switch's OpenFlow 1.3 session: the handshake (HELLO with version bitmap, FEATURES, port
 * descriptions, SET_CONFIG), echo keep-alive with dead-peer detection, xid-correlated requests
 * with multipart reassembly, barrier-confirmed batches, bundles and role requests.
 */
export class SwitchConnection {
  state: ConnectionState = ConnectionState.Handshake;
  datapathId?: bigint;
  features?: MessageOf<'FEATURES_REPLY'>;
  readonly ports = new Map<number, OfpPort>();
  private readonly framer = new Framer();
  private nextXid = (Math.random() * 0x7fffffff) >>> 0;
  private nextBundleId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly batches = new Set<Batch>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private lastHeard: number;
  private echoTimer?: unknown;
  private handshakeTimer?: unknown;
  private readonly opts: Required<Omit<ConnectionOptions, 'clock' | 'log'>>;

  constructor(
    readonly transport: Transport,
    private readonly events: ConnectionEvents,
    options: ConnectionOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.log ?? pino({ level: 'silent' })).child({ switch: transport.remote });
    this.opts = {
      echoIntervalMs: options.echoIntervalMs ?? 5_000,
      echoTimeoutMs: options.echoTimeoutMs ?? 15_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    };
    this.lastHeard = this.clock.now();
    transport.onData((chunk) => this.receive(chunk));
    transport.onClose((err) => this.closed(err ? `transport error: ${err.message}` : 'closed by peer'));
    this.handshakeTimer = this.clock.setTimeout(() => this.fail(`no handshake within ${this.opts.handshakeTimeoutMs} ms`), this.opts.handshakeTimeoutMs);
    this.send({ type: 'HELLO', version: OFP_VERSION, elements: [{ type: 'VERSIONBITMAP', bitmaps: [1 << OFP_VERSION] }] });
  }

  get remote(): string {
    return this.transport.remote;
  }

  /** The datapath id as OVS prints it: 16 hex digits. */
  get dpid(): string {
    return (this.datapathId ?? 0n).toString(16).padStart(16, '0');
  }

  /** Sends a message; returns its xid. */
  send(msg: Outgoing): number {
    const xid = this.allocXid();
    this.write({ ...msg, xid } as OfpMessage);
    return xid;
  }

  /** Sends a request and resolves with the reply of the same xid; an ERROR reply rejects. */
  request<T extends OfpMessage['type']>(msg: Outgoing, what: string = msg.type): Promise<MessageOf<T>> {
    return new Promise((resolve, reject) => {
      const xid = this.allocXid();
      this.track(xid, what, { resolve: (m) => resolve(m as MessageOf<T>), reject });
      this.write({ ...msg, xid } as OfpMessage);
    });
  }

  /** A multipart request; resolves with every reply body, reassembled from MORE-flagged parts. */
  multipart(body: MultipartRequestBody): Promise<MultipartReplyBody[]> {
    return new Promise((resolve, reject) => {
      const xid = this.allocXid();
      this.track(xid, `MULTIPART ${body.kind}`, {
        resolve: (parts) => resolve((parts as MessageOf<'MULTIPART_REPLY'>[]).map((p) => p.body)),
        reject,
        parts: [],
      });
      this.write({ type: 'MULTIPART_REQUEST', xid, flags: 0, body });
    });
  }

  /**
   * Sends the messages, then a barrier; resolves when the barrier reply confirms the switch
   * processed them all, and rejects with BatchRejected naming every message it refused.
   */
  async barrier(msgs: readonly Outgoing[]): Promise<void> {
    const batch: Batch = { xids: new Map(), errors: [] };
    this.batches.add(batch);
    try {
      msgs.forEach((m, i) => batch.xids.set(this.send(m), i));
      await this.request<'BARRIER_REPLY'>({ type: 'BARRIER_REQUEST' }, `barrier after ${msgs.length} message(s)`);
    } finally {
      this.batches.delete(batch);
    }
    // The switch sends a message's ERROR before it answers the barrier that follows it (§6.2).
    if (batch.errors.length > 0) throw new BatchRejected(batch.errors, `batch of ${msgs.length}`);
  }

  /**
   * Applies the messages atomically through an ONF bundle (open, add each, commit). When the
   * switch refuses any of them, the bundle is discarded and nothing changes.
   */
  async bundle(msgs: readonly Outgoing[], flags: number = BundleFlags.ATOMIC | BundleFlags.ORDERED): Promise<void> {
    const bundleId = this.nextBundleId++ >>> 0;
    const ctrl = (bundleCtrlType: number) => ({ type: 'BUNDLE_CONTROL', bundleId, bundleCtrlType, flags, properties: Buffer.alloc(0) }) as const;
    await this.request<'BUNDLE_CONTROL'>(ctrl(BundleCtrlType.OPEN_REQUEST), `bundle ${bundleId} open`);
    const batch: Batch = { xids: new Map(), errors: [] };
    this.batches.add(batch);
    try {
      msgs.forEach((m, index) => {
        // OVS requires the embedded message's xid to equal the ADD message's own.
        const xid = this.allocXid();
        batch.xids.set(xid, index);
        this.write({ type: 'BUNDLE_ADD_MESSAGE', xid, bundleId, flags, message: { ...m, xid } as OfpMessage, properties: Buffer.alloc(0) });
      });
      // Errors for the adds come before the reply to anything sent after them.
      await this.request<'BARRIER_REPLY'>({ type: 'BARRIER_REQUEST' }, `barrier in bundle ${bundleId}`);
    } finally {
      this.batches.delete(batch);
    }
    if (batch.errors.length > 0) {
      await this.request(ctrl(BundleCtrlType.DISCARD_REQUEST), `bundle ${bundleId} discard`).catch((err: unknown) =>
        this.log.warn({ err, bundleId }, 'bundle discard failed'),
      );
      throw new BatchRejected(batch.errors, `bundle ${bundleId} of ${msgs.length} (discarded)`);
    }
    await this.request<'BUNDLE_CONTROL'>(ctrl(BundleCtrlType.COMMIT_REQUEST), `bundle ${bundleId} commit`);
  }

  /** Asks for a controller role (MASTER/EQUAL/SLAVE) with a generation id; resolves with the switch's answer. */
  async role(role: number, generationId: bigint): Promise<{ role: number; generationId: bigint }> {
    const reply = await this.request<'ROLE_REPLY'>({ type: 'ROLE_REQUEST', role, generationId }, `role ${roleName(role)}`);
    return { role: reply.role, generationId: reply.generationId };
  }

  close(reason = 'closed by controller'): void {
    if (this.state === ConnectionState.Closed) return;
    this.transport.close();
    this.closed(reason);
  }

  // --- internals -------------------------------------------------------------------------

  private allocXid(): number {
    this.nextXid = (this.nextXid + 1) >>> 0;
    return this.nextXid;
  }

  private write(msg: OfpMessage): void {
    if (this.state === ConnectionState.Closed) throw new ConnectionClosed(this.remote, 'already closed');
    this.transport.write(encode(msg));
  }

  private track(xid: number, what: string, p: Omit<Pending, 'timer' | 'what'>): void {
    const timer = this.clock.setTimeout(() => {
      if (this.pending.delete(xid)) p.reject(new RequestTimeout(what, this.opts.requestTimeoutMs, this.remote));
    }, this.opts.requestTimeoutMs);
    this.pending.set(xid, { ...p, what, timer });
  }

  private receive(chunk: Uint8Array): void {
    this.lastHeard = this.clock.now();
    for (const r of this.framer.push(chunk)) {
      if (!r.ok) {
        // One bad message is the switch's problem to hear about, not a reason to drop the session.
        this.log.warn({ err: r.error.message, xid: r.error.xid }, 'undecodable message from switch');
        continue;
      }
      try {
        this.dispatch(r.message);
      } catch (err) {
        this.log.error({ err, type: r.message.type }, 'handling a switch message failed');
      }
      if (this.state === ConnectionState.Closed) return;
    }
    // A bad length field means the stream can no longer be split into messages.
    if (this.framer.failed) this.fail(`unframeable stream: ${this.framer.failed.message}`);
  }

  private dispatch(msg: OfpMessage): void {
    switch (msg.type) {
      case 'HELLO':
        return this.onHello(msg);
      case 'ECHO_REQUEST':
        this.write({ type: 'ECHO_REPLY', xid: msg.xid, data: msg.data });
        return;
      case 'ECHO_REPLY':
        return; // lastHeard already moved
      case 'ERROR':
        return this.onError(msg);
      case 'PACKET_IN':
      case 'PORT_STATUS':
      case 'FLOW_REMOVED':
        if (msg.type === 'PORT_STATUS') {
          if (msg.reason === PortReason.DELETE) this.ports.delete(msg.desc.portNo);
          else this.ports.set(msg.desc.portNo, msg.desc);
        }
        if (this.state === ConnectionState.Ready) this.events.onMessage(this, msg);
        return;
    }
    const p = this.pending.get(msg.xid);
    if (!p) {
      this.log.debug({ type: msg.type, xid: msg.xid }, 'unsolicited message');
      if (this.state === ConnectionState.Ready) this.events.onMessage(this, msg);
      return;
    }
    if (p.parts && msg.type === 'MULTIPART_REPLY') {
      p.parts.push(msg);
      if (msg.flags & MultipartFlags.MORE) return;
      this.settle(msg.xid)?.resolve(p.parts);
      return;
    }
    this.settle(msg.xid)?.resolve(msg);
  }

  private settle(xid: number): Pending | undefined {
    const p = this.pending.get(xid);
    if (!p) return undefined;
    this.pending.delete(xid);
    this.clock.clearTimeout(p.timer);
    return p;
  }

  private onError(msg: MessageOf<'ERROR'>): void {
    for (const b of this.batches) {
      const index = b.xids.get(msg.xid);
      if (index !== undefined) {
        b.errors.push({ index, error: msg });
        return;
      }
    }
    const p = this.settle(msg.xid);
    if (p) return p.reject(new OfpErrorReply(msg, p.what));
    if (this.state === ConnectionState.Handshake && msg.errorType === ErrorType.HELLO_FAILED) {
      return this.fail(`switch refused our HELLO: ${msg.codeName ?? msg.code}`);
    }
    this.log.warn({ xid: msg.xid, type: msg.errorTypeName, code: msg.codeName }, 'error from switch for no open request');
    if (this.state === ConnectionState.Ready) this.events.onMessage(this, msg);
  }

  private onHello(msg: MessageOf<'HELLO'>): void {
    if (this.state !== ConnectionState.Handshake) return;
    const bitmap = msg.elements.find((e) => e.type === 'VERSIONBITMAP');
    const ok = bitmap?.type === 'VERSIONBITMAP' ? ((bitmap.bitmaps[0] ?? 0) & (1 << OFP_VERSION)) !== 0 : msg.version >= OFP_VERSION;
    if (!ok) {
      this.write({ type: 'ERROR', xid: msg.xid, errorType: ErrorType.HELLO_FAILED, code: ErrorCode.HELLO_FAILED.INCOMPATIBLE, data: Buffer.from('SDMI speaks OpenFlow 1.3 only') });
      return this.fail(`switch offers no OpenFlow 1.3 (version ${msg.version})`);
    }
    void this.completeHandshake();
  }

  private async completeHandshake(): Promise<void> {
    try {
      this.features = await this.request<'FEATURES_REPLY'>({ type: 'FEATURES_REQUEST' });
      this.datapathId = this.features.datapathId;
      // Whole packets to the controller: no switch-side buffering to track.
      this.send({ type: 'SET_CONFIG', flags: 0, missSendLen: 0xffff });
      for (const body of await this.multipart({ kind: 'PORT_DESC' })) {
        if (body.kind === 'PORT_DESC') for (const p of body.ports) this.ports.set(p.portNo, p);
      }
    } catch (err) {
      return this.fail(`handshake: ${(err as Error).message}`);
    }
    if (this.state !== ConnectionState.Handshake) return;
    this.clock.clearTimeout(this.handshakeTimer);
    this.state = ConnectionState.Ready;
    this.scheduleEcho();
    this.log.info({ dpid: this.dpid, ports: this.ports.size }, 'switch connected');
    this.events.onReady(this);
  }

  private scheduleEcho(): void {
    this.echoTimer = this.clock.setTimeout(() => {
      if (this.state !== ConnectionState.Ready) return;
      const idle = this.clock.now() - this.lastHeard;
      if (idle >= this.opts.echoTimeoutMs) return this.fail(`dead peer: nothing heard for ${idle} ms`);
      if (idle >= this.opts.echoIntervalMs) {
        // The reply only needs to arrive: any message moves lastHeard.
        this.send({ type: 'ECHO_REQUEST', data: Buffer.alloc(0) });
      }
      this.scheduleEcho();
    }, Math.max(50, Math.floor(this.opts.echoIntervalMs / 2)));
  }

  private fail(reason: string): void {
    if (this.state === ConnectionState.Closed) return;
    const handshake = this.state === ConnectionState.Handshake;
    this.log.warn({ reason }, handshake ? 'handshake failed' : 'closing connection');
    this.transport.close();
    this.closed(reason, handshake ? new HandshakeFailed(this.remote, reason) : undefined);
  }

  private closed(reason: string, cause?: Error): void {
    if (this.state === ConnectionState.Closed) return;
    this.state = ConnectionState.Closed;
    this.clock.clearTimeout(this.echoTimer);
    this.clock.clearTimeout(this.handshakeTimer);
    for (const xid of [...this.pending.keys()]) this.settle(xid)?.reject(cause ?? new ConnectionClosed(this.remote, reason));
    this.events.onClose(this, reason);
  }
}

export function roleName(role: number): string {
  return (Object.keys(ControllerRole) as Array<keyof typeof ControllerRole>).find((k) => ControllerRole[k] === role) ?? `role ${role}`;
}
