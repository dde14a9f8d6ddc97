import path from 'node:path';
import { parseArgs } from 'node:util';
import { positiveInt, runScript } from './cli';
import { DEFAULT_ROOT_DIR } from './controlplane';
import { DetachedOutcome, stopDetached } from './detached';

const USAGE = `usage: down [--run-dir DIR] [--stop-timeout MS]
Stops the services that up --detach left running (SIGTERM, then SIGKILL after the timeout), using
<run-dir>/pids.`;

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
  const results = await stopDetached(runDir, { stopTimeoutMs: positiveInt('stop-timeout', values['stop-timeout']) ?? 15_000 });
  if (results === undefined) {
    console.error(`down: nothing to stop (no pids file in ${runDir})`);
    return 0;
  }
  for (const r of results) console.log(`${r.service.padEnd(20)} pid ${String(r.pid).padEnd(8)} ${r.outcome}`);
  return results.every((r) => r.outcome === DetachedOutcome.stopped || r.outcome === DetachedOutcome.notRunning) ? 0 : 1;
}

runScript('down', USAGE, main);
