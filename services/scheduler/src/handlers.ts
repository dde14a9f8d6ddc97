// The scheduler's RDMP commands. The service commands change desired state in the task's database
// transaction. The replica transactions are the scheduler's own: each new replica is one
// transaction whose steps call the network-controller and the replica's node-agent over the bus,
// each call with a task id derived from the replica, so that a step re-run after a crash finds the
// call it made before instead of making it twice.
import { createHash } from 'node:crypto';
import { ErrorCodes, TaskFailed, errorFromInfo, type ApplyHandler, type JsonObject, type RdmpClient, type Step, type TransactionHandler } from '@sdmi/bus';
import { hostIfNameFor } from '@sdmi/container-net';
import { SchemaIds, type AddNodePayload, type RemoveNodePayload, type ReplicaAddress, type StartReplicaPayload, type StopReplicaPayload } from '@sdmi/contracts';
import { NetworkQueries } from '@sdmi/networks';
import { ReplicaStates, SchedulingError, ServiceCommandKinds, applyServiceCommand, checkNodeRemoval, serviceCommandKey, type Node, type ServiceCommand } from '@sdmi/scheduling';
import type pg from 'pg';
import type { Logger } from 'pino';
import { dnsStartStep, dnsStopStep } from './dns-steps';
import { nodeService, removeReplicaCommand, replicaKey } from './names';
import type { AdmittedNode, SchedulerStore } from './store';

/** How long a new replica's flows may take to reach its bridge before its start fails (and is undone). */
const FLOWS_DEADLINE_MS = 30_000;

export const ReplicaCommandKinds = { StartReplica: 'startReplica', StopReplica: 'stopReplica' } as const;

/** A UUID (version 5 layout) from a name: the same call gets the same task id every time. */
export function taskIdFor(name: string): string {
  const h = createHash('sha1').update(`sdmi:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Runs a command on another service exactly once per id: a task already completed gives its
 * recorded result, one in progress is waited for, a new one is submitted.
 */
export async function runOnce(client: RdmpClient, service: string, id: string, command: { kind: string; key: string; payload: Record<string, unknown> }, timeoutMs = 120_000): Promise<JsonObject> {
  const known = (await client.status(service, id).catch(() => undefined))?.records[0];
  if (known?.status === 'completed') return (known.result ?? {}) as JsonObject;
  if (known?.status === 'failed') throw errorFromInfo(known.error ?? { code: 'HANDLER_FAILED', message: `task ${id} on ${service} failed` });
  if (!known) await client.submit(service, { id, ...command });
  const [outcome] = await client.wait(service, id, { timeoutMs });
  if (outcome!.status === 'failed') throw errorFromInfo(outcome!.error ?? { code: 'HANDLER_FAILED', message: `task ${id} on ${service} failed` });
  return (outcome!.result ?? {}) as JsonObject;
}

/** A detach of an interface that is already gone has done its job. */
function unlessAlreadyDetached(err: { info?: { code?: string } }): void {
  if (err.info?.code !== 'INTERFACE_NOT_FOUND') throw err;
}

function guarded<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((err: unknown) => {
    if (err instanceof SchedulingError) throw new TaskFailed({ ...err.info, path: `/payload${err.info.path ?? ''}` }, { cause: err });
    throw err;
  });
}

export function serviceHandlers(store: SchedulerStore): ApplyHandler[] {
  const kinds = [
    [ServiceCommandKinds.DeployService, SchemaIds.DeployServicePayload],
    [ServiceCommandKinds.UpdateService, SchemaIds.UpdateServicePayload],
    [ServiceCommandKinds.ScaleService, SchemaIds.ScaleServicePayload],
    [ServiceCommandKinds.RemoveService, SchemaIds.RemoveServicePayload],
    [ServiceCommandKinds.RolloutUndo, SchemaIds.RolloutUndoPayload],
  ] as const;
  return kinds.map(([kind, schema]) => ({
    kind,
    payloadSchema: schema,
    apply: ({ task, db }) =>
      guarded(async () => {
        const command = { kind, payload: task.payload } as ServiceCommand;
        const id = serviceCommandKey(command);
        const next = applyServiceCommand(await store.service(db, id, true), command, Date.now());
        await store.saveService(db, id, next);
        const result: JsonObject = next ? { service: id, revision: next.revision, replicas: next.replicas } : { service: id, removed: true };
        return result;
      }),
  }));
}

/** What the node commands need to know of the nodes' reports (the loop has them). */
export interface NodeView {
  reporting(name: string): boolean;
  nodes(admitted: ReadonlyMap<string, AdmittedNode>): Node[];
}

export function nodeHandlers(store: SchedulerStore, view: NodeView): ApplyHandler[] {
  const addNode: ApplyHandler<AddNodePayload> = {
    kind: NodeCommandKinds.AddNode,
    payloadSchema: SchemaIds.AddNodePayload,
    apply: ({ task, db }) =>
      guarded(async () => {
        const { name, force } = task.payload;
        if (!view.reporting(name) && !force) {
          throw new TaskFailed({
            code: 'NODE_NOT_REPORTING',
            message: `/payload/name: node ${name} has not reported in the last 15 s: start its node-agent (SDMI_NODE_NAME=${name}), or admit it with force to place replicas once it does`,
            path: '/payload/name',
            rule: 'node-reporting',
          });
        }
        await store.setNode(db, name, 'ready');
        return { node: name, state: 'ready' };
      }),
  };
  const removeNode: ApplyHandler<RemoveNodePayload> = {
    kind: NodeCommandKinds.RemoveNode,
    payloadSchema: SchemaIds.RemoveNodePayload,
    apply: ({ task, db }) =>
      guarded(async () => {
        const { name, force } = task.payload;
        const admitted = await store.nodes(db);
        // Drains: every replica there gets a successor elsewhere first; refused when they would have nowhere to go.
        const check = checkNodeRemoval(name, view.nodes(admitted), await store.replicas(db), await store.services(db), force ?? false);
        await store.setNode(db, name, 'draining', force ?? false);
        const result: JsonObject = { node: name, state: 'draining', replicas: check.total, stranded: check.stranded.map((x) => `${x.replica}: ${x.reason}`) };
        return result;
      }),
  };
  return [addNode, removeNode];
}

export const NodeCommandKinds = { AddNode: 'addNode', RemoveNode: 'removeNode' } as const;

interface Allocated {
  interfaceId: string;
  networkId: string;
  ifname: string;
  ip: string | null;
  mac: string;
  prefixLength: number;
  gateway: string;
}

export interface ReplicaHandlerOptions {
  /** The cluster has DNS: starts register the replica's names, stops remove them (dns-steps.ts). */
  dns?: { log: Logger; publishTimeoutMs?: number };
  /** More steps at the end of every start (tests inject failures with them). */
  extraSteps?: readonly Step<StartReplicaPayload>[];
}

export function replicaHandlers(store: SchedulerStore, pool: pg.Pool, client: RdmpClient, options: ReplicaHandlerOptions = {}): TransactionHandler[] {
  const extraSteps = options.extraSteps ?? [];
  // The calls of one incarnation of a replica: `app-1@rev1` placed again after a scale-down must
  // not find the completed calls of the first one.
  const call = async (replicaId: string, what: string): Promise<string> => {
    const inc = await store.incarnation(pool, replicaId);
    if (inc === undefined) throw new TaskFailed({ code: 'REPLICA_NOT_PLACED', message: `replica ${replicaId} has no placement record; nothing to do` });
    return taskIdFor(`${replicaId}@${inc}:${what}`);
  };
  const dns = options.dns ? { client, call, ...options.dns } : undefined;
  const allocate: Step<StartReplicaPayload> = {
    name: 'allocate addresses',
    async do({ task }) {
      const p = task.payload;
      const service = await store.service(pool, p.service);
      if (!service) throw new TaskFailed({ code: 'SERVICE_NOT_FOUND', message: `service ${p.service} no longer exists; replica ${p.replicaId} is not started` });
      const out: Allocated[] = [];
      for (const [i, net] of service.networks.entries()) {
        const interfaceId = `${p.replicaId}/${net.ifname}`;
        const address = p.staticAddresses[i] ?? null;
        const ip = address ? { mode: 'static', address } : { mode: net.ip.mode === 'none' ? 'none' : 'dynamic' };
        const r = await runOnce(client, 'network-controller', await call(p.replicaId, `attach:${i}`), {
          kind: 'attachInterface',
          key: 'networks',
          payload: { interfaceId, networkId: net.network, host: p.node, portName: hostIfNameFor(interfaceId), ip },
        });
        out.push({ interfaceId, networkId: net.network, ifname: net.ifname, ip: r.ip as string | null, mac: r.mac as string, prefixLength: r.prefixLength as number, gateway: r.gateway as string });
      }
      return { interfaces: out } as unknown as JsonObject;
    },
    async undo({ task }) {
      const service = await store.service(pool, task.payload.service);
      for (const [i, net] of (service?.networks ?? []).entries()) {
        await runOnce(client, 'network-controller', await call(task.payload.replicaId, `undo-attach:${i}`), {
          kind: 'detachInterface',
          key: 'networks',
          payload: { interfaceId: `${task.payload.replicaId}/${net.ifname}` },
        }).catch(unlessAlreadyDetached);
      }
    },
  };
  const run: Step<StartReplicaPayload> = {
    name: 'run container',
    async do({ task, outputs }) {
      const p = task.payload;
      const service = await store.service(pool, p.service);
      const spec = service?.history.find((h) => h.revision === p.revision)?.spec;
      if (!spec) throw new TaskFailed({ code: 'REVISION_NOT_FOUND', message: `service ${p.service} has no revision ${p.revision}` });
      const interfaces = (outputs[0] as unknown as { interfaces: Allocated[] }).interfaces;
      let gatewayGiven = false;
      const wired = interfaces.map((a) => {
        const withGateway = a.ip !== null && !gatewayGiven;
        if (withGateway) gatewayGiven = true;
        return { interfaceId: a.interfaceId, networkId: a.networkId, ifname: a.ifname, mac: a.mac, address: a.ip === null ? null : `${a.ip}/${a.prefixLength}`, ...(withGateway ? { gateway: a.gateway } : {}) };
      });
      const container: Record<string, unknown> = { image: spec.image };
      if (spec.command) container.command = spec.command;
      if (spec.env) container.env = spec.env;
      if (spec.resources) container.resources = spec.resources;
      if (spec.healthCheck) container.healthCheck = spec.healthCheck;
      return runOnce(client, nodeService(p.node), await call(p.replicaId, `run`), {
        kind: 'runReplica',
        key: replicaKey(p.replicaId),
        payload: { replicaId: p.replicaId, service: p.service, revision: p.revision, container, interfaces: wired },
      });
    },
    async undo({ task }) {
      try {
        await runOnce(client, nodeService(task.payload.node), await call(task.payload.replicaId, `undo-run`), removeReplicaCommand(task.payload.replicaId, 2));
      } catch (err) {
        if ((err as { code?: string }).code !== ErrorCodes.Timeout) throw err;
        // The node does not answer: its container, if any, is removed when it does (the loop), and
        // the undo goes on so that the addresses are not held by a replica that never started.
        const inc = (await store.incarnation(pool, task.payload.replicaId)) ?? '0';
        await pool.query('INSERT INTO sched.orphan (replica_id, incarnation, node) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [task.payload.replicaId, inc, task.payload.node]);
      }
    },
  };
  // The replica is running for its clients only once its bridge holds its flows (admission,
  // delivery, egress): the network-controller says so per interface.
  const flows: Step<StartReplicaPayload> = {
    name: 'install flows',
    async do({ outputs }) {
      const ids = (outputs[0] as unknown as { interfaces: Allocated[] }).interfaces.filter((a) => a.ip !== null).map((a) => a.interfaceId);
      if (ids.length === 0) return { flows: [] };
      const end = Date.now() + FLOWS_DEADLINE_MS;
      for (;;) {
        let waiting: string[];
        try {
          const r = await client.query('network-controller', NetworkQueries.interfaceFlows, { interfaceIds: ids });
          waiting = r.interfaces.filter((x) => !x.installed).map((x) => `${x.interfaceId}: ${x.reason ?? 'not installed'}`);
        } catch (err) {
          waiting = [`the network-controller did not answer: ${(err as Error).message}`];
        }
        if (waiting.length === 0) return { flows: ids };
        if (Date.now() > end) {
          throw new TaskFailed({ code: 'FLOWS_NOT_INSTALLED', message: `flows not on the bridge after ${FLOWS_DEADLINE_MS / 1000} s: ${waiting.join('; ')}` });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    // The flows go with the interfaces (allocate's undo detaches them).
    async undo() {},
  };
  const start: TransactionHandler<StartReplicaPayload> = {
    kind: ReplicaCommandKinds.StartReplica,
    payloadSchema: SchemaIds.StartReplicaPayload,
    steps: () => [allocate, run, flows, ...(dns ? [dnsStartStep(dns)] : []), ...extraSteps],
    async finalize({ task, db, outputs }) {
      const allocated = (outputs[0] as unknown as { interfaces: Allocated[] }).interfaces;
      const addresses: ReplicaAddress[] = allocated.map((a) => ({ network: a.networkId, ifname: a.ifname, ip: a.ip, mac: a.mac }));
      await db.query(`UPDATE sched.replica SET state = $2, since = now(), interfaces = $3, addresses = $4 WHERE id = $1`, [
        task.payload.replicaId,
        ReplicaStates.Running,
        JSON.stringify(allocated.map((a) => a.interfaceId)),
        JSON.stringify(addresses),
      ]);
      return { replicaId: task.payload.replicaId, node: task.payload.node, ...(outputs[1] as JsonObject) };
    },
  };
  // Removal only goes forward: its steps are idempotent and a failure is retried by the next plan.
  const removeContainer: Step<StopReplicaPayload> = {
    name: 'remove container',
    async do({ task }) {
      return runOnce(client, nodeService(task.payload.node), await call(task.payload.replicaId, `remove`), removeReplicaCommand(task.payload.replicaId, 5));
    },
    async undo() {},
  };
  const release: Step<StopReplicaPayload> = {
    name: 'release addresses',
    async do({ task }) {
      const r = await pool.query<{ interfaces: string[] }>('SELECT interfaces FROM sched.replica WHERE id = $1', [task.payload.replicaId]);
      const ids = r.rows[0]?.interfaces ?? [];
      for (const [i, interfaceId] of ids.entries()) {
        await runOnce(client, 'network-controller', await call(task.payload.replicaId, `detach:${i}`), { kind: 'detachInterface', key: 'networks', payload: { interfaceId } }).catch(unlessAlreadyDetached);
      }
      return { released: ids };
    },
    async undo() {},
  };
  const stop: TransactionHandler<StopReplicaPayload> = {
    kind: ReplicaCommandKinds.StopReplica,
    payloadSchema: SchemaIds.StopReplicaPayload,
    steps: () => [...(dns ? [dnsStopStep(dns)] : []), removeContainer, release],
    async finalize({ task, db }) {
      await store.removeReplica(db, task.payload.replicaId);
      return { replicaId: task.payload.replicaId, stopped: true };
    },
  };
  return [start, stop];
}
