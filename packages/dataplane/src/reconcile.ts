// Desired flows against the flows a switch reports: what to add and what to delete so that the
// switch ends with exactly the desired set, touching nothing that is already right (a flow that
// is replaced by an identical one would still reset its idle timer and counters, and a delete
// followed by an add would drop packets in between).
import type { FlowStats, GroupDesc, Instruction, Match } from '@sdmi/openflow';
import type { GroupSpec } from './balancer';
import type { FlowSpec } from './pipeline';

function jsonish(value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value === 'string') return value.toLowerCase();
  if (Buffer.isBuffer(value)) return value.toString('hex');
  if (Array.isArray(value)) return value.map(jsonish);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = jsonish((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** A match in a canonical text form: field order and letter case do not matter. */
export function matchKey(match: Match): string {
  return match
    .map((f) => JSON.stringify(jsonish(f)))
    .sort()
    .join(',');
}

/** What identifies a flow on a switch (OpenFlow 1.3 §6.4: table, priority and exact match). */
export function flowKey(f: { tableId: number; priority: number; match: Match }): string {
  return `${f.tableId}/${f.priority}/${matchKey(f.match)}`;
}

function instructionsKey(instructions: readonly Instruction[]): string {
  return JSON.stringify(jsonish(instructions));
}

/** Whether an observed flow is the same flow as a desired one, in every field we set. */
export function sameFlow(a: FlowSpec | FlowStats, b: FlowSpec | FlowStats): boolean {
  return (
    flowKey(a) === flowKey(b) &&
    a.cookie === b.cookie &&
    a.idleTimeout === b.idleTimeout &&
    a.hardTimeout === b.hardTimeout &&
    instructionsKey(a.instructions) === instructionsKey(b.instructions)
  );
}

export interface ReconcilePlan {
  /** Flows to add (new, or replacing an observed flow with the same key but other content). */
  add: FlowSpec[];
  /** Observed flows to delete: nobody wants them. */
  remove: FlowStats[];
  /** Observed flows left as they are. */
  kept: number;
}

/**
 * Plans the changes that turn `observed` into `desired`. Observed flows whose key is not desired
 * survive only if `keep` says so (the reactive pair and deny flows, which are judged against the
 * current topology by the caller); every other one goes, including flows nobody of ours installed.
 */
export function planReconcile(desired: readonly FlowSpec[], observed: readonly FlowStats[], keep: (f: FlowStats) => boolean): ReconcilePlan {
  const want = new Map(desired.map((f) => [flowKey(f), f]));
  const seen = new Set<string>();
  const add: FlowSpec[] = [];
  const remove: FlowStats[] = [];
  let kept = 0;
  for (const o of observed) {
    const key = flowKey(o);
    const d = want.get(key);
    if (d) {
      seen.add(key);
      if (sameFlow(d, o)) kept++;
      else add.push(d);
    } else if (keep(o)) {
      kept++;
    } else {
      remove.push(o);
    }
  }
  for (const [key, d] of want) if (!seen.has(key)) add.push(d);
  return { add, remove, kept };
}

export interface GroupPlan {
  add: GroupSpec[];
  modify: GroupSpec[];
  /** Group ids nobody wants. */
  remove: number[];
  kept: number;
}

/** Groups, like flows: add what is missing, modify what differs, delete the rest (the bridge is ours). */
export function planGroups(desired: readonly GroupSpec[], observed: readonly GroupDesc[]): GroupPlan {
  const have = new Map(observed.map((g) => [g.groupId, g]));
  const want = new Set(desired.map((g) => g.groupId));
  const plan: GroupPlan = { add: [], modify: [], remove: [], kept: 0 };
  for (const d of desired) {
    const o = have.get(d.groupId);
    if (!o) plan.add.push(d);
    else if (o.groupType !== d.groupType || JSON.stringify(jsonish(o.buckets)) !== JSON.stringify(jsonish(d.buckets))) plan.modify.push(d);
    else plan.kept++;
  }
  for (const o of observed) if (!want.has(o.groupId)) plan.remove.push(o.groupId);
  return plan;
}
