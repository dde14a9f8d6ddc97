// What the scheduler's queries report about a service and its rollout, from the model.
import { describe, expect, it } from 'vitest';
import { Service, replicaStatus, rolloutStatus, serviceAddresses, serviceStatus } from '../src/index';
import { replica, spec } from './helpers';

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
    expect(replicaStatus(reps[1]!, 'its container on n1 is exited', [])).toEqual({
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
    });
  });

  it('a replica reports the interfaces its start recorded, as recorded', () => {
    const ifs = [{ network: 'acme/net', ifname: 'eth0', ip: '10.0.0.5', mac: '02:00:00:00:00:05' }, { network: 'cluster/mgmt', ifname: 'eth1', ip: null, mac: '02:00:00:00:00:06' }];
    expect(replicaStatus(replica(v1, 1, 1, 'n1', 'running'), null, ifs).interfaces).toEqual(ifs);
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
