// How the agent talks to one switch: NETCONF (a fabric switch, the VLAN transaction in
// transaction.ts) or OVSDB (a host's Open vSwitch: its bridge, controllers, fail_mode and the
// VLANs its trunk ports carry, in OVSDB transactions). Both answer the same two questions: what
// differs from desired, and make it so. A session lives for one call: switches are few and calls
// rare, and a fresh session never carries a broken one's state.
import { readFileSync } from 'node:fs';
import type { NetconfSwitchAccess, OvsSwitchAccess, Switch } from '@sdmi/contracts';
import { NetconfError, connectNetconf, type NetconfSession } from '@sdmi/netconf';
import { OvsSwitch, OvsdbError, type BridgeInfo, type PortInfo } from '@sdmi/ovsdb';
import type { Logger } from 'pino';
import { describePlan, planVlans, type VlanState } from '@sdmi/switches';
import { VlanProfiles } from './profile';
import { SwitchRefused, applyVlans, readVlans } from './transaction';

/** The switch could not be reached, or its credentials could not be used. Names the file, never its content. */
export class SwitchUnreachable extends Error {
  override name = 'SwitchUnreachable';
  readonly code = 'SWITCH_UNREACHABLE';
}

export interface SyncResult {
  changed: boolean;
  changes: string[];
}

export interface SwitchDriver {
  /** What running lacks or has too much of, within `managed`; changes nothing. */
  diff(desired: VlanState, managed: ReadonlySet<number>): Promise<string[]>;
  /** Brings the switch to desired (within `managed`) as one transaction. */
  apply(desired: VlanState, managed: ReadonlySet<number>): Promise<SyncResult>;
}

export interface DriverOptions {
  log: Logger;
  /** How long a NETCONF sync waits for another's candidate lock. */
  lockWaitMs: number;
  /** How long a NETCONF session may take to open, and each of its replies. */
  replyTimeoutMs: number;
}

/** A NETCONF session (open, work, close) longer than this is logged as a warning. */
const SLOW_SESSION_MS = 10_000;

export function driverFor(s: Switch, o: DriverOptions): SwitchDriver {
  if (s.kind === 'netconf' && s.netconf) return new NetconfDriver(s.name, s.netconf, o);
  if (s.kind === 'ovs' && s.ovs) return new OvsDriver(s.name, s.ovs, s.trunks.map((t) => t.port));
  throw new SwitchUnreachable(`switch ${s.name}: kind ${s.kind} without its access settings`);
}

class NetconfDriver implements SwitchDriver {
  readonly #profile;
  constructor(
    private readonly name: string,
    private readonly access: NetconfSwitchAccess,
    private readonly o: DriverOptions,
  ) {
    this.#profile = VlanProfiles[access.profile ?? 'sdmi-vlan']!();
  }

  async #session<T>(what: string, fn: (s: NetconfSession) => Promise<T>): Promise<T> {
    let privateKey: string;
    try {
      privateKey = readFileSync(this.access.privateKeyFile, 'utf8');
    } catch (e) {
      throw new SwitchUnreachable(`switch ${this.name}: cannot read privateKeyFile ${this.access.privateKeyFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    let s: NetconfSession;
    const t0 = Date.now();
    try {
      s = await connectNetconf({ host: this.access.host, port: this.access.port, username: this.access.username, privateKey, hostKey: this.access.hostKey, timeoutMs: this.o.replyTimeoutMs });
    } catch (e) {
      throw new SwitchUnreachable(`switch ${this.name}: NETCONF to ${this.access.host}:${this.access.port}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const t1 = Date.now();
    let ok = false;
    try {
      const r = await fn(s);
      ok = true;
      return r;
    } finally {
      const t2 = Date.now();
      await s.closeSession().catch(() => s.destroy());
      const timing = { switch: this.name, what, ok, openMs: t1 - t0, workMs: t2 - t1, closeMs: Date.now() - t2 };
      // A switch that takes this long to answer will soon hit the reply timeout: worth saying before it does.
      if (Date.now() - t0 > SLOW_SESSION_MS) this.o.log.warn(timing, 'NETCONF session was slow');
      else this.o.log.debug(timing, 'NETCONF session');
    }
  }

  diff(desired: VlanState, managed: ReadonlySet<number>): Promise<string[]> {
    return this.#session('diff', async (s) => {
      try {
        return describePlan(planVlans(desired, await readVlans(s, this.#profile), managed));
      } catch (e) {
        if (e instanceof NetconfError) throw new SwitchUnreachable(`switch ${this.name}: get-config: ${e.message}`, { cause: e });
        throw e;
      }
    });
  }

  apply(desired: VlanState, managed: ReadonlySet<number>): Promise<SyncResult> {
    return this.#session('apply', async (s) => {
      const r = await applyVlans(s, {
        profile: this.#profile,
        desired,
        managed,
        confirmTimeoutSec: this.access.confirmTimeoutSec ?? 60,
        lockWaitMs: this.o.lockWaitMs,
        log: this.o.log.child({ switch: this.name }),
        // Test-only pause between the confirmed commit and the confirm, to kill the agent there.
        ...(process.env.SDMI_TEST_CONFIRM_DELAY_MS ? { afterCommit: (id: string) => pauseForTest(this.o.log, this.name, id) } : {}),
      });
      return { changed: r.changed, changes: describePlan(r.plan) };
    });
  }
}

async function pauseForTest(log: Logger, name: string, persistId: string): Promise<void> {
  log.warn({ switch: name, persistId }, 'confirmed commit sent; pausing before the confirm (SDMI_TEST_CONFIRM_DELAY_MS)');
  await new Promise((r) => setTimeout(r, Number(process.env.SDMI_TEST_CONFIRM_DELAY_MS)));
}

/** The OVS side of a plan: the bridge's settings and each declared port's trunks. */
interface OvsPlan {
  createBridge: boolean;
  controllers?: string[];
  failMode?: 'secure' | 'standalone';
  trunks: { port: string; vlans: number[]; lacks: number[]; extra: number[] }[];
  missingPorts: string[];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const inB = new Set(b);
  return a.length === b.length && a.every((x) => inB.has(x));
}

class OvsDriver implements SwitchDriver {
  constructor(
    private readonly name: string,
    private readonly access: OvsSwitchAccess,
    private readonly ports: readonly string[],
  ) {}

  async #switch<T>(fn: (sw: OvsSwitch) => Promise<T>): Promise<T> {
    let sw: OvsSwitch;
    try {
      sw = await OvsSwitch.connect(this.access.ovsdb, { connectTimeoutMs: 10_000 });
    } catch (e) {
      throw new SwitchUnreachable(`switch ${this.name}: OVSDB at ${this.access.ovsdb}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    try {
      return await fn(sw);
    } catch (e) {
      if (e instanceof OvsdbError) throw new SwitchRefused(`switch ${this.name}: ${e.message}`, { errorMessage: e.message }, { cause: e });
      throw e;
    } finally {
      await sw.close().catch(() => undefined);
    }
  }

  async #plan(sw: OvsSwitch, desired: VlanState, managed: ReadonlySet<number>): Promise<OvsPlan> {
    const bridge: BridgeInfo | undefined = (await sw.listBridges()).find((b) => b.name === this.access.bridge);
    const ports: PortInfo[] = bridge ? await sw.listPorts(bridge.name) : [];
    const plan: OvsPlan = { createBridge: !bridge, trunks: [], missingPorts: [] };
    if (this.access.controllers && !sameSet(bridge?.controllers ?? [], this.access.controllers)) plan.controllers = [...this.access.controllers];
    if (this.access.failMode && bridge?.failMode !== this.access.failMode) plan.failMode = this.access.failMode;
    for (const port of this.ports) {
      const p = ports.find((x) => x.name === port);
      if (!p) {
        plan.missingPorts.push(port);
        continue;
      }
      const want = desired.trunks.get(port) ?? new Set<number>();
      const have = new Set(p.trunks);
      // Keep VLANs someone else put there; drop only ours that are no longer desired.
      const next = new Set([...want, ...[...have].filter((v) => !managed.has(v))]);
      const lacks = [...want].filter((v) => !have.has(v)).sort((a, b) => a - b);
      const extra = [...have].filter((v) => !next.has(v)).sort((a, b) => a - b);
      if (lacks.length || extra.length) plan.trunks.push({ port, vlans: [...next].sort((a, b) => a - b), lacks, extra });
    }
    return plan;
  }

  #describe(p: OvsPlan): string[] {
    return [
      ...(p.createBridge ? [`bridge ${this.access.bridge} missing`] : []),
      ...(p.controllers ? [`bridge ${this.access.bridge} controllers not ${p.controllers.join(',') || 'none'}`] : []),
      ...(p.failMode ? [`bridge ${this.access.bridge} fail_mode not ${p.failMode}`] : []),
      ...p.missingPorts.map((port) => `trunk ${port}: no such port on ${this.access.bridge}`),
      ...p.trunks.flatMap((t) => [...(t.lacks.length ? [`trunk ${t.port} lacks ${t.lacks.join(',')}`] : []), ...(t.extra.length ? [`trunk ${t.port} carries ${t.extra.join(',')} not desired`] : [])]),
    ];
  }

  diff(desired: VlanState, managed: ReadonlySet<number>): Promise<string[]> {
    return this.#switch(async (sw) => this.#describe(await this.#plan(sw, desired, managed)));
  }

  apply(desired: VlanState, managed: ReadonlySet<number>): Promise<SyncResult> {
    return this.#switch(async (sw) => {
      const plan = await this.#plan(sw, desired, managed);
      const changes = this.#describe(plan);
      const bridge = this.access.bridge;
      if (plan.createBridge) {
        // A new bridge has only its internal port: declared trunk ports on it cannot exist yet.
        await sw.createBridge(bridge, { failMode: this.access.failMode ?? 'secure', controllers: this.access.controllers ?? [] });
      } else {
        if (plan.controllers) await sw.setControllers(bridge, plan.controllers);
        if (plan.failMode) await sw.setFailMode(bridge, plan.failMode);
      }
      // The agent never creates ports: what is plugged into a host's bridge is the host's business.
      if (plan.missingPorts.length) {
        throw new SwitchRefused(`switch ${this.name}: bridge ${bridge} has no port ${plan.missingPorts.join(', ')}`, { operation: 'setTrunks', tag: 'data-missing', path: plan.missingPorts[0] });
      }
      await sw.setTrunks(bridge, plan.trunks.map((t) => ({ port: t.port, vlans: t.vlans })));
      return { changed: changes.length > 0, changes };
    });
  }
}
