// The network-controller's moving parts: the network store (desired state in PostgreSQL), the
// OpenFlow controller with the data-plane app, and the bridge between them. Every committed change
// in the store sends a NOTIFY; on it (and on a slow timer, in case a notification was lost with its
// connection) the controller reads a fresh snapshot and reconciles the bridges to it.
import { PgListener } from '@sdmi/bus';
import { DataplaneApp, type TopologySnapshot } from '@sdmi/dataplane';
import { NET_CHANGED_CHANNEL, NetworkStore, type NetworkSnapshot } from '@sdmi/networks';
import { Controller, OpenFlowListener } from '@sdmi/openflow-controller';
import pg from 'pg';
import type { Logger } from 'pino';

export interface NetworkControllerOptions {
  pool: pg.Pool;
  dbUrl: string;
  store: NetworkStore;
  log: Logger;
  /** Where switches connect: host and port of the OpenFlow listener. */
  listen: { host: string; port: number };
  pairIdleTimeout?: number;
  /** Re-read the store this often even without a notification (default 30 s). */
  resyncMs?: number;
}

export function toTopology(s: NetworkSnapshot): TopologySnapshot {
  return { revision: s.revision, networks: s.networks, interfaces: s.interfaces, hosts: s.hosts, services: s.services };
}

export class NetworkController {
  readonly app: DataplaneApp;
  readonly controller: Controller;
  #listener: OpenFlowListener;
  #pgListener?: PgListener;
  #timer?: NodeJS.Timeout;
  #reloading?: Promise<void>;
  #again = false;
  #stopped = false;
  #lastError?: string;
  address?: { host: string; port: number };

  private constructor(
    private readonly opts: NetworkControllerOptions,
    snapshot: NetworkSnapshot,
  ) {
    this.app = new DataplaneApp(toTopology(snapshot), { log: opts.log, pairIdleTimeout: opts.pairIdleTimeout });
    this.controller = new Controller({ apps: [this.app], log: opts.log });
    this.#listener = new OpenFlowListener(this.controller);
  }

  /**
   * Migrates the store, releases addresses whose interface is gone (none should be: they are
   * released with their interface, but a reconcile at start-up is what makes leaks impossible),
   * then listens for switches and for store changes.
   */
  static async start(opts: NetworkControllerOptions): Promise<NetworkController> {
    await opts.store.migrate(opts.pool);
    const db = await opts.pool.connect();
    try {
      // One transaction: an interface attached meanwhile is either seen live or not yet allocated.
      await db.query('BEGIN');
      // Service addresses hold allocations too: releasing them would hand their address to the next interface.
      const released = await opts.store.ipam.reconcile(db, await opts.store.allocationHolders(db));
      await db.query('COMMIT');
      if (released.length > 0) opts.log.warn({ released }, 'released addresses of interfaces that no longer exist');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
    const nc = new NetworkController(opts, await opts.store.snapshot(opts.pool));
    try {
      await nc.#watch();
      nc.address = await nc.#listener.listen(opts.listen);
    } catch (err) {
      await nc.stop();
      throw err;
    }
    opts.log.info({ openflow: nc.address, revision: nc.app.topology.revision }, 'network-controller listening for switches');
    return nc;
  }

  /** For the health endpoint: how many bridges are connected and which revision they follow. */
  status(): { ok: boolean; detail: string } {
    const known = [...this.app.topology.hosts.values()].filter((h) => this.controller.switches.has(h.dpid.toLowerCase())).length;
    const detail = `revision ${this.app.topology.revision}; ${known}/${this.app.topology.hosts.size} host bridges connected; ${this.controller.switches.size} switches${this.#lastError ? `; last reload failed: ${this.#lastError}` : ''}`;
    return { ok: this.address !== undefined && this.#lastError === undefined, detail };
  }

  /** Reads the store and reconciles; concurrent calls coalesce into one more run. */
  reload(): Promise<void> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#again = false;
        try {
          const snapshot = await this.opts.store.snapshot(this.opts.pool);
          if (snapshot.revision !== this.app.topology.revision) {
            const results = await this.app.update(toTopology(snapshot));
            this.opts.log.info({ revision: snapshot.revision, results }, 'bridges follow the new revision');
          }
          this.#lastError = undefined;
        } catch (err) {
          this.#lastError = (err as Error).message;
          this.opts.log.error({ err }, 'reloading the topology failed; bridges keep the previous one');
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  /** Store changes, prompt through LISTEN; the timer keeps the bridges converging when it is down. */
  async #watch(): Promise<void> {
    this.#pgListener = new PgListener({
      dbUrl: this.opts.dbUrl,
      channel: NET_CHANGED_CHANNEL,
      applicationName: 'sdmi network-controller listen',
      log: this.opts.log,
      onNotify: () => void this.reload(),
      // A change committed between the first snapshot (or while disconnected) and LISTEN would otherwise wait for the timer.
      onConnected: () => void this.reload(),
    });
    await this.#pgListener.start();
    this.#timer ??= setInterval(() => void this.reload(), this.opts.resyncMs ?? 30_000);
    await this.reload();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#listener.close();
    await this.#reloading;
    await this.#pgListener?.stop();
  }
}
