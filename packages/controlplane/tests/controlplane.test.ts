import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Svcm, type ServiceIdentity, type ServiceInfo } from '@nats-io/services';
import { BusNames, jetstreamManager, RdmpClient, removeStreams, UnknownKind } from '@sdmi/bus';
import { createLogger, requestJson, type HealthReply } from '@sdmi/service';
import { createBridge, createDatabase, findProcesses, freePort, kdig, keepRunDirs, type OvsBridge, type TestDatabase } from '@sdmi/testbed';
import {
  ControlPlane,
  ControlPlaneStartError,
  DEFAULT_ROOT_DIR,
  SERVICE_NAMES,
  ServiceExitedError,
  UnknownServiceError,
  isAlive,
  readPidFile,
  stopDnsServer,
} from '@sdmi/controlplane';

const RUN = `cp${process.pid}-${Date.now().toString(36)}`;
const silent = createLogger('controlplane-test', RUN, { level: 'silent' });
const run = promisify(execFile);

let client: NatsConnection;
let tmp: string;
let db: TestDatabase;
let bridge: OvsBridge;
// The services' RDMP state goes to a throwaway database and run-unique streams.
const prefix = `t${RUN.replace(/[^a-z0-9]/g, '')}`.slice(0, 24);
let serviceEnv: Record<string, string>;

beforeAll(async () => {
  client = await connect({ servers: 'nats://127.0.0.1:4222', name: `controlplane-test/${RUN}` });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sdmi-controlplane-'));
  db = await createDatabase();
  // The node-agent's host bridge is the test's, so that nothing is left on the machine's OVS.
  bridge = await createBridge();
  // Port 0: a control plane the main job left running may hold OpenFlow's 6653.
  serviceEnv = { SDMI_PG_URL: db.url, SDMI_BUS_PREFIX: prefix, SDMI_OPENFLOW_LISTEN: '127.0.0.1:0', SDMI_NODE_BRIDGE: bridge.name };
});

afterAll(async () => {
  // Should a test fail half way: the DNS server that up started for the detached control plane.
  await stopDnsServer(path.join(tmp, 'd')).catch(() => undefined);
  await removeStreams(await jetstreamManager(client), new BusNames(prefix));
  await client.close();
  await db?.dispose();
  await bridge?.dispose();
  keepRunDirs('controlplane test', tmp);
  await rm(tmp, { recursive: true, force: true });
});

async function collect<T>(it: Promise<AsyncIterable<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of await it) out.push(x);
  return out;
}

/** Processes whose parent is this test process: what a leaked child would be. */
async function ourChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[1]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}

const KNOWN_KINDS: Record<string, string> = {
  'network-controller': 'putTenantConfig, createNetworks, updateNetwork, deleteNetwork, attachInterface, detachInterface, registerHost, unregisterHost, setServiceEndpoints, releaseServiceAddress, putRoleBinding, deleteRoleBinding',
  scheduler: 'deployService, updateService, scaleService, removeService, rolloutUndo, addNode, removeNode, startReplica, stopReplica',
  'dns-manager': 'registerReplica, deregisterReplica, putRecords, deleteRecords',
  'metrics-collector': 'setAutoscalePolicy, deleteAutoscalePolicy, setThreshold, deleteThreshold',
  'switch-agent': 'registerSwitch, removeSwitch, syncSwitch',
};

describe('ControlPlane', () => {
  it('starts the six services, each answers ping, info and health, and SIGTERM stops each with exit code 0', async () => {
    const instance = `${RUN}-a`;
    const cp = new ControlPlane({ runDir: path.join(tmp, 'a'), env: serviceEnv, instanceId: () => instance, logger: silent, stopTimeoutMs: 20_000, readyTimeoutMs: 120_000 });
    const before = await ourChildren();
    let stopped = false;
    try {
      const rows = await cp.start();
      expect(rows.map((r) => [r.service, r.instance, r.status])).toEqual(SERVICE_NAMES.map((s) => [s, instance, 'ready']));
      expect(rows.every((r) => r.version === '0.1.0' && r.endpoints.includes('health'))).toBe(true);
      expect((await readPidFile(cp.pidFile))?.map((r) => r.service)).toEqual([...SERVICE_NAMES]);

      const sc = new Svcm(client).client({ strategy: 'stall', maxWait: 3000, stall: 300 });
      for (const p of cp.processes) {
        const mine = (x: ServiceIdentity) => x.metadata?.instance === instance;
        const pings = (await collect(sc.ping(p.service))).filter(mine);
        expect(pings, p.service).toHaveLength(1);
        expect(pings[0]!.metadata?.pid).toBe(String(p.pid));

        const infos = (await collect<ServiceInfo>(sc.info(p.service))).filter(mine);
        expect(infos, p.service).toHaveLength(1);
        expect(infos[0]!.description.length).toBeGreaterThan(10);
        const health = infos[0]!.endpoints.find((e) => e.name === 'health');
        expect(health, p.service).toBeDefined();
        await expect(requestJson<HealthReply>(client, health!.subject)).resolves.toMatchObject({ ready: true, status: 'ok', instance });
        if (p.service === 'node-agent') expect(infos[0]!.metadata?.host).toBe(os.hostname());
        // Each is an RDMP endpoint; a kind it does not have is refused clearly, naming those it has.
        const refused = await new RdmpClient(client, { names: new BusNames(prefix) })
          .submit(p.service, { kind: 'deploy', key: 'service/demo', payload: {} })
          .catch((e: unknown) => e);
        expect(refused, p.service).toBeInstanceOf(UnknownKind);
        expect((refused as Error).message).toBe(`service "${p.service}" has no command kind "deploy"; it knows: ${KNOWN_KINDS[p.service] ?? 'none'}`);
      }

      const results = await cp.stop();
      stopped = true;
      expect(results.map((r) => [r.service, r.code, r.signal, r.forced])).toEqual(SERVICE_NAMES.map((s) => [s, 0, null, false]));
      for (const p of cp.processes) expect(isAlive(p.pid), `${p.service} pid ${p.pid}`).toBe(false);
      expect(await ourChildren()).toEqual(before);
      expect(await readPidFile(cp.pidFile)).toBeUndefined();
      const log = await readFile(path.join(cp.logDir, 'scheduler.log'), 'utf8');
      expect(log).toMatch(/"msg":"stopped"/);
    } finally {
      if (!stopped) await cp.stop();
    }
  });

  it('names the service that died before it was ready, with its last log lines', async () => {
    const root = path.join(tmp, 'root');
    const broken = path.join(root, 'services', 'broken', 'src');
    await mkdir(broken, { recursive: true });
    await writeFile(path.join(broken, 'main.ts'), "console.log('cannot open /etc/sdmi/broken.yaml');\nprocess.exit(3);\n");
    const before = await ourChildren();
    const cp = new ControlPlane({
      rootDir: root,
      runDir: path.join(tmp, 'b'),
      services: ['broken'],
      env: serviceEnv,
      instanceId: () => `${RUN}-b`,
      logger: silent,
    });
    const err = await cp.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlPlaneStartError);
    const [cause] = (err as ControlPlaneStartError).errors;
    expect(cause).toBeInstanceOf(ServiceExitedError);
    expect(cause).toMatchObject({ service: 'broken', code: 3 });
    expect((cause as ServiceExitedError).logTail).toContain('cannot open /etc/sdmi/broken.yaml');
    expect((err as Error).message).toContain('broken');
    expect(await ourChildren()).toEqual(before);
  });

  it('refuses a service that does not exist, listing those that do', () => {
    expect(() => new ControlPlane({ services: ['scheduler', 'nope'], runDir: path.join(tmp, 'c'), logger: silent })).toThrow(UnknownServiceError);
    expect(() => new ControlPlane({ services: ['nope'], runDir: path.join(tmp, 'c'), logger: silent })).toThrow(/nope.*available: .*scheduler/);
  });
});

describe('up --detach and down', () => {
  it('leave the services running in the background, then stop them from the pids file', async () => {
    const runDir = path.join(tmp, 'd');
    const tsx = path.join(DEFAULT_ROOT_DIR, 'node_modules', '.bin', 'tsx');
    const script = (name: string) => path.join(DEFAULT_ROOT_DIR, 'packages', 'controlplane', 'src', name);
    // Ports of its own for the DNS server: a main job's control plane may hold the default ones.
    const dnsPort = await freePort(true);
    let [apiPort, dotPort] = [dnsPort, dnsPort];
    while (apiPort === dnsPort) apiPort = await freePort(false);
    while (dotPort === dnsPort || dotPort === apiPort) dotPort = await freePort(false);
    const env = { ...process.env, ...serviceEnv, SDMI_DNS_PORT: String(dnsPort), SDMI_PDNS_API_PORT: String(apiPort), SDMI_DOT_PORT: String(dotPort) };
    const up = await run(tsx, [script('up.ts'), '--detach', '--run-dir', runDir, '--instance-id', `${RUN}-d`], { timeout: 180_000, env });
    const [tablePart, dnsPart] = up.stdout.trim().split('\n\n');
    const table = tablePart!.split('\n');
    expect(table[0]).toMatch(/^SERVICE\s+INSTANCE\s+VERSION\s+PID\s+STATUS\s+ENDPOINTS$/);
    expect(table.slice(1).map((l) => l.split(/\s+/)[4])).toEqual(SERVICE_NAMES.map(() => 'ready'));

    // It started the DNS server and says where it answers: the API with the key from the file it names, DoT through dnsdist.
    const keyFile = path.join(runDir, 'dns', 'api-key');
    expect(dnsPart).toMatch(new RegExp(`^DNS\\s+127\\.0\\.0\\.1:${dnsPort} .*pdns_server pid \\d+ \\(started\\).*API http://127\\.0\\.0\\.1:${apiPort}, key in ${keyFile}$`, 'm'));
    expect(dnsPart).toMatch(new RegExp(`^DoT\\s+127\\.0\\.0\\.1:${dotPort}\\s+dnsdist pid \\d+ \\(started\\)`, 'm'));
    const key = (await readFile(keyFile, 'utf8')).trim();
    expect(dnsPart).not.toContain(key);
    const apiAnswer = await fetch(`http://127.0.0.1:${apiPort}/api/v1/servers/localhost`, { headers: { 'X-API-Key': key } });
    expect(apiAnswer.status).toBe(200);
    // A name outside every zone (dns-manager makes the cluster's): REFUSED, but answered over TLS.
    const dot = await kdig({ port: dotPort }, '+norecurse', 'nothing.sdmi.invalid.', 'SOA');
    expect([dot.status, dot.tlsSession === undefined], dot.stdout + dot.stderr).toEqual(['REFUSED', false]);
    // dns-manager, ready, has made the cluster's zone there: its SOA answers over TLS.
    const soa = await kdig({ port: dotPort }, '+norecurse', 'sdmi.internal.', 'SOA');
    expect([soa.status, soa.answers.map((a) => a.type)], soa.stdout + soa.stderr).toEqual(['NOERROR', ['SOA']]);
    const dnsProcesses = () => findProcesses((arg) => arg.includes(path.join(runDir, 'dns')));
    expect(dnsProcesses().map((p) => path.basename(p.argv[0]!)).sort()).toEqual(['dnsdist', 'pdns_server']);

    const records = (await readPidFile(path.join(runDir, 'pids')))!;
    expect(records.map((r) => r.service)).toEqual([...SERVICE_NAMES]);
    try {
      for (const r of records) expect(isAlive(r.pid), r.service).toBe(true);
      const again = await run(tsx, [script('up.ts'), '--run-dir', runDir, '--instance-id', `${RUN}-d`], { env }).catch((e: { code: number; stderr: string }) => e);
      expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('AlreadyRunningError') });
    } finally {
      const down = await run(tsx, [script('down.ts'), '--run-dir', runDir], { timeout: 60_000, env });
      expect(down.stdout.trim().split('\n').map((l) => [l.split(/\s+/)[0], l.split(/\s+/).at(-1)])).toEqual([
        ...SERVICE_NAMES.map((s) => [s, 'stopped']),
        ['dnsdist', 'stopped'],
        ['pdns_server', 'stopped'],
      ]);
    }
    expect(dnsProcesses()).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${apiPort}/api/v1/servers/localhost`, { headers: { 'X-API-Key': key } })).rejects.toThrow();
    for (const r of records) expect(isAlive(r.pid), r.service).toBe(false);
    expect(await readPidFile(path.join(runDir, 'pids'))).toBeUndefined();
    for (const s of SERVICE_NAMES) {
      expect(await readFile(path.join(runDir, 'logs', `${s}.log`), 'utf8'), s).toMatch(/"exitCode":0,"msg":"stopped"/);
    }
  });
});
