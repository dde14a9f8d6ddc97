import { SWITCH_AGENT, SwitchCommandKinds, SwitchQueries, contracts as sharedContracts, switchKey, type ErrorInfo, type Switch, type SwitchStatus } from '@sdmi/contracts';
import { switchProblems as switchRules } from '@sdmi/switches';
import type { Cluster } from './cluster';
import { isBoolean, isString, isStringArray, resultField } from './results';

export interface RegisterSwitchResult {
  name: string;
  /** false when a switch of that name was registered before (its spec is replaced). */
  created: boolean;
}

export interface RemoveSwitchResult {
  name: string;
  /** false when there was no such switch. */
  removed: boolean;
}

export interface SyncSwitchResult {
  name: string;
  changed: boolean;
  /** What the sync changed, one sentence each ("trunk eth1 lacks 100"); empty when in sync. */
  changes: string[];
}

/**
 * What the switch-agent would refuse in a switch, found before anything is sent: its contract, then
 * the rules the schema cannot say (@sdmi/switches: access matching the kind, a port listed once).
 * Paths are relative to the switch. Empty: the switch may be registered.
 */
export function switchProblems(s: unknown): ErrorInfo[] {
  const checked = sharedContracts().check('Switch', s);
  return checked.ok ? switchRules(checked.value) : [checked.error];
}

/**
 * The fabric's switches and the hosts' bridges the switch-agent keeps carrying the networks'
 * VLANs. Changes are tasks with key `switch/<name>`, awaited to their outcome; a refusal is thrown
 * as the bus's error class with its code: INVALID_SWITCH (with the path) for a spec the agent
 * cannot keep, SWITCH_REFUSED (the switch's rpc-error in `details`), SWITCH_BUSY,
 * SWITCH_UNREACHABLE, UNKNOWN_SWITCH, FORBIDDEN (switches are network-admin's and cluster-admin's).
 */
export class Switches {
  constructor(private readonly cluster: Cluster) {}

  /** Every switch (or the one named) with its managed VLANs, last sync and last drift check. */
  async list(name?: string): Promise<SwitchStatus[]> {
    return (await this.cluster.client.query(SWITCH_AGENT, SwitchQueries.listSwitches, name !== undefined ? { name } : {})).switches;
  }

  /** Registers the switch or replaces its spec; the agent syncs it right after. */
  async register(spec: Switch): Promise<RegisterSwitchResult> {
    const outcome = await this.cluster.run(SWITCH_AGENT, SwitchCommandKinds.RegisterSwitch, switchKey(spec.name), { switch: spec });
    return { name: field(outcome.result, 'name', isString), created: field(outcome.result, 'created', isBoolean) };
  }

  /** Stops keeping the switch; its configuration stays as it is. */
  async remove(name: string): Promise<RemoveSwitchResult> {
    const outcome = await this.cluster.run(SWITCH_AGENT, SwitchCommandKinds.RemoveSwitch, switchKey(name), { name });
    return { name: field(outcome.result, 'name', isString), removed: field(outcome.result, 'removed', isBoolean) };
  }

  /** Brings the switch to desired now, as one transaction, whatever its drift policy. */
  async sync(name: string): Promise<SyncSwitchResult> {
    const outcome = await this.cluster.run(SWITCH_AGENT, SwitchCommandKinds.SyncSwitch, switchKey(name), { name });
    return { name: field(outcome.result, 'name', isString), changed: field(outcome.result, 'changed', isBoolean), changes: field(outcome.result, 'changes', isStringArray) };
  }
}

const field = <T>(r: Record<string, unknown> | undefined, k: string, ok: (v: unknown) => v is T): T => resultField(SWITCH_AGENT, r, k, ok);
