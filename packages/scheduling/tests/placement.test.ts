// Placement: spread, binpack, constraints, capacity, draining/down nodes, determinism, and the
// reason a replica fits nowhere.
import { describe, expect, it } from 'vitest';
import { place, type PlacedReplica, type PlacementConstraint } from '../src/index';
import { GiB, MiB, node } from './helpers';

const reqs = (n: number, service = 'acme/app') => Array.from({ length: n }, (_, i) => ({ key: `r${i + 1}`, service }));
const on = (nodeName: string, service: string, cpus = 0, memoryBytes = 0, state: PlacedReplica['state'] = 'healthy'): PlacedReplica => ({ service, node: nodeName, state, resources: { cpus, memoryBytes } });
const nodesOf = (ps: ReturnType<typeof place>) => ps.map((p) => p.node ?? p.unplaceable.code);
const none: PlacementConstraint[] = [];

describe('spread', () => {
  it('puts replicas of one service on different nodes, ties broken by name', () => {
    expect(nodesOf(place(reqs(5), [node('c'), node('a'), node('b')], [], 'spread', none, { cpus: 0, memoryBytes: 0 }))).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('counts this service first, then load: a node busy with other services is still chosen for the first replica of this one', () => {
    const existing = [on('a', 'acme/app'), on('b', 'acme/db', 3, 0)];
    expect(nodesOf(place(reqs(2), [node('a'), node('b'), node('c')], existing, 'spread', none, { cpus: 1, memoryBytes: 0 }))).toEqual(['c', 'b']);
  });

  it('stopping and failed replicas hold capacity but do not count as the service being there', () => {
    const existing = [on('a', 'acme/app', 2, 0, 'stopping'), on('b', 'acme/app', 0, 0, 'healthy')];
    expect(nodesOf(place(reqs(1), [node('a', 4), node('b', 4)], existing, 'spread', none, { cpus: 2, memoryBytes: 0 }))).toEqual(['a']);
    expect(nodesOf(place(reqs(2), [node('a', 4), node('b', 4)], existing, 'spread', none, { cpus: 2, memoryBytes: 0 }))).toEqual(['a', 'b']);
    expect(nodesOf(place(reqs(3), [node('a', 4), node('b', 4)], existing, 'spread', none, { cpus: 2, memoryBytes: 0 }))).toEqual(['a', 'b', 'b']);
  });

  it('uses an avoided node only when nothing else fits', () => {
    expect(nodesOf(place([{ key: 'x', service: 's/a', avoidNode: 'a' }], [node('a'), node('b')], [], 'spread', none, { cpus: 0, memoryBytes: 0 }))).toEqual(['b']);
    expect(nodesOf(place([{ key: 'x', service: 's/a', avoidNode: 'a' }], [node('a'), node('b', 1)], [], 'spread', none, { cpus: 2, memoryBytes: 0 }))).toEqual(['a']);
  });
});

describe('binpack', () => {
  it('fills the most loaded node that still fits, then the next', () => {
    const nodes = [node('a', 4), node('b', 4), node('c', 4)];
    const existing = [on('b', 'acme/other', 1, 0)];
    expect(nodesOf(place(reqs(5), nodes, existing, 'binpack', none, { cpus: 1, memoryBytes: 0 }))).toEqual(['b', 'b', 'b', 'a', 'a']);
  });

  it('measures load by the fuller resource', () => {
    const nodes = [node('a', 4, 4 * GiB), node('b', 4, 4 * GiB)];
    const existing = [on('a', 'x/y', 1, 0), on('b', 'x/y', 0, 2 * GiB)];
    expect(nodesOf(place(reqs(1), nodes, existing, 'binpack', none, { cpus: 0.5, memoryBytes: 0 }))).toEqual(['b']);
  });
});

describe('eligibility', () => {
  it('never places on draining or down nodes', () => {
    const nodes = [node('a', 4, 8 * GiB, {}, 'draining'), node('b', 4, 8 * GiB, {}, 'down'), node('c')];
    expect(nodesOf(place(reqs(3), nodes, [], 'spread', none, { cpus: 0, memoryBytes: 0 }))).toEqual(['c', 'c', 'c']);
  });

  it('applies == and != constraints; a node without the label satisfies !=', () => {
    const nodes = [node('a', 4, GiB, { zone: 'eu', disk: 'ssd' }), node('b', 4, GiB, { zone: 'eu', disk: 'hdd' }), node('c', 4, GiB, { zone: 'us' }), node('d', 4, GiB, { zone: 'eu' })];
    const cs: PlacementConstraint[] = [{ label: 'zone', op: '==', value: 'eu' }, { label: 'disk', op: '!=', value: 'hdd' }];
    expect(nodesOf(place(reqs(4), nodes, [], 'spread', cs, { cpus: 0, memoryBytes: 0 }))).toEqual(['a', 'd', 'a', 'd']);
  });

  it('keeps cpu sums exact (ten replicas of 0.1 cpu fit in 1 cpu)', () => {
    expect(nodesOf(place(reqs(11), [node('a', 1)], [], 'spread', none, { cpus: 0.1, memoryBytes: 0 }))).toEqual([...Array(10).fill('a'), 'INSUFFICIENT_CPU']);
  });

  it('is deterministic whatever the order of the nodes', () => {
    const a = place(reqs(6), [node('n3', 2), node('n1', 3), node('n2', 4)], [on('n2', 'acme/app', 1)], 'spread', none, { cpus: 0.5, memoryBytes: 0 });
    const b = place(reqs(6), [node('n2', 4), node('n3', 2), node('n1', 3)], [on('n2', 'acme/app', 1)], 'spread', none, { cpus: 0.5, memoryBytes: 0 });
    expect(a).toEqual(b);
  });
});

describe('reasons a replica fits nowhere', () => {
  const r1 = reqs(1);
  const first = (ps: ReturnType<typeof place>) => ps[0]!.unplaceable;

  it('no nodes', () => {
    expect(first(place(r1, [], [], 'spread', none, { cpus: 0, memoryBytes: 0 }))).toMatchObject({ code: 'NO_NODES', message: 'no nodes are in the cluster' });
  });

  it('no ready node', () => {
    expect(first(place(r1, [node('b', 1, GiB, {}, 'down'), node('a', 1, GiB, {}, 'draining')], [], 'spread', none, { cpus: 0, memoryBytes: 0 }))).toMatchObject({
      code: 'NO_READY_NODE',
      message: 'no node is ready (a is draining, b is down)',
    });
  });

  it('a constraint no ready node satisfies, naming nodes that would but are not ready', () => {
    const nodes = [node('host-a', 1, GiB, { zone: 'us' }), node('host-c', 1, GiB, { zone: 'eu' }, 'draining')];
    expect(first(place(r1, nodes, [], 'spread', [{ label: 'zone', op: '==', value: 'eu' }], { cpus: 0, memoryBytes: 0 }))).toMatchObject({
      code: 'CONSTRAINT_UNSATISFIABLE',
      message: 'no ready node has label zone==eu; host-c does but is draining',
    });
    expect(first(place(r1, [node('host-a', 1, GiB, { zone: 'us' })], [], 'spread', [{ label: 'zone', op: '==', value: 'eu' }], { cpus: 0, memoryBytes: 0 }))?.message).toBe('no ready node has label zone==eu');
  });

  it('names the constraints up to the one that left no node', () => {
    const nodes = [node('a', 1, GiB, { zone: 'eu', disk: 'hdd' }), node('b', 1, GiB, { zone: 'us' })];
    const cs: PlacementConstraint[] = [{ label: 'zone', op: '==', value: 'eu' }, { label: 'disk', op: '!=', value: 'hdd' }, { label: 'gpu', op: '==', value: 'yes' }];
    expect(first(place(r1, nodes, [], 'spread', cs, { cpus: 0, memoryBytes: 0 }))).toMatchObject({ code: 'CONSTRAINT_UNSATISFIABLE', message: 'no ready node satisfies zone==eu and disk!=hdd' });
  });

  it('cpu: the largest free and where', () => {
    const nodes = [node('host-a', 4), node('host-b', 2)];
    const existing = [on('host-a', 'x/y', 3), on('host-b', 'x/y', 0.5)];
    expect(first(place(r1, nodes, existing, 'spread', none, { cpus: 2, memoryBytes: 0 }))).toMatchObject({
      code: 'INSUFFICIENT_CPU',
      message: 'needs 2 cpus, the largest free is 1.5 on host-b',
      details: { needCpus: 2, largestFreeCpus: 1.5, node: 'host-b' },
    });
  });

  it('memory, among the nodes the constraints allow', () => {
    const nodes = [node('host-a', 4, GiB, { zone: 'eu' }), node('host-b', 4, 16 * GiB, { zone: 'us' })];
    expect(first(place(r1, nodes, [on('host-a', 'x/y', 0, 768 * MiB)], 'spread', [{ label: 'zone', op: '==', value: 'eu' }], { cpus: 1, memoryBytes: 512 * MiB }))).toMatchObject({
      code: 'INSUFFICIENT_MEMORY',
      message: 'needs 512 MiB of memory, the largest free is 256 MiB on host-a (among the ready nodes with zone==eu)',
    });
  });

  it('neither node has both', () => {
    const nodes = [node('host-a', 3, 256 * MiB), node('host-b', 1, GiB)];
    expect(first(place(r1, nodes, [], 'spread', none, { cpus: 2, memoryBytes: 512 * MiB }))).toMatchObject({
      code: 'INSUFFICIENT_RESOURCES',
      message: 'needs 2 cpus and 512 MiB of memory, and no node has both free: host-a has 3 cpus and 256 MiB, host-b has 1 cpu and 1 GiB',
    });
  });

  it('counts the replicas placed earlier in the same call', () => {
    expect(place(reqs(3), [node('a', 2), node('b', 1)], [], 'spread', none, { cpus: 1, memoryBytes: 0 }).map((p) => p.node ?? p.unplaceable.message)).toEqual(['a', 'b', 'a']);
    expect(place(reqs(4), [node('a', 2), node('b', 1)], [], 'spread', none, { cpus: 1, memoryBytes: 0 })[3]!.unplaceable?.message).toBe('needs 1 cpu, the largest free is 0 on a');
  });
});
