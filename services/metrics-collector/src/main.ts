// metrics-collector: stores the node-agents' metric samples (core NATS, <prefix>.metrics.>) in
// PostgreSQL after checking each against its contract, and answers `top` from them.
import { BusNames, QueryServer, createPool, defaultPgUrl, serveQuery } from '@sdmi/bus';
import { METRICS_COLLECTOR, MetricsQueries } from '@sdmi/contracts';
import { attachRdmp, RdmpEnv, SdmiService } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };
import { Collector } from './collector';
import { MetricsEnv, loadMetricsConfig } from './config';
import { answerHistory } from './history';
import { startPrometheus, type PrometheusEndpoint } from './prometheus';
import { MetricsStore } from './store';

const config = loadMetricsConfig();
const service = new SdmiService({ name: METRICS_COLLECTOR, version: pkg.version, description: pkg.description, knownEnv: Object.values(MetricsEnv) });
let collector: Collector | undefined;
let prometheus: PrometheusEndpoint | undefined;

service.onStart('metrics', async ({ nc, log }) => {
  const names = new BusNames(process.env[RdmpEnv.busPrefix] ?? 'sdmi');
  const pool = createPool(defaultPgUrl());
  const store = new MetricsStore(pool);
  await store.migrate();
  collector = new Collector({ nc, names, store, log, rawMs: config.rawMs, rollupBucketMs: config.rollupBucketMs, retentionMs: config.retentionMs, maxInflight: config.maxInflight }).start();
  if (config.prometheus) prometheus = await startPrometheus({ listen: config.prometheus, store, collector, staleAfterMs: 3 * config.intervalMs, log });
  const queries = new QueryServer({
    nc,
    service: METRICS_COLLECTOR,
    names,
    handlers: [
      serveQuery(MetricsQueries.top, async (q) => {
        const staleAfterMs = q.staleAfterMs ?? 3 * config.intervalMs;
        return { at: new Date().toISOString(), staleAfterMs, ...(await store.top(staleAfterMs, q.service)) };
      }),
      serveQuery(MetricsQueries.history, (q) => answerHistory(store, q, config.rollupBucketMs, Date.now())),
    ],
    log,
  }).start();
  return async () => {
    await prometheus?.stop();
    await queries.stop();
    await collector?.stop();
    await pool.end();
  };
});
service.addReadinessCheck('metrics', () =>
  collector
    ? { ok: true, detail: `${collector.stored} samples stored, ${collector.refused} refused, ${collector.dropped} dropped${prometheus ? `; Prometheus on ${prometheus.url}` : ''}` }
    : { ok: false, detail: 'not started' },
);
// It takes no commands yet (threshold events arrive with the autoscaler); every command is refused as unknown.
attachRdmp(service, { handlers: [] });
await service.runUntilSignal();
