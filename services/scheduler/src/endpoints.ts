// Which replicas take a service's new connections, told to the network-controller per network of
// the service (setServiceEndpoints), level-triggered: those that serve (healthy; running when
// the revision has no health check) and are not being drained. sched.service_address keeps what
// was last applied, so a pass with nothing new sends nothing, and a restarted scheduler sends
// each address once (the network-controller does not bump its revision for an unchanged list).
import type { RdmpClient } from '@sdmi/bus';
import type { ServiceNetworkAttachment } from '@sdmi/contracts';
import { ReplicaStates, type Replica, type Service } from '@sdmi/scheduling';
import type pg from 'pg';
import type { Logger } from 'pino';
import { runOnce, taskIdFor } from './handlers';

export interface AppliedAddress {
  service: string;
  networkId: string;
  address: string | null;
  backends: string[];
  generation: number;
  /** Which lifetime of the row this is (a fresh one after a release): part of every call's task id. */
  epoch: number;
}

/** What was last applied, of every service or one (the queries report it as well). */
export async function appliedAddresses(db: Pick<pg.ClientBase, 'query'>, service?: string): Promise<AppliedAddress[]> {
  const r = await db.query<{ service: string; network_id: string; address: string | null; backends: string[]; generation: string; epoch: string }>(
    'SELECT service, network_id, host(address) AS address, backends, generation, epoch FROM sched.service_address WHERE $1::text IS NULL OR service = $1 ORDER BY service, network_id',
    [service ?? null],
  );
  return r.rows.map((x) => ({ service: x.service, networkId: x.network_id, address: x.address, backends: x.backends, generation: Number(x.generation), epoch: Number(x.epoch) }));
}

const LIVE: ReadonlySet<string> = new Set([ReplicaStates.Running, ReplicaStates.Healthy, ReplicaStates.Unhealthy]);

/**
 * The replica's addressed interface on `networkId`, as its own revision made it: replicas of an
 * older revision may lack a network the service has now, have one it has left, or name it
 * differently. A revision gone from the history is taken to have the current networks.
 */
function interfaceOn(svc: Service, r: Replica, networkId: string): string | undefined {
  const net = (svc.networksOf(r.revision) ?? svc.networks).find((n) => n.network === networkId && n.ip.mode !== 'none');
  return net ? `${r.id}/${net.ifname}` : undefined;
}

/** The interface ids that should take `svc`'s new connections on `networkId`. */
function backendsOn(svc: Service, replicas: readonly Replica[], networkId: string): string[] {
  const out: string[] = [];
  for (const r of replicas) {
    if (r.service !== svc.id || r.state === ReplicaStates.Stopping || !r.serving(svc.servesWhenRunning(r.revision))) continue;
    const id = interfaceOn(svc, r, networkId);
    if (id !== undefined) out.push(id);
  }
  return out.sort();
}

/** The interface ids that should take `svc`'s new connections on each of its addressed networks. */
export function desiredBackends(svc: Service, replicas: readonly Replica[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const net of svc.networks) {
    if (net.ip.mode === 'none') continue;
    out.set(net.network, backendsOn(svc, replicas, net.network));
  }
  return out;
}

/**
 * Whether the address a service holds on a network its spec no longer has must stay: while a
 * live replica (of an older revision) still has an interface there. Of a removed service the
 * revisions are gone, so any live replica keeps it (they are all being stopped).
 */
export function keepsLeftAddress(svc: Service | undefined, service: string, networkId: string, replicas: readonly Replica[]): boolean {
  return replicas.some((r) => r.service === service && LIVE.has(r.state) && (svc === undefined || interfaceOn(svc, r, networkId) !== undefined));
}

/** The service address its spec fixes on a network (serviceAddress), if any: the first call asks for exactly it. */
export function fixedAddress(svc: Service, networkId: string): string | undefined {
  const i = svc.networks.findIndex((n) => n.network === networkId);
  return i < 0 ? undefined : (svc.spec.networks as readonly ServiceNetworkAttachment[])[i]?.serviceAddress;
}

/**
 * The loop makes these calls itself: a network-controller that does not answer must not hold it
 * up (stops and starts wait behind it). A call that times out may still be applied later; calls on
 * the network key run in order, so the next generation's list lands after it.
 */
const CALL_TIMEOUT_MS = 10_000;

const key = (service: string, networkId: string) => `${service}\n${networkId}`;

export class ServiceEndpoints {
  constructor(private readonly opts: { pool: pg.Pool; client: RdmpClient; log: Logger }) {}

  applied(service?: string): Promise<AppliedAddress[]> {
    return appliedAddresses(this.opts.pool, service);
  }

  /**
   * One setServiceEndpoints call per generation. A backend the network-controller refuses (its
   * interface went away meanwhile) is left out and the call made again; other failures wait for
   * the next pass. Returns the backends now in place, or undefined when nothing was applied.
   */
  async #set(service: string, networkId: string, backends: string[], lastGeneration: number, address: string | undefined): Promise<string[] | undefined> {
    const { pool, client, log } = this.opts;
    // The row exists before the first call, so that the call's task id has its epoch.
    const row = await pool.query<{ epoch: string }>(
      `INSERT INTO sched.service_address (service, network_id, generation) VALUES ($1, $2, 0)
       ON CONFLICT (service, network_id) DO UPDATE SET service = EXCLUDED.service RETURNING epoch`,
      [service, networkId],
    );
    const epoch = Number(row.rows[0]!.epoch);
    let generation = lastGeneration;
    let list = backends;
    for (let attempt = 0; attempt < 3; attempt++) {
      generation++;
      try {
        const r = await runOnce(client, 'network-controller', taskIdFor(`${service}|${networkId}:endpoints:${epoch}.${generation}`), {
          kind: 'setServiceEndpoints',
          key: 'networks',
          payload: { service, networkId, backends: list, ...(address !== undefined ? { address } : {}) },
        }, CALL_TIMEOUT_MS);
        // What the network-controller holds now (a re-run of an earlier call returns that call's list).
        const now = (r.backends as string[] | undefined) ?? list;
        await pool.query(
          `INSERT INTO sched.service_address (service, network_id, address, backends, generation) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (service, network_id) DO UPDATE SET address = EXCLUDED.address, backends = EXCLUDED.backends, generation = EXCLUDED.generation, updated_at = now()`,
          [service, networkId, r.ip as string, now, generation],
        );
        log.info({ service, network: networkId, address: r.ip, backends: now }, 'service address follows its serving replicas');
        return now;
      } catch (err) {
        // A failed task id stays failed: the next call needs the next generation.
        await pool.query(
          `INSERT INTO sched.service_address (service, network_id, generation) VALUES ($1, $2, $3)
           ON CONFLICT (service, network_id) DO UPDATE SET generation = EXCLUDED.generation, updated_at = now()`,
          [service, networkId, generation],
        );
        const info = (err as { info?: { code?: string; details?: { interfaceId?: unknown } } }).info;
        const bad = info?.code === 'BACKEND_NOT_USABLE' ? info.details?.interfaceId : undefined;
        if (typeof bad === 'string' && list.includes(bad)) {
          list = list.filter((b) => b !== bad);
          continue;
        }
        log.warn({ err, service, network: networkId }, 'service address not updated; the next pass retries');
        return undefined;
      }
    }
    return undefined;
  }

  /**
   * Brings every service address to what the replicas say; releases the address of a service that
   * is gone once none of its replicas runs, and of a network a service left once none of its
   * running replicas has an interface there. Returns the
   * interface ids that take new connections after the pass (only what the network-controller
   * confirmed: a failed call leaves its previous backends in place).
   */
  async sync(services: readonly Service[], replicas: readonly Replica[]): Promise<Set<string>> {
    const { pool, client, log } = this.opts;
    const applied = new Map((await this.applied()).map((a) => [key(a.service, a.networkId), a]));
    const serving = new Set<string>();
    const wanted = new Set<string>();
    const follow = async (service: string, networkId: string, backends: string[], have: AppliedAddress | undefined, address?: string): Promise<void> => {
      if (have && have.address !== null && have.backends.join('\n') === backends.join('\n')) {
        have.backends.forEach((b) => serving.add(b));
        return;
      }
      const now = await this.#set(service, networkId, backends, have?.generation ?? 0, address);
      (now ?? have?.backends ?? []).forEach((b) => serving.add(b));
    };
    for (const svc of services) {
      for (const [networkId, backends] of desiredBackends(svc, replicas)) {
        const k = key(svc.id, networkId);
        wanted.add(k);
        await follow(svc.id, networkId, backends, applied.get(k), fixedAddress(svc, networkId));
      }
    }
    for (const [k, a] of applied) {
      if (wanted.has(k)) continue;
      const svc = services.find((s) => s.id === a.service);
      if (keepsLeftAddress(svc, a.service, a.networkId, replicas)) {
        // A network an update dropped still follows the old revision's replicas, so that one being
        // stopped leaves it and drains like anywhere else instead of being held in it.
        if (svc) await follow(svc.id, a.networkId, backendsOn(svc, replicas, a.networkId), a);
        else a.backends.forEach((b) => serving.add(b));
        continue;
      }
      try {
        await runOnce(client, 'network-controller', taskIdFor(`${a.service}|${a.networkId}:release:${a.epoch}.${a.generation + 1}`), {
          kind: 'releaseServiceAddress',
          key: 'networks',
          payload: { service: a.service, networkId: a.networkId },
        }, CALL_TIMEOUT_MS);
        await pool.query('DELETE FROM sched.service_address WHERE service = $1 AND network_id = $2', [a.service, a.networkId]);
        log.info({ service: a.service, network: a.networkId, address: a.address }, 'service address released');
      } catch (err) {
        log.warn({ err, service: a.service, network: a.networkId }, 'service address not released yet');
      }
    }
    return serving;
  }
}
