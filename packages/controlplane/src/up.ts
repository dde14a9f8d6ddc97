import path from 'node:path';
import { parseArgs } from 'node:util';
import { LogLevel, createLogger, hostInstanceId } from '@sdmi/service';
import { positiveInt, runScript, UsageError } from './cli';
import { CONTROLPLANE_LABEL, ContainerControlPlane, SERVICE_CONTAINER_USER } from './containers';
import { ControlPlane, DEFAULT_ROOT_DIR, type StopResult } from './controlplane';
import { assertNotRunning } from './detached';
import { DnsServer, formatDnsStatus, type DnsStopResult } from './dns-server';
import { ControlPlaneStartError } from './errors';
import { formatStatusTable, type ServiceStatus } from './status';

const USAGE = `usage: up [--containers] [--detach] [--run-dir DIR] [--nats-url URL] [--services a,b,...]
          [--instance-id ID] [--ready-timeout MS] [--stop-timeout MS] [--credentials-dir DIR]
Starts the SDMI services, waits until each reports ready, prints their status. Without --detach
it stays in the foreground until Ctrl-C (or SIGTERM) and then stops them; with --detach it leaves
them running and writes their pids to <run-dir>/pids for down. Every service is named after this
host unless --instance-id gives another name (to run several control planes on one machine).
With --containers each service runs as a container of its image sdmi/<service> (built first when
missing or out of date, from deploy/images/<service>/Dockerfile) on the host network, labelled
sdmi.controlplane=<run-dir> for down.
DNS: unless SDMI_PDNS_API_URL names a PowerDNS, it first starts (or finds running from the run dir)
pdns_server with its API and dnsdist for DNS over TLS, on 127.0.0.1 ports $SDMI_DNS_PORT (5300),
$SDMI_PDNS_API_PORT (5380) and $SDMI_DOT_PORT (5853), files in <run-dir>/dns; down stops them.
Credentials: with --credentials-dir (written by sdmi auth init; the NATS server must run with its
nats-server.conf) each service connects with its own seed and turns access control on with the
directory's principals.json; up itself connects as admin.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      detach: { type: 'boolean', default: false },
      containers: { type: 'boolean', default: false },
      'run-dir': { type: 'string' },
      'nats-url': { type: 'string' },
      services: { type: 'string' },
      'instance-id': { type: 'string' },
      'ready-timeout': { type: 'string' },
      'stop-timeout': { type: 'string' },
      'credentials-dir': { type: 'string' },
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
  // The terminal gets the table on stdout; our own logs go to stderr, and only warnings unless asked.
  const logger = createLogger('controlplane', hostInstanceId(), {
    destination: process.stderr,
    level: level !== undefined && Object.hasOwn(LogLevel, level) ? (level as LogLevel) : LogLevel.warn,
  });
  const runDir = path.resolve(values['run-dir'] ?? path.join(DEFAULT_ROOT_DIR, '.sdmi'));
  // A containerised dns-manager reads the API key through a bind mount, as the images' user.
  const dns = new DnsServer({ runDir, logger, ...(values.containers && process.getuid?.() === 0 ? { keyFileOwner: SERVICE_CONTAINER_USER } : {}) });
  const common = {
    runDir,
    env: dns.serviceEnv,
    ...(values['nats-url'] !== undefined ? { natsUrl: values['nats-url'] } : {}),
    ...(services !== undefined ? { services } : {}),
    ...(instanceId !== undefined ? { instanceId: () => instanceId } : {}),
    ...(values['credentials-dir'] !== undefined ? { credentialsDir: path.resolve(values['credentials-dir']) } : {}),
    readyTimeoutMs: positiveInt('ready-timeout', values['ready-timeout']) ?? 60_000,
    stopTimeoutMs: positiveInt('stop-timeout', values['stop-timeout']) ?? 15_000,
    logger,
  };
  if (values.containers) return upContainers(new ContainerControlPlane({
    ...common,
    onBuildProgress: (m) => console.error(`up: ${m}`),
    onUnexpectedExit: (e) => console.error(`up: ${e.service} (container ${e.container}) exited on its own with code ${e.code}; see docker logs ${e.container}`),
  }), dns, values.detach);
  const cp = new ControlPlane({
    ...common,
    onUnexpectedExit: (e) =>
      console.error(`up: ${e.service} (pid ${e.pid}) exited on its own with ${e.signal ?? `code ${e.code}`}; see ${e.logFile}`),
  });
  await assertNotRunning(cp.runDir);
  console.error(`up: starting ${cp.services.join(', ')} (logs in ${cp.logDir})`);
  console.log(await startWithDns(dns, cp));
  if (values.detach) {
    await cp.detach();
    console.error(`up: running in the background; pids in ${cp.pidFile}; stop them with down`);
    return 0;
  }
  console.error('up: running; Ctrl-C stops them');
  const signal = await untilSignal();
  console.error(`up: ${signal}; stopping`);
  const results = await cp.stop();
  console.log(formatStopResults(results));
  const dnsResults = await dns.stop();
  if (dnsResults.length > 0) console.log(formatDnsStopResults(dnsResults));
  return results.every((r) => r.clean) && dnsStoppedFine(dnsResults) ? 0 : 1;
}

async function upContainers(cp: ContainerControlPlane, dns: DnsServer, detach: boolean): Promise<number> {
  // Processes of an earlier `up` from this run dir would answer for the same instances.
  await assertNotRunning(cp.runDir);
  console.error(`up: starting ${cp.services.join(', ')} as containers (logs: docker logs <container>)`);
  console.log(await startWithDns(dns, cp));
  if (detach) {
    await cp.detach();
    console.error(`up: running in the background as containers labelled ${CONTROLPLANE_LABEL}=${cp.runDir}; stop them with down`);
    return 0;
  }
  console.error('up: running; Ctrl-C stops them');
  const signal = await untilSignal();
  console.error(`up: ${signal}; stopping`);
  const results = await cp.stop();
  for (const r of results) {
    const how = r.forced ? 'killed after the stop timeout' : `exited with code ${r.code}`;
    console.log(`${r.service.padEnd(20)} container ${r.container.padEnd(40)} ${how}`);
  }
  const dnsResults = await dns.stop();
  if (dnsResults.length > 0) console.log(formatDnsStopResults(dnsResults));
  return results.every((r) => r.clean) && dnsStoppedFine(dnsResults) ? 0 : 1;
}

/**
 * The DNS server first (the services are given its address and key file), then the services; the
 * table, a blank line and where DNS answers go to stdout. A DNS server this up started is stopped
 * again when the services do not come up.
 */
async function startWithDns(dns: DnsServer, cp: { start(): Promise<ServiceStatus[]> }): Promise<string> {
  const status = await dns.start();
  try {
    return `${formatStatusTable(await startOrExplain(cp))}\n\n${formatDnsStatus(status)}`;
  } catch (err) {
    if (dns.startedAny) await dns.stop();
    throw err;
  }
}

/** The aggregate's message has one line per failure; each failure's own carries the service's last log lines. */
async function startOrExplain(cp: { start(): Promise<ServiceStatus[]> }): Promise<ServiceStatus[]> {
  try {
    return await cp.start();
  } catch (err) {
    if (err instanceof ControlPlaneStartError) for (const e of err.errors) console.error(`up: ${e instanceof Error ? e.message : String(e)}`);
    throw err;
  }
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

function formatDnsStopResults(results: readonly DnsStopResult[]): string {
  return results.map((r) => `${r.program.padEnd(20)} pid ${String(r.pid).padEnd(8)} ${r.outcome}`).join('\n');
}

function dnsStoppedFine(results: readonly DnsStopResult[]): boolean {
  return results.every((r) => r.outcome === 'stopped' || r.outcome === 'not-running');
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
