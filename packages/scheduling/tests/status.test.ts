// What the scheduler's queries report about a service, its rollout and the nodes, from the model.
import { describe, expect, it } from 'vitest';
import type { NodeStatusEvent } from '@sdmi/contracts';
import { Service, nodeStatuses, replicaStatus, rolloutStatus, serviceAddresses, serviceStatus } from '../src/index';
import { GiB, replica, spec } from './helpers';

const v1 = Service.create(spec({ replicas: 2, update: { monitorMs: 1000 } }), 0);

describe('rolloutStatus', () => {
  it('a fresh deployment has no rollout: progressing until its replicas serve, then complete', () => {
    expect(rolloutStatus(v1, [replica(v1, 1, 1, 'n1', 'running')], 10)).toMatchObject({ revision: 1, fromRevision: null, state: 'progressing', detail: 'deploying rev 1: 1 of 2 replicas serving' });
    expect(rolloutStatus(v1, [replica(v1, 1, 1, 'n1', 'running'), replica(v1, 2, 1, 'n1', 'healthy')], 10)).toMatchObject({ state: 'complete', detail: null, reason: null });
  });

  it('an update in progress: from and to, counts per revision (current first), and what the state machine waits for', () => {
    const v2 = v1.update(spec({ replicas: 2, image: 'app:2', update: { monitorMs: 1000 } }), 100);
    const reps = [replica(v2, 1, 1, 'n1', 'running'), replica(v2, 2, 1, 'n1', 'running'), replica(v2, 1, 2, 'n2', 'starting', 150)];
    const st = rolloutStatus(v2, reps, 200);
    expect(st).toMatchObject({ service: 'acme/app', revision: 2, fromRevision: 1, rollbackOf: null, state: 'progressing', reason: null, desired: 2, startedAt: new Date(100).toISOString() });
    expect(st.revisions).toEqual([
      { revision: 2, replicas: 1, running: 0, healthy: 0, serving: 0 },
      { revision: 1, replicas: 2, running: 2, healthy: 0, serving: 2 },
    ]);
    expect(st.detail).toMatch(/^rev 1 → rev 2: 0 of 2 replicas updated; waiting for app-1@rev2 to serve/);
  });

  it('complete, rolled back with its reason, paused with its reason', () => {
    const v2 = v1.update(spec({ replicas: 2, image: 'app:2' }), 100);
    expect(rolloutStatus(v2.completeRollout(), [], 0)).toMatchObject({ state: 'complete', fromRevision: 1, revision: 2 });
    const back = v2.rollback('replica app-1@rev2 failed: rolling back to rev 1', 200);
    expect(rolloutStatus(back, [], 300)).toMatchObject({ state: 'progressing', revision: 1, fromRevision: 2, rollbackOf: 2, reason: 'replica app-1@rev2 failed: rolling back to rev 1' });
    expect(rolloutStatus(back.completeRollout(), [], 300)).toMatchObject({ state: 'rolled-back', revision: 1, fromRevision: 2, rollbackOf: 2, reason: 'replica app-1@rev2 failed: rolling back to rev 1', detail: null });
    const paused = v2.pauseRollout('replica app-1@rev2 failed: paused (failure action pause); update the service or undo to go on');
    expect(rolloutStatus(paused, [], 300)).toMatchObject({ state: 'paused', reason: expect.stringContaining('failure action pause'), detail: expect.stringContaining('paused') });
  });

  it('an undo rolls out the earlier revision from the current one', () => {
    const v2 = v1.update(spec({ replicas: 2, image: 'app:2' }), 100).completeRollout();
    const undone = v2.undo(undefined, 200);
    expect(rolloutStatus(undone, [], 300)).toMatchObject({ revision: 1, fromRevision: 2, rollbackOf: null, state: 'progressing' });
  });
});

describe('serviceStatus and replicaStatus', () => {
  it('counts replicas of every revision, stopped ones not at all', () => {
    const reps = [replica(v1, 1, 1, 'n1', 'healthy'), replica(v1, 2, 1, 'n1', 'failed'), replica(v1, 3, 1, 'n1', 'stopped'), replica('other/x', 1, 1, 'n1')];
    expect(serviceStatus(v1, reps, 0, [])).toMatchObject({ id: 'acme/app', revision: 1, revisions: [1], desired: 2, replicas: 2, running: 1, serving: 1, spec: v1.spec });
    expect(replicaStatus(reps[1]!, 'its container on n1 is exited', [], v1)).toEqual({
      id: 'acme/app-2@rev1',
      service: 'acme/app',
      slot: 2,
      revision: 1,
      node: 'n1',
      state: 'failed',
      since: new Date(0).toISOString(),
      createdAt: new Date(0).toISOString(),
      reason: 'its container on n1 is exited',
      interfaces: [],
      serving: false,
    });
    expect(replicaStatus(reps[0]!, null, [], v1).serving).toBe(true);
    expect(replicaStatus(reps[0]!, null, [], undefined).serving).toBe(false);
    expect(replicaStatus(reps[0]!.with({ state: 'stopping' }), null, [], v1).serving).toBe(false);
  });

  it('a replica reports the interfaces its start recorded, as recorded', () => {
    const ifs = [{ network: 'acme/net', ifname: 'eth0', ip: '10.0.0.5', mac: '02:00:00:00:00:05' }, { network: 'cluster/mgmt', ifname: 'eth1', ip: null, mac: '02:00:00:00:00:06' }];
    expect(replicaStatus(replica(v1, 1, 1, 'n1', 'running'), null, ifs, v1).interfaces).toEqual(ifs);
  });

  it("service addresses: one per addressed network in the spec's order, unassigned until applied, then those held on networks it has left", () => {
    const two = Service.create(spec({ networks: [{ network: 'web', ip: { mode: 'dynamic' } }, { network: 'cluster/none', ip: { mode: 'none' } }, { network: 'cluster/mgmt', ip: { mode: 'dynamic' } }] }), 0);
    const applied = [
      { service: 'acme/app', networkId: 'acme/old', address: '10.9.0.2', backends: ['acme/app-1@rev1/eth9'] },
      { service: 'acme/app', networkId: 'cluster/mgmt', address: '10.1.0.2', backends: ['acme/app-1@rev1/eth2', 'acme/app-2@rev1/eth2'] },
      { service: 'other/x', networkId: 'acme/web', address: '10.0.0.9', backends: [] },
    ];
    expect(serviceAddresses(two, applied)).toEqual([
      { network: 'acme/web', address: null, backends: 0 },
      { network: 'cluster/mgmt', address: '10.1.0.2', backends: 2 },
      { network: 'acme/old', address: '10.9.0.2', backends: 1 },
    ]);
    expect(serviceStatus(two, [], 0, applied).addresses).toEqual(serviceAddresses(two, applied));
  });
});

describe('nodeStatuses', () => {
  const announcement = (node: string, cpus: number): NodeStatusEvent => ({
    node,
    instance: `na-${node}`,
    bridge: 'sdmi0',
    capacity: { cpus, memoryBytes: 8 * GiB },
    labels: { zone: 'a' },
    replicas: [],
    time: new Date(0).toISOString(),
  });
  const small = Service.create(spec({ replicas: 3, resources: { cpus: 0.1, memoryBytes: GiB } }), 0);

  it('admitted nodes with their admin state, announcing ones unadmitted, by name; counts and reservations of every replica not stopped', () => {
    const admitted = new Map([
      ['n2', { state: 'draining' as const, force: true, admittedAt: 1_000 }],
      ['n1', { state: 'ready' as const, force: false, admittedAt: 2_000 }],
    ]);
    const announced = new Map([
      ['n1', { status: announcement('n1', 4), seenAt: 50_000 }],
      ['n3', { status: announcement('n3', 2), seenAt: 59_000 }],
    ]);
    const reps = [replica(small, 1, 1, 'n1', 'healthy'), replica(small, 2, 1, 'n1', 'failed'), replica(small, 3, 1, 'n1', 'stopped'), replica(small, 4, 1, 'n1', 'stopping'), replica(small, 5, 1, 'n2', 'pending')];
    const out = nodeStatuses(admitted, announced, reps, 60_000, 15_000);
    expect(out.map((n) => [n.name, n.state, n.force, n.reachable])).toEqual([
      ['n1', 'ready', false, true],
      ['n2', 'draining', true, false],
      ['n3', 'unadmitted', false, true],
    ]);
    expect(out[0]).toEqual({
      name: 'n1',
      state: 'ready',
      force: false,
      admittedAt: new Date(2_000).toISOString(),
      reachable: true,
      lastSeen: new Date(50_000).toISOString(),
      capacity: { cpus: 4, memoryBytes: 8 * GiB },
      labels: { zone: 'a' },
      bridge: 'sdmi0',
      replicas: 3,
      reserved: { cpus: 0.3, memoryBytes: 3 * GiB },
    });
    // Never heard from since this instance started: what it announces is unknown, not zero.
    expect(out[1]).toMatchObject({ admittedAt: new Date(1_000).toISOString(), lastSeen: null, capacity: null, labels: null, bridge: null, replicas: 1, reserved: { cpus: 0.1, memoryBytes: GiB } });
    expect(out[2]).toMatchObject({ admittedAt: null, replicas: 0, reserved: { cpus: 0, memoryBytes: 0 } });
  });

  it('a node is reachable for the silence window after its last announcement, and not at its end', () => {
    const announced = new Map([['n1', { status: announcement('n1', 4), seenAt: 0 }]]);
    expect(nodeStatuses(new Map(), announced, [], 14_999, 15_000)[0]!.reachable).toBe(true);
    expect(nodeStatuses(new Map(), announced, [], 15_000, 15_000)[0]!.reachable).toBe(false);
  });
});

describe('Service.networksOf', () => {
  it("a revision's own networks and interface names, after an update dropped and reordered them", () => {
    const v1n = Service.create(spec({ networks: [{ network: 'web', ip: { mode: 'dynamic' } }, { network: 'cluster/mgmt', ip: { mode: 'dynamic' } }] }), 0);
    const v2n = v1n.update(spec({ networks: [{ network: 'cluster/mgmt', ip: { mode: 'dynamic' } }] }), 10);
    expect(v2n.networksOf(1)?.map((n) => `${n.network} ${n.ifname}`)).toEqual(['acme/web eth0', 'cluster/mgmt eth1']);
    expect(v2n.networksOf(2)?.map((n) => `${n.network} ${n.ifname}`)).toEqual(['cluster/mgmt eth0']);
    expect(v2n.networksOf(7)).toBeNull();
  });
});
