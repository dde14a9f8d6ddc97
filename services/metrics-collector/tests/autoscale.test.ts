// The autoscaler on a real cluster (two Docker hosts, scheduler, node-agents sampling Docker stats
// every second, the metrics-collector evaluating every second): CPU load generated inside the
// replicas scales the service up; a load switched on and off faster than the scale-down window
// does not make the count go back and forth; when the load stops the count goes down only after
// the window, and never past minReplicas or maxReplicas; a node-agent that stops reporting makes
// nothing happen, even under load, until it reports again. Bad policies and thresholds are refused.
import { MetricsCommandKinds, MetricsQueries, autoscaleKey, contracts, type ScaleDecision, type ThresholdEvent } from '@sdmi/contracts';
import { SchedulerQueries } from '@sdmi/scheduling';
import { describeInventory, docker, inventory, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const cluster = new LocalCluster('as');
const tenant = cluster.tag;
const service = `${tenant}/busy`;
const MIN = 1;
const MAX = 3;
const TARGET = 0.5;
const DOWN_WINDOW_MS = 12_000;
const STALE_MS = 4_000;
/** The bound this file states for a scale-up: two samples, two evaluations and the stats' warm-up, with room for a loaded machine. */
const SCALE_UP_BOUND_MS = 30_000;

const decisions: ScaleDecision[] = [];
const thresholdEvents: ThresholdEvent[] = [];

const collector = (kind: string, payload: Record<string, unknown>, key: string) => cluster.client.run('metrics-collector', { kind, key, payload });
const desired = async (): Promise<number> => (await cluster.client.query('scheduler', SchedulerQueries.getService, { service })).service.desired;
const status = () => cluster.client.query('metrics-collector', MetricsQueries.autoscaleStatus, { service });
const policy = {
  version: 1 as const,
  service,
  minReplicas: MIN,
  maxReplicas: MAX,
  metric: 'cpu.utilization' as const,
  target: TARGET,
  staleAfterMs: STALE_MS,
  behavior: { scaleDown: { stabilizationWindowMs: DOWN_WINDOW_MS } },
};

/** The running containers of the service, with their host. */
async function replicaContainers(): Promise<{ host: string; id: string; replica: string }[]> {
  const out = [];
  for (const h of cluster.hosts.keys()) for (const c of await cluster.containers(h)) if (c.running && c.replica.startsWith(`${service}-`)) out.push({ host: h, id: c.id, replica: c.replica });
  return out;
}

/**
 * Switches the busy loop of the replicas on or off (each replica spins while /tmp/load exists, held
 * to 0.1 cores by its limit, so a loaded replica's cpu.utilization is close to 1).
 */
async function setLoad(on: boolean, only?: string[]): Promise<void> {
  if (!on && loaded) lastLoadOff = Date.now();
  loaded = on;
  for (const c of await replicaContainers()) {
    if (only && !only.includes(c.replica)) continue;
    await docker(cluster.hosts.get(c.host)!.endpoint, ['exec', c.id, 'sh', '-c', on ? 'touch /tmp/load' : 'rm -f /tmp/load']).catch(() => undefined);
  }
}

let loaded = false;
/** When the load last went from on to off. */
let lastLoadOff = 0;

/** Changes the autoscaler made, in order. */
const changes = (from = 0): ScaleDecision[] => decisions.filter((d) => Date.parse(d.at) >= from && d.to !== d.from);

beforeAll(async () => {
  await cluster.start({ scheduler: true, metrics: true });
  await cluster.netCmd('createNetworks', { clusterNetworks: [{ name: 'as', cidr: '10.66.1.0/24' }] });
  for (const host of cluster.hosts.keys()) {
    await cluster.until(async () => (await cluster.client.run('scheduler', { kind: 'addNode', key: `node/${host}`, payload: { name: host } }), true), `${host} admitted`);
  }
  for (const [subject, into, schema] of [
    [cluster.names.scaleDecisions(service), decisions, 'ScaleDecision'],
    [cluster.names.thresholdEvents(service), thresholdEvents, 'ThresholdEvent'],
  ] as const) {
    const sub = cluster.nc.subscribe(subject);
    void (async () => {
      for await (const m of sub) {
        const checked = contracts().check(schema, m.json());
        if (checked.ok) (into as unknown[]).push(checked.value);
      }
    })();
  }
  await cluster.client.run('scheduler', {
    kind: 'deployService',
    key: service,
    payload: {
      spec: {
        tenant,
        name: 'busy',
        image: 'sdmi/base:busybox',
        command: ['sh', '-c', 'while :; do if [ -e /tmp/load ]; then :; else sleep 0.2; fi; done'],
        replicas: 1,
        resources: { cpus: 0.1 },
        networks: [{ network: 'cluster/as', ip: { mode: 'dynamic' } }],
      },
    },
  });
  await cluster.until(async () => (await replicaContainers()).length === 1, 'the first replica running', 60_000);
}, 180_000);

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('autoscaling on real containers', () => {
  it('refuses policies and thresholds that break their contract or cannot be applied, and stores nothing', async () => {
    const refusal = (kind: string, payload: Record<string, unknown>) => collector(kind, payload, autoscaleKey(service)).then(() => undefined, (e: { info?: unknown }) => e.info);
    expect(await refusal(MetricsCommandKinds.SetAutoscalePolicy, { policy: { ...policy, minReplicas: 4, maxReplicas: 2 } })).toMatchObject({
      code: 'INVALID_AUTOSCALE_POLICY',
      path: expect.stringMatching(/^\/payload\/policy\//),
      message: expect.stringContaining('minReplicas'),
    });
    expect(await refusal(MetricsCommandKinds.SetAutoscalePolicy, { policy: { ...policy, target: 0 } })).toMatchObject({ path: '/payload/policy/target', rule: 'exclusiveMinimum' });
    expect(await refusal(MetricsCommandKinds.SetAutoscalePolicy, { policy: { ...policy, service: `${tenant}/nosuch` } })).toMatchObject({ code: 'SERVICE_NOT_FOUND', path: '/payload/policy/service' });
    const threshold = { version: 1, name: 'cpu-high', service, metric: 'cpu.utilization', aggregation: 'avg', comparator: '>', value: 0.8, durationMs: 2_000 };
    expect(await refusal(MetricsCommandKinds.SetThreshold, { threshold: { ...threshold, aggregation: 'median' } })).toMatchObject({ path: '/payload/threshold/aggregation', rule: 'enum' });
    expect(await refusal(MetricsCommandKinds.SetThreshold, { threshold: { ...threshold, metric: 'cpu.temperature' } })).toMatchObject({ path: '/payload/threshold/metric' });
    expect(await status()).toEqual({ policies: [], thresholds: [] });
  });

  it('CPU load inside the replica scales the service up within the stated bound, and raises the threshold', async () => {
    await collector(MetricsCommandKinds.SetAutoscalePolicy, { policy }, autoscaleKey(service));
    await collector(
      MetricsCommandKinds.SetThreshold,
      { threshold: { version: 1, name: 'cpu-high', service, metric: 'cpu.utilization', aggregation: 'max', comparator: '>', value: 0.8, durationMs: 2_000 } },
      autoscaleKey(service),
    );
    // Idle first: the autoscaler has data and holds the count at 1.
    await cluster.until(async () => decisions.some((d) => d.inputs.fresh === 1 && d.to === 1), 'a decision from a fresh sample of the idle replica', 30_000);
    expect(await desired()).toBe(1);
    const t0 = Date.now();
    await setLoad(true);
    await cluster.until(async () => (await desired()) >= 2, 'scaled up under load', SCALE_UP_BOUND_MS);
    const up = changes(t0)[0]!;
    console.log(`scale-up ${up.from} → ${up.to} ${Date.parse(up.at) - t0} ms after the load started: ${up.why}`);
    expect(up).toMatchObject({ from: 1, reason: expect.stringMatching(/^(recommended|bounded|rate-limited)$/) });
    expect(up.inputs.value!).toBeGreaterThan(TARGET * 1.1);
    expect(up.to).toBeLessThanOrEqual(MAX);
    await cluster.until(async () => thresholdEvents.some((e) => e.kind === 'raised' && e.threshold === 'cpu-high'), 'cpu-high raised', 15_000);
    const s = await status();
    expect(s.policies[0]!.lastDecision).not.toBeNull();
    expect(s.thresholds[0]).toMatchObject({ phase: expect.stringMatching(/^(raised|clearing)$/) });
  }, 90_000);

  it('a load switched on and off faster than the scale-down window never takes the count back down, nor past maxReplicas', async () => {
    const from = Date.now();
    for (let i = 0; i < 6; i++) {
      await setLoad(i % 2 === 0);
      await new Promise((r) => setTimeout(r, 3_000));
    }
    const seen = changes(from);
    console.log(`oscillating load, ${seen.length} change(s): ${seen.map((d) => `${d.from}→${d.to}`).join(', ') || 'none'}`);
    // Up moves only (the window holds every down), so at most MAX − 2 more after the first scale-up.
    expect(seen.every((d) => d.to > d.from)).toBe(true);
    expect(seen.length).toBeLessThanOrEqual(MAX - 2);
    expect(decisions.every((d) => d.to <= MAX && d.to >= MIN)).toBe(true);
  }, 60_000);

  it('when the load stops, the count goes down only after the stabilisation window, to minReplicas and not below', async () => {
    await setLoad(false);
    const off = Date.now();
    // The decision is announced after the pass that made it has ended (the scheduler may say the
    // new count a moment before), so both are waited for.
    const down = () => changes(off).filter((d) => d.to < d.from);
    await cluster.until(async () => (await desired()) === MIN && down().some((d) => d.to === MIN), 'scaled down to minReplicas', DOWN_WINDOW_MS + 30_000);
    const after = Date.parse(down()[0]!.at) - lastLoadOff;
    console.log(`scale-down ${after} ms after the load last stopped (window ${DOWN_WINDOW_MS} ms): ${down().map((d) => d.why).join(' | ')}`);
    // The samples go on showing the load for a second or two after it stops, and the window holds
    // their recommendation for its whole length: no scale-down comes earlier than a window after
    // the load stopped (less a second for sample times against our clock).
    expect(after).toBeGreaterThanOrEqual(DOWN_WINDOW_MS - 1_000);
    expect(decisions.some((d) => Date.parse(d.at) >= lastLoadOff && d.reason === 'stabilized')).toBe(true);
    expect(decisions.every((d) => d.to >= MIN && d.to <= MAX)).toBe(true);
    // Let the count settle at MIN for the last test.
    await cluster.until(async () => (await replicaContainers()).length === MIN, 'one replica left', 30_000);
    await cluster.until(async () => thresholdEvents.some((e) => e.kind === 'cleared'), 'cpu-high cleared', 20_000);
  }, 90_000);

  it('a node-agent that stops reporting triggers no scaling, even under load; once it reports again, the load scales the service', async () => {
    const [only] = await replicaContainers();
    expect(only).toBeDefined();
    await cluster.kill(only!.host);
    const silent = Date.now();
    await setLoad(true);
    // Past the staleness window, with several evaluations: none may act on missing data.
    await cluster.until(
      async () => {
        const d = (await status()).policies[0]?.lastDecision;
        return d !== null && d !== undefined && Date.parse(d.at) > silent + STALE_MS && d.reason === 'no-data';
      },
      'a no-data decision past the staleness window',
      20_000,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect(changes(silent)).toEqual([]);
    expect(await desired()).toBe(1);
    cluster.restart(only!.host);
    await cluster.ready('node-agent', cluster.hosts.get(only!.host)!.instance);
    // On a slow machine the scheduler may have replaced the replica while its node was silent (a
    // new container, without the load flag): load whatever runs now, once its id settles.
    let loadedIds = '';
    await cluster
      .until(async () => {
        const ids = (await replicaContainers()).map((c) => c.id).sort().join();
        if (ids !== loadedIds) {
          await setLoad(true);
          loadedIds = ids;
        }
        return (await desired()) >= 2;
      }, 'scaled up once the node-agent reports the load', SCALE_UP_BOUND_MS)
      .catch(async (e: Error) => {
        throw new Error(`${e.message}\nlast decision: ${JSON.stringify((await status()).policies[0])}\nreplicas: ${JSON.stringify(await cluster.client.query('scheduler', SchedulerQueries.listReplicas, { service }))}`);
      });
    expect(decisions.filter((d) => Date.parse(d.at) > silent).every((d) => d.to >= MIN && d.to <= MAX)).toBe(true);
    await setLoad(false);
  }, 90_000);
});
