// planReconcile against the fake table, with Faucet's invariants: reconciling twice changes nothing
// the second time, topology A → B → A gives back A's table, anything foreign goes, and how a switch
// spells a flow (field order, MAC case) never counts as a difference.
import type { FlowStats } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';
import { TAG_MASK, NETWORK_MASK, INTERFACE_MASK } from '../src/cookies';
import { FlowKind, Topology, cookie, flowKey, parseCookie, pairFlows, planReconcile, proactiveFlows, sameFlow, type FlowSpec, type ReconcilePlan, type TopologySnapshot } from '../src/index';
import { FakeFlowTable, addMod, deleteByCookieMod, deleteStrictMod, ifaces, networks, portOf, portsOf, sendTo, snapshot, uplinks } from './flow-table';

const HOST = 'host-a';
const { lb1, lb3, app1, db1, app2 } = ifaces;

function desiredOf(snap: TopologySnapshot): FlowSpec[] {
  const topo = new Topology(snap);
  return proactiveFlows(topo, HOST, portsOf(topo, HOST));
}

/** One reconcile the way the app does it: plan against a dump, deletes then adds, one atomic batch. */
function reconcile(t: FakeFlowTable, desired: readonly FlowSpec[], keep: (f: FlowStats) => boolean = () => false): ReconcilePlan {
  const plan = planReconcile(desired, t.dump(), keep);
  t.apply([...plan.remove.map(deleteStrictMod), ...plan.add.map(addMod)]);
  return plan;
}

/** A table's content without counters and durations, in a stable order. */
const content = (t: FakeFlowTable) =>
  t
    .dump()
    .map(({ tableId, priority, cookie: c, idleTimeout, hardTimeout, match, instructions }) => ({ key: flowKey({ tableId, priority, match }), tableId, priority, cookie: c, idleTimeout, hardTimeout, match, instructions }))
    .sort((a, b) => a.key.localeCompare(b.key));

const delivered = (t: FakeFlowTable, from: typeof lb1, to: typeof lb1, topo = new Topology(snapshot())) => t.process(sendTo(topo, from, to)).outputs.some((o) => o.port === portOf(to));

describe('planReconcile invariants', () => {
  it('from an empty table everything is added; reconciling again plans nothing and touches no flow', () => {
    const desired = desiredOf(snapshot());
    const t = new FakeFlowTable();
    const first = reconcile(t, desired);
    expect({ add: first.add.length, remove: first.remove.length, kept: first.kept }).toEqual({ add: desired.length, remove: 0, kept: 0 });
    expect(t.size).toBe(desired.length);
    const ids = t.installIds();
    const second = reconcile(t, desired);
    expect({ add: second.add, remove: second.remove, kept: second.kept }).toEqual({ add: [], remove: [], kept: desired.length });
    // Not re-added either: a replaced flow would have a new install id (and a reset idle timer on a switch).
    expect(t.installIds()).toEqual(ids);
  });

  it('the desired set never holds two flows with the same key (one would silently replace the other)', () => {
    const desired = desiredOf(snapshot());
    expect(new Set(desired.map(flowKey)).size).toBe(desired.length);
  });

  it('topology A → B → A gives back the same table, and the same behaviour', () => {
    const a = snapshot();
    // B: lb no longer depends on app, db1 is gone, lb3 has moved to host-b.
    const b = snapshot({
      revision: 2,
      networks: Object.values(networks).map((n) => (n.id === networks.lb.id ? { ...n, dependsOn: [] } : n)),
      interfaces: Object.values(ifaces).filter((i) => i !== db1).map((i) => (i === lb3 ? { ...i, host: 'host-b' } : i)),
    });
    const t = new FakeFlowTable();
    reconcile(t, desiredOf(a));
    const tableA = content(t);
    expect(delivered(t, lb1, app1)).toBe(true);
    expect(delivered(t, lb1, lb3)).toBe(true);

    const toB = reconcile(t, desiredOf(b));
    expect(toB.remove.length).toBeGreaterThan(0);
    const topoB = new Topology(b);
    expect(delivered(t, lb1, app1, topoB)).toBe(false);
    expect(delivered(t, app1, db1, topoB)).toBe(false);
    expect(delivered(t, app1, ifaces.ops1, topoB)).toBe(true);
    expect(content(t)).toEqual(content(fresh(desiredOf(b))));

    reconcile(t, desiredOf(a));
    expect(content(t)).toEqual(tableA);
    expect(delivered(t, lb1, app1)).toBe(true);
    expect(delivered(t, app1, db1)).toBe(true);
  });

  it('a foreign flow (not our cookie) is removed, even one that would forward everything', () => {
    const desired = desiredOf(snapshot());
    const t = fresh(desired);
    t.install([{ tableId: 0, priority: 60000, cookie: 0x1234n, idleTimeout: 0, hardTimeout: 0, match: [], instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: portOf(db1), maxLen: 0 }] }] }]);
    expect(delivered(t, lb1, db1)).toBe(true);
    const plan = reconcile(t, desired, () => false);
    expect(plan.remove.map((f) => f.cookie)).toEqual([0x1234n]);
    expect(content(t)).toEqual(content(fresh(desired)));
    expect(delivered(t, lb1, db1)).toBe(false);
  });

  it('one of our flows that the topology no longer wants is removed (an interface that left)', () => {
    const t = fresh(desiredOf(snapshot()));
    const without = desiredOf(snapshot({ interfaces: Object.values(ifaces).filter((i) => i !== app1) }));
    const plan = reconcile(t, without);
    expect(plan.add).toEqual([]);
    // Its admission, delivery and egress flows, and nothing else: tag, network and interface agree, any kind.
    const mask = TAG_MASK | NETWORK_MASK | INTERFACE_MASK;
    expect(new Set(plan.remove.map((f) => f.cookie & mask))).toEqual(new Set([cookie(FlowKind.Admit, networks.app.num, app1.num) & mask]));
    expect(new Set(plan.remove.map((f) => parseCookie(f.cookie)?.kind))).toEqual(new Set([FlowKind.Admit, FlowKind.Local, FlowKind.Egress]));
    expect(delivered(t, lb1, app1)).toBe(false);
    expect(t.process(sendTo(new Topology(snapshot()), app1, lb1)).dropped).toBe(true);
  });

  it('a flow with a desired key but other actions (tampered, or an old version) is replaced in place, not deleted and added', () => {
    const desired = desiredOf(snapshot());
    const t = fresh(desired);
    const local = t.dump().find((f) => f.tableId === 1 && f.priority === 200)!;
    t.install([{ ...local, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 99, maxLen: 0 }] }] }]);
    const plan = reconcile(t, desired);
    expect({ add: plan.add.map(flowKey), remove: plan.remove }).toEqual({ add: [flowKey(local)], remove: [] });
    expect(content(t)).toEqual(content(fresh(desired)));
  });

  it('reactive flows the caller says are still valid are kept and counted; the rest go', () => {
    const topo = new Topology(snapshot());
    const desired = proactiveFlows(topo, HOST, portsOf(topo, HOST));
    const t = fresh(desired);
    const valid = pairFlows(topo, lb1, app2, uplinks['host-a'], uplinks['host-b'], portOf(app2), { idle: 30 }).out;
    const stale = pairFlows(topo, app1, app2, uplinks['host-a'], uplinks['host-b'], portOf(app2), { idle: 30 }).out;
    t.install([valid, stale]);
    const plan = reconcile(t, desired, (f) => sameFlow(f, valid));
    expect({ removed: plan.remove.map(flowKey), kept: plan.kept, add: plan.add }).toEqual({ removed: [flowKey(stale)], kept: desired.length + 1, add: [] });
    expect(t.process(sendTo(topo, lb1, app2)).outputs.map((o) => o.port)).toEqual([uplinks['host-a'].ofport]);
  });

  it('deleting an interface\'s flows by cookie mask cuts off that interface only; reconciling brings it back', () => {
    const desired = desiredOf(snapshot());
    const t = fresh(desired);
    // Tag, network and interface; any kind.
    const mask = TAG_MASK | NETWORK_MASK | INTERFACE_MASK;
    t.apply([deleteByCookieMod(cookie(FlowKind.Admit, networks.app.num, app1.num), mask)]);
    expect(delivered(t, lb1, app1)).toBe(false);
    expect(delivered(t, app1, db1)).toBe(false);
    expect(delivered(t, lb1, lb3)).toBe(true);
    const plan = reconcile(t, desired);
    expect(plan.remove).toEqual([]);
    expect(plan.add.every((f) => (f.cookie & mask) === (cookie(FlowKind.Admit, networks.app.num, app1.num) & mask))).toBe(true);
    expect(delivered(t, lb1, app1)).toBe(true);
  });
});

describe('sameFlow and flowKey: how a switch spells a flow does not matter', () => {
  const [sample] = desiredOf(snapshot()).filter((f) => f.tableId === 0 && f.match.length === 4);
  const flow = sample!;

  it('match field order does not matter', () => {
    const reordered = { ...flow, match: [...flow.match].reverse() };
    expect(flowKey(reordered)).toBe(flowKey(flow));
    expect(sameFlow(reordered, flow)).toBe(true);
  });

  it('MAC letter case does not matter, in the match or in the actions', () => {
    const up = (v: unknown) => (typeof v === 'string' && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(v) ? v.toUpperCase() : v);
    const upperMatch = { ...flow, match: flow.match.map((m) => (m.field === 'RAW' ? m : ({ ...m, value: up(m.value) } as typeof m))) };
    expect(upperMatch.match).toContainEqual({ field: 'ETH_SRC', value: lb1.mac.toUpperCase() });
    expect(flowKey(upperMatch)).toBe(flowKey(flow));
    expect(sameFlow(upperMatch, flow)).toBe(true);
    const local = desiredOf(snapshot()).find((f) => f.tableId === 1 && f.priority === 200)!;
    const upperActions: FlowSpec = {
      ...local,
      instructions: local.instructions.map((i) =>
        i.type === 'APPLY_ACTIONS' ? { ...i, actions: i.actions.map((a) => (a.type === 'SET_FIELD' && a.field.field !== 'RAW' ? { ...a, field: { ...a.field, value: up(a.field.value) } as typeof a.field } : a)) } : i,
      ),
    };
    expect(JSON.stringify(upperActions.instructions)).not.toBe(JSON.stringify(local.instructions));
    expect(sameFlow(upperActions, local)).toBe(true);
  });

  it('a snapshot whose MACs are upper case plans nothing against the lower-case flows a switch reports', () => {
    const upper = snapshot({ interfaces: Object.values(ifaces).map((i) => ({ ...i, mac: i.mac.toUpperCase() })), networks: Object.values(networks).map((n) => ({ ...n, gatewayMac: n.gatewayMac.toUpperCase() })) });
    const t = fresh(desiredOf(snapshot()));
    const plan = planReconcile(desiredOf(upper), t.dump(), () => false);
    expect({ add: plan.add, remove: plan.remove }).toEqual({ add: [], remove: [] });
  });

  it.each([
    ['cookie', (f: FlowSpec) => ({ ...f, cookie: f.cookie + 1n })],
    ['idle timeout', (f: FlowSpec) => ({ ...f, idleTimeout: 5 })],
    ['hard timeout', (f: FlowSpec) => ({ ...f, hardTimeout: 5 })],
    ['instructions', (f: FlowSpec) => ({ ...f, instructions: [] })],
    ['a match value', (f: FlowSpec) => ({ ...f, match: f.match.map((m) => (m.field === 'IN_PORT' ? { ...m, value: 77 } : m)) })],
    ['priority', (f: FlowSpec) => ({ ...f, priority: f.priority + 1 })],
  ] as [string, (f: FlowSpec) => FlowSpec][])('a different %s is a different flow', (_what, change) => {
    expect(sameFlow(change(flow), flow)).toBe(false);
  });
});

function fresh(flows: readonly FlowSpec[]): FakeFlowTable {
  const t = new FakeFlowTable();
  t.install(flows);
  return t;
}
