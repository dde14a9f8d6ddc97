// The pure half of reconcile, Nomad style: desired and observed in, named buckets out. Applying
// the plan is the plumber's job; keeping this apart lets the bucket rules be tested on their own.
import type { ResolvedSpec } from './spec';

export interface ReconcilePlan {
  /** Desired interfaces of running containers, in the order given (attach converges each). */
  attach: ResolvedSpec[];
  /** Interface ids to detach: on the bridge, or a veth of ours, but not to be attached. */
  detach: string[];
  /** Desired interfaces whose container is not running: nothing to attach them to. */
  skip: ResolvedSpec[];
}

/**
 * `current`: interfaces on the bridge (from OVSDB); `orphanLinks`: host veths carrying our alias
 * (found even when no port refers to them, e.g. after a crash before the port was added);
 * `live`: container id → pid of the running containers.
 */
export function planReconcile(
  desired: readonly ResolvedSpec[],
  current: readonly { interfaceId: string }[],
  orphanLinks: readonly { interfaceId: string }[],
  live: ReadonlyMap<string, number>,
): ReconcilePlan {
  const attach = desired.filter((d) => live.has(d.containerId));
  const skip = desired.filter((d) => !live.has(d.containerId));
  const keep = new Set(attach.map((d) => d.interfaceId));
  const detach = [...new Set([...current, ...orphanLinks].map((c) => c.interfaceId))].filter((id) => !keep.has(id));
  return { attach, detach, skip };
}
