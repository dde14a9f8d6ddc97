// How the scheduler names what it asks of others: the RDMP service of a node's agent and the
// resource key of a replica's tasks (both must be valid tokens: dots and '#' are not everywhere).

/** The node-agent's own RDMP service for a node (the node-agent derives it the same way). */
export function nodeService(node: string): string {
  return `node-${node.replaceAll('.', '-')}`;
}

/** The RDMP resource key of a replica's tasks ('#' is not a key character). */
export function replicaKey(replicaId: string): string {
  return `replica/${replicaId.replaceAll('#', '.')}`;
}

/** The node-agent command that removes a replica's container and its wiring. */
export function removeReplicaCommand(replicaId: string, timeoutSec: number): { kind: string; key: string; payload: Record<string, unknown> } {
  return { kind: 'removeReplica', key: replicaKey(replicaId), payload: { replicaId, timeoutSec } };
}
