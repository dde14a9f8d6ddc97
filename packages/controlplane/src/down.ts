import path from 'node:path';
import { parseArgs } from 'node:util';
import { positiveInt, runScript } from './cli';
import { CONTROLPLANE_LABEL, ContainerOutcome, containerLogFile, stopContainers } from './containers';
import { removeContainerSeedCopies } from './credentials';
import { DEFAULT_ROOT_DIR } from './controlplane';
import { DetachedOutcome, stopDetached } from './detached';
import { stopDnsServer } from './dns-server';
import { messageOf } from './text';

const USAGE = `usage: down [--run-dir DIR] [--stop-timeout MS]
Stops the services that up --detach left running (SIGTERM, then SIGKILL after the timeout): the
processes in <run-dir>/pids and the containers labelled sdmi.controlplane=<run-dir>, which it
also removes; then the DNS server up started (dnsdist and pdns_server, by <run-dir>/dns/*.pid).
The DNS zone database and the API key stay in <run-dir>/dns for the next up.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'run-dir': { type: 'string' },
      'stop-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const runDir = path.resolve(values['run-dir'] ?? path.join(DEFAULT_ROOT_DIR, '.sdmi'));
  const stopTimeoutMs = positiveInt('stop-timeout', values['stop-timeout']) ?? 15_000;
  const [processes, containers] = await Promise.all([
    stopDetached(runDir, { stopTimeoutMs }),
    stopContainers(runDir, { stopTimeoutMs }).catch((err: unknown) => {
      // Without Docker there are no containers to stop; the processes still are.
      console.error(`down: cannot list containers: ${messageOf(err)}`);
      return [];
    }),
  ]);
  // The containers' copies of their seeds go with them.
  if (containers.length > 0) removeContainerSeedCopies(runDir);
  // After the services: dns-manager talks to PowerDNS until it stops.
  const dns = await stopDnsServer(runDir, { stopTimeoutMs });
  if (processes === undefined && containers.length === 0 && dns.length === 0) {
    console.error(`down: nothing to stop (no pids file in ${runDir}, no containers labelled ${CONTROLPLANE_LABEL}=${runDir}, no DNS server)`);
    return 0;
  }
  for (const r of processes ?? []) console.log(`${r.service.padEnd(20)} pid ${String(r.pid).padEnd(8)} ${r.outcome}`);
  for (const r of containers) {
    const why = r.outcome === ContainerOutcome.stopFailed ? ` (exit code ${r.code ?? 'unknown'}; its output: ${containerLogFile(runDir, r.name)})` : '';
    console.log(`${r.service.padEnd(20)} container ${r.name.padEnd(40)} ${r.outcome}${why}`);
  }
  for (const r of dns) console.log(`${r.program.padEnd(20)} pid ${String(r.pid).padEnd(8)} ${r.outcome}`);
  const fine: readonly string[] = [DetachedOutcome.stopped, DetachedOutcome.notRunning];
  return [...(processes ?? []), ...containers, ...dns].every((r) => fine.includes(r.outcome)) ? 0 : 1;
}

runScript('down', USAGE, main);
