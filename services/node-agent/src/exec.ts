// execInReplica: the control channel through which a user's workflow runs commands inside its
// replicas' containers, without SSH and without the Docker socket in the user's hands. The agent
// owns the socket; the command reaches it as a task of its node, in order with the replica's
// other tasks.
import { TaskError, type ApplyHandler, type JsonObject } from '@sdmi/bus';
import {
  EXEC_DEFAULT_TIMEOUT_MS,
  NodeAgentCommandKinds,
  NodeAgentErrorCodes,
  SchemaIds,
  contracts,
  type ExecInReplicaPayload,
  type ExecInReplicaResult,
} from '@sdmi/contracts';
import { ContainerNotFound, ContainerNotRunning, DockerError, ExecTimeout, type DockerEngine } from '@sdmi/docker';
import type { Logger } from 'pino';

/**
 * Per stream, the most its JSON text may take. The result travels in one NATS message (the
 * server's max_payload is 1 MiB by default): two streams at this size and the envelope fit.
 */
export const OUTPUT_JSON_BYTES = 256 * 1024;

const jsonBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s));

/**
 * The longest prefix of `text` whose JSON string takes at most `maxBytes`. Escapes make that
 * anything from the byte length to six times it (control characters), so it is measured, not
 * guessed; a surrogate pair is never split.
 */
export function capJsonText(text: string, maxBytes: number): { text: string; cut: boolean } {
  if (jsonBytes(text) <= maxBytes) return { text, cut: false };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (jsonBytes(text.slice(0, mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  const last = text.charCodeAt(lo - 1);
  if (lo > 0 && last >= 0xd800 && last <= 0xdbff) lo--;
  return { text: text.slice(0, lo), cut: true };
}

/**
 * PostgreSQL's jsonb, which keeps the task's result, refuses \u0000, and a result that cannot be
 * stored would have the task retried for ever: NUL becomes U+FFFD, as bytes that are not UTF-8 do.
 */
export const withoutNul = (s: string): string => s.replaceAll('\0', '\uFFFD');

/** argv as an error message shows it: whole when short, since it says which command it was. */
function shown(argv: readonly string[]): string {
  const s = JSON.stringify(argv);
  return s.length <= 300 ? s : `${s.slice(0, 300)}…`;
}

export interface ExecDeps {
  engine: DockerEngine;
  node: string;
  /** The bus prefix, which the agent's containers carry as their cluster label. */
  cluster: string;
  labels: { replica: string; cluster: string };
  log: Logger;
}

/**
 * The handler. An ApplyHandler although its effect is not in the database: it has one effect and
 * its refusals are the task's own codes. The task's transaction stays open (one of the worker's
 * sessions) while the process runs; a crash before the commit runs the exec again when the task
 * comes back, hence at least once.
 */
export function execInReplicaHandler(deps: ExecDeps): ApplyHandler<ExecInReplicaPayload> {
  const { engine, node, log } = deps;
  return {
    kind: NodeAgentCommandKinds.ExecInReplica,
    payloadSchema: SchemaIds.ExecInReplicaPayload,
    async apply({ task, db }): Promise<JsonObject> {
      const p = task.payload;
      const timeoutMs = p.timeoutMs ?? EXEC_DEFAULT_TIMEOUT_MS;
      const where = { replicaId: p.replicaId, node };
      // The record, not a container that happens to carry the label, says whether this node runs it.
      const recorded = await db.query('SELECT 1 FROM node_agent.replica WHERE node = $1 AND replica_id = $2', [node, p.replicaId]);
      if (!recorded.rowCount) throw new TaskError(NodeAgentErrorCodes.ReplicaNotFound, `node ${node} runs no replica ${p.replicaId}`, where);
      const [container] = await engine.list({ labels: { [deps.labels.replica]: p.replicaId, [deps.labels.cluster]: deps.cluster } });
      const notRunning = (state: string, containerId?: string) =>
        new TaskError(NodeAgentErrorCodes.ReplicaNotRunning, `replica ${p.replicaId} on node ${node} is not running (its container is ${state}): nothing to exec in`, { ...where, state, ...(containerId ? { containerId } : {}) });
      if (!container) throw notRunning('missing');
      if (container.state !== 'running') throw notRunning(container.state, container.id);

      const program = p.argv[0];
      const started = performance.now();
      let out: Awaited<ReturnType<DockerEngine['exec']>>;
      try {
        out = await engine.exec(container.id, p.argv, { timeoutMs, maxOutputBytes: OUTPUT_JSON_BYTES, killOnTimeout: true, ...(p.stdin !== undefined ? { stdin: p.stdin } : {}) });
      } catch (err) {
        if (err instanceof ExecTimeout) {
          log.warn({ ...where, program, timeoutMs, killed: err.killed }, 'exec in replica timed out');
          const fate = err.killed ? 'it was killed' : 'it could not be killed and may still run';
          throw new TaskError(NodeAgentErrorCodes.ExecTimeout, `exec ${shown(p.argv)} in replica ${p.replicaId} on node ${node} did not finish within ${timeoutMs} ms; ${fate}`, { ...where, program, timeoutMs, killed: err.killed });
        }
        // Stopped or removed between the lookup and the exec.
        if (err instanceof ContainerNotRunning || err instanceof ContainerNotFound) throw notRunning('stopped', container.id);
        // Without details: a Docker error's details may hold the command's output or arguments.
        if (err instanceof DockerError) throw new TaskError(err.code, err.message, where);
        throw err;
      }
      const durationMs = Math.round(performance.now() - started);
      const stdout = capJsonText(withoutNul(out.stdout), OUTPUT_JSON_BYTES);
      const stderr = capJsonText(withoutNul(out.stderr), OUTPUT_JSON_BYTES);
      const result: ExecInReplicaResult = { exitCode: out.exitCode, stdout: stdout.text, stderr: stderr.text, truncated: out.truncated || stdout.cut || stderr.cut, durationMs };
      // Sizes only: stdin and output may hold secrets.
      log.info(
        { ...where, program, exitCode: result.exitCode, stdinBytes: p.stdin === undefined ? 0 : Buffer.byteLength(p.stdin), stdoutBytes: Buffer.byteLength(result.stdout), stderrBytes: Buffer.byteLength(result.stderr), truncated: result.truncated, durationMs },
        'exec in replica finished',
      );
      return { ...contracts().assert('ExecInReplicaResult', result) };
    },
  };
}
