// How the scheduler names what it asks of others. The node-agent's service and a replica's key
// are the contracts' (@sdmi/contracts), shared with the node-agent and the SDK.
import { replicaKey } from '@sdmi/contracts';

export { nodeService, replicaKey } from '@sdmi/contracts';

/** The node-agent command that removes a replica's container and its wiring. */
export function removeReplicaCommand(replicaId: string, timeoutSec: number): { kind: string; key: string; payload: Record<string, unknown> } {
  return { kind: 'removeReplica', key: replicaKey(replicaId), payload: { replicaId, timeoutSec } };
}
