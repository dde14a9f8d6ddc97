// The health hook's bookkeeping without a cluster: the ledger's rules on their own, and a
// ServiceWatch over a Service whose status and replicas are given by the test (the hooks record
// what they were asked; nothing is exec'd anywhere).
import { afterEach, describe, expect, it } from 'vitest';
import { HealthLedger, Service, type HealthResult, type LeaveReason, type LifecycleEvent, type Member, type ReplicaStatus, type ServiceWatch, type Tenant } from '../src/index';

describe('HealthLedger', () => {
  const policy = { intervalMs: 1_000, retries: 3 };
  const ok: HealthResult = { healthy: true, detail: 'fine' };
  const bad: HealthResult = { healthy: false, detail: 'broken' };

  it('a replica never checked is due at once, then every interval from the end of its last check', () => {
    const l = new HealthLedger(policy);
    expect(l.due('a', 0)).toBe(true);
    l.record('a', ok, 5_000);
    expect(l.due('a', 5_999)).toBe(false);
    expect(l.due('a', 6_000)).toBe(true);
    expect(l.due('b', 5_500)).toBe(true);
  });

  it('counts failures in a row; a pass resets them; the retries-th failure benches, once', () => {
    const l = new HealthLedger(policy);
    expect(l.record('a', bad, 1).health).toEqual({ healthy: false, detail: 'broken', at: 1, failures: 1 });
    expect(l.record('a', bad, 2).change).toBeNull();
    expect(l.record('a', ok, 3)).toEqual({ health: { healthy: true, detail: 'fine', at: 3, failures: 0 }, change: null });
    expect(l.record('a', bad, 4).change).toBeNull();
    expect(l.record('a', bad, 5).change).toBeNull();
    expect(l.benched('a')).toBe(false);
    expect(l.record('a', bad, 6)).toEqual({ health: { healthy: false, detail: 'broken', at: 6, failures: 3 }, change: 'bench' });
    expect(l.benched('a')).toBe(true);
    // Still failing while benched: counted, but it is not benched again.
    expect(l.record('a', bad, 7)).toEqual({ health: { healthy: false, detail: 'broken', at: 7, failures: 4 }, change: null });
    expect(l.record('a', ok, 8).change).toBe('readmit');
    expect(l.benched('a')).toBe(false);
    expect(l.record('a', ok, 9).change).toBeNull();
  });

  it('retries 1 benches on the first failure', () => {
    const l = new HealthLedger({ intervalMs: 10, retries: 1 });
    expect(l.record('a', bad, 1).change).toBe('bench');
  });

  it('keepOnly forgets replicas that are gone, so a successor under another id starts clean', () => {
    const l = new HealthLedger({ intervalMs: 10, retries: 1 });
    l.record('a', bad, 1);
    l.record('b', bad, 1);
    l.keepOnly(new Set(['b']));
    expect([l.benched('a'), l.get('a'), l.due('a', 2)]).toEqual([false, null, true]);
    expect(l.benched('b')).toBe(true);
  });

  it('refuses an interval or retries that cannot work', () => {
    expect(() => new HealthLedger({ intervalMs: 0, retries: 3 })).toThrow(RangeError);
    expect(() => new HealthLedger({ intervalMs: 100, retries: 0 })).toThrow(RangeError);
    expect(() => new HealthLedger({ intervalMs: 100, retries: 1.5 })).toThrow(RangeError);
  });
});

const replica = (slot: number, state: ReplicaStatus['state'] = 'running'): ReplicaStatus => ({
  id: `t/db-${slot}-r1`,
  service: 't/db',
  slot,
  revision: 1,
  node: 'host-a',
  state,
  serving: state === 'running',
  since: new Date(0).toISOString(),
  createdAt: new Date(0).toISOString(),
  reason: null,
  interfaces: [],
});

// Only what the watch reads of a tenant: the service's id and cluster (never used, as the hooks
// here run no command).
const tenant = { name: 't', cluster: {} } as unknown as Tenant;

/** A service whose replicas the test sets, whose health answers what `verdict` says, recording every hook call. */
class Recorded extends Service {
  list: ReplicaStatus[] = [];
  verdict = new Map<number, HealthResult | Error>();
  calls: string[] = [];

  override async status(): Promise<Awaited<ReturnType<Service['status']>>> {
    return { spec: {} } as unknown as Awaited<ReturnType<Service['status']>>;
  }
  override async replicas(): Promise<ReplicaStatus[]> {
    return this.list;
  }
  override async onAddNode(joining: Member, members: readonly Member[]): Promise<void> {
    this.calls.push(`add ${joining.slot} [${members.map((m) => m.slot).join(',')}]`);
  }
  override async onRemoveNode(leaving: Member, remaining: readonly Member[], reason: LeaveReason): Promise<void> {
    this.calls.push(`remove ${leaving.slot} [${remaining.map((m) => m.slot).join(',')}] ${reason.cause}: ${reason.detail}`);
  }
  override async health(m: Member): Promise<HealthResult> {
    const v = this.verdict.get(m.slot) ?? { healthy: true, detail: 'ok' };
    if (v instanceof Error) throw v;
    return v;
  }
}

describe('ServiceWatch and the health hook', () => {
  let watch: ServiceWatch | null = null;
  afterEach(async () => {
    await watch?.stop();
    watch = null;
  });

  async function until(f: () => boolean, what: string): Promise<void> {
    const end = Date.now() + 5_000;
    while (!f()) {
      if (Date.now() > end) throw new Error(`not within 5 s: ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('checks every member, benches one failing retries times in a row (onRemoveNode with the reason), and lets it join again once it passes', async () => {
    const svc = new Recorded(tenant, 'db');
    svc.list = [replica(1), replica(2), replica(3)];
    const events: LifecycleEvent[] = [];
    watch = svc.watch({ pollMs: 5, healthIntervalMs: 10, healthRetries: 2, onEvent: (e) => events.push(e) });
    await watch.settled({ count: 3, timeoutMs: 5_000 });
    await until(() => watch!.members.every((m) => m.health?.healthy === true), 'every member checked healthy');
    expect(svc.calls).toEqual(['add 1 []', 'add 2 [1]', 'add 3 [1,2]']);

    svc.verdict.set(2, { healthy: false, detail: 'subscription to db1 is disabled' });
    await until(() => watch!.members.length === 2, 'db-2 benched');
    expect(svc.calls[3]).toBe('remove 2 [1,3] health: failed its health hook 2 time(s) in a row: subscription to db1 is disabled');
    const left = events.find((e) => e.type === 'left');
    expect(left?.type === 'left' && left.reason.cause === 'health' && left.reason.health.failures).toBe(2);
    expect(watch.benched.map((m) => m.slot)).toEqual([2]);
    // Benched, it is still checked (that is how it gets back), and the watch counts as settled without it.
    const checks = events.filter((e) => e.type === 'health' && e.member.slot === 2).length;
    await until(() => events.filter((e) => e.type === 'health' && e.member.slot === 2).length > checks + 1, 'db-2 checked while benched');
    expect(watch.benched[0]!.health).toMatchObject({ healthy: false, failures: expect.any(Number) });
    expect(await watch.settled({ timeoutMs: 1_000 })).toHaveLength(2);

    svc.verdict.delete(2);
    await watch.settled({ count: 3, timeoutMs: 5_000 });
    expect(svc.calls[4]).toBe('add 2 [1,3]');
    expect(watch.benched).toEqual([]);
    const back = watch.members.find((m) => m.slot === 2)!;
    expect(back.health).toMatchObject({ healthy: true, failures: 0 });
    expect(svc.calls).toHaveLength(5);
  });

  it('a hook that throws is a failure with the error as its detail', async () => {
    const svc = new Recorded(tenant, 'db');
    svc.list = [replica(1)];
    const events: LifecycleEvent[] = [];
    watch = svc.watch({ pollMs: 5, healthIntervalMs: 10, healthRetries: 1, onEvent: (e) => events.push(e) });
    await watch.settled({ count: 1, timeoutMs: 5_000 });
    const boom = new Error('psql: connection refused');
    svc.verdict.set(1, boom);
    await until(() => watch!.members.length === 0, 'db-1 benched');
    const h = events.find((e) => e.type === 'health' && !e.health.healthy);
    expect(h?.type === 'health' && [h.health.detail, h.error]).toEqual(['psql: connection refused', boom]);
    expect(svc.calls.at(-1)).toBe('remove 1 [] health: failed its health hook 1 time(s) in a row: psql: connection refused');
  });

  it('a hook that hangs counts as failed after healthTimeoutMs', async () => {
    const svc = new Recorded(tenant, 'db');
    svc.list = [replica(1)];
    watch = svc.watch({ pollMs: 5, healthIntervalMs: 10, healthRetries: 1, healthTimeoutMs: 20 });
    await watch.settled({ count: 1, timeoutMs: 5_000 });
    svc.health = () => new Promise<HealthResult>(() => {});
    await until(() => watch!.members.length === 0, 'db-1 benched');
    expect(watch.benched[0]!.health?.detail).toBe('the health hook did not finish within 20 ms');
  });

  it('a replica that stops leaves with the replica as the reason, and a benched one that goes is forgotten', async () => {
    const svc = new Recorded(tenant, 'db');
    svc.list = [replica(1), replica(2)];
    watch = svc.watch({ pollMs: 5, healthIntervalMs: 10, healthRetries: 1 });
    await watch.settled({ count: 2, timeoutMs: 5_000 });
    svc.verdict.set(2, { healthy: false, detail: 'no' });
    await until(() => watch!.benched.length === 1, 'db-2 benched');
    svc.list = [replica(1, 'stopping')];
    await until(() => watch!.members.length === 0 && watch!.benched.length === 0, 'db-1 left, db-2 forgotten');
    expect(svc.calls.at(-1)).toBe('remove 1 [] replica: replica t/db-1-r1 is stopping');
    expect(svc.calls.filter((c) => c.startsWith('remove 2'))).toHaveLength(1);
  });

  it('without a health hook every member is reported healthy and nothing changes', async () => {
    class Plain extends Service {
      override async status(): Promise<Awaited<ReturnType<Service['status']>>> {
        return { spec: {} } as unknown as Awaited<ReturnType<Service['status']>>;
      }
      override async replicas(): Promise<ReplicaStatus[]> {
        return [replica(1), replica(2)];
      }
    }
    const events: LifecycleEvent[] = [];
    watch = new Plain(tenant, 'web').watch({ pollMs: 5, healthIntervalMs: 10, healthRetries: 1, onEvent: (e) => events.push(e) });
    await watch.settled({ count: 2, timeoutMs: 5_000 });
    await until(() => events.filter((e) => e.type === 'health').length >= 6, 'several checks');
    expect(events.filter((e) => e.type === 'health').every((e) => e.type === 'health' && e.health.healthy && e.health.detail === 'no health hook')).toBe(true);
    expect(events.filter((e) => e.type === 'joined')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'left' || e.type === 'hook-failed')).toEqual([]);
  });
});
