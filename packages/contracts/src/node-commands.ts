// How the node-agent's own commands and queries are named and addressed. They live beside their
// contracts because their callers (the scheduler, the SDK) share no other package with the
// node-agent, and services are not libraries.
import type { ExecInReplicaPayload, ReplicaLogsQuery, ReplicaLogsReply } from './generated/types';
import { SchemaIds } from './ids';
import { queryContract } from './queries';

export const NodeAgentCommandKinds = { RunReplica: 'runReplica', RemoveReplica: 'removeReplica', ExecInReplica: 'execInReplica' } as const;
export type NodeAgentCommandKind = (typeof NodeAgentCommandKinds)[keyof typeof NodeAgentCommandKinds];

/**
 * The node-agent's queries, asked of one node's agent as `client.query(nodeService(node), ...)`:
 * reads that change nothing, so they are not tasks and do not wait behind the replica's commands.
 */
export const NodeAgentQueries = {
  /** A replica's container output (stdout and stderr lines with their times), also of a stopped container. REPLICA_NOT_FOUND when the node has none. */
  replicaLogs: queryContract<ReplicaLogsQuery, ReplicaLogsReply>('replicaLogs', SchemaIds.ReplicaLogsQuery, SchemaIds.ReplicaLogsReply),
} as const;

/** The tail of a replicaLogs query that does not say. */
export const REPLICA_LOGS_DEFAULT_TAIL = 100;

/** Codes a node-agent's replica commands and queries fail with, besides the bus's own. */
export const NodeAgentErrorCodes = {
  /** The node has no record of the replica: it was never run there, or has been removed. */
  ReplicaNotFound: 'REPLICA_NOT_FOUND',
  /** The node runs the replica, but its container is not running (or is gone). */
  ReplicaNotRunning: 'REPLICA_NOT_RUNNING',
  /** The exec'd process outlived its timeoutMs. */
  ExecTimeout: 'EXEC_TIMEOUT',
} as const;

/** The RDMP service a node's own tasks are submitted to: `node-<node>` (dots become dashes: it is a subject token). */
export function nodeService(node: string): string {
  return `node-${node.replaceAll('.', '-')}`;
}

/**
 * The resource key of a replica's tasks on its node: every command for one replica carries it, so
 * they run one at a time in the order submitted. '#' is not a key character.
 */
export function replicaKey(replicaId: string): string {
  return `replica/${replicaId.replaceAll('#', '.')}`;
}

export interface NodeAgentCommand<P> {
  readonly kind: NodeAgentCommandKind;
  readonly key: string;
  readonly payload: P;
}

/** timeoutMs of an execInReplica that does not say. */
export const EXEC_DEFAULT_TIMEOUT_MS = 30_000;

/** What an outcome may take beyond the exec itself: waiting behind the replica's earlier tasks, the container lookup, the bus. */
const EXEC_WAIT_MARGIN_MS = 30_000;

/**
 * An execInReplica command, for `client.run(nodeService(node), execInReplica(payload), { timeoutMs:
 * execInReplicaWaitMs(payload) })`. The payload is checked against its schema when submitted.
 */
export function execInReplica(payload: ExecInReplicaPayload): NodeAgentCommand<ExecInReplicaPayload & Record<string, unknown>> {
  return { kind: NodeAgentCommandKinds.ExecInReplica, key: replicaKey(payload.replicaId), payload: { ...payload } };
}

/** How long to wait for an execInReplica's outcome: longer than the exec may run, so a timeout is reported by the node, not guessed by the caller. */
export function execInReplicaWaitMs(payload: Pick<ExecInReplicaPayload, 'timeoutMs'>): number {
  return (payload.timeoutMs ?? EXEC_DEFAULT_TIMEOUT_MS) + EXEC_WAIT_MARGIN_MS;
}
