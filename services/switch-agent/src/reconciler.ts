// The only writer to the switches: a level-triggered pass that reads the networks from the
// network-controller, computes each switch's desired VLANs and brings every switch whose spec or
// desired state changed since its last sync to it. Between changes it checks each switch for
// drift (running edited by hand) and reports or repairs it, by the switch's policy. One instance
// passes (a PostgreSQL advisory lock); calls on one switch never overlap within an instance, and
// across instances and other agents the switch's candidate lock serialises them. Each switch's
// call runs on its own: a switch slow to answer holds up no other.
// A pass whose networks cannot be read changes nothing: missing data never removes a VLAN.
import { LeaderLock, type RdmpClient } from '@sdmi/bus';
import { NetworkQueries } from '@sdmi/networks';
import { PassLoop } from '@sdmi/service';
import type { ErrorInfo, Switch, SwitchSync } from '@sdmi/contracts';
import type pg from 'pg';
import type { Logger } from 'pino';
import { driverFor, type SwitchDriver, type SyncResult } from './drivers';
import type { NetworkVlan } from '@sdmi/switches';
import { desiredFor, fingerprint, networkVlans, vlansOf } from '@sdmi/switches';
import type { SwitchRow, SwitchStore } from './store';

const LEADER_LOCK = 'sdmi switch-agent reconciler';

export interface SwitchReconcilerOptions {
  pool: pg.Pool;
  dbUrl: string;
  store: SwitchStore;
  client: RdmpClient;
  log: Logger;
  /** Passes at least this often (a failed sync is retried then). */
  resyncMs: number;
  /** Each switch is checked for drift this often. */
  driftMs: number;
  lockWaitMs: number;
  /** NETCONF session set-up and each reply, ms. */
  replyTimeoutMs: number;
  /** Which driver talks to a switch (tests may wrap it). */
  driver?: (s: Switch) => SwitchDriver;
}

export interface SyncOutcome extends SyncResult {
  ok: boolean;
  error?: ErrorInfo;
}

/** An error as listSwitches and task errors carry it: code, message and the switch's own details. */
export function errorInfo(e: unknown): ErrorInfo {
  const err = e instanceof Error ? e : new Error(String(e));
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' && /^[A-Z][A-Z_]+$/.test(raw) ? raw : 'SWITCH_UNREACHABLE';
  const details = (err as { details?: Record<string, unknown> }).details;
  const clean = details ? Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined)) : undefined;
  return { code, message: err.message, ...(clean && Object.keys(clean).length ? { details: clean } : {}) };
}

export class SwitchReconciler {
  readonly #lock: LeaderLock;
  readonly #loop: PassLoop;
  /** Per switch: the call under way, so the next waits for it. */
  readonly #busy = new Map<string, Promise<unknown>>();
  readonly #checkedAt = new Map<string, number>();
  /** Switches a pass found busy: their call's end asks for another pass. */
  readonly #passedOver = new Set<string>();
  readonly #failed = new Map<string, { fp: string; at: number }>();
  #lastPass: { at: number; ok: boolean; detail: string } | undefined;

  constructor(private readonly o: SwitchReconcilerOptions) {
    this.#lock = new LeaderLock(o.dbUrl, LEADER_LOCK);
    this.#loop = new PassLoop({ pass: () => this.#pass(), everyMs: Math.min(o.resyncMs, o.driftMs), log: o.log, what: 'switch' });
  }

  get leader(): boolean {
    return this.#lock.held;
  }

  get lastPass(): { at: number; ok: boolean; detail: string } | undefined {
    return this.#lastPass;
  }

  start(): void {
    this.#loop.start();
  }

  trigger(): void {
    this.#loop.trigger();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.allSettled(this.#busy.values());
    await this.#lock.release();
  }

  /** syncSwitch: brings one switch to desired now, whatever its fingerprint and drift policy. */
  async syncNow(name: string): Promise<SyncOutcome | undefined> {
    const networks = await this.#networks();
    const row = await this.o.store.get(this.o.pool, name);
    if (!row) return undefined;
    return this.#serial(name, () => this.#sync(row, networks));
  }

  async #networks(): Promise<NetworkVlan[]> {
    return networkVlans(await this.o.client.query('network-controller', NetworkQueries.listNetworks, {}, { timeoutMs: 5000 }));
  }

  #serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#busy.get(name) ?? Promise.resolve();
    const next = before.catch(() => undefined).then(fn);
    const settled = next.catch(() => undefined);
    this.#busy.set(name, settled);
    void settled.then(() => {
      if (this.#busy.get(name) !== settled) return;
      this.#busy.delete(name);
      if (this.#passedOver.delete(name)) this.#loop.trigger();
    });
    return next;
  }

  async #pass(): Promise<void> {
    if (!(await this.#lock.tryAcquire())) return;
    let networks: NetworkVlan[];
    try {
      networks = await this.#networks();
    } catch (err) {
      this.#lastPass = { at: Date.now(), ok: false, detail: `networks unreadable: ${(err as Error).message}` };
      this.o.log.warn({ err }, 'cannot read the networks; no switch is changed this pass');
      return;
    }
    const rows = await this.o.store.list(this.o.pool);
    const now = Date.now();
    let busy = 0;
    // Each switch's step runs on its own and the pass does not wait for them: a switch that is slow
    // to answer (or does not answer, until the reply timeout) holds up no other. One still busy
    // from an earlier pass is passed over, and passed again once its call has ended.
    for (const row of rows) {
      if (this.#busy.has(row.spec.name)) {
        busy++;
        this.#passedOver.add(row.spec.name);
        continue;
      }
      void this.#serial(row.spec.name, async () => {
        const name = row.spec.name;
        // Re-read inside the serial section: a syncNow may have just landed.
        const fresh = await this.o.store.get(this.o.pool, name);
        if (!fresh) return;
        const desired = desiredFor(fresh.spec, networks);
        const fp = fingerprint(fresh.spec, desired);
        if (fp !== fresh.applied) {
          // The same failed attempt is repeated once per resync period, not on every trigger;
          // a changed spec or network is tried at once.
          const failed = this.#failed.get(name);
          if (failed && failed.fp === fp && now - failed.at < this.o.resyncMs) return;
          await this.#sync(fresh, networks);
        } else if (now - (this.#checkedAt.get(name) ?? 0) >= this.o.driftMs) {
          await this.#driftCheck(fresh, networks);
        }
      }).catch((err: unknown) => this.o.log.warn({ err, switch: row.spec.name }, 'switch pass step failed'));
    }
    this.#lastPass = { at: Date.now(), ok: true, detail: `${rows.length} switch(es)${busy ? `, ${busy} still busy from before` : ''}` };
  }

  async #sync(row: SwitchRow, networks: readonly NetworkVlan[]): Promise<SyncOutcome> {
    const { spec } = row;
    const desired = desiredFor(spec, networks);
    const fp = fingerprint(spec, desired);
    const want = vlansOf(desired);
    // Ours from before this sync sends anything: a crash after the switch took it still knows.
    await this.o.store.addManaged(this.o.pool, spec.name, want);
    const managed = new Set([...row.managed, ...want]);
    const at = new Date().toISOString();
    try {
      const r = await this.#driver(spec).apply(desired, managed);
      const sync: SwitchSync = { at, ok: true, changes: r.changes };
      await this.o.store.synced(this.o.pool, spec.name, want, fp, sync);
      this.#checkedAt.set(spec.name, Date.now());
      this.#failed.delete(spec.name);
      if (r.changed) this.o.log.info({ switch: spec.name, changes: r.changes }, 'switch synced');
      return { ok: true, ...r };
    } catch (e) {
      const error = errorInfo(e);
      const sync: SwitchSync = { at, ok: false, changes: [], error };
      await this.o.store.syncFailed(this.o.pool, spec.name, sync);
      this.#failed.set(spec.name, { fp, at: Date.now() });
      this.o.log.warn({ switch: spec.name, code: error.code, error: error.message }, 'switch sync failed; running left as it was');
      return { ok: false, changed: false, changes: [], error };
    }
  }

  async #driftCheck(row: SwitchRow, networks: readonly NetworkVlan[]): Promise<void> {
    const { spec } = row;
    const desired = desiredFor(spec, networks);
    this.#checkedAt.set(spec.name, Date.now());
    let differences: string[];
    try {
      differences = await this.#driver(spec).diff(desired, new Set(row.managed));
    } catch (e) {
      this.o.log.warn({ switch: spec.name, error: errorInfo(e).message }, 'drift check could not read the switch');
      return;
    }
    const repair = differences.length > 0 && spec.drift === 'repair';
    await this.o.store.recordDrift(this.o.pool, spec.name, { at: new Date().toISOString(), inSync: differences.length === 0, differences, repaired: repair });
    if (!differences.length) return;
    this.o.log.warn({ switch: spec.name, differences, policy: spec.drift ?? 'report' }, 'switch drifted from desired');
    if (repair) {
      const r = await this.#sync(row, networks);
      if (!r.ok) await this.o.store.recordDrift(this.o.pool, spec.name, { at: new Date().toISOString(), inSync: false, differences, repaired: false });
    }
  }

  #driver(s: Switch): SwitchDriver {
    return (this.o.driver ?? ((x) => driverFor(x, { log: this.o.log, lockWaitMs: this.o.lockWaitMs, replyTimeoutMs: this.o.replyTimeoutMs })))(s);
  }
}
