// replicaLogs: a replica's container output, read by the agent that owns the Docker socket, so that
// `sdmi logs` needs neither the socket (root on the host) nor a shell on the node. A query, not a
// task: reading changes nothing, is not worth a record, and must not wait behind the replica's
// runReplica/removeReplica (the logs of a replica that is stuck starting are what one wants then).
import { TaskError, serveQuery, type QueryHandler } from '@sdmi/bus';
import { NodeAgentErrorCodes, NodeAgentQueries, REPLICA_LOGS_DEFAULT_TAIL, tenantOfId, type ReplicaLogLine, type ReplicaLogsQuery, type ReplicaLogsReply } from '@sdmi/contracts';
import { ContainerNotFound, parseTimeNs, type DockerEngine } from '@sdmi/docker';
import type pg from 'pg';
import { capJsonText, withoutNul } from './exec';

/**
 * The most a reply's JSON may take: it is one NATS message (1 MiB by default) inside the query's
 * envelope, and half of that leaves room for the envelope and for servers with a smaller limit.
 */
export const REPLY_JSON_BYTES = 512 * 1024;
/** A line's text at most, as JSON: a reply always holds several lines, so a reader always gets on. */
export const LINE_JSON_BYTES = 64 * 1024;
/** What `{"lines":[],"truncated":false}` and the QueryReply envelope around it take, with room to spare. */
const ENVELOPE_BYTES = 128;

export interface LogsDeps {
  engine: DockerEngine;
  pool: pg.Pool;
  node: string;
  /** The bus prefix, which the agent's containers carry as their cluster label. */
  cluster: string;
  labels: { replica: string; cluster: string };
}

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

export function replicaLogsQuery(deps: LogsDeps): QueryHandler {
  return serveQuery(NodeAgentQueries.replicaLogs, (q, ctx) => {
    // Another tenant's replica is answered as not here: its output is that tenant's business.
    if (!ctx.canRead(tenantOfId(q.replicaId))) throw new TaskError(NodeAgentErrorCodes.ReplicaNotFound, `node ${deps.node} runs no replica ${q.replicaId}`, { replicaId: q.replicaId, node: deps.node });
    return replicaLogs(deps, q);
  });
}

export async function replicaLogs(deps: LogsDeps, q: ReplicaLogsQuery): Promise<ReplicaLogsReply> {
  const { engine, node } = deps;
  const where = { replicaId: q.replicaId, node };
  // The record, not a container that happens to carry the label, says whether this node runs it.
  const recorded = await deps.pool.query('SELECT 1 FROM node_agent.replica WHERE node = $1 AND replica_id = $2', [node, q.replicaId]);
  if (!recorded.rowCount) throw new TaskError(NodeAgentErrorCodes.ReplicaNotFound, `node ${node} runs no replica ${q.replicaId}`, where);
  const gone = () => new TaskError(NodeAgentErrorCodes.ReplicaNotFound, `replica ${q.replicaId} on node ${node} has no container any more: its output went with it`, { ...where, state: 'missing' });
  const [container] = await engine.list({ labels: { [deps.labels.replica]: q.replicaId, [deps.labels.cluster]: deps.cluster } });
  if (!container) throw gone();

  const tail = q.tail ?? REPLICA_LOGS_DEFAULT_TAIL;
  // The schema checked the format; the parser reads the nanoseconds that Date would lose.
  const sinceNs = q.since !== undefined ? parseTimeNs(q.since) : undefined;
  if (q.since !== undefined && sinceNs === undefined) throw new TaskError('SCHEMA_VIOLATION', `since ${JSON.stringify(q.since)} is not an RFC 3339 time`, { ...where, since: q.since });
  let stream;
  try {
    stream = await engine.logs(container.id, sinceNs !== undefined ? { since: sinceNs } : { tail });
  } catch (err) {
    // Removed between the lookup and the read.
    if (err instanceof ContainerNotFound) throw gone();
    throw err;
  }

  const budget = REPLY_JSON_BYTES - ENVELOPE_BYTES;
  const lines: ReplicaLogLine[] = [];
  const sizes: number[] = [];
  let used = 0;
  let truncated = false;
  for await (const entry of stream) {
    const raw = withoutNul(entry.text);
    const text = capJsonText(q.timestamps ? `${entry.time} ${raw}` : raw, LINE_JSON_BYTES);
    const line: ReplicaLogLine = { stream: entry.stream, time: entry.time, text: text.text };
    const size = jsonBytes(line) + 1;
    if (sinceNs !== undefined) {
      // Reading on from since: the first lines, and a reader asks again from the last one's time.
      if (lines.length === tail || used + size > budget) {
        truncated = true;
        break;
      }
    }
    truncated ||= entry.truncated || text.cut;
    lines.push(line);
    sizes.push(size);
    used += size;
    // The last lines: what does not fit goes from the front.
    while (sinceNs === undefined && used > budget) {
      lines.shift();
      used -= sizes.shift()!;
      truncated = true;
    }
  }
  return { lines, truncated };
}
