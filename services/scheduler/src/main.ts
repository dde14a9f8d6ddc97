// scheduler: the service commands (deploy, update, scale, remove, undo) over desired state in
// PostgreSQL, the replica transactions, and the level-triggered loop that turns plans into them.
import { BusNames, QueryServer, RdmpClient, createPool, defaultPgUrl, type Handler } from '@sdmi/bus';
import { contracts } from '@sdmi/contracts';
import { attachRdmp, RdmpEnv, SdmiService, queryAccess } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };
import { nodeHandlers, replicaHandlers, serviceHandlers } from './handlers';
import { schedulerQueries } from './queries';
import { Reconciler } from './reconciler';
import { SchedulerStore } from './store';

const service = new SdmiService({ name: 'scheduler', version: pkg.version, description: pkg.description, knownEnv: ['SDMI_DRAIN_MS', 'SDMI_DNS_DOMAIN', 'SDMI_DNS_PUBLISH_TIMEOUT_MS'] });
const store = new SchedulerStore();
let handlers: Handler[] = [];
let reconciler: Reconciler | undefined;

// Before attachRdmp's hook: the tables and the handlers must exist before the first task runs.
service.onStart('scheduler', async ({ nc, log }) => {
  const prefix = process.env[RdmpEnv.busPrefix] ?? 'sdmi';
  const dbUrl = defaultPgUrl();
  const pool = createPool(dbUrl);
  await store.migrate(pool);
  // A node-agent restarting takes a few seconds: ride that out before a step gives up on it.
  const client = new RdmpClient(nc, { names: new BusNames(prefix), retries: 12 });
  const drain = process.env.SDMI_DRAIN_MS;
  // The cluster has DNS when it has a domain: the same setting dns-manager serves.
  const dnsOn = (process.env.SDMI_DNS_DOMAIN ?? '') !== '';
  const publishRaw = process.env.SDMI_DNS_PUBLISH_TIMEOUT_MS;
  const publish = publishRaw !== undefined && publishRaw !== '' ? Number(publishRaw) : undefined;
  if (publish !== undefined && !(Number.isInteger(publish) && publish >= 1000 && publish <= 600_000)) throw new Error(`SDMI_DNS_PUBLISH_TIMEOUT_MS="${publishRaw}": expected whole milliseconds from 1000 to 600000`);
  if (dnsOn) log.info({ domain: process.env.SDMI_DNS_DOMAIN }, 'replicas are registered in DNS as they start');
  const loop = new Reconciler({ pool, dbUrl, store, client, log, ...(drain !== undefined && drain !== '' ? { drainMs: Number(drain) } : {}) });
  handlers = [...serviceHandlers(store), ...nodeHandlers(store, loop), ...replicaHandlers(store, pool, client, dnsOn ? { dns: { log, ...(publish ? { publishTimeoutMs: publish } : {}) } } : {})];
  reconciler = loop;
  const sub = nc.subscribe(`${prefix}.evt.node.*.status`);
  void (async () => {
    for await (const m of sub) {
      const checked = contracts().check('NodeStatusEvent', m.json());
      if (checked.ok) loop.noteNode(checked.value);
      else log.warn({ subject: m.subject, err: checked.error }, 'node status ignored: it breaks its contract');
    }
  })();
  loop.start();
  const queries = new QueryServer({ nc, service: 'scheduler', names: new BusNames(prefix), handlers: schedulerQueries(store, pool, loop), log, ...(await queryAccess(pool, log)) }).start();
  return async () => {
    await queries.stop();
    sub.unsubscribe();
    await loop.stop();
    await pool.end();
  };
});
service.addReadinessCheck('reconciler', () => {
  if (!reconciler) return { ok: false, detail: 'not started' };
  const p = reconciler.lastPlan;
  return { ok: true, detail: `last pass ${p ? new Date(p.at).toISOString() : 'not yet'}${p ? `; last plan placed ${p.place}, stopped ${p.stop}${p.blocked.length ? `, blocked: ${p.blocked.join('; ')}` : ''}` : ''}` };
});
attachRdmp(service, {
  get handlers() {
    return handlers;
  },
});
await service.runUntilSignal();
