// network-controller: the network commands (RDMP) over the network store, and the OpenFlow
// controller that keeps every host bridge equal to what the store describes.
import { AccessControl, AccessStore, accessQueries, roleBindingHandlers } from '@sdmi/access';
import { BusNames, QueryServer, createPool, defaultPgUrl, serveQuery, type Handler } from '@sdmi/bus';
import { NetworkQueries, NetworkStore, networkHandlers } from '@sdmi/networks';
import { attachRdmp, RdmpEnv, SdmiService } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };
import { NetworkMetricsSampler } from './metrics-sampler';
import { NetworkController } from './network-controller';
import { OpenflowEnv, parseIdleTimeout, parseListen, parseMetricsInterval } from './config';

const service = new SdmiService({ name: 'network-controller', version: pkg.version, description: pkg.description, knownEnv: Object.values(OpenflowEnv) });
const store = new NetworkStore();
let running: NetworkController | undefined;
let handlers: Handler[] = [];

// Before attachRdmp's hook: the store's tables must exist before the first task is applied.
service.onStart('openflow', async ({ nc, log }) => {
  const listen = parseListen(process.env[OpenflowEnv.listen]);
  const pairIdleTimeout = parseIdleTimeout(process.env[OpenflowEnv.pairIdleTimeout]);
  const metricsIntervalMs = parseMetricsInterval(process.env[OpenflowEnv.metricsInterval]);
  const dbUrl = defaultPgUrl();
  const pool = createPool(dbUrl);
  try {
    running = await NetworkController.start({ pool, dbUrl, store, log, listen, pairIdleTimeout });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const controller = running;
  // Role bindings and the audit log live here (ACCESS_SERVICE); every service's gateway reads them.
  const accessStore = new AccessStore(pool);
  await accessStore.migrate();
  const access = await AccessControl.fromEnv(pool, process.env, log)?.start();
  handlers = [...networkHandlers(store), ...roleBindingHandlers(accessStore)];
  const names = new BusNames(process.env[RdmpEnv.busPrefix] ?? 'sdmi');
  const sampler = new NetworkMetricsSampler({
    controller: controller.controller,
    topology: () => controller.app.topology,
    publish: (subject, payload) => nc.publish(subject, payload),
    names,
    intervalMs: metricsIntervalMs,
    log,
  }).start();
  const queries = new QueryServer({
    nc,
    service: 'network-controller',
    names,
    handlers: [
      serveQuery(NetworkQueries.interfaceFlows, ({ interfaceIds }) => ({ interfaces: interfaceIds.map((id) => controller.app.interfaceFlows(id)) })),
      // From the store, not the controller's last snapshot: the database is the truth, and a
      // change committed a moment ago is listed before its NOTIFY has reached the controller.
      // Cluster networks are shared (every tenant's services attach to them); a tenant's networks
      // and config only to whoever may read that tenant.
      serveQuery(NetworkQueries.listNetworks, async ({ tenant }, ctx) => {
        const all = await store.listNetworks(pool, tenant !== undefined ? { tenant } : {});
        return { ...all, tenantNetworks: all.tenantNetworks.filter((n) => ctx.canRead(n.spec.tenant)), tenantConfigs: all.tenantConfigs.filter((c) => ctx.canRead(c.tenant)) };
      }),
      ...accessQueries(accessStore, access),
    ],
    log,
    ...(access ? { authenticate: access.authenticate, readScope: access.readScope } : {}),
  }).start();
  return async () => {
    await sampler.stop();
    await queries.stop();
    await running?.stop();
    await pool.end();
  };
});
service.addReadinessCheck('openflow', () => running?.status() ?? { ok: false, detail: 'not started' });
attachRdmp(service, {
  // Built by the hook above, once the pool exists.
  get handlers() {
    return handlers;
  },
});
await service.runUntilSignal();
