// sdmi logs: a replica's container output, or that of each live replica of a service, read through
// the node-agents (the SDK's replicaLogs), never through a Docker socket. Like `docker logs`, what
// a container wrote to stdout goes to stdout and its stderr to stderr, so either can be redirected.
import { followLogs, replicaLogs, serviceOfReplica, type Cluster, type ReplicaRef } from '@sdmi/sdk';
import type { ReplicaLogLine } from '@sdmi/contracts';
import { parse, withCluster, type Io } from './commands';
import { CliError, ExitCodes, describeFailure } from './exit';

const USAGE = 'sdmi logs <replica-id | tenant/service> [--tail N] [-f] [--timestamps]';
const SERVICE_ID = /^[a-z][a-z0-9-]{0,62}\/[a-z][a-z0-9-]{0,62}$/;
/** The node-agent's bounds for tail. */
const MAX_TAIL = 10_000;
/** Replicas whose container may have output to read (pending ones have none yet; stopped ones are gone). */
const LIVE = new Set(['starting', 'running', 'healthy', 'unhealthy', 'stopping']);

type Target = { replica: string } | { service: string };

function target(raw: string): Target {
  if (serviceOfReplica(raw) !== undefined) return { replica: raw };
  if (SERVICE_ID.test(raw)) return { service: raw };
  throw new CliError(`"${raw}" is neither a replica id (<tenant>/<service>-<slot>@rev<revision>, see: sdmi get replicas) nor a service id (<tenant>/<service>)`, ExitCodes.DataErr);
}

function tail(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_TAIL) throw new CliError(`--tail must be a whole number from 1 to ${MAX_TAIL}, got "${raw}"`, ExitCodes.DataErr);
  return Number(raw);
}

export async function logs(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { tail: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, timestamps: { type: 'boolean' } }, { min: 1, max: 1, usage: USAGE });
  const what = target(positionals[0]!);
  const n = tail(values.tail as string | undefined);
  const opts = { ...(n !== undefined ? { tail: n } : {}), ...(values.timestamps ? { timestamps: true } : {}) };
  return withCluster(values, async (c) => {
    const replicas = 'replica' in what ? [what.replica] : await liveReplicas(c, what.service);
    // One replica prints its lines as they are; several say whose each line is.
    const print = (r: string, l: ReplicaLogLine): void => (l.stream === 'stderr' ? io.err : io.out)('service' in what ? `${r} | ${l.text}` : l.text);
    // A replica of a service that cannot be read is said and skipped; a replica asked for by name is the whole command.
    const failed = (r: string, err: unknown): void => {
      if ('replica' in what) throw err;
      io.err(`sdmi: ${r}: ${describeFailure(err).text}`);
    };
    let ok = true;
    if (values.follow) {
      await Promise.all(
        replicas.map(async (r) => {
          try {
            for await (const l of followLogs(c, r, { ...opts, ...(io.signal ? { signal: io.signal } : {}) })) print(id(r), l);
          } catch (err) {
            ok = false;
            failed(id(r), err);
          }
        }),
      );
      return ok ? ExitCodes.Ok : ExitCodes.Failed;
    }
    for (const r of replicas) {
      try {
        const reply = await replicaLogs(c, r, opts);
        for (const l of reply.lines) print(id(r), l);
        if (reply.truncated) io.err(`sdmi: ${id(r)}: lines were left out or cut to fit one reply (at most 512 KiB): ask for fewer with --tail`);
      } catch (err) {
        ok = false;
        failed(id(r), err);
      }
    }
    return ok ? ExitCodes.Ok : ExitCodes.Failed;
  });
}

const id = (r: string | ReplicaRef): string => (typeof r === 'string' ? r : r.id);

async function liveReplicas(c: Cluster, service: string): Promise<ReplicaRef[]> {
  const all = await c.replicas({ service });
  const live = all.filter((r) => LIVE.has(r.state)).map((r) => ({ id: r.id, node: r.node }));
  if (live.length === 0) {
    const why = all.length === 0 ? `no replicas of service ${service}` : `none of the ${all.length} replica(s) of service ${service} is live (read one by its id)`;
    throw new CliError(`${why} (see: sdmi get replicas -s ${service})`, ExitCodes.Failed);
  }
  return live;
}
