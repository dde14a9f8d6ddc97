// switch-agent: keeps the fabric's switches (NETCONF) and hosts' Open vSwitch bridges (OVSDB)
// carrying the VLANs of the cluster's networks. Its commands record the switches it keeps; the
// reconciler, following the network-controller's tasks, is the only writer to them.
import { BusNames, PgListener, QueryServer, RdmpClient, createPool, defaultPgUrl, type Handler } from '@sdmi/bus';
import { attachRdmp, RdmpEnv, SdmiService, queryAccess } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };
import { SwitchEnv, loadSwitchConfig } from './config';
import { switchHandlers } from './handlers';
import { switchQueries } from './queries';
import { SwitchReconciler } from './reconciler';
import { SWITCH_CHANGED_CHANNEL, SwitchStore } from './store';

const service = new SdmiService({ name: 'switch-agent', version: pkg.version, description: pkg.description, knownEnv: [...Object.values(SwitchEnv), 'SDMI_TEST_CONFIRM_DELAY_MS'] });
const store = new SwitchStore();
// Read before start: a malformed setting stops the service with the reason, before it takes tasks.
const config = loadSwitchConfig();
let reconciler: SwitchReconciler | undefined;
let handlers: Handler[] = [];

service.onStart('switches', async ({ nc, log }) => {
  const names = new BusNames(process.env[RdmpEnv.busPrefix] ?? 'sdmi');
  const dbUrl = defaultPgUrl();
  const pool = createPool(dbUrl);
  await store.migrate(pool);
  const client = new RdmpClient(nc, { names });
  const loop = new SwitchReconciler({ pool, dbUrl, store, client, log, ...config });
  reconciler = loop;
  handlers = switchHandlers(store, () => reconciler);
  const queries = new QueryServer({ nc, service: 'switch-agent', names, handlers: switchQueries(store, pool), log, ...(await queryAccess(pool, log)) }).start();
  const listen = new PgListener({ dbUrl, channel: SWITCH_CHANGED_CHANNEL, applicationName: 'sdmi switch-agent listen', log, onNotify: () => loop.trigger(), onConnected: () => loop.trigger() });
  await listen.start();
  // A network's VLAN comes and goes with the network-controller's tasks.
  const sub = nc.subscribe(names.taskEvents('network-controller'));
  void (async () => {
    for await (const _ of sub) loop.trigger();
  })();
  loop.start();
  return async () => {
    sub.unsubscribe();
    await loop.stop();
    await listen.stop();
    await queries.stop();
    await pool.end();
  };
});
service.addReadinessCheck('switches', () => {
  if (!reconciler) return { ok: false, detail: 'not started' };
  if (!reconciler.leader) return { ok: true, detail: 'standby' };
  const p = reconciler.lastPass;
  if (!p) return { ok: false, detail: 'no pass yet' };
  return { ok: p.ok, detail: `last pass ${new Date(p.at).toISOString()}: ${p.detail}` };
});
attachRdmp(service, {
  get handlers() {
    return handlers;
  },
});
await service.runUntilSignal();
