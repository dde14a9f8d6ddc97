// Test-only fixtures and a tiny in-memory "apply" of plans and rollout steps. Nothing here is used
// by the package: the scheduler service applies plans through RDMP transactions.
import {
  Node,
  Replica,
  ReplicaStates,
  Service,
  type NewReplica,
  type NodeState,
  type Plan,
  type ReplicaState,
  type RolloutStep,
  type ServiceSpec,
} from '../src/index';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

export function spec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return { tenant: 'acme', name: 'app', image: 'app:1', replicas: 3, networks: [{ network: 'web', ip: { mode: 'dynamic' } }], ...over } as ServiceSpec;
}

export function node(name: string, cpus = 4, memoryBytes = 8 * GiB, labels: Record<string, string> = {}, state: NodeState = 'ready'): Node {
  return new Node({ name, capacity: { cpus, memoryBytes }, labels, state });
}

export function replica(service: Service | string, slot: number, revision: number, nodeName: string, state: ReplicaState = 'healthy', since = 0, extra: Partial<ConstructorParameters<typeof Replica>[0]> = {}): Replica {
  const id = typeof service === 'string' ? service : service.id;
  const resources = typeof service === 'string' ? { cpus: 0, memoryBytes: 0 } : service.resources;
  return new Replica({ id: `${id}-${slot}@rev${revision}`, service: id, slot, revision, node: nodeName, state, since, createdAt: since, resources, ...extra });
}

export interface World {
  services: Map<string, Service>;
  nodes: Node[];
  replicas: Replica[];
}

/** How a new replica behaves once started: the state it reaches (default healthy). */
export type Behaviour = (r: NewReplica) => ReplicaState;

function started(nr: NewReplica, now: number, behave: Behaviour): Replica {
  return new Replica({ id: nr.id, service: nr.service, slot: nr.slot, revision: nr.revision, node: nr.node, state: behave(nr), since: now, createdAt: now, resources: nr.resources });
}

/** Applies a plan as the scheduler would, instantly: stops are done, starts reach behave()'s state. */
export function applyPlan(world: World, plan: Plan, now: number, behave: Behaviour = () => ReplicaStates.Healthy): void {
  const stops = new Set([...plan.stop.map((s) => s.replica), ...plan.update.flatMap((u) => u.stop.map((s) => s.replica))]);
  world.replicas = world.replicas.map((r) => (stops.has(r.id) ? r.with({ state: ReplicaStates.Stopped, since: now }) : r));
  for (const nr of [...plan.replace.map((x) => x.replica), ...plan.place.map((x) => x.replica), ...plan.update.flatMap((u) => u.start)]) {
    world.replicas.push(started(nr, now, behave));
  }
  for (const u of plan.update) {
    const svc = world.services.get(u.service)!;
    if (u.rollback) world.services.set(u.service, svc.rollback(u.rollback.reason, now));
    else if (u.pause) world.services.set(u.service, svc.pauseRollout(u.pause.reason));
    else if (u.done) world.services.set(u.service, svc.completeRollout());
  }
}

/** Applies a rollout step to one service's replicas (placement is not the rollout's concern: node n1). */
export function applyStep(svc: Service, replicas: Replica[], step: RolloutStep, now: number, behave: (revision: number) => ReplicaState): { svc: Service; rs: Replica[] } {
  const stops = new Set(step.stop.map((s) => s.replica));
  const out = replicas.map((r) => (stops.has(r.id) ? r.with({ state: ReplicaStates.Stopped, since: now }) : r));
  const taken = new Set(out.map((r) => r.id));
  for (const s of step.start) {
    let id = `${svc.id}-${s.slot}@rev${s.revision}`;
    for (let n = 2; taken.has(id); n++) id = `${svc.id}-${s.slot}@rev${s.revision}#${n}`;
    taken.add(id);
    out.push(new Replica({ id, service: svc.id, slot: s.slot, revision: s.revision, node: 'n1', state: behave(s.revision), since: now, createdAt: now, resources: svc.resources }));
  }
  let next = svc;
  if (step.rollback) next = svc.rollback(step.rollback.reason, now);
  else if (step.pause) next = svc.pauseRollout(step.pause.reason);
  else if (step.done) next = svc.completeRollout();
  return { svc: next, rs: out };
}

export const live = (rs: readonly Replica[]) => rs.filter((r) => r.state !== ReplicaStates.Stopped);
