// The generated permissions on a real nats-server with auth on: real services (network-controller,
// scheduler, metrics-collector, switch-agent, dns-manager, a node-agent) do their job each with its own
// credential, the same credential is refused outside its subjects, a connection
// without a known key is refused, and no seed shows up in any log.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '@nats-io/nkeys';
import { errors, type NatsConnection } from '@nats-io/nats-core';
import { BusNames, RdmpClient, connectNats } from '@sdmi/bus';
import { METRICS_COLLECTOR, MetricsQueries, NodeAgentCommandKinds, NodeAgentQueries, nodeService, replicaKey } from '@sdmi/contracts';
import { NetworkQueries } from '@sdmi/networks';
import { SchedulerQueries } from '@sdmi/scheduling';
import { healthSubject, requestHealth } from '@sdmi/service';
import { Testbed, keepLog, recordSeedsIn, runId, testName, type NatsServer, type TestDatabase } from '@sdmi/testbed';
import { ensureIdentities, renderServerConfig, type Identity } from '../src/index';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tb = new Testbed();
const names = new BusNames(`auth_${runId()}`);
const keyDir = join(tmpdir(), testName('k'));
let ids: Map<string, Identity>;
let server: NatsServer;
let db: TestDatabase;
const procs = new Map<string, ChildProcess>();
let procLog = '';
let admin!: NatsConnection;
const conns: NatsConnection[] = [];

const instanceOf = (service: string) => `${service === 'network-controller' ? 'nc' : service}-${runId()}`;

/**
 * Starts services/<service>/src/main.ts as its own principal (`principal`, the service's name but
 * for a node-agent) and waits until its health says ready.
 */
async function startService(service: string, env: Record<string, string> = {}, principal = service): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, `services/${service}/src/main.ts`)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      SDMI_BUS_PREFIX: names.prefix,
      SDMI_PG_URL: db.url,
      SDMI_NATS_URL: server.url,
      SDMI_NATS_NKEY_SEED_FILE: ids.get(principal)!.seedFile,
      SDMI_INSTANCE_ID: instanceOf(service),
      // debug, not warn: the more a service logs, the more chances to leak a seed.
      SDMI_LOG_LEVEL: 'debug',
      ...env,
    },
  });
  procs.set(service, child);
  child.stdout!.on('data', (d: Buffer) => (procLog += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (procLog += d.toString()));
  tb.defer(service, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
  const end = Date.now() + 60_000;
  for (;;) {
    const h = await requestHealth(admin, healthSubject(service, instanceOf(service)), { timeout: 1_000 }).catch(() => undefined);
    if (h?.ready) return;
    if (Date.now() > end || child.exitCode !== null) throw new Error(`${service} not ready:\n${procLog.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const seedOf = (principal: string): string => readFileSync(ids.get(principal)!.seedFile, 'utf8').trim();
const as = async (principal: string): Promise<NatsConnection> => {
  const nc = await connectNats(`test-${principal}`, server.url, { SDMI_NATS_NKEY_SEED_FILE: ids.get(principal)!.seedFile });
  conns.push(nc);
  return nc;
};

/** The next error the connection reports on its status stream, or undefined after `ms`. */
async function nextError(nc: NatsConnection, ms: number): Promise<Error | undefined> {
  const it = nc.status()[Symbol.asyncIterator]();
  const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));
  for (;;) {
    const s = await Promise.race([it.next(), timeout]);
    if (s === undefined) return undefined;
    if (s.done) return undefined;
    if (s.value.type === 'error') return s.value.error;
  }
}

beforeAll(async () => {
  mkdirSync(keyDir, { mode: 0o700 });
  tb.defer(keyDir, () => import('node:fs').then((fs) => fs.rmSync(keyDir, { recursive: true, force: true })));
  ids = new Map(ensureIdentities({ dir: keyDir, names, nodes: ['host-a'] }).map((i) => [i.principal.name, i]));
  recordSeedsIn(keyDir);
  server = await tb.natsServer({
    config: (at) =>
      renderServerConfig({ host: at.host, port: at.port, storeDir: at.storeDir, users: [...ids.values()].map((i) => ({ name: i.principal.name, nkey: i.publicKey, permissions: i.permissions })) }),
  });
  db = await tb.database();
  admin = await as('admin');
  const { freePort } = await import('@sdmi/testbed');
  // One after another: each migrates its own schema of the shared database, as under `sdmi up`.
  await startService('network-controller', { SDMI_OPENFLOW_LISTEN: `127.0.0.1:${await freePort(false)}` });
  await startService('scheduler');
  await startService('metrics-collector');
  await startService('switch-agent');
  // DNS off (no SDMI_DNS_DOMAIN): no PowerDNS needed; its bus side (gateway, worker, queries) runs.
  await startService('dns-manager');
  // On the machine's dockerd (it touches only containers labelled with its cluster, this run's
  // prefix) with a bridge of its own.
  const bridge = await tb.bridge();
  await startService('node-agent', { SDMI_NODE_NAME: 'host-a', SDMI_DOCKER_SOCKET: '/var/run/docker.sock', SDMI_NODE_BRIDGE: bridge.name }, 'node-agent-host-a');
}, 120_000);

afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => undefined);
  await tb.dispose();
  keepLog('nats-auth services', procLog);
});

describe('bus credentials on a nats-server with auth', () => {
  it('the network-controller does its job with its own credential: a command through gateway, JetStream and worker, and a query', async () => {
    const client = new RdmpClient(admin, { names });
    const out = await client.run('network-controller', {
      kind: 'putTenantConfig',
      key: 'networks',
      payload: { tenant: 'acme', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '700-709' }] },
    }, { timeoutMs: 30_000 });
    expect(out.status).toBe('completed');
    const listed = await client.query('network-controller', NetworkQueries.listNetworks, { tenant: 'acme' });
    expect(listed.tenantConfigs.map((c) => c.tenant)).toEqual(['acme']);
  });

  it('the scheduler and the metrics-collector answer queries, each running as itself', async () => {
    const client = new RdmpClient(admin, { names });
    expect((await client.query('scheduler', SchedulerQueries.listServices, {})).services).toEqual([]);
    expect((await client.query(METRICS_COLLECTOR, MetricsQueries.autoscaleStatus, {})).policies).toEqual([]);
  });

  it('the node-agent runs its node\'s tasks and queries as node-agent-host-a', async () => {
    const client = new RdmpClient(admin, { names });
    const replicaId = `${runId()}/gone-1@rev1`;
    // Removing a replica that never ran is harmless and completes: gateway, JetStream, the node's worker.
    const out = await client.run(nodeService('host-a'), { kind: NodeAgentCommandKinds.RemoveReplica, key: replicaKey(replicaId), payload: { replicaId, timeoutSec: 2 } }, { timeoutMs: 30_000 });
    expect(out.status).toBe('completed');
    const refused = await client.query(nodeService('host-a'), NodeAgentQueries.replicaLogs, { replicaId }).catch((e: { info?: { code?: string } }) => e);
    expect((refused as { info?: { code?: string } }).info?.code).toBe('REPLICA_NOT_FOUND');
    // It announces its node, as itself.
    const status = await new Promise<string>((resolve) => {
      const sub = admin.subscribe(names.nodeEvents('host-a', 'status'), { max: 1, callback: (_e, m) => resolve(m.subject) });
      setTimeout(() => sub.unsubscribe(), 20_000);
    });
    expect(status).toBe(names.nodeEvents('host-a', 'status'));
  });

  it('the same credential publishing outside its subjects is rejected by the server', async () => {
    const nc = await as('network-controller');
    const seen: string[] = [];
    const watch = admin.subscribe(`${names.prefix}.>`, { callback: (_e, m) => { seen.push(m.subject); } });
    await admin.flush();

    nc.publish(names.submit('scheduler'), '{}');
    const err = await nextError(nc, 5_000);
    expect(err).toBeInstanceOf(errors.PermissionViolationError);
    expect((err as InstanceType<typeof errors.PermissionViolationError>).operation).toBe('publish');
    expect((err as InstanceType<typeof errors.PermissionViolationError>).subject).toBe(names.submit('scheduler'));

    nc.publish(names.metrics('node', 'host-a'), '{}');
    const err2 = await nextError(nc, 5_000);
    expect((err2 as InstanceType<typeof errors.PermissionViolationError>).subject).toBe(names.metrics('node', 'host-a'));

    // What it may publish goes through on the same connection, so the refusals above were the server's choice.
    nc.publish(names.metrics('network', 'probe'), '{}');
    await nc.flush();
    await admin.flush();
    await new Promise((r) => setTimeout(r, 200));
    watch.unsubscribe();
    expect(seen).toContain(names.metrics('network', 'probe'));
    expect(seen).not.toContain(names.submit('scheduler'));
    expect(seen).not.toContain(names.metrics('node', 'host-a'));
  });

  it('the same credential subscribing outside its subjects is refused', async () => {
    const nc = await as('network-controller');
    const sub = nc.subscribe(names.allMetrics);
    await expect((async () => {
      for await (const _m of sub) return 'message';
      return 'ended';
    })()).rejects.toBeInstanceOf(errors.PermissionViolationError);
  });

  it('a principal cannot read replies meant for another: only its own inbox is open to it', async () => {
    const nc = await as('network-controller');
    for (const subject of ['_INBOX.>', `_INBOX.${ids.get('admin')!.publicKey}.>`]) {
      const sub = nc.subscribe(subject);
      await expect((async () => {
        for await (const _m of sub) return 'message';
        return 'ended';
      })(), subject).rejects.toBeInstanceOf(errors.PermissionViolationError);
    }
    // Its own requests (replies under its own prefix) still work, as the service asks its own health.
    const health = await requestHealth(nc, healthSubject('network-controller', instanceOf('network-controller')), { timeout: 2_000 });
    expect(health.ready).toBe(true);
  });

  it('a connection without credentials, or with a key the server does not know, is refused', async () => {
    await expect(connectNats('test-anonymous', server.url, {})).rejects.toBeInstanceOf(errors.AuthorizationError);
    const stranger = join(keyDir, 'stranger.nk');
    writeFileSync(stranger, `${new TextDecoder().decode(createUser().getSeed())}\n`, { mode: 0o600 });
    await expect(connectNats('test-stranger', server.url, { SDMI_NATS_NKEY_SEED_FILE: stranger })).rejects.toBeInstanceOf(errors.AuthorizationError);
  });

  it('the running services met no refusal: their lists hold everything they did', () => {
    const violations = server.logTail(100_000).split('\n').filter((l) => /Violation/.test(l));
    // The deliberate ones of the tests above are there (so the server does log them)...
    expect(violations.length).toBeGreaterThanOrEqual(3);
    // ...and none from the services' own connections (named `<service>/<instance>`).
    for (const service of procs.keys()) expect(violations.filter((l) => l.includes(`:${service}/${instanceOf(service)}"`)), service).toEqual([]);
    expect(procs.size).toBe(6);
  });

  it('no seed appears in the services\' output or the server log', () => {
    const logs = procLog + server.logTail(100_000);
    expect(procLog.length).toBeGreaterThan(0);
    // The server log does name the users it refused or let in, by public key: the check is not vacuous.
    expect(logs).toContain(ids.get('network-controller')!.publicKey.slice(0, 12));
    for (const name of ids.keys()) expect(logs.includes(seedOf(name)), `seed of ${name} in a log`).toBe(false);
  });
});
