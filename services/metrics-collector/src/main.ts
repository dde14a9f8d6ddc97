// metrics-collector: stores the node-agents' metric samples (core NATS, <prefix>.metrics.>) in
// PostgreSQL after checking each against its contract, and answers `top` from them. It also runs
// the autoscaler: AutoscalePolicy and Threshold are its resources (commands), evaluated on a timer.
import { BusNames, QueryServer, RdmpClient, createPool, defaultPgUrl, serveQuery, type Handler } from '@sdmi/bus';
import { METRICS_COLLECTOR, MetricsQueries, tenantOfId } from '@sdmi/contracts';
import { attachRdmp, RdmpEnv, SdmiService, queryAccess } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };
import { autoscaleHandlers } from './autoscale-handlers';
import { AutoscaleLoop } from './autoscale-loop';
import { AutoscaleStore } from './autoscale-store';
import { Collector } from './collector';
import { MetricsEnv, loadMetricsConfig } from './config';
import { answerHistory } from './history';
import { startPrometheus, type PrometheusEndpoint } from './prometheus';
import { MetricsStore } from './store';

const config = loadMetricsConfig();
const service = new SdmiService({ name: METRICS_COLLECTOR, version: pkg.version, description: pkg.description, knownEnv: Object.values(MetricsEnv) });
let collector: Collector | undefined;
let prometheus: PrometheusEndpoint | undefined;
let autoscaler: AutoscaleLoop | undefined;
let handlers: Handler[] = [];

service.onStart('metrics', async ({ nc, log }) => {
  const names = new BusNames(process.env[RdmpEnv.busPrefix] ?? 'sdmi');
  const pool = createPool(defaultPgUrl());
  const store = new MetricsStore(pool);
  await store.migrate();
  collector = new Collector({ nc, names, store, log, rawMs: config.rawMs, rollupBucketMs: config.rollupBucketMs, retentionMs: config.retentionMs, maxInflight: config.maxInflight }).start();
  if (config.prometheus) prometheus = await startPrometheus({ listen: config.prometheus, store, collector, staleAfterMs: 3 * config.intervalMs, log });
  const client = new RdmpClient(nc, { names });
  const autoscale = new AutoscaleStore();
  handlers = autoscaleHandlers(autoscale, client);
  autoscaler = new AutoscaleLoop({ pool, nc, names, client, store: autoscale, samples: store, log, intervalMs: config.autoscaleIntervalMs }).start();
  const queries = new QueryServer({
    nc,
    service: METRICS_COLLECTOR,
    names,
    handlers: [
      // A tenant's reader sees its tenant's replicas and policies; nodes and refused samples are the
      // cluster's (they may name anyone's replicas), for those who read the cluster.
      serveQuery(MetricsQueries.top, async (q, ctx) => {
        const staleAfterMs = q.staleAfterMs ?? 3 * config.intervalMs;
        const top = await store.top(staleAfterMs, q.service);
        const cluster = ctx.canRead(undefined);
        return {
          at: new Date().toISOString(),
          staleAfterMs,
          ...top,
          nodes: cluster ? top.nodes : [],
          replicas: top.replicas.filter((r) => ctx.canRead(tenantOfId(r.service))),
          refused: cluster ? top.refused : { count: 0, last: null },
        };
      }),
      serveQuery(MetricsQueries.history, async (q, ctx) => {
        const h = await answerHistory(store, q, config.rollupBucketMs, Date.now());
        return { ...h, series: h.series.filter((s) => ctx.canRead(s.service === null ? undefined : tenantOfId(s.service))) };
      }),
      serveQuery(MetricsQueries.autoscaleStatus, async (q, ctx) => {
        const s = await autoscale.status(pool, q.service);
        return { policies: s.policies.filter((p) => ctx.canRead(tenantOfId(p.policy.service))), thresholds: s.thresholds.filter((t) => ctx.canRead(tenantOfId(t.threshold.service))) };
      }),
    ],
    log,
    ...(await queryAccess(pool, log)),
  }).start();
  return async () => {
    await prometheus?.stop();
    await queries.stop();
    await autoscaler?.stop();
    await collector?.stop();
    await pool.end();
  };
});
service.addReadinessCheck('metrics', () =>
  collector
    ? { ok: true, detail: `${collector.stored} samples stored, ${collector.refused} refused, ${collector.dropped} dropped${prometheus ? `; Prometheus on ${prometheus.url}` : ''}` }
    : { ok: false, detail: 'not started' },
);
service.addReadinessCheck('autoscaler', () => {
  const p = autoscaler?.last;
  if (!p) return { ok: true, detail: 'no autoscale pass yet' };
  if (!p.leader) return { ok: true, detail: 'standby: another instance evaluates the policies' };
  return { ok: true, detail: `${p.policies} policies, ${p.thresholds} thresholds at ${new Date(p.at).toISOString()}: ${p.scaled} scaled, ${p.errors} failed` };
});
// Read at start: the handlers need the pool and the client the start hook makes.
attachRdmp(service, {
  get handlers() {
    return handlers;
  },
});
await service.runUntilSignal();
