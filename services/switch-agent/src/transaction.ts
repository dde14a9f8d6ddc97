// One VLAN change on one switch, as a NETCONF transaction on the candidate datastore:
// lock → discard-changes → get-config running → plan → edit-config (rollback-on-error) →
// confirmed commit (persist) → get-config running, compare → confirming commit → unlock.
// Any failure cancels a pending confirmed commit, discards the candidate and unlocks, so running
// is left as it was; if this process dies after the confirmed commit, the switch rolls back by
// itself at the confirm timeout (persist: the commit outlives the session only until then).
//
// No <validate> of the candidate: on netconfd 2.13 a commit right after validate commits nothing
// while answering <ok/> (docs/netconf.md). The change is checked by edit-config itself (types,
// leafrefs) and by <commit>'s own validation; the get-config after the commit catches a commit
// that silently did not land.
import { randomUUID } from 'node:crypto';
import { NetconfError, RpcError, type NetconfSession } from '@sdmi/netconf';
import type { Logger } from 'pino';
import { describePlan, isEmptyPlan, planVlans, type VlanPlan, type VlanState } from '@sdmi/switches';
import type { VlanProfile } from './profile';

/** The switch refused the change (its rpc-error) or did not end up as planned; nothing stayed. */
export class SwitchRefused extends Error {
  readonly code = 'SWITCH_REFUSED';
  constructor(
    message: string,
    readonly details: { operation?: string; type?: string; tag?: string; appTag?: string; path?: string; errorMessage?: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SwitchRefused';
  }
}

/** The candidate stayed locked by someone else for longer than the caller would wait. */
export class SwitchBusy extends Error {
  readonly code = 'SWITCH_BUSY';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SwitchBusy';
  }
}

export interface ApplyOptions {
  profile: VlanProfile;
  desired: VlanState;
  /** VLAN ids the agent answers for; only these are ever removed. */
  managed: ReadonlySet<number>;
  confirmTimeoutSec: number;
  /** How long to wait for the candidate lock (another agent's transaction); default 60 s. */
  lockWaitMs?: number;
  /** Between lock attempts; slow on purpose: netconfd serves confirm timeouts only when idle. */
  lockPollMs?: number;
  /** Called with the persist id right after the confirmed commit (to record it; tests delay here). */
  afterCommit?: (persistId: string) => Promise<void>;
  log?: Logger;
}

export interface ApplyResult {
  plan: VlanPlan;
  changed: boolean;
  running: VlanState;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refused(e: unknown, what: string): Error {
  if (e instanceof RpcError) {
    return new SwitchRefused(
      `switch refused ${e.operation}: ${e.tag}${e.path ? ` at ${e.path}` : ''}${e.errorMessage ? `: ${e.errorMessage}` : ''}`,
      { operation: e.operation, type: e.type, tag: e.tag, appTag: e.appTag, path: e.path, errorMessage: e.errorMessage },
      { cause: e },
    );
  }
  if (e instanceof NetconfError) return new SwitchRefused(`${what}: ${e.message}`, {}, { cause: e });
  return e instanceof Error ? e : new Error(String(e));
}

async function lockCandidate(s: NetconfSession, o: ApplyOptions): Promise<void> {
  const until = Date.now() + (o.lockWaitMs ?? 60_000);
  for (;;) {
    try {
      await s.lock('candidate');
      return;
    } catch (e) {
      const busy = e instanceof RpcError && (e.tag === 'lock-denied' || e.tag === 'in-use');
      if (!busy) throw refused(e, 'lock');
      if (Date.now() > until) throw new SwitchBusy(`candidate still locked after ${o.lockWaitMs ?? 60_000} ms`, { cause: e });
      o.log?.debug({ tag: (e as RpcError).tag }, 'candidate locked elsewhere, waiting');
      await sleep(o.lockPollMs ?? 1500);
    }
  }
}

/** Reads a datastore's VLAN state through the profile. */
export async function readVlans(s: NetconfSession, profile: VlanProfile, source: 'running' | 'candidate' = 'running'): Promise<VlanState> {
  const { data } = await s.getConfig(source, { filter: profile.filter() });
  return profile.parse(data);
}

/** Brings the switch's running VLANs to `desired` (within `managed`); see the file's comment. */
export async function applyVlans(s: NetconfSession, o: ApplyOptions): Promise<ApplyResult> {
  await lockCandidate(s, o);
  let persistId: string | undefined;
  let confirmed = false;
  try {
    await s.discardChanges();
    const before = await readVlans(s, o.profile);
    const plan = planVlans(o.desired, before, o.managed);
    if (isEmptyPlan(plan)) return { plan, changed: false, running: before };
    o.log?.info({ changes: describePlan(plan) }, 'applying VLAN plan');
    try {
      await s.editConfig('candidate', o.profile.edit(plan), { defaultOperation: 'merge', errorOption: 'rollback-on-error' });
      persistId = `sdmi-${randomUUID()}`;
      await s.commit({ confirmed: true, confirmTimeout: o.confirmTimeoutSec, persist: persistId });
    } catch (e) {
      throw refused(e, 'edit');
    }
    if (o.afterCommit) await o.afterCommit(persistId);
    const after = await readVlans(s, o.profile);
    const left = planVlans(o.desired, after, o.managed);
    if (!isEmptyPlan(left)) {
      throw new SwitchRefused(`running after commit is not as planned: ${describePlan(left).join('; ')}`, { operation: 'commit' });
    }
    await s.commit({ persistId });
    confirmed = true;
    return { plan, changed: true, running: after };
  } catch (e) {
    if (persistId && !confirmed) await s.cancelCommit({ persistId }).catch((c: unknown) => o.log?.warn({ err: String(c) }, 'cancel-commit failed'));
    await s.discardChanges().catch(() => undefined);
    throw e;
  } finally {
    await s.unlock('candidate').catch(() => undefined);
  }
}
