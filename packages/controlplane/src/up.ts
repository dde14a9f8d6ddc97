import { parseArgs } from 'node:util';
import { LogLevel, createLogger, hostInstanceId } from '@sdmi/service';
import { positiveInt, runScript, UsageError } from './cli';
import { ControlPlane, type StopResult } from './controlplane';
import { assertNotRunning } from './detached';
import { formatStatusTable } from './status';

const USAGE = `usage: up [--detach] [--run-dir DIR] [--nats-url URL] [--services a,b,...]
          [--instance-id ID] [--ready-timeout MS] [--stop-timeout MS]
Starts the SDMI services, waits until each reports ready, prints their status. Without --detach
it stays in the foreground until Ctrl-C (or SIGTERM) and then stops them; with --detach it leaves
them running and writes their pids to <run-dir>/pids for down. Every service is named after this
host unless --instance-id gives another name (to run several control planes on one machine).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      detach: { type: 'boolean', default: false },
      'run-dir': { type: 'string' },
      'nats-url': { type: 'string' },
      services: { type: 'string' },
      'instance-id': { type: 'string' },
      'ready-timeout': { type: 'string' },
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
  const services = values.services?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (services !== undefined && services.length === 0) throw new UsageError('--services needs at least one name');
  const instanceId = values['instance-id'];
  if (instanceId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(instanceId)) {
    throw new UsageError(`--instance-id must be 1-64 letters, digits, "-" or "_", got "${instanceId}"`);
  }
  const level = process.env.SDMI_LOG_LEVEL;
  const cp = new ControlPlane({
    ...(values['run-dir'] !== undefined ? { runDir: values['run-dir'] } : {}),
    ...(values['nats-url'] !== undefined ? { natsUrl: values['nats-url'] } : {}),
    ...(services !== undefined ? { services } : {}),
    ...(instanceId !== undefined ? { instanceId: () => instanceId } : {}),
    readyTimeoutMs: positiveInt('ready-timeout', values['ready-timeout']) ?? 60_000,
    stopTimeoutMs: positiveInt('stop-timeout', values['stop-timeout']) ?? 15_000,
    // The terminal gets the table on stdout; our own logs go to stderr, and only warnings unless asked.
    logger: createLogger('controlplane', hostInstanceId(), {
      destination: process.stderr,
      level: level !== undefined && Object.hasOwn(LogLevel, level) ? (level as LogLevel) : LogLevel.warn,
    }),
    onUnexpectedExit: (e) =>
      console.error(`up: ${e.service} (pid ${e.pid}) exited on its own with ${e.signal ?? `code ${e.code}`}; see ${e.logFile}`),
  });
  await assertNotRunning(cp.runDir);
  console.error(`up: starting ${cp.services.join(', ')} (logs in ${cp.logDir})`);
  const rows = await cp.start();
  console.log(formatStatusTable(rows));
  if (values.detach) {
    await cp.detach();
    console.error(`up: running in the background; pids in ${cp.pidFile}; stop them with down`);
    return 0;
  }
  console.error('up: running; Ctrl-C stops them');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.error(`up: ${signal}; stopping`);
  const results = await cp.stop();
  console.log(formatStopResults(results));
  return results.every((r) => r.clean) ? 0 : 1;
}

function formatStopResults(results: readonly StopResult[]): string {
  return results
    .map((r) => {
      const how = r.forced ? 'killed after the stop timeout' : r.signal ? `ended by ${r.signal}` : `exited with code ${r.code}`;
      return `${r.service.padEnd(20)} pid ${String(r.pid).padEnd(8)} ${how}`;
    })
    .join('\n');
}

runScript('up', USAGE, main);
