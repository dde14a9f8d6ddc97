// switch-agent's query: its rows, answered by any instance. Switches belong to the fabric, not to
// a tenant: whoever may read the cluster's resources reads them.
import { serveQuery, type QueryHandler } from '@sdmi/bus';
import { SwitchQueries, type SwitchStatus } from '@sdmi/contracts';
import type pg from 'pg';
import type { SwitchStore } from './store';

export function switchQueries(store: SwitchStore, pool: pg.Pool): QueryHandler[] {
  return [
    serveQuery(SwitchQueries.listSwitches, async (q, ctx) => {
      if (!ctx.canRead(undefined)) return { switches: [] };
      const rows = q.name ? [await store.get(pool, q.name)].filter((r) => r !== undefined) : await store.list(pool);
      const switches: SwitchStatus[] = rows.map((r) => ({ spec: r.spec, managedVlans: r.managed, lastSync: r.lastSync, drift: r.drift }));
      return { switches };
    }),
  ];
}
