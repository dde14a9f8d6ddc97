import type { MessageOf, OfpMessage } from '@sdmi/openflow';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from './clock';
import { SwitchConnection, roleName, type ConnectionOptions } from './connection';
import type { Transport } from './transport';

/**
 * An application on the controller: it hears about switches, ports and packets, and answers
 * through the SwitchConnection it is handed. Hooks may be async; their errors are logged.
 */
export interface OpenFlowApp {
  readonly name: string;
  onSwitchUp?(sw: SwitchConnection): void | Promise<void>;
  onSwitchDown?(sw: SwitchConnection, reason: string): void | Promise<void>;
  onPortStatus?(sw: SwitchConnection, msg: MessageOf<'PORT_STATUS'>): void | Promise<void>;
  onPacketIn?(sw: SwitchConnection, msg: MessageOf<'PACKET_IN'>): void | Promise<void>;
  onFlowRemoved?(sw: SwitchConnection, msg: MessageOf<'FLOW_REMOVED'>): void | Promise<void>;
  /** Any other asynchronous message (an ERROR for no open request, an EXPERIMENTER...). */
  onMessage?(sw: SwitchConnection, msg: OfpMessage): void | Promise<void>;
}

export interface ControllerOptions extends ConnectionOptions {
  apps?: readonly OpenFlowApp[];
  /**
   * Role to claim on every switch before apps hear of it (MASTER/EQUAL/SLAVE, with a generation
   * id that only grows), for several controllers in HA.
   */
  role?: { role: number; generationId: () => bigint };
}

/**
 * The registry of connected switches by datapath id and the dispatch of their events to apps.
 * A switch that reconnects replaces its earlier connection.
 */
export class Controller {
  private readonly bySwitch = new Map<string, SwitchConnection>();
  private readonly connections = new Set<SwitchConnection>();
  private readonly apps: OpenFlowApp[];
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(private readonly opts: ControllerOptions = {}) {
    this.apps = [...(opts.apps ?? [])];
    this.log = opts.log ?? pino({ level: 'silent' });
    this.clock = opts.clock ?? systemClock;
  }

  use(app: OpenFlowApp): this {
    this.apps.push(app);
    return this;
  }

  /** Connected, handshaken switches by datapath id (16 hex digits). */
  get switches(): ReadonlyMap<string, SwitchConnection> {
    return this.bySwitch;
  }

  /** Resolves when the switch with this datapath id is connected (now or later). */
  waitForSwitch(dpid: string | bigint, timeoutMs = 30_000): Promise<SwitchConnection> {
    const key = typeof dpid === 'bigint' ? dpid.toString(16).padStart(16, '0') : dpid.toLowerCase();
    const now = this.bySwitch.get(key);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const started = this.clock.now();
      const poll = () => {
        const sw = this.bySwitch.get(key);
        if (sw) return resolve(sw);
        if (this.clock.now() - started > timeoutMs) return reject(new Error(`switch ${key} did not connect within ${timeoutMs} ms`));
        this.clock.setTimeout(poll, 20);
      };
      poll();
    });
  }

  /** Takes over a new byte stream from a switch (the listener calls this). */
  attach(transport: Transport): SwitchConnection {
    const conn = new SwitchConnection(
      transport,
      {
        onReady: (c) => void this.ready(c),
        onMessage: (c, m) => this.message(c, m),
        onClose: (c, reason) => this.gone(c, reason),
      },
      { ...this.opts, clock: this.clock, log: this.log },
    );
    this.connections.add(conn);
    return conn;
  }

  close(): void {
    for (const c of [...this.connections]) c.close('controller shutting down');
  }

  private async ready(conn: SwitchConnection): Promise<void> {
    const earlier = this.bySwitch.get(conn.dpid);
    if (earlier && earlier !== conn) earlier.close(`replaced by a new connection from ${conn.remote}`);
    if (this.opts.role) {
      try {
        const r = await conn.role(this.opts.role.role, this.opts.role.generationId());
        this.log.info({ dpid: conn.dpid, role: roleName(r.role), generationId: String(r.generationId) }, 'role set');
      } catch (err) {
        this.log.error({ err, dpid: conn.dpid }, 'switch refused our role; dropping it');
        conn.close('role refused');
        return;
      }
    }
    this.bySwitch.set(conn.dpid, conn);
    await this.each('onSwitchUp', (a) => a.onSwitchUp?.(conn));
  }

  private message(conn: SwitchConnection, msg: OfpMessage): void {
    switch (msg.type) {
      case 'PACKET_IN':
        void this.each('onPacketIn', (a) => a.onPacketIn?.(conn, msg));
        return;
      case 'PORT_STATUS':
        void this.each('onPortStatus', (a) => a.onPortStatus?.(conn, msg));
        return;
      case 'FLOW_REMOVED':
        void this.each('onFlowRemoved', (a) => a.onFlowRemoved?.(conn, msg));
        return;
      default:
        void this.each('onMessage', (a) => a.onMessage?.(conn, msg));
    }
  }

  private gone(conn: SwitchConnection, reason: string): void {
    this.connections.delete(conn);
    if (conn.datapathId === undefined || this.bySwitch.get(conn.dpid) !== conn) return;
    this.bySwitch.delete(conn.dpid);
    this.log.info({ dpid: conn.dpid, reason }, 'switch disconnected');
    void this.each('onSwitchDown', (a) => a.onSwitchDown?.(conn, reason));
  }

  private async each(hook: string, call: (app: OpenFlowApp) => void | Promise<void>): Promise<void> {
    for (const app of this.apps) {
      try {
        await call(app);
      } catch (err) {
        this.log.error({ err, app: app.name, hook }, 'app hook failed');
      }
    }
  }
}
