// sdmi top: the latest CPU and memory of every node and replica, from the metrics-collector.
import { Timeout } from '@sdmi/bus';
import type { TopReply } from '@sdmi/contracts';
import { parse, withCluster, type Io } from './commands';
import { CliError, ExitCodes } from './exit';
import { outputFormat, render, table } from './format';

export const TOP_USAGE = 'sdmi top [--service tenant/service] [-o table|json|yaml]';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
function bytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(1)}Gi` : `${(n / MiB).toFixed(0)}Mi`;
}
const cores = (n: number): string => n.toFixed(2);

export function topTables(r: TopReply): string {
  const nodes = table(
    ['NODE', 'CPU(cores)', 'CPU%', 'LOAD1', 'MEMORY', 'MEMORY%'],
    r.nodes.map((n) => [n.node, `${cores(n.cpu.usageRatio * n.cpu.cores)}/${n.cpu.cores}`, `${Math.round(n.cpu.usageRatio * 100)}%`, n.load.one.toFixed(2), `${bytes(n.memory.usedBytes)}/${bytes(n.memory.totalBytes)}`, `${Math.round((100 * n.memory.usedBytes) / n.memory.totalBytes)}%`]),
  );
  const replicas = table(
    ['REPLICA', 'SERVICE', 'NODE', 'CPU(cores)', 'MEMORY'],
    r.replicas.map((c) => [c.replicaId, c.service, c.node, `${cores(c.cpu.usedCores)}/${cores(c.cpu.limitCores)}`, `${bytes(c.memory.usedBytes)}/${bytes(c.memory.limitBytes)}`]),
  );
  const refused = r.refused.last ? `\n\n${r.refused.count} sample(s) refused; last on ${r.refused.last.subject} at ${r.refused.last.at}: ${r.refused.last.error.message}` : '';
  const empty = r.nodes.length === 0 ? `\n(no node reported within ${r.staleAfterMs} ms: are the node-agents running?)` : '';
  return `${nodes}${empty}\n\n${replicas}${refused}`;
}

export async function top(args: readonly string[], io: Io): Promise<number> {
  const { values } = parse(args, { output: { type: 'string', short: 'o' }, service: { type: 'string' } }, { min: 0, max: 0, usage: TOP_USAGE });
  const format = outputFormat(values.output as string | undefined);
  return withCluster(values, async (c) => {
    let r: TopReply;
    try {
      r = await c.top(typeof values.service === 'string' ? { service: values.service } : {});
    } catch (err) {
      if (err instanceof Timeout) {
        throw new CliError(`no metrics-collector answered on prefix "${c.names.prefix}" (${err.message})\nstart it with the control plane (sdmi up), or run services/metrics-collector; check --prefix`, ExitCodes.Unavailable);
      }
      throw err;
    }
    io.out(render(format, r, () => topTables(r)));
    return ExitCodes.Ok;
  });
}
