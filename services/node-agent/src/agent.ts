// The node-agent's moving parts on one Docker host: the Docker engine (its unix socket), the
// plumber that wires container interfaces into the host's OVS bridge, and the record of what this
// node was asked to run (PostgreSQL), which is the desired state it reconciles the host to.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusNames, migrate, type Handler, type QueryHandler, type Step, type TransactionHandler, type JsonObject } from '@sdmi/bus';
import { ContainerPlumber, hostIfNameFor, type AttachSpec } from '@sdmi/container-net';
import { NodeAgentCommandKinds, SchemaIds, contracts, type NodeContainerEvent, type NodeStatusEvent, type RemoveReplicaPayload, type RunReplicaPayload } from '@sdmi/contracts';
import { DockerEngine, type ContainerEvent, type ContainerSpec } from '@sdmi/docker';
import { OvsSwitch } from '@sdmi/ovsdb';
import type { StartContext } from '@sdmi/service';
import type pg from 'pg';
import type { Logger } from 'pino';
import { execInReplicaHandler } from './exec';
import { replicaLogsQuery } from './logs';
import { MetricsSampler } from './metrics';

const migrationsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');

/**
 * `cluster` is the agent's bus prefix: clusters that share a Docker host (test runs do) tell their
 * containers apart by it, so that no agent reports another cluster's containers as unknown.
 */
export const ReplicaLabels = { replica: 'sdmi.replica', service: 'sdmi.service', revision: 'sdmi.revision', node: 'sdmi.node', cluster: 'sdmi.cluster' } as const;

export interface NodeAgentOptions {
  node: string;
  instance: string;
  dockerSocket: string;
  bridge: string;
  ovsdb: string;
  /** Controller target for the bridge, when the agent has to create it. */
  controller: string;
  pool: pg.Pool;
  nc: StartContext['nc'];
  prefix: string;
  log: Logger;
  statusIntervalMs?: number;
  /** How often metric samples are published; default 5000 ms. */
  metricsIntervalMs?: number;
}

/** Docker container names allow [a-zA-Z0-9_.-]: acme/app-3@rev2 becomes sdmi_acme_app-3.rev2. */
export function containerName(replicaId: string): string {
  return `sdmi_${replicaId.replaceAll('/', '_').replaceAll(/[@#]/g, '.')}`;
}

function attachSpecs(spec: RunReplicaPayload, containerId: string, pid: number): AttachSpec[] {
  return spec.interfaces.map((i) => ({
    interfaceId: i.interfaceId,
    containerId,
    pid,
    ifname: i.ifname,
    hostIfName: hostIfNameFor(i.interfaceId),
    mac: i.mac,
    address: i.address,
    ...(i.gateway ? { gateway: i.gateway } : {}),
    ...(i.routes ? { routes: i.routes } : {}),
    networkId: i.networkId,
  }));
}

export class NodeAgent {
  #timer?: NodeJS.Timeout;
  #metrics?: MetricsSampler;
  #events?: AsyncIterable<ContainerEvent> & { close(): Promise<void> | void };
  #stopped = false;
  #reconciling?: Promise<void>;
  #again = false;
  /** Plumbing runs one operation at a time: a reconcile must never unwire what a replica is wiring. */
  #plumbing: Promise<unknown> = Promise.resolve();
  /** Interfaces being wired by a runReplica whose record is not committed yet: desired all the same. */
  readonly #wiring = new Map<string, AttachSpec[]>();
  /** Replicas a removeReplica is taking away: not desired any more, whatever their record says. */
  readonly #leaving = new Set<string>();

  private constructor(
    private readonly opts: NodeAgentOptions,
    readonly engine: DockerEngine,
    readonly ovs: OvsSwitch,
    readonly plumber: ContainerPlumber,
  ) {}

  static async start(opts: NodeAgentOptions): Promise<NodeAgent> {
    await migrate(opts.pool, migrationsDir);
    const engine = await DockerEngine.connect({ socketPath: opts.dockerSocket, log: opts.log });
    let ovs: OvsSwitch | undefined;
    try {
      ovs = await OvsSwitch.connect(opts.ovsdb);
      // A host without its bridge gets one: fail-secure, so it forwards nothing the controller did not install.
      if (!(await ovs.listBridges()).some((b) => b.name === opts.bridge)) {
        await ovs.createBridge(opts.bridge, { datapathType: 'netdev', failMode: 'secure', protocols: ['OpenFlow13'], controllers: [opts.controller] });
        opts.log.info({ bridge: opts.bridge, controller: opts.controller }, 'created the host bridge');
      }
      const agent = new NodeAgent(opts, engine, ovs, new ContainerPlumber({ ovs, bridge: opts.bridge, log: opts.log }));
      await agent.reconcile();
      agent.#watchEvents();
      await agent.publishStatus();
      agent.#metrics = new MetricsSampler({
        node: opts.node,
        nc: opts.nc,
        names: new BusNames(opts.prefix),
        engine,
        intervalMs: opts.metricsIntervalMs ?? 5_000,
        log: opts.log,
        replicas: () => agent.#runningReplicas(),
      }).start();
      agent.#timer = setInterval(() => void agent.publishStatus().catch((err: unknown) => opts.log.warn({ err }, 'status not published')), opts.statusIntervalMs ?? 5_000);
      return agent;
    } catch (err) {
      await ovs?.close().catch(() => undefined);
      await engine.close().catch(() => undefined);
      throw err;
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#plumbing.catch(() => undefined).then(fn);
    this.#plumbing = next;
    return next;
  }

  /** The RDMP handlers of this node's own tasks. */
  handlers(): Handler[] {
    const { node, prefix, log } = this.opts;
    return [this.#runReplica(), this.#removeReplica(), execInReplicaHandler({ engine: this.engine, node, cluster: prefix, labels: ReplicaLabels, log })];
  }

  /** The queries this node answers, as the RDMP service `node-<host>` (`<prefix>.query.node-<host>.*`). */
  queries(): QueryHandler[] {
    const { node, prefix, pool } = this.opts;
    return [replicaLogsQuery({ engine: this.engine, pool, node, cluster: prefix, labels: ReplicaLabels })];
  }

  #runReplica(): TransactionHandler<RunReplicaPayload> {
    const { engine, plumber } = this;
    const node = this.opts.node;
    const cluster = this.opts.prefix;
    const exclusive = <T>(fn: () => Promise<T>) => this.#exclusive(fn);
    const wiring = this.#wiring;
    const find = async (replicaId: string) => (await engine.list({ labels: { [ReplicaLabels.replica]: replicaId } }))[0];
    const create: Step<RunReplicaPayload> = {
      name: 'create container',
      async do({ task }) {
        const p = task.payload;
        // Idempotent: a retry after a crash finds the container by its replica label.
        const existing = await find(p.replicaId);
        if (existing) return { containerId: existing.id };
        const spec: ContainerSpec = {
          name: containerName(p.replicaId),
          image: p.container.image,
          labels: { [ReplicaLabels.replica]: p.replicaId, [ReplicaLabels.service]: p.service, [ReplicaLabels.revision]: String(p.revision), [ReplicaLabels.node]: node, [ReplicaLabels.cluster]: cluster },
        };
        if (p.container.command) spec.command = p.container.command;
        if (p.container.env) spec.env = Object.fromEntries(Object.entries(p.container.env).filter((e): e is [string, string] => e[1] !== undefined));
        if (p.container.resources) spec.limits = { ...p.container.resources };
        const hc = p.container.healthCheck;
        if (hc) {
          spec.healthCheck = { test: ['CMD', ...hc.exec], intervalMs: hc.intervalMs, timeoutMs: hc.timeoutMs, retries: hc.retries };
          if (hc.startPeriodMs !== undefined) spec.healthCheck.startPeriodMs = hc.startPeriodMs;
        }
        const created = await engine.createContainer(spec);
        return { containerId: created.id };
      },
      async undo({ task }) {
        const existing = await find(task.payload.replicaId);
        if (existing) await engine.remove(existing.id, { force: true });
      },
    };
    const start: Step<RunReplicaPayload> = {
      name: 'start container',
      async do({ outputs }) {
        const { containerId } = outputs[0] as { containerId: string };
        await engine.start(containerId);
        return { pid: (await engine.inspect(containerId)).pid };
      },
      // Removing the container (the step before) stops it.
      async undo() {},
    };
    const wire: Step<RunReplicaPayload> = {
      name: 'wire interfaces',
      async do({ task, outputs }) {
        const { containerId } = outputs[0] as { containerId: string };
        return exclusive(async () => {
          // The pid now, not the one recorded: a container restarted meanwhile has a new namespace.
          const pid = (await engine.inspect(containerId)).pid;
          const specs = attachSpecs(task.payload, containerId, pid);
          wiring.set(task.payload.replicaId, specs);
          const wired = [];
          for (const spec of specs) wired.push((await plumber.attach(spec)).hostIfName);
          return { ports: wired };
        });
      },
      async undo({ task }) {
        await exclusive(async () => {
          wiring.delete(task.payload.replicaId);
          for (const i of task.payload.interfaces) await plumber.detach(i.interfaceId);
        });
      },
    };
    return {
      kind: NodeAgentCommandKinds.RunReplica,
      payloadSchema: SchemaIds.RunReplicaPayload,
      steps: () => [create, start, wire],
      async finalize({ task, db, outputs }) {
        const { containerId } = outputs[0] as { containerId: string };
        const p = task.payload;
        await db.query(
          `INSERT INTO node_agent.replica (node, replica_id, service, revision, container_id, spec) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (node, replica_id) DO UPDATE SET service = EXCLUDED.service, revision = EXCLUDED.revision, container_id = EXCLUDED.container_id, spec = EXCLUDED.spec, updated_at = now()`,
          [node, p.replicaId, p.service, p.revision, containerId, JSON.stringify(p)],
        );
        return { node, containerId, pid: (outputs[1] as { pid: number }).pid, ports: (outputs[2] as { ports: string[] }).ports } as JsonObject;
      },
    };
  }

  #removeReplica(): TransactionHandler<RemoveReplicaPayload> {
    const { engine, plumber } = this;
    const node = this.opts.node;
    const pool = this.opts.pool;
    const exclusive = <T>(fn: () => Promise<T>) => this.#exclusive(fn);
    const leaving = this.#leaving;
    const wiring = this.#wiring;
    // Removal only goes forward: a step that fails is retried by the next removeReplica, and undoing
    // half a removal (re-creating a container) would be worse than finishing it.
    const unwire: Step<RemoveReplicaPayload> = {
      name: 'unwire interfaces',
      async do({ task }) {
        const r = await pool.query<{ spec: RunReplicaPayload }>('SELECT spec FROM node_agent.replica WHERE node = $1 AND replica_id = $2', [node, task.payload.replicaId]);
        const ids = new Set(r.rows[0]?.spec.interfaces.map((i) => i.interfaceId) ?? []);
        const containers = await engine.list({ labels: { [ReplicaLabels.replica]: task.payload.replicaId } });
        for (const a of await plumber.list()) if (containers.some((c) => c.id === a.containerId)) ids.add(a.interfaceId);
        await exclusive(async () => {
          for (const id of ids) await plumber.detach(id);
        });
        return { detached: [...ids] };
      },
      async undo() {},
    };
    const remove: Step<RemoveReplicaPayload> = {
      name: 'remove container',
      async do({ task }) {
        // From now on a reconcile leaves this replica alone, although its record is still there.
        leaving.add(task.payload.replicaId);
        const containers = await engine.list({ labels: { [ReplicaLabels.replica]: task.payload.replicaId } });
        for (const c of containers) {
          await engine.stop(c.id, task.payload.timeoutSec ?? 10);
          await engine.remove(c.id, { force: true });
        }
        return { removed: containers.map((c) => c.id) };
      },
      async undo() {},
    };
    return {
      kind: NodeAgentCommandKinds.RemoveReplica,
      payloadSchema: SchemaIds.RemoveReplicaPayload,
      // The container goes first: once it is gone no reconcile can wire it again behind our back.
      steps: () => [remove, unwire],
      async finalize({ task, db, outputs }) {
        await db.query('DELETE FROM node_agent.replica WHERE node = $1 AND replica_id = $2', [node, task.payload.replicaId]);
        leaving.delete(task.payload.replicaId);
        wiring.delete(task.payload.replicaId);
        return { node, ...(outputs[0] as object), ...(outputs[1] as object) } as JsonObject;
      },
    };
  }

  /**
   * Brings the host's container interfaces to what this node was asked to run: a container that
   * restarted (new network namespace) gets its interfaces again, ports of containers that are gone
   * are removed. Runs at start-up and on every container start; concurrent calls coalesce.
   */
  reconcile(): Promise<void> {
    if (this.#reconciling) {
      this.#again = true;
      return this.#reconciling;
    }
    this.#reconciling = (async () => {
      do {
        this.#again = false;
        const rows = (await this.opts.pool.query<{ container_id: string; spec: RunReplicaPayload }>('SELECT container_id, spec FROM node_agent.replica WHERE node = $1', [this.opts.node])).rows;
        const live = new Map<string, number>();
        const desired: AttachSpec[] = [];
        for (const r of rows) {
          if (this.#leaving.has(r.spec.replicaId)) continue;
          const info = await this.engine.inspect(r.container_id).catch(() => undefined);
          if (!info || info.pid === 0) continue;
          live.set(r.container_id, info.pid);
          desired.push(...attachSpecs(r.spec, r.container_id, info.pid));
        }
        const result = await this.#exclusive(async () => {
          // A replica being wired is desired until its record is committed; then the record says so.
          const recorded = new Set(rows.map((r) => r.spec.replicaId));
          for (const [replicaId, specs] of this.#wiring) {
            if (recorded.has(replicaId)) {
              this.#wiring.delete(replicaId);
              continue;
            }
            const first = specs[0];
            const pid = first ? ((await this.engine.inspect(first.containerId).catch(() => undefined))?.pid ?? 0) : 0;
            if (!first || pid === 0) continue;
            live.set(first.containerId, pid);
            desired.push(...specs.map((x) => ({ ...x, pid })));
          }
          return this.plumber.reconcile(desired, live);
        });
        this.opts.log.info({ result }, 'container interfaces reconciled');
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#reconciling = undefined));
    return this.#reconciling;
  }

  #watchEvents(): void {
    void (async () => {
      while (!this.#stopped) {
        try {
          const stream = await this.engine.events();
          this.#events = stream;
          for await (const ev of stream) {
            if (ev.managed) this.#forward(ev);
            if (ev.managed && ev.action === 'start' && ev.labels[ReplicaLabels.replica]) void this.reconcile().catch((err: unknown) => this.opts.log.warn({ err }, 'reconcile failed'));
            if (ev.managed && (ev.action === 'die' || ev.action === 'health_status')) void this.publishStatus().catch(() => undefined);
          }
        } catch (err) {
          if (this.#stopped) return;
          this.opts.log.warn({ err }, 'Docker event stream lost; reconnecting');
          await new Promise((r) => setTimeout(r, 1_000));
          // What happened while the stream was down (a restarted container) is found this way.
          await this.reconcile().catch(() => undefined);
        }
      }
    })();
  }

  /** One of our containers' Docker events, on the bus for the scheduler and for people watching. */
  #forward(ev: ContainerEvent): void {
    const msg: NodeContainerEvent = { node: this.opts.node, containerId: ev.id, name: ev.name, action: ev.action, time: ev.time.toISOString() };
    const replica = ev.labels[ReplicaLabels.replica];
    const service = ev.labels[ReplicaLabels.service];
    if (replica) msg.replicaId = replica;
    if (service) msg.service = service;
    if (ev.exitCode !== undefined) msg.exitCode = ev.exitCode;
    if (ev.health) msg.health = ev.health;
    const checked = contracts().check('NodeContainerEvent', msg);
    if (!checked.ok) {
      this.opts.log.warn({ err: checked.error, event: msg }, 'container event not forwarded: it breaks its contract');
      return;
    }
    this.opts.nc.publish(`${this.opts.prefix}.evt.node.${this.opts.node}.container`, JSON.stringify(msg));
  }

  async status(): Promise<NodeStatusEvent> {
    const info = await this.engine.info();
    const rows = (await this.opts.pool.query<{ replica_id: string; container_id: string }>('SELECT replica_id, container_id FROM node_agent.replica WHERE node = $1 ORDER BY replica_id', [this.opts.node])).rows;
    const replicas = [];
    for (const r of rows) {
      const c = await this.engine.inspect(r.container_id).catch(() => undefined);
      replicas.push({ replicaId: r.replica_id, containerId: r.container_id, state: c?.state ?? 'missing', health: c?.health ?? 'none' });
    }
    // Listed after the records were read: a runReplica finishing in between shows up here as well,
    // which the scheduler tolerates (it removes only what it has no live replica for).
    const recorded = new Set(rows.map((r) => r.container_id));
    const unknown = (await this.engine.list({ labels: { [ReplicaLabels.cluster]: this.opts.prefix } }))
      .filter((c) => !recorded.has(c.id))
      .map((c) => ({ containerId: c.id, name: c.name, state: c.state, ...(c.labels[ReplicaLabels.replica] ? { replicaId: c.labels[ReplicaLabels.replica] } : {}) }));
    return contracts().assert('NodeStatusEvent', {
      node: this.opts.node,
      instance: this.opts.instance,
      bridge: this.opts.bridge,
      capacity: { cpus: info.cpus, memoryBytes: info.memoryBytes },
      labels: info.labels,
      replicas,
      unknown,
      time: new Date().toISOString(),
    });
  }

  async publishStatus(): Promise<void> {
    this.opts.nc.publish(`${this.opts.prefix}.evt.node.${this.opts.node}.status`, JSON.stringify(await this.status()));
  }

  /** This cluster's running replica containers on the host (another cluster's share the host in tests). */
  async #runningReplicas(): Promise<{ containerId: string; replicaId: string; service: string }[]> {
    const list = await this.engine.list({ labels: { [ReplicaLabels.cluster]: this.opts.prefix, [ReplicaLabels.replica]: true } });
    return list
      .filter((c) => c.state === 'running')
      .map((c) => ({ containerId: c.id, replicaId: c.labels[ReplicaLabels.replica] ?? '', service: c.labels[ReplicaLabels.service] ?? '' }))
      .filter((r) => r.replicaId !== '' && r.service !== '');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#metrics?.stop();
    await this.#events?.close();
    await this.#reconciling?.catch(() => undefined);
    await this.ovs.close().catch(() => undefined);
    await this.engine.close().catch(() => undefined);
  }
}
