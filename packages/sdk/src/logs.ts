// A replica's container output, asked of the node-agent that runs it (its replicaLogs query): the
// agent owns the Docker socket, so the caller needs neither it nor a shell on the node. Where the
// replica runs comes from the scheduler's listReplicas.
import { QueryFailed } from '@sdmi/bus';
import { NodeAgentErrorCodes, NodeAgentQueries, nodeService, type ReplicaLogLine, type ReplicaLogsReply } from '@sdmi/contracts';
import type { Cluster } from './cluster';

export interface LogOptions {
  /** How many lines at most: without since the last ones (default 100), with since the first ones after it. 1-10000. */
  tail?: number;
  /** Only lines written strictly after this RFC 3339 time (a line's `time` reads on from that line). */
  since?: string;
  /** Each line's text starts with its time, as `docker logs --timestamps` prints it. */
  timestamps?: boolean;
}

export interface FollowOptions extends LogOptions {
  /** Time between asks once the output is read up to now; default 1000 ms. */
  intervalMs?: number;
  /** Ends the iteration (normally) when aborted. */
  signal?: AbortSignal;
}

/** A replica as far as its logs go: its id and the node that runs it. */
export interface ReplicaRef {
  readonly id: string;
  readonly node: string;
}

const REPLICA_ID = /^([a-z][a-z0-9-]{0,62})\/([a-z][a-z0-9-]{0,62})-[0-9]{1,6}@rev[0-9]{1,9}(?:#[0-9]{1,6})?$/;

/** The service of a replica id (`shop/web-2@rev3` → `shop/web`); undefined when it is not a replica id. */
export function serviceOfReplica(replicaId: string): string | undefined {
  const m = REPLICA_ID.exec(replicaId);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** Where the scheduler placed a replica. QueryFailed REPLICA_NOT_FOUND when it has no such replica. */
export async function locateReplica(cluster: Cluster, replicaId: string): Promise<ReplicaRef> {
  const service = serviceOfReplica(replicaId);
  const found = service === undefined ? undefined : (await cluster.replicas({ service })).find((r) => r.id === replicaId);
  if (!found) {
    throw new QueryFailed({
      code: NodeAgentErrorCodes.ReplicaNotFound,
      message: `the scheduler has no replica ${replicaId}${service ? ` (see: sdmi get replicas -s ${service})` : ''}`,
      details: { replicaId },
    });
  }
  return { id: found.id, node: found.node };
}

/** One read of a replica's output, oldest line first; `truncated` says lines were left out (ask again from the last one's time). */
export async function replicaLogs(cluster: Cluster, replica: string | ReplicaRef, opts: LogOptions = {}): Promise<ReplicaLogsReply> {
  const r = typeof replica === 'string' ? await locateReplica(cluster, replica) : replica;
  return cluster.client.query(nodeService(r.node), NodeAgentQueries.replicaLogs, {
    replicaId: r.id,
    ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.timestamps !== undefined ? { timestamps: opts.timestamps } : {}),
  });
}

/** Before any line: a since that takes every line there is. */
const BEGINNING = '1970-01-01T00:00:00Z';

/**
 * A replica's output as it is written: the last `tail` lines (or those after `since`), then every
 * new line, asking again every `intervalMs` from the last line's time (at once while the node says
 * there are more), so that no line comes twice or is skipped. Ends when `signal` aborts; a replica
 * that goes away ends it with the node's error.
 */
export async function* followLogs(cluster: Cluster, replica: string | ReplicaRef, opts: FollowOptions = {}): AsyncGenerator<ReplicaLogLine> {
  const r = typeof replica === 'string' ? await locateReplica(cluster, replica) : replica;
  const { intervalMs = 1000, signal } = opts;
  let reply = await replicaLogs(cluster, r, opts);
  let withSince = opts.since !== undefined;
  // An empty first read without since says the output was empty: every line from now on is new.
  let since = reply.lines.at(-1)?.time ?? opts.since ?? BEGINNING;
  for (;;) {
    for (const line of reply.lines) {
      if (signal?.aborted) return;
      yield line;
    }
    // With since, truncated means that more lines follow the last one: read on at once.
    const more = withSince && reply.truncated && reply.lines.length > 0;
    if (!more && !(await pause(intervalMs, signal))) return;
    if (signal?.aborted) return;
    // From here on with since (and the most lines a reply takes): a tail would cut the front of what came meanwhile.
    reply = await replicaLogs(cluster, r, { since, tail: 10_000, ...(opts.timestamps !== undefined ? { timestamps: opts.timestamps } : {}) });
    withSince = true;
    since = reply.lines.at(-1)?.time ?? since;
  }
}

/** Waits, or ends early when aborted; false when aborted. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
