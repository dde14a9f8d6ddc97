// removeNode's check: drain only when the other ready nodes can take the node's replicas.
import { describe, expect, it } from 'vitest';
import { Node, Service, checkNodeRemoval, reconcile, type SchedulingError } from '../src/index';
import { node, replica, spec } from './helpers';

const svc = Service.create(spec({ replicas: 3, resources: { cpus: 1 } }), 0);
const db = Service.create(spec({ name: 'db', replicas: 1, resources: { cpus: 2 }, placement: { constraints: [{ label: 'disk', op: '==', value: 'ssd' }] } }), 0);

describe('checkNodeRemoval', () => {
  it('accepts a node whose replicas fit elsewhere, and the reconciler then moves them', () => {
    const nodes = [node('host-a', 2), node('host-b', 2)];
    const reps = [replica(svc, 1, 1, 'host-a'), replica(svc, 2, 1, 'host-b')];
    expect(checkNodeRemoval('host-a', nodes, reps, [svc])).toEqual({ total: 1, stranded: [] });
    const p = reconcile([svc.scale(2)], { nodes: nodes.map((n) => (n.name === 'host-a' ? n.withState('draining') : n)), replicas: reps }, 1000);
    expect(p.replace.map((r) => `${r.old} -> ${r.replica.node}`)).toEqual(['acme/app-1@rev1 -> host-b']);
  });

  it('refuses when the rest cannot hold them, naming each replica and why', () => {
    const nodes = [node('host-a', 4, 2 ** 33, { disk: 'ssd' }), node('host-b', 1)];
    const reps = [replica(svc, 1, 1, 'host-a'), replica(svc, 2, 1, 'host-a'), replica(db, 1, 1, 'host-a')];
    let err: SchedulingError | undefined;
    try {
      checkNodeRemoval('host-a', nodes, reps, [svc, db]);
    } catch (e) {
      err = e as SchedulingError;
    }
    expect(err?.name).toBe('NodeRemovalRefused');
    expect(err?.info).toMatchObject({
      code: 'NODE_REMOVAL_REFUSED',
      path: '/name',
      message:
        '/name: node host-a cannot be drained: 2 of its 3 replica(s) fit on no other ready node (app-2@rev1: needs 1 cpu, the largest free is 0 on host-b; db-1@rev1: no ready node has label disk==ssd; host-a does but is draining); add capacity, or remove it with force',
    });
    expect(checkNodeRemoval('host-a', nodes, reps, [svc, db], true).stranded).toEqual([
      { replica: 'app-2@rev1', reason: 'needs 1 cpu, the largest free is 0 on host-b' },
      { replica: 'db-1@rev1', reason: 'no ready node has label disk==ssd; host-a does but is draining' },
    ]);
  });

  it('refuses a node that is not a member', () => {
    expect(() => checkNodeRemoval('host-x', [node('host-a')], [], [])).toThrowError(expect.objectContaining({ name: 'NodeNotFound', info: expect.objectContaining({ code: 'NODE_NOT_FOUND', path: '/name', message: '/name: node host-x is not a member of the cluster' }) }));
  });

  it('a forced drain stops what fits nowhere (so the node empties); an unforced draining node keeps it running', () => {
    const nodes = [node('host-a', 2), node('host-b', 2)];
    const big = Service.create(spec({ name: 'big', replicas: 2, resources: { cpus: 1.5 } }), 0);
    const reps = [replica(big, 1, 1, 'host-a'), replica(big, 2, 1, 'host-b')];
    expect(() => checkNodeRemoval('host-b', nodes, reps, [big])).toThrowError(expect.objectContaining({ name: 'NodeRemovalRefused' }));
    const draining = (forceDrain: boolean) => [nodes[0]!, new Node({ name: 'host-b', capacity: nodes[1]!.capacity, state: 'draining', forceDrain })];
    const kept = reconcile([big], { nodes: draining(false), replicas: reps }, 1000);
    expect(kept.stop).toEqual([]);
    expect(kept.ignore.find((i) => i.replica === 'acme/big-2@rev1')?.reason).toMatch(/no node can take its successor/);
    const forced = reconcile([big], { nodes: draining(true), replicas: reps }, 1000);
    expect(forced.stop.map((s) => s.replica)).toEqual(['acme/big-2@rev1']);
    expect(forced.stop[0]!.reason).toMatch(/removed with force.*needs 1.5 cpus/);
    expect(forced.blocked.map((b) => b.slot)).toEqual([2]);
  });
});
