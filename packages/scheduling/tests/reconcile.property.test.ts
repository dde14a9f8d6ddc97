// Properties of the reconciler over random clusters and services, with the tiny in-memory apply of
// tests/helpers.ts: every plan partitions the live replicas, places nothing twice, never over a
// node's capacity, never on a node that is not ready; it is deterministic; and applying plans
// converges to a fixed point where every slot runs the desired revision (unless blocked), draining
// nodes are empty, and reconciling again, later, changes nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Replica, Service, planHasActions, reconcile, type Node, type Plan, type ReplicaState, type ServiceSpec } from '../src/index';
import { GiB, MiB, applyPlan, live, node, type World } from './helpers';

const states: ReplicaState[] = ['pending', 'starting', 'running', 'healthy', 'unhealthy', 'stopping', 'stopped', 'failed'];

const nodeArb = fc.record({
  cpus: fc.constantFrom(1, 2, 4, 8),
  mem: fc.constantFrom(1, 2, 8, 16),
  zone: fc.constantFrom('eu', 'eu', 'us', null),
  state: fc.constantFrom('ready', 'ready', 'ready', 'ready', 'draining', 'down') as fc.Arbitrary<'ready' | 'draining' | 'down'>,
});
const serviceArb = fc.record({
  replicas: fc.integer({ min: 0, max: 6 }),
  cpus: fc.constantFrom(0, 0, 0.25, 0.5, 1),
  memMiB: fc.constantFrom(0, 256),
  eu: fc.constantFrom(false, false, true),
  // Most services start from a converged revision 1: a replica per slot, mostly healthy.
  populated: fc.constantFrom(true, true, false),
  populatedStates: fc.array(fc.constantFrom<ReplicaState>('healthy', 'healthy', 'healthy', 'running', 'unhealthy', 'failed'), { minLength: 6, maxLength: 6 }),
  strategy: fc.constantFrom('spread', 'binpack') as fc.Arbitrary<'spread' | 'binpack'>,
  static: fc.boolean(),
  updated: fc.boolean(),
  order: fc.constantFrom('start-first', 'stop-first') as fc.Arbitrary<'start-first' | 'stop-first'>,
  parallelism: fc.integer({ min: 1, max: 3 }),
  monitorMs: fc.integer({ min: 0, max: 3000 }),
});
const replicaArb = fc.record({
  service: fc.integer({ min: 0, max: 4 }),
  slot: fc.integer({ min: 1, max: 8 }),
  rev2: fc.boolean(),
  node: fc.integer({ min: 0, max: 5 }),
  state: fc.constantFrom(...states),
  age: fc.integer({ min: 0, max: 60_000 }),
});
const clusterArb = fc.record({
  nodes: fc.array(nodeArb, { minLength: 1, maxLength: 5 }),
  services: fc.array(serviceArb, { minLength: 1, maxLength: 3 }),
  replicas: fc.array(replicaArb, { maxLength: 12 }),
});
type Cluster = typeof clusterArb extends fc.Arbitrary<infer T> ? T : never;

const T0 = 100_000;
// More runs for a soak: SDMI_PROPERTY_RUNS=5000 pnpm vitest run packages/scheduling
const RUNS = Number(process.env.SDMI_PROPERTY_RUNS ?? 300);

function build(c: Cluster): World {
  const nodes: Node[] = c.nodes.map((n, i) => node(`n${i}`, n.cpus, n.mem * GiB, n.zone ? { zone: n.zone } : {}, n.state));
  const services: Service[] = c.services.map((s, i) => {
    const make = (image: string): ServiceSpec =>
      ({
        tenant: 'acme',
        name: `s${i}`,
        image,
        replicas: s.replicas,
        networks: [{ network: 'web', ip: s.static ? { mode: 'static', addresses: Array.from({ length: s.replicas }, (_, k) => `10.0.${i}.${k + 1}`) } : { mode: 'dynamic' } }],
        resources: { ...(s.cpus ? { cpus: s.cpus } : {}), ...(s.memMiB ? { memoryBytes: s.memMiB * MiB } : {}) },
        placement: { strategy: s.strategy, ...(s.eu ? { constraints: [{ label: 'zone', op: '==', value: 'eu' }] } : {}) },
        update: { order: s.static ? 'stop-first' : s.order, parallelism: s.parallelism, monitorMs: s.monitorMs },
      }) as ServiceSpec;
    const v1 = Service.create(make('app:1'), 0);
    return s.updated ? v1.update(make('app:2'), 1) : v1;
  });
  const ids = new Set<string>();
  const usedSlots = new Set<string>();
  const replicas: Replica[] = [];
  const noise = [...c.replicas];
  c.services.forEach((s, i) => {
    if (!s.populated) return;
    for (let slot = 1; slot <= s.replicas; slot++) noise.unshift({ service: i, slot, rev2: false, node: (slot + i) % c.nodes.length, state: s.populatedStates[slot - 1]!, age: 40_000 });
  });
  for (const r of noise) {
    const svc = services[r.service];
    const sid = svc?.id ?? 'acme/unknown';
    const revision = svc && r.rev2 && svc.revision === 2 ? 2 : 1;
    // Static addresses: one container per slot, as the real applier guarantees.
    if (svc?.exclusive && r.state !== 'stopped') {
      if (usedSlots.has(`${sid}/${r.slot}`)) continue;
      usedSlots.add(`${sid}/${r.slot}`);
    }
    let id = `${sid}-${r.slot}@rev${revision}`;
    for (let k = 2; ids.has(id); k++) id = `${sid}-${r.slot}@rev${revision}#${k}`;
    ids.add(id);
    const since = T0 - r.age;
    replicas.push(new Replica({ id, service: sid, slot: r.slot, revision, node: r.node < nodes.length ? `n${r.node}` : 'ghost', state: r.state, since, createdAt: since, resources: svc?.resources ?? { cpus: 0, memoryBytes: 0 } }));
  }
  return { services: new Map(services.map((s) => [s.id, s])), nodes, replicas };
}

/** What happens between two reconciles: starting containers come up, stopping ones finish. */
function progress(w: World, now: number): void {
  w.replicas = w.replicas.map((r) => {
    if (r.state === 'pending' || r.state === 'starting' || r.state === 'running') return r.with({ state: 'healthy', since: now });
    if (r.state === 'stopping') return r.with({ state: 'stopped', since: now });
    return r;
  });
}

const milli = (x: number) => Math.round(x * 1000);

function checkPlan(w: World, p: Plan, now: number): void {
  const services = [...w.services.values()];
  // Deterministic, whatever the order of the inputs.
  expect(reconcile([...services].reverse(), { nodes: [...w.nodes].reverse(), replicas: [...w.replicas].reverse() }, now)).toEqual(p);

  // Every live replica is in exactly one of stop, replace (old), update (stop), ignore.
  const seen = [...p.stop.map((s) => s.replica), ...p.replace.map((x) => x.old), ...p.update.flatMap((u) => u.stop.map((s) => s.replica)), ...p.ignore.map((i) => i.replica)];
  expect([...seen].sort()).toEqual(live(w.replicas).map((r) => r.id).sort());

  // Nothing placed twice: new ids are new and unique, one new replica per service slot.
  const fresh = [...p.place.map((x) => x.replica), ...p.replace.map((x) => x.replica), ...p.update.flatMap((u) => u.start)];
  const existing = new Set(w.replicas.map((r) => r.id));
  expect(fresh.filter((r) => existing.has(r.id))).toEqual([]);
  expect(new Set(fresh.map((r) => r.id)).size).toBe(fresh.length);
  expect(new Set(fresh.map((r) => `${r.service}/${r.slot}`)).size).toBe(fresh.length);

  // New replicas only on ready nodes that satisfy the constraints, and never over capacity
  // (counting everything not yet stopped, including what this plan stops).
  for (const r of fresh) {
    const n = w.nodes.find((x) => x.name === r.node)!;
    expect(n.state).toBe('ready');
    for (const c of w.services.get(r.service)!.constraints) expect(n.satisfies(c)).toBe(true);
  }
  for (const n of w.nodes) {
    const mine = fresh.filter((r) => r.node === n.name);
    if (mine.length === 0) continue;
    const all = [...live(w.replicas).filter((r) => r.node === n.name), ...mine];
    expect(all.reduce((a, r) => a + milli(r.resources.cpus), 0)).toBeLessThanOrEqual(milli(n.capacity.cpus));
    expect(all.reduce((a, r) => a + r.resources.memoryBytes, 0)).toBeLessThanOrEqual(n.capacity.memoryBytes);
  }
}

function checkExclusive(w: World): void {
  for (const svc of w.services.values()) {
    if (!svc.exclusive) continue;
    const slots = live(w.replicas).filter((r) => r.service === svc.id).map((r) => r.slot);
    expect(new Set(slots).size, `${svc.id}: two containers share a slot's static address`).toBe(slots.length);
  }
}

describe('reconcile properties', () => {
  it('converges to the desired state, and then stays there', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const w = build(c);
        let now = T0;
        let p: Plan | null = null;
        let rounds = 0;
        for (; rounds < 80; rounds++) {
          progress(w, now);
          checkExclusive(w);
          p = reconcile([...w.services.values()], { nodes: w.nodes, replicas: w.replicas }, now);
          checkPlan(w, p, now);
          if (!planHasActions(p)) {
            if (p.wakeAt === null) break;
            now = Math.max(now + 1000, p.wakeAt);
            continue;
          }
          applyPlan(w, p, now);
          checkExclusive(w);
          now += 1000;
        }
        expect(rounds, 'no fixed point within 80 rounds').toBeLessThan(80);
        const plan = p!;
        const ready = new Set(w.nodes.filter((n) => n.state !== 'down').map((n) => n.name));
        const all = live(w.replicas);
        expect(all.filter((r) => !w.services.has(r.service))).toEqual([]);
        expect(all.filter((r) => !ready.has(r.node))).toEqual([]);
        for (const svc of w.services.values()) {
          const mine = all.filter((r) => r.service === svc.id);
          expect(mine.filter((r) => r.slot > svc.replicas)).toEqual([]);
          if (svc.rollout?.state === 'paused') continue;
          const blocked = new Set(plan.blocked.filter((b) => b.service === svc.id).map((b) => b.slot));
          for (let slot = 1; slot <= svc.replicas; slot++) {
            if (blocked.has(slot)) continue;
            const here = mine.filter((r) => r.slot === slot);
            // A blocked slot can hold a rollout up: the other slots then serve, on whichever revision.
            const want = blocked.size === 0 ? [`${svc.revision}:healthy`] : [`${here[0]?.revision}:healthy`];
            expect(here.map((r) => `${r.revision}:${r.state}`), `${svc.id} slot ${slot}`).toEqual(want);
            expect(w.nodes.find((n) => n.name === here[0]!.node)!.state).toBe('ready');
          }
          if (blocked.size === 0) expect(svc.rollout === null || svc.rollout.state === 'complete').toBe(true);
          else for (const b of plan.blocked.filter((x) => x.service === svc.id)) expect(b.reason).toMatch(/cannot be placed: .+/);
        }
        const blockedServices = new Set(plan.blocked.map((b) => b.service));
        const drainingNodes = new Set(w.nodes.filter((n) => n.state === 'draining').map((n) => n.name));
        expect(all.filter((r) => drainingNodes.has(r.node) && !blockedServices.has(r.service) && w.services.get(r.service)?.rollout?.state !== 'paused')).toEqual([]);
        // A fixed point stays one: later, nothing is due.
        const later = reconcile([...w.services.values()], { nodes: w.nodes, replicas: w.replicas }, now + 3_600_000);
        expect(planHasActions(later)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('a plan of only places and stops leaves nothing to do once applied', () => {
    fc.assert(
      fc.property(clusterArb, (c) => {
        const w = build({ ...c, replicas: c.replicas.map((r) => ({ ...r, state: r.state === 'unhealthy' || r.state === 'failed' ? 'healthy' : r.state, rev2: false })) });
        for (const [id, s] of w.services) if (s.revision !== 1) w.services.set(id, s.undo(1, T0).completeRollout());
        w.nodes = w.nodes.map((n) => (n.state === 'draining' ? n.withState('ready') : n));
        progress(w, T0);
        const p = reconcile([...w.services.values()], { nodes: w.nodes, replicas: w.replicas }, T0);
        // Capacity held by replicas this plan stops is free only once they are gone: such a plan
        // blocks what needs it, and the next plan places it.
        if (p.replace.length || p.update.length || p.blocked.length) return;
        applyPlan(w, p, T0);
        progress(w, T0 + 1000);
        const again = reconcile([...w.services.values()], { nodes: w.nodes, replicas: w.replicas }, T0 + 1000);
        // Exclusive slots whose old container was stopped this round are placed in the next one.
        const waiting = [...w.services.values()].some((s) => s.exclusive) ? again.place.length : 0;
        expect(again.stop).toEqual([]);
        expect(again.replace).toEqual([]);
        expect(again.place.length).toBe(waiting);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('rollouts through the reconciler', () => {
  it('start-first keeps at least the desired number serving, also while a node drains mid-rollout', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 8 }),
        fc.option(fc.integer({ min: 0, max: 15 })),
        (n, parallelism, monitorMs, delays, drainAt) => {
          const make = (image: string) => spec2(n, image, parallelism, monitorMs);
          const v1 = Service.create(make('app:1'), 0);
          const w: World = {
            services: new Map([[v1.id, v1.update(make('app:2'), 1)]]),
            nodes: [node('n0'), node('n1'), node('n2')],
            replicas: Array.from({ length: n }, (_, i) => new Replica({ id: `acme/app-${i + 1}@rev1`, service: v1.id, slot: i + 1, revision: 1, node: `n${i % 3}`, state: 'healthy', since: 0, createdAt: 0, resources: v1.resources })),
          };
          const settles = new Map<string, number>();
          let now = 10_000;
          let k = 0;
          const serving = () => live(w.replicas).filter((r) => r.state === 'healthy').length;
          for (let round = 0; round < 300; round++) {
            if (round === drainAt) w.nodes = w.nodes.map((x) => (x.name === 'n0' ? x.withState('draining') : x));
            w.replicas = w.replicas.map((r) => (r.state === 'starting' && settles.get(r.id)! <= now ? r.with({ state: 'healthy', since: now }) : r));
            expect(serving()).toBeGreaterThanOrEqual(n);
            const p = reconcile([...w.services.values()], { nodes: w.nodes, replicas: w.replicas }, now);
            const before = new Set(w.replicas.map((r) => r.id));
            applyPlan(w, p, now, () => 'starting');
            for (const r of w.replicas) if (!before.has(r.id)) settles.set(r.id, now + delays[k++ % delays.length]!);
            expect(serving()).toBeGreaterThanOrEqual(n);
            const svc = w.services.get(v1.id)!;
            const settled = !planHasActions(p) && w.replicas.every((r) => r.state !== 'starting');
            if (settled && (drainAt === null || round > drainAt) && svc.rollout?.state === 'complete') {
              expect(live(w.replicas).map((r) => `${r.slot}@${r.revision}`).sort()).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}@2`).sort());
              if (drainAt !== null) expect(live(w.replicas).filter((r) => r.node === 'n0')).toEqual([]);
              return;
            }
            now += 500;
          }
          throw new Error('rollout did not finish');
        },
      ),
      { numRuns: RUNS },
    );
  });
});

function spec2(replicas: number, image: string, parallelism: number, monitorMs: number): ServiceSpec {
  return { tenant: 'acme', name: 'app', image, replicas, networks: [{ network: 'web', ip: { mode: 'dynamic' } }], update: { order: 'start-first', parallelism, monitorMs } } as ServiceSpec;
}
