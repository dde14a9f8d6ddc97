// reconcile(desired, observed, now) → Plan: each bucket with its reasons, drift repair, draining,
// static addresses, blocked placements, rollouts through the plan; determinism.
import { describe, expect, it } from 'vitest';
import { Service, planHasActions, reconcile, type Node, type Plan, type Replica } from '../src/index';
import { applyPlan, live, node, replica, spec, type World } from './helpers';

const world = (services: Service[], nodes: Node[], replicas: Replica[] = []): World => ({ services: new Map(services.map((s) => [s.id, s])), nodes, replicas });
const plan = (w: World, now: number) => reconcile([...w.services.values()], { nodes: w.nodes, replicas: w.replicas }, now);
const where = (p: Plan) => ({
  place: p.place.map((x) => `${x.replica.id} on ${x.replica.node}: ${x.reason}`),
  stop: p.stop.map((x) => `${x.replica}: ${x.reason}`),
  replace: p.replace.map((x) => `${x.old} -> ${x.replica.id} on ${x.replica.node}: ${x.reason}`),
});
/** Applies plans until one has nothing to do; returns it. */
function settle(w: World, now: number, rounds = 20): Plan {
  for (let i = 0; i < rounds; i++) {
    const p = plan(w, now);
    if (!planHasActions(p)) return p;
    applyPlan(w, p, now);
    now += 1000;
  }
  throw new Error('did not settle');
}
const nodes3 = () => [node('a'), node('b'), node('c')];

describe('place and stop', () => {
  it('places a new service spread over the nodes, then has nothing to do', () => {
    const w = world([Service.create(spec(), 0)], nodes3());
    const p = plan(w, 1000);
    expect(where(p)).toEqual({
      place: ['acme/app-1@rev1 on a: slot 1 is empty', 'acme/app-2@rev1 on b: slot 2 is empty', 'acme/app-3@rev1 on c: slot 3 is empty'],
      stop: [],
      replace: [],
    });
    expect(p.place[0]!.replica).toMatchObject({ service: 'acme/app', slot: 1, revision: 1, resources: { cpus: 0, memoryBytes: 0 }, staticAddresses: [null] });
    applyPlan(w, p, 1000);
    const again = plan(w, 2000);
    expect(planHasActions(again)).toBe(false);
    expect(again.ignore.map((i) => `${i.replica}: ${i.reason}`)).toEqual(['acme/app-1@rev1: rev 1, healthy', 'acme/app-2@rev1: rev 1, healthy', 'acme/app-3@rev1: rev 1, healthy']);
  });

  it('scales down by stopping the highest slots', () => {
    const svc = Service.create(spec(), 0).scale(1);
    const w = world([svc], nodes3(), [1, 2, 3].map((s) => replica(svc, s, 1, 'a')));
    expect(where(plan(w, 1000)).stop).toEqual(['acme/app-2@rev1: surplus: acme/app is scaled to 1 replica(s)', 'acme/app-3@rev1: surplus: acme/app is scaled to 1 replica(s)']);
  });

  it('stops replicas of services that are not deployed (labelled ours, but not wanted)', () => {
    const w = world([], nodes3(), [replica('acme/ghost', 1, 1, 'a'), replica('acme/ghost', 2, 1, 'b', 'stopping')]);
    const p = plan(w, 1000);
    expect(where(p).stop).toEqual(['acme/ghost-1@rev1: service acme/ghost is not deployed']);
    expect(p.ignore).toEqual([{ replica: 'acme/ghost-2@rev1', service: 'acme/ghost', reason: 'stopping (service acme/ghost is not deployed)' }]);
  });

  it('replaces a replica removed by hand (it is simply missing)', () => {
    const svc = Service.create(spec(), 0);
    const w = world([svc], nodes3(), [replica(svc, 1, 1, 'a'), replica(svc, 3, 1, 'c')]);
    expect(where(plan(w, 1000)).place).toEqual(['acme/app-2@rev1 on b: slot 2 is empty']);
  });

  it('stops replicas on nodes that left or are down, and places their successors at once', () => {
    const svc = Service.create(spec(), 0);
    const w = world([svc], [node('a'), node('b', 4, 2 ** 33, {}, 'down'), node('c')], [replica(svc, 1, 1, 'a'), replica(svc, 2, 1, 'b'), replica(svc, 3, 1, 'gone')]);
    expect(where(plan(w, 1000))).toEqual({
      place: ['acme/app-2@rev1#2 on c: slot 2 is empty', 'acme/app-3@rev1#2 on a: slot 3 is empty'],
      stop: ['acme/app-2@rev1: node b is down', 'acme/app-3@rev1: node gone is not a member of the cluster'],
      replace: [],
    });
  });

  it('stops a duplicate in a slot, keeping the serving, older one', () => {
    const svc = Service.create(spec({ replicas: 1 }), 0);
    const w = world([svc], nodes3(), [replica(svc, 1, 1, 'a', 'healthy', 5), replica(svc, 1, 1, 'b', 'healthy', 3, { id: 'acme/app-1@rev1#2' })]);
    expect(where(plan(w, 1000)).stop).toEqual(['acme/app-1@rev1: duplicate of app-1@rev1#2 in slot 1']);
  });
});

describe('replace', () => {
  it('moves replicas off a draining node start-first: successor first, the old one once it serves', () => {
    const svc = Service.create(spec({ replicas: 2 }), 0);
    const w = world([svc], [node('a', 4, 2 ** 33, {}, 'draining'), node('b'), node('c')], [replica(svc, 1, 1, 'a'), replica(svc, 2, 1, 'b')]);
    const p1 = plan(w, 1000);
    expect(where(p1)).toEqual({ place: [], stop: [], replace: ['acme/app-1@rev1 -> acme/app-1@rev1#2 on c: node a is draining'] });
    applyPlan(w, p1, 1000, () => 'starting');
    const p2 = plan(w, 2000);
    expect(planHasActions(p2)).toBe(false);
    expect(p2.ignore.find((i) => i.replica === 'acme/app-1@rev1')?.reason).toBe('node a is draining; stopped once app-1@rev1#2 serves');
    w.replicas = w.replicas.map((r) => (r.state === 'starting' ? r.with({ state: 'healthy', since: 3000 }) : r));
    expect(where(plan(w, 3000)).stop).toEqual(['acme/app-1@rev1: node a is draining; replaced by app-1@rev1#2, which serves']);
    settle(w, 3000);
    expect(live(w.replicas).filter((r) => r.node === 'a')).toEqual([]);
  });

  it('waits out the grace of an unhealthy replica, then replaces it on another node', () => {
    const svc = Service.create(spec({ replicas: 1 }), 0);
    const w = world([svc], [node('a'), node('b')], [replica(svc, 1, 1, 'a', 'unhealthy', 1000)]);
    const early = plan(w, 11_000);
    expect(planHasActions(early)).toBe(false);
    expect(early.ignore).toEqual([{ replica: 'acme/app-1@rev1', service: 'acme/app', reason: 'unhealthy for 10 s; replaced once unhealthy for 30 s' }]);
    expect(early.wakeAt).toBe(31_000);
    expect(where(plan(w, 31_000)).replace).toEqual(['acme/app-1@rev1 -> acme/app-1@rev1#2 on b: unhealthy for 30 s']);
  });

  it('replaces a failed replica after the delay, stopping it at once since it serves nothing', () => {
    const svc = Service.create(spec({ replicas: 1 }), 0);
    const w = world([svc], [node('a')], [replica(svc, 1, 1, 'a', 'failed', 1000)]);
    expect(plan(w, 3000)).toMatchObject({ place: [], stop: [], wakeAt: 6000, ignore: [{ reason: 'failed 2 s ago; replaced 5 s after it failed' }] });
    expect(where(plan(w, 6000))).toEqual({ place: ["acme/app-1@rev1#2 on a: slot 1's replica failed"], stop: ['acme/app-1@rev1: failed 5 s ago'], replace: [] });
  });

  it('with static addresses, stops first and places the successor (with the slot\'s address) once the old one is gone', () => {
    const svc = Service.create(spec({ replicas: 2, networks: [{ network: 'web', ip: { mode: 'dynamic' } }, { network: 'db', ip: { mode: 'static', addresses: ['10.0.0.1', '10.0.0.2'] } }] }), 0);
    const w = world([svc], [node('a', 4, 2 ** 33, {}, 'draining'), node('b')], [replica(svc, 1, 1, 'a'), replica(svc, 2, 1, 'b')]);
    const p1 = plan(w, 1000);
    expect(where(p1)).toEqual({ place: [], stop: ['acme/app-1@rev1: node a is draining; stopped before its successor starts, as its static address can be on one container only'], replace: [] });
    applyPlan(w, p1, 1000);
    const p2 = plan(w, 2000);
    expect(where(p2).place).toEqual(['acme/app-1@rev1#2 on b: slot 1 is empty']);
    expect(p2.place[0]!.replica.staticAddresses).toEqual([null, '10.0.0.1']);
  });
});

describe('blocked', () => {
  it('says why a replica fits nowhere, per replica, and changes nothing else', () => {
    const svc = Service.create(spec({ replicas: 2, placement: { constraints: [{ label: 'zone', op: '==', value: 'eu' }] } }), 0);
    const w = world([svc], [node('a', 4, 2 ** 33, { zone: 'us' }), node('b', 4, 2 ** 33, { zone: 'eu' }, 'draining')]);
    const p = plan(w, 1000);
    expect(planHasActions(p)).toBe(false);
    expect(p.blocked.map((b) => [b.slot, b.bucket, b.unplaceable.code, b.reason])).toEqual([
      [1, 'place', 'CONSTRAINT_UNSATISFIABLE', 'app-1@rev1 cannot be placed: no ready node has label zone==eu; b does but is draining'],
      [2, 'place', 'CONSTRAINT_UNSATISFIABLE', 'app-2@rev1 cannot be placed: no ready node has label zone==eu; b does but is draining'],
    ]);
  });

  it('keeps a draining replica running when its successor fits nowhere, and says so', () => {
    const svc = Service.create(spec({ replicas: 1, resources: { cpus: 2 } }), 0);
    const w = world([svc], [node('a', 4, 2 ** 33, {}, 'draining'), node('b', 1)], [replica(svc, 1, 1, 'a')]);
    const p = plan(w, 1000);
    expect(p.replace).toEqual([]);
    expect(p.blocked[0]!.reason).toBe('app-1@rev1 cannot be placed: needs 2 cpus, the largest free is 1 on b');
    expect(p.ignore).toEqual([{ replica: 'acme/app-1@rev1', service: 'acme/app', reason: 'node a is draining; no node can take its successor: needs 2 cpus, the largest free is 1 on b' }]);
  });
});

describe('update', () => {
  it('hands a revision change to the rollout, places its starts, and records done', () => {
    const v1 = Service.create(spec({ replicas: 2, update: { monitorMs: 0 } }), 0);
    const v2 = v1.update(spec({ replicas: 2, image: 'app:2', update: { monitorMs: 0 } }), 500);
    const w = world([v2], [node('a'), node('b')], [replica(v1, 1, 1, 'a'), replica(v1, 2, 1, 'b')]);
    const p = plan(w, 1000);
    expect(p.update).toHaveLength(1);
    expect(p.update[0]).toMatchObject({ service: 'acme/app', fromRevision: 1, toRevision: 2, phase: 'updating', stop: [], status: 'rev 1 → rev 2: 0 of 2 replicas updated; updating slot 1 (start-first)' });
    expect(p.update[0]!.start.map((r) => `${r.id} on ${r.node}`)).toEqual(['acme/app-1@rev2 on a']);
    expect(p.ignore.map((i) => i.reason)).toEqual(['rev 1, healthy; the rollout to rev 2 will replace it', 'rev 1, healthy; the rollout to rev 2 will replace it']);
    const last = settle(w, 1000);
    expect(w.services.get('acme/app')!.rollout?.state).toBe('complete');
    expect(last.update).toEqual([]);
    expect(live(w.replicas).map((r) => r.id).sort()).toEqual(['acme/app-1@rev2', 'acme/app-2@rev2']);
  });

  it('a broken image rolls back through the plan, and starts no more of it', () => {
    const v1 = Service.create(spec({ replicas: 2 }), 0);
    const v2 = v1.update(spec({ replicas: 2, image: 'app:broken' }), 500);
    const w = world([v2], [node('a'), node('b')], [replica(v1, 1, 1, 'a'), replica(v1, 2, 1, 'b')]);
    applyPlan(w, plan(w, 1000), 1000, () => 'failed');
    const p = plan(w, 7000);
    expect(p.update[0]!.rollback).toEqual({ toRevision: 1, reason: 'replica app-1@rev2 failed: rolling back to rev 1' });
    expect(p.place).toEqual([]);
    expect(where(p).stop).toEqual(['acme/app-1@rev2: failed 6 s ago']);
    applyPlan(w, p, 7000);
    settle(w, 8000);
    expect(w.services.get('acme/app')).toMatchObject({ revision: 1, rollout: { state: 'complete', rollbackOf: 2 } });
    expect(live(w.replicas).map((r) => r.id).sort()).toEqual(['acme/app-1@rev1', 'acme/app-2@rev1']);
  });

  it('reports a start-first rollout that has no room for the extra replica', () => {
    const v1 = Service.create(spec({ replicas: 1, resources: { cpus: 1 } }), 0);
    const v2 = v1.update(spec({ replicas: 1, image: 'app:2', resources: { cpus: 1 } }), 500);
    const w = world([v2], [node('a', 1)], [replica(v1, 1, 1, 'a')]);
    const p = plan(w, 1000);
    expect(p.update[0]!.status).toBe('rev 1 → rev 2: 0 of 1 replicas updated; updating slot 1 (start-first); cannot start app-1@rev2: needs 1 cpu, the largest free is 0 on a');
    expect(p.blocked[0]).toMatchObject({ bucket: 'update', slot: 1 });
  });
});

describe('determinism', () => {
  it('same inputs give the same plan, whatever their order', () => {
    const a = Service.create(spec({ name: 'a', replicas: 4 }), 0);
    const b = Service.create(spec({ name: 'b', replicas: 2, placement: { strategy: 'binpack' } }), 0);
    const nodes = [node('n1', 2), node('n2', 4, 2 ** 33, {}, 'draining'), node('n3', 8)];
    const reps = [replica(a, 1, 1, 'n2'), replica(b, 3, 1, 'n1'), replica('acme/zombie', 1, 1, 'n3'), replica(a, 2, 1, 'n1', 'unhealthy', 0)];
    const p1 = reconcile([a, b], { nodes, replicas: reps }, 50_000);
    const p2 = reconcile([b, a], { nodes: [...nodes].reverse(), replicas: [...reps].reverse() }, 50_000);
    expect(p2).toEqual(p1);
    expect(planHasActions(p1)).toBe(true);
  });
});
