import { AccessControl } from '@sdmi/access';
import { BusNames, createPool, defaultPgUrl, RdmpWorker, type QueryServerOptions, type RdmpWorkerOptions } from '@sdmi/bus';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { SdmiService } from './service';

export interface AttachRdmpOptions
  extends Omit<RdmpWorkerOptions, 'nc' | 'pool' | 'dbUrl' | 'service' | 'endpoint' | 'log' | 'names'> {
  /** The service's database; SDMI_PG_URL, else the local `sdmi` database. */
  dbUrl?: string;
  /** Bus prefix; SDMI_BUS_PREFIX, else `sdmi`. */
  prefix?: string;
  /**
   * The RDMP service name tasks are addressed to, when it is not the service's own: a node-agent
   * takes its host's tasks as `node-<host>` (one consumer per host) besides the service-wide ones.
   */
  rdmpService?: string;
  /** Names of the framework endpoints and of the readiness check, when a service attaches twice. */
  endpointNames?: { submit: string; status: string; check: string };
}

/** Environment variables this module reads, for the runtime's unknown-variable warning. */
export const RdmpEnv = { pgUrl: 'SDMI_PG_URL', busPrefix: 'SDMI_BUS_PREFIX' } as const;

/**
 * Makes a service an RDMP endpoint: `submit` (on sdmi.cmd.<service>) and `task-status` become
 * framework endpoints, so they show up in discovery and stats, and the worker consumes the
 * service's tasks from start() until stop(). The instance id is the worker's endpoint id.
 * Returns a getter: the worker exists only once the service has started.
 */
export function attachRdmp(service: SdmiService, options: AttachRdmpOptions): () => RdmpWorker {
  const names = new BusNames(options.prefix ?? process.env[RdmpEnv.busPrefix] ?? 'sdmi');
  const rdmpService = options.rdmpService ?? service.name;
  const ep = options.endpointNames ?? { submit: 'submit', status: 'task-status', check: 'rdmp' };
  const dbUrl = options.dbUrl ?? defaultPgUrl();
  let worker: RdmpWorker | undefined;
  const current = (): RdmpWorker => {
    if (!worker) throw new Error(`${service.name}: the RDMP worker starts with the service`);
    return worker;
  };

  service.onStart(ep.check, async ({ nc, log }) => {
    // Read at start, not at attach: `handlers` may be a getter over what an earlier hook built.
    const { rdmpService: _r, endpointNames: _e, ...workerOptions } = options;
    const pool = createPool(dbUrl);
    let w: RdmpWorker;
    try {
      // SDMI_PRINCIPALS_FILE set: every submit is authenticated, authorized and audited (docs/security.md).
      const access = await AccessControl.fromEnv(pool, process.env, log)?.start();
      if (access) log.info({ rdmp: rdmpService }, 'access control on: submits are authenticated by signature, authorized by role bindings and audited');
      const guard = access ? { authenticate: access.authenticate, authorize: access.authorize, audit: access.audit, readScope: access.readScope, scopeOf: access.scopeOf } : {};
      w = new RdmpWorker({ ...guard, ...workerOptions, nc, pool, dbUrl, service: rdmpService, endpoint: service.instanceId, log: log.child({ rdmp: rdmpService }), names });
      await w.start();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    worker = w;
    return async () => {
      await w.stop();
      await pool.end();
    };
  });
  service.addEndpoint<Uint8Array>(ep.submit, { subject: names.submit(rdmpService), raw: true, handler: (data, ctx) => current().handleSubmit(data, ctx.headers) });
  service.addEndpoint<Uint8Array>(ep.status, { subject: names.taskStatus(rdmpService), raw: true, handler: (data, ctx) => current().handleStatusQuery(data, ctx.headers) });
  // A standby is healthy and ready: it answers the gateway and takes over when the leader goes.
  service.addReadinessCheck(ep.check, () => {
    if (!worker) return { ok: false, detail: 'worker not started' };
    if (worker.stopped) return { ok: false, detail: 'worker stopped (consumer lease lost or service stopping)' };
    return { ok: true, detail: `${worker.role}; ${JSON.stringify(worker.stats)}` };
  });
  return current;
}

/**
 * What a service's QueryServer needs for access control: with SDMI_PRINCIPALS_FILE set, queries
 * must be signed and a handler sees what the asker may read; unset, nothing (anyone reads all).
 */
export async function queryAccess(pool: Pool, log?: Logger): Promise<Pick<QueryServerOptions, 'authenticate' | 'readScope'>> {
  const access = await AccessControl.fromEnv(pool, process.env, log)?.start();
  return access ? { authenticate: access.authenticate, readScope: access.readScope } : {};
}
