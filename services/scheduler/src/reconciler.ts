// The level-triggered loop: every tick it reads desired services, the replicas it has placed and
// the nodes' latest reports, asks the pure reconciler for a plan, and turns the plan into replica
// transactions submitted to itself. Only one scheduler instance runs the loop at a time (a
// PostgreSQL advisory lock on a session of its own), so two instances never double-fire.
import type { RdmpClient } from '@sdmi/bus';
import type { NodeStatusEvent } from '@sdmi/contracts';
import { Node, NodeStates, ReplicaStates, reconcile, type NewReplica, type NodeAnnouncement, type Replica, type Service } from '@sdmi/scheduling';
import pg from 'pg';
import type { Logger } from 'pino';
import { ServiceEndpoints } from './endpoints';
import { ReplicaCommandKinds, runOnce, taskIdFor } from './handlers';
import { nodeService, removeReplicaCommand, replicaKey } from './names';
import type { AdmittedNode, SchedulerStore } from './store';

const LOOP_LOCK = 0x5d_5c_0001;

/**
 * A node that has not reported for this long gets no new replicas: three of the node-agent's 5 s
 * announcement periods, so one lost announcement does not take it down.
 */
export const NODE_SILENT_MS = 15_000;

/** An unknown container is removed only once it has been reported unknown for this long (two reports or more). */
const UNKNOWN_GRACE_MS = 10_000;


export interface ReconcilerOptions {
  pool: pg.Pool;
  dbUrl: string;
  store: SchedulerStore;
  client: RdmpClient;
  log: Logger;
  intervalMs?: number;
  /**
   * How long a replica that served is out of its service addresses before it is stopped, so that
   * its connections finish (default 2 s; SDMI_DRAIN_MS for the service).
   */
  drainMs?: number;
}

export class Reconciler {
  readonly #nodes = new Map<string, NodeAnnouncement>();
  /** Containers reported unknown (`node\ncontainerId`): when first seen, and the removal submitted for it. */
  readonly #unknown = new Map<string, { since: number; removal?: { taskId: string; attempt: number } }>();
  readonly #endpoints: ServiceEndpoints;
  /** Stops submitted by this instance (a restarted one submits again: the task id makes it once). */
  readonly #stopsSent = new Set<string>();
  readonly #stopReasons = new Map<string, string>();
  #lock?: pg.Client;
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;
  #stopped = false;
  lastPlan?: { at: number; place: number; stop: number; blocked: string[] };

  constructor(private readonly opts: ReconcilerOptions) {
    this.#endpoints = new ServiceEndpoints({ pool: opts.pool, client: opts.client, log: opts.log });
  }

  get endpoints(): ServiceEndpoints {
    return this.#endpoints;
  }

  /** A node-agent's report (the service subscribes to them and hands them here). */
  noteNode(status: NodeStatusEvent, now = Date.now()): void {
    this.#nodes.set(status.node, { status, seenAt: now });
  }

  /** Every node-agent's last report since this instance started (the listNodes query shows them). */
  get announcements(): ReadonlyMap<string, NodeAnnouncement> {
    return this.#nodes;
  }

  /** Whether a node-agent of that name has reported recently. */
  reporting(name: string, now = Date.now()): boolean {
    const r = this.#nodes.get(name);
    return r !== undefined && now - r.seenAt < NODE_SILENT_MS;
  }

  /**
   * The admitted nodes as the planner sees them: capacity and labels from their latest report,
   * state from the admin (ready, draining) unless the node went silent (down).
   */
  nodes(admitted: ReadonlyMap<string, AdmittedNode>, now = Date.now()): Node[] {
    const out: Node[] = [];
    for (const [name, admin] of admitted) {
      const r = this.#nodes.get(name);
      if (!r) continue;
      const state = now - r.seenAt >= NODE_SILENT_MS ? NodeStates.Down : admin.state === 'draining' ? NodeStates.Draining : NodeStates.Ready;
      const labels = Object.fromEntries(Object.entries(r.status.labels).filter((e): e is [string, string] => e[1] !== undefined));
      out.push(new Node({ name, capacity: { cpus: r.status.capacity.cpus, memoryBytes: r.status.capacity.memoryBytes }, labels, state, forceDrain: admin.force }));
    }
    return out;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.opts.intervalMs ?? 1_000);
  }

  /** One pass; passes never overlap. */
  tick(): Promise<void> {
    if (this.#running || this.#stopped) return this.#running ?? Promise.resolve();
    this.#running = this.#pass()
      .catch((err: unknown) => this.opts.log.warn({ err }, 'reconcile pass failed; the next one retries'))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #leader(): Promise<boolean> {
    if (!this.#lock) {
      const c = new pg.Client({ connectionString: this.opts.dbUrl, application_name: 'sdmi scheduler loop' });
      c.on('error', () => (this.#lock = undefined));
      await c.connect();
      this.#lock = c;
    }
    const r = await this.#lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOOP_LOCK]);
    return r.rows[0]!.ok;
  }

  async #pass(): Promise<void> {
    if (!(await this.#leader())) return;
    const { pool, store, client, log } = this.opts;
    const now = Date.now();
    let replicas = await store.replicas(pool);
    replicas = await this.#observe(replicas, now);
    const services = await store.services(pool);
    const admitted = await store.nodes(pool);
    const plan = reconcile(services, { nodes: this.nodes(admitted, now), replicas }, now);
    const starts: NewReplica[] = [...plan.place.map((p) => p.replica), ...plan.replace.map((r) => r.replica), ...plan.update.flatMap((u) => u.start)];
    for (const r of starts) {
      // Recorded before it is submitted: a crash in between leaves a pending replica the next pass resubmits.
      const inc = await store.addReplica(pool, { id: r.id, service: r.service, slot: r.slot, revision: r.revision, node: r.node, resources: r.resources });
      await client.submit('scheduler', {
        id: taskIdFor(`${r.id}@${inc}:start`),
        kind: ReplicaCommandKinds.StartReplica,
        key: replicaKey(r.id),
        payload: { replicaId: r.id, service: r.service, slot: r.slot, revision: r.revision, node: r.node, staticAddresses: [...r.staticAddresses] },
      });
    }
    const drainMs = this.opts.drainMs ?? 2_000;
    const stopping = new Set<string>();
    for (const s of [...plan.stop, ...plan.update.flatMap((u) => u.stop)]) {
      await store.setState(pool, s.replica, ReplicaStates.Stopping, s.reason);
      stopping.add(s.replica);
      this.#stopReasons.set(s.replica, s.reason);
      const r = replicas.find((x) => x.id === s.replica);
      const svc = services.find((x) => x.id === s.service);
      // One that serves may hold connections: it leaves its service addresses first and stops after the drain.
      const serves = r !== undefined && r.serving(svc ? svc.servesWhenRunning(r.revision) : true);
      if (!serves || drainMs === 0) await this.#submitStop(s.replica, s.service, s.node, s.reason);
    }
    const current = replicas.map((r) => (stopping.has(r.id) ? r.with({ state: ReplicaStates.Stopping, since: now }) : r));
    const serving = await this.#endpoints.sync(services, current);
    for (const r of current) {
      if (r.state !== ReplicaStates.Stopping || this.#stopsSent.has(r.id) || now - r.since < drainMs) continue;
      // Still named by a service address the network-controller has not confirmed leaving: wait.
      if ([...serving].some((b) => b.startsWith(`${r.id}/`))) continue;
      await this.#submitStop(r.id, r.service, r.node, this.#stopReasons.get(r.id) ?? 'drained');
    }
    for (const id of this.#stopsSent) if (!current.some((r) => r.id === id && r.state === ReplicaStates.Stopping)) this.#stopsSent.delete(id);
    // The rollouts' bookkeeping: done, rolled back (a failing new revision), paused (with the reason).
    for (const u of plan.update) {
      if (!u.done && !u.rollback && !u.pause) continue;
      await this.#withService(u.service, (svc) => {
        // A newer command may have moved the service on meanwhile: then this step is stale.
        if (svc.revision !== u.toRevision) return svc;
        if (u.rollback) {
          log.warn({ service: u.service, from: u.toRevision, to: u.rollback.toRevision, reason: u.rollback.reason }, 'rolling back');
          return svc.rollback(u.rollback.reason, now);
        }
        if (u.pause) {
          log.warn({ service: u.service, reason: u.pause.reason }, 'rollout paused');
          return svc.pauseRollout(u.pause.reason);
        }
        log.info({ service: u.service, revision: u.toRevision }, 'rollout complete');
        return svc.completeRollout();
      });
    }
    // Containers left on nodes that could not be reached when their replica was undone.
    for (const o of (await pool.query<{ replica_id: string; incarnation: string; node: string }>('SELECT replica_id, incarnation, node FROM sched.orphan')).rows) {
      if (!this.reporting(o.node, now)) continue;
      try {
        await runOnce(client, nodeService(o.node), taskIdFor(`${o.replica_id}@${o.incarnation}:orphan-remove`), removeReplicaCommand(o.replica_id, 2));
        await pool.query('DELETE FROM sched.orphan WHERE replica_id = $1 AND incarnation = $2', [o.replica_id, o.incarnation]);
        log.info({ replica: o.replica_id, node: o.node }, 'removed what an unreachable node had left of a replica');
      } catch (err) {
        log.warn({ err, replica: o.replica_id, node: o.node }, 'orphan not removed yet');
      }
    }
    await this.#removeUnknown(now);
    // A draining node whose replicas have all gone is removed: removeNode is done.
    for (const [name, admin] of admitted) {
      if (admin.state === 'draining' && !replicas.some((r) => r.node === name && r.state !== ReplicaStates.Stopped)) {
        await store.deleteNode(pool, name);
        log.info({ node: name }, 'node drained and removed');
      }
    }
    this.lastPlan = { at: now, place: starts.length, stop: plan.stop.length, blocked: plan.blocked.map((b) => b.reason) };
    if (starts.length || plan.stop.length) log.info({ place: starts.map((r) => `${r.id} on ${r.node}`), stop: plan.stop.map((s) => `${s.replica}: ${s.reason}`) }, 'plan applied');
    if (plan.blocked.length) log.warn({ blocked: this.lastPlan.blocked }, 'replicas that cannot be placed');
  }

  async #submitStop(replica: string, service: string, node: string, reason: string): Promise<void> {
    const inc = await this.opts.store.incarnation(this.opts.pool, replica);
    await this.opts.client.submit('scheduler', {
      id: taskIdFor(`${replica}@${inc}:stop`),
      kind: ReplicaCommandKinds.StopReplica,
      key: replicaKey(replica),
      payload: { replicaId: replica, service, node, reason },
    });
    this.#stopsSent.add(replica);
    this.#stopReasons.delete(replica);
  }

  /**
   * Containers labelled as this cluster's that their node has no record of, and that are no live
   * replica of ours (no sched.replica row on that node, or a stopped one), are removed with the
   * node's removeReplica. Never one the scheduler is starting: a replica's row is written (pending)
   * before its start transaction is submitted, and deleted only after its stop transaction removed
   * the container, so a container whose runReplica has not recorded it yet on the node always has
   * a live row here, read now (not the pass's snapshot). Rows are written only by this loop, one
   * pass at a time, so none appears between that read and the submit; and the removal is queued
   * on the node, in order per replica key, before any later runReplica of the same replica id (a
   * slot used again), so it cannot take that one's container. The grace covers a report made while
   * the node's own record was being committed.
   */
  async #removeUnknown(now: number): Promise<void> {
    const { pool, client, log } = this.opts;
    const reported = new Set<string>();
    for (const [node, report] of this.#nodes) {
      if (!this.reporting(node, now)) continue;
      for (const c of report.status.unknown ?? []) {
        const k = `${node}\n${c.containerId}`;
        reported.add(k);
        const seen = this.#unknown.get(k) ?? { since: now };
        this.#unknown.set(k, seen);
        if (now - seen.since < UNKNOWN_GRACE_MS) continue;
        if (!c.replicaId) continue; // not addressable as a replica: not ours to judge
        const row = (await pool.query<{ state: string; node: string }>('SELECT state, node FROM sched.replica WHERE id = $1', [c.replicaId])).rows[0];
        if (row && row.state !== ReplicaStates.Stopped && row.node === node) continue;
        if (seen.removal) {
          const rec = (await client.status(nodeService(node), seen.removal.taskId).catch(() => undefined))?.records[0];
          // Pending, running, or done (the next report will not list it): nothing to do yet.
          if (rec?.status !== 'failed') continue;
          log.warn({ node, container: c.containerId, replica: c.replicaId, err: rec.error }, 'removing an unknown container failed; trying again');
        }
        const attempt = (seen.removal?.attempt ?? 0) + 1;
        const taskId = taskIdFor(`unknown:${node}:${c.containerId}:${attempt}`);
        await client.submit(nodeService(node), { id: taskId, ...removeReplicaCommand(c.replicaId, 2) });
        seen.removal = { taskId, attempt };
        log.warn({ node, container: c.containerId, name: c.name, replica: c.replicaId, row: row?.state ?? 'none' }, 'removing a container labelled as ours that no replica of the scheduler accounts for');
      }
    }
    for (const k of this.#unknown.keys()) if (!reported.has(k)) this.#unknown.delete(k);
  }

  async #withService(id: string, change: (svc: Service) => Service): Promise<void> {
    const db = await this.opts.pool.connect();
    try {
      await db.query('BEGIN');
      const svc = await this.opts.store.service(db, id, true);
      if (svc) await this.opts.store.saveService(db, id, change(svc));
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  /**
   * What the scheduler recorded, corrected by what happened: a start transaction that failed, a
   * container its node no longer runs (killed by hand, exited), health from the node's report.
   */
  async #observe(replicas: Replica[], now: number): Promise<Replica[]> {
    const { pool, store, client } = this.opts;
    const out: Replica[] = [];
    for (const r of replicas) {
      let state = r.state;
      let reason: string | null = null;
      if (state === ReplicaStates.Pending || state === ReplicaStates.Starting) {
        const inc = await store.incarnation(pool, r.id);
        const rec = (await client.status('scheduler', taskIdFor(`${r.id}@${inc}:start`)).catch(() => undefined))?.records[0];
        if (rec?.status === 'failed') {
          state = ReplicaStates.Failed;
          reason = `its start failed: ${rec.error?.message ?? 'unknown error'}`;
        } else if (!rec && now - r.since > 10_000) {
          // Placed but never submitted (a crash between the two): submit again; the id makes it once.
          await client.submit('scheduler', {
            id: taskIdFor(`${r.id}@${inc}:start`),
            kind: ReplicaCommandKinds.StartReplica,
            key: replicaKey(r.id),
            payload: { replicaId: r.id, service: r.service, slot: r.slot, revision: r.revision, node: r.node, staticAddresses: [] },
          });
        }
      } else if (state === ReplicaStates.Running || state === ReplicaStates.Healthy || state === ReplicaStates.Unhealthy) {
        const report = this.#nodes.get(r.node);
        // Only a report made after the replica started can say it is gone.
        if (report && Date.parse(report.status.time) > r.since + 1_000) {
          const seen = report.status.replicas.find((x) => x.replicaId === r.id);
          if (!seen || seen.state !== 'running') {
            state = ReplicaStates.Failed;
            reason = `its container on ${r.node} is ${seen ? seen.state : 'gone'}`;
          } else if (seen.health === 'healthy') state = ReplicaStates.Healthy;
          else if (seen.health === 'unhealthy') state = ReplicaStates.Unhealthy;
        }
      }
      if (state !== r.state) {
        await store.setState(pool, r.id, state, reason);
        out.push(r.with({ state, since: now }));
      } else out.push(r);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    await this.#lock?.end().catch(() => undefined);
  }
}
