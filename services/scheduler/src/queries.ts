// The scheduler's queries: reads of its records, answered by any instance (they change nothing,
// so the loop's leadership does not matter). Counts and rollout states come from the pure model
// (packages/scheduling), so a query says what the loop would say; addresses are what the start
// transactions and the loop's setServiceEndpoints calls recorded. What nodes announce is not in
// the records: each instance hears the announcements itself, leader or not, and reports its own.
import { serveQuery, type QueryContext, type QueryHandler } from '@sdmi/bus';
import { tenantOfId } from '@sdmi/contracts';
import { SchedulerQueries, ServiceNotFound, nodeStatuses, replicaStatus, rolloutStatus, serviceStatus, type NodeAnnouncement } from '@sdmi/scheduling';
import type pg from 'pg';
import { appliedAddresses } from './endpoints';
import { NODE_SILENT_MS } from './reconciler';
import type { SchedulerStore } from './store';

/** The node-agents' announcements this instance has received (the Reconciler keeps them). */
export interface NodeAnnouncements {
  readonly announcements: ReadonlyMap<string, NodeAnnouncement>;
}

export function schedulerQueries(store: SchedulerStore, pool: pg.Pool, heard: NodeAnnouncements): QueryHandler[] {
  // A service of a tenant the asker may not read is answered as missing: its existence is the tenant's business.
  const found = async (id: string, ctx: QueryContext) => {
    const svc = await store.service(pool, id);
    if (!svc || !ctx.canRead(svc.tenant)) throw new ServiceNotFound('/service', id);
    return svc;
  };
  return [
    serveQuery(SchedulerQueries.getService, async ({ service }, ctx) => {
      const svc = await found(service, ctx);
      return { service: serviceStatus(svc, await store.replicas(pool, { service }), Date.now(), await appliedAddresses(pool, service)) };
    }),
    serveQuery(SchedulerQueries.listServices, async ({ tenant }, ctx) => {
      const services = (await store.services(pool)).filter((s) => (tenant === undefined || s.tenant === tenant) && ctx.canRead(s.tenant));
      const replicas = await store.replicas(pool);
      const applied = await appliedAddresses(pool);
      const now = Date.now();
      return { services: services.map((s) => serviceStatus(s, replicas, now, applied)) };
    }),
    serveQuery(SchedulerQueries.rolloutStatus, async ({ service }, ctx) => {
      const svc = await found(service, ctx);
      return { rollout: rolloutStatus(svc, await store.replicas(pool, { service }), Date.now()) };
    }),
    serveQuery(SchedulerQueries.listReplicas, async ({ service, node }, ctx) => {
      const rows = (await store.replicaRecords(pool, { ...(service !== undefined ? { service } : {}), ...(node !== undefined ? { node } : {}) })).filter((r) => ctx.canRead(tenantOfId(r.replica.service)));
      const services = new Map((await store.services(pool)).map((s) => [s.id, s]));
      return { replicas: rows.map((r) => replicaStatus(r.replica, r.reason, r.addresses, services.get(r.replica.service))) };
    }),
    serveQuery(SchedulerQueries.listNodes, async ({ node }) => {
      const filter = node !== undefined ? { node } : {};
      const admitted = new Map([...(await store.nodes(pool))].filter(([name]) => node === undefined || name === node));
      const announced = new Map([...heard.announcements].filter(([name]) => node === undefined || name === node));
      return { nodes: nodeStatuses(admitted, announced, await store.replicas(pool, filter), Date.now(), NODE_SILENT_MS) };
    }),
  ];
}
