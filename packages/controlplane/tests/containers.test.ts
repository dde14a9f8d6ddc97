// The control plane as containers: the images built from deploy/images/<service>/Dockerfile run
// the real services (testcontainers starts them, as any user of the images would), each answers
// health as ready over NATS, and the containerised network-controller and node-agent carry out
// real commands and deploy the Milestone-1 example; then `up --containers --detach` and `down`
// through the scripts themselves.
// Everything is run-unique (bus prefix, database, OVS bridge, instance and node names), and every
// container started here is removed in afterAll, also after a failure.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import type { StartedTestContainer } from 'testcontainers';
import { BusNames, RdmpClient, connectNats, jetstreamManager, removeStreams, type Outcome } from '@sdmi/bus';
import { hostIfNameFor } from '@sdmi/container-net';
import { createLogger, healthSubject, requestHealth } from '@sdmi/service';
import { Cluster } from '@sdmi/sdk';
import { Testbed, buildBaseImage, docker, freePort, kdig, mainDocker, run, runId, type OvsBridge, type TestDatabase, keepRunDirs } from '@sdmi/testbed';
import {
  CONTROLPLANE_LABEL,
  DEFAULT_ROOT_DIR,
  DnsServer,
  SERVICE_CONTAINER_USER,
  SERVICE_NAMES,
  buildControlPlaneImages,
  containerLogFile,
  containerName,
  listContainers,
  readContext,
  serviceContainerSpec,
  stopContainers,
  stopDnsServer,
  type ControlPlaneImages,
  type ServiceContainerSpec,
} from '@sdmi/controlplane';

import { buildExampleImages } from '../../../examples/milestone-1/src/images';
import { Milestone1 } from '../../../examples/milestone-1/src/milestone1';

// Before testcontainers is loaded: its reaper (Ryuk) is an image from a registry, and none is reachable.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
const { GenericContainer, PullPolicy } = await import('testcontainers');

/**
 * GenericContainer has no setters for what the node-agent shares with the host beyond the
 * network: the PID and UTS namespaces, and /proc unmasked (the Docker CLI's
 * `systempaths=unconfined` is these two empty lists in the API).
 */
class HostServiceContainer extends GenericContainer {
  withHostParts(spec: ServiceContainerSpec): this {
    if (spec.pidMode) this.hostConfig.PidMode = spec.pidMode;
    if (spec.utsMode) this.hostConfig.UTSMode = spec.utsMode;
    if (spec.unconfinedSystemPaths) {
      this.hostConfig.MaskedPaths = [];
      this.hostConfig.ReadonlyPaths = [];
    }
    return this;
  }
}

const tag = runId();
const silent = createLogger('controlplane-containers-test', tag, { level: 'silent' });
const exec = promisify(execFile);
const names = new BusNames(`cpc${tag}`);
const node = `cpc-${tag}`;
const tb = new Testbed();
// What testcontainers starts is labelled as if `up` had started it from this run dir, so one
// stopContainers() in afterAll removes it whatever happened.
const tcMarker = path.join(os.tmpdir(), `sdmi-controlplane-tc-${tag}`);
let tmp: string;
let upRunDir: string;
let nc: NatsConnection;
let client: RdmpClient;
let db: TestDatabase;
let bridge: OvsBridge;
let uplink: string;
let images: ControlPlaneImages;
let serviceEnv: Record<string, string>;
// The containers testcontainers starts get a DNS server of their own (as up would give them).
let tcDns: DnsServer;
const dpid = `0000cc${Buffer.from(tag).toString('hex').slice(0, 10)}`;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), `sdmi-controlplane-containers-${tag}-`));
  upRunDir = path.join(tmp, 'up');
  nc = await connectNats(`controlplane-containers-test-${tag}`);
  client = new RdmpClient(nc, { names });
  db = await tb.database();
  bridge = await tb.bridge({ otherConfig: { 'datapath-id': dpid } });
  uplink = (await bridge.addVethPort()).bridgeEnd;
  await buildBaseImage(mainDocker);
  const t0 = Date.now();
  images = await buildControlPlaneImages({ rootDir: DEFAULT_ROOT_DIR, services: SERVICE_NAMES, logger: silent, onProgress: (m) => console.log(`[images +${((Date.now() - t0) / 1000).toFixed(0)} s] ${m}`) });
  // A free port of our own (a control plane the main job left running may hold OpenFlow's 6653),
  // with the bridge's controller pointed at it, so the containerised network-controller programs it.
  const openflowPort = await freePort(false);
  await run('ovs-vsctl', ['--timeout=10', '--', 'set', 'Bridge', bridge.name, 'controller=@c', '--', '--id=@c', 'create', 'Controller', `target="tcp:127.0.0.1:${openflowPort}"`, 'max_backoff=1000']);
  serviceEnv = {
    SDMI_PG_URL: db.url,
    SDMI_BUS_PREFIX: names.prefix,
    SDMI_OPENFLOW_LISTEN: `127.0.0.1:${openflowPort}`,
    SDMI_NODE_BRIDGE: bridge.name,
    SDMI_NODE_NAME: node,
    SDMI_LOG_LEVEL: 'warn',
  };
  tcDns = new DnsServer({ runDir: path.join(tmp, 'tc'), env: {}, ...(await dnsPorts()), keyFileOwner: SERVICE_CONTAINER_USER, logger: silent });
  await tcDns.start();
}, 1_800_000);

afterAll(async () => {
  for (const runDir of [tcMarker, upRunDir]) if (runDir) await stopContainers(runDir, { stopTimeoutMs: 5_000 }).catch(() => undefined);
  for (const runDir of [tmp && path.join(tmp, 'tc'), upRunDir]) if (runDir) await stopDnsServer(runDir, { stopTimeoutMs: 5_000 }).catch(() => undefined);
  // Replica containers the containerised node-agent made for this cluster (label sdmi.cluster = the prefix).
  const replicas = (await docker(mainDocker, ['ps', '-aq', '--filter', `label=sdmi.cluster=${names.prefix}`]).catch(() => '')).split('\n').filter(Boolean);
  if (replicas.length > 0) await docker(mainDocker, ['rm', '-f', ...replicas]);
  if (nc) {
    await removeStreams(await jetstreamManager(nc), names).catch(() => undefined);
    await nc.close();
  }
  await tb.dispose();
  if (tmp) keepRunDirs('containers.test.ts', tmp);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 120_000);

/** Ports of their own for a DNS server: a main job's control plane may hold the default ones. */
async function dnsPorts(): Promise<{ dnsPort: number; apiPort: number; dotPort: number }> {
  const dnsPort = await freePort(true);
  let [apiPort, dotPort] = [dnsPort, dnsPort];
  while (apiPort === dnsPort) apiPort = await freePort(false);
  while (dotPort === dnsPort || dotPort === apiPort) dotPort = await freePort(false);
  return { dnsPort, apiPort, dotPort };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const ready = (service: string, instance: string) => async () => (await requestHealth(nc, healthSubject(service, instance), { timeout: 1_000 })).ready;
const netCmd = (kind: string, payload: Record<string, unknown>): Promise<Outcome> => client.run('network-controller', { kind, key: 'networks', payload }, { timeoutMs: 60_000 });
const nodeCmd = (kind: string, replicaId: string, payload: Record<string, unknown>): Promise<Outcome> =>
  client.run(`node-${node}`, { kind, key: `replica/${replicaId}`, payload }, { timeoutMs: 90_000 });

describe('the build context', () => {
  it('holds what the services run (tsx, schemas, migrations) and leaves out tests, docs and .git', async () => {
    const { entries } = await readContext(DEFAULT_ROOT_DIR);
    const has = new Set(entries);
    for (const p of ['node_modules/.pnpm/lock.yaml', 'services/scheduler/src/main.ts', 'schemas', 'packages/bus/migrations', 'tsconfig.json']) expect(has.has(p), p).toBe(true);
    // A package's own dist/ is what it runs: the ignore rules must not reach into node_modules.
    expect(entries.some((e) => /^node_modules\/\.pnpm\/tsx@[^/]+\/node_modules\/tsx\/dist\/loader\.mjs$/.test(e))).toBe(true);
    for (const p of ['.git', 'docs', 'test', 'packages/controlplane/tests', 'README.md', 'deploy']) expect(has.has(p), p).toBe(false);
  });

  it('changes its hash when a source changes, not when a test or a document does', async () => {
    const root = path.join(tmp, 'ctx');
    await mkdir(path.join(root, 'node_modules', '.pnpm'), { recursive: true });
    await mkdir(path.join(root, 'packages', 'a', 'src'), { recursive: true });
    await mkdir(path.join(root, 'packages', 'a', 'tests'), { recursive: true });
    await writeFile(path.join(root, '.dockerignore'), 'packages/*/tests\n*.md\n');
    await writeFile(path.join(root, 'node_modules', '.pnpm', 'lock.yaml'), 'lockfileVersion: 9.0\n');
    await writeFile(path.join(root, 'packages', 'a', 'src', 'index.ts'), 'export const a = 1;\n');
    const first = (await readContext(root)).hash;
    await writeFile(path.join(root, 'packages', 'a', 'tests', 'a.test.ts'), 'it("x", () => {});\n');
    await writeFile(path.join(root, 'README.md'), '# a\n');
    expect((await readContext(root)).hash).toBe(first);
    await writeFile(path.join(root, 'packages', 'a', 'src', 'index.ts'), 'export const a = 2;\n');
    expect((await readContext(root)).hash).not.toBe(first);
    await writeFile(path.join(root, 'packages', 'a', 'src', 'index.ts'), 'export const a = 1;\n');
    expect((await readContext(root)).hash).toBe(first);
    // What pnpm installed stands in for node_modules.
    await writeFile(path.join(root, 'node_modules', '.pnpm', 'lock.yaml'), 'lockfileVersion: 9.0\npackages: {}\n');
    expect((await readContext(root)).hash).not.toBe(first);
  });
});

describe('the service images under testcontainers', () => {
  it('each service answers health as ready over NATS; the network-controller runs network commands and the node-agent wires a replica', async () => {
    const instance = `cpc-${tag}`;
    const started: StartedTestContainer[] = [];
    try {
      for (const service of SERVICE_NAMES) {
        const image = images.images[service]!;
        // Built just above, so the default policy (pull only what the daemon lacks) pulls nothing.
        expect((await docker(mainDocker, ['image', 'inspect', '--format', '{{.Id}}', image])).trim()).toMatch(/^sha256:/);
        const env = { ...serviceEnv, ...tcDns.serviceEnv, SDMI_NATS_URL: 'nats://127.0.0.1:4222', SDMI_INSTANCE_ID: instance };
        const spec = serviceContainerSpec(service, env);
        const container = new HostServiceContainer(image)
          .withPullPolicy(PullPolicy.defaultPolicy())
          .withName(containerName(service, instance))
          .withLabels({ [CONTROLPLANE_LABEL]: tcMarker, 'sdmi.controlplane.service': service, 'sdmi.controlplane.instance': instance })
          .withNetworkMode(spec.networkMode)
          .withAddedCapabilities(...spec.capAdd)
          .withBindMounts([...spec.binds.map((b) => ({ source: b, target: b })), ...spec.readOnlyBinds.map((b) => ({ source: b, target: b, mode: 'ro' as const }))])
          .withHostParts(spec)
          .withEnvironment(env);
        started.push(await container.start());
      }
      for (const service of SERVICE_NAMES) await until(`${service} ready`, ready(service, instance), 120_000);
      expect((await listContainers(tcMarker)).map((c) => [c.service, c.running]).sort()).toEqual(SERVICE_NAMES.map((s) => [s, true]).sort());

      // The network-controller in its container: commands through RDMP, effects in our database.
      await netCmd('putTenantConfig', { tenant: 'acme', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '700-709' }] });
      const created = await netCmd('createNetworks', {
        tenantNetworks: [
          { tenant: 'acme', name: 'app', cidr: '10.64.2.0/24', dependsOn: ['db'] },
          { tenant: 'acme', name: 'db', cidr: '10.64.3.0/24' },
        ],
      });
      expect(created.status).toBe('completed');
      expect((created.result as { order: string[] }).order).toEqual(['acme/db', 'acme/app']);

      // The node-agent in its container: a replica without Docker networking, its interface moved
      // into the replica's namespace (nsenter from the agent's container) and its host end a port
      // of our bridge.
      await netCmd('registerHost', { name: node, dpid, uplinkPort: uplink });
      const replicaId = `${tag}/web-1@rev1`;
      const interfaceId = `${replicaId}/eth0`;
      const a = (await netCmd('attachInterface', { interfaceId, networkId: 'acme/app', host: node, portName: hostIfNameFor(interfaceId), ip: { mode: 'dynamic' } })).result as {
        ip: string;
        mac: string;
        prefixLength: number;
        gateway: string;
      };
      await until('node-agent ready', ready('node-agent', instance), 10_000);
      const out = await nodeCmd('runReplica', replicaId, {
        replicaId,
        service: `${tag}/web`,
        revision: 1,
        container: { image: 'sdmi/base:busybox', command: ['sleep', '3600'] },
        interfaces: [{ interfaceId, networkId: 'acme/app', ifname: 'eth0', mac: a.mac, address: `${a.ip}/${a.prefixLength}`, gateway: a.gateway }],
      });
      const containerId = (out.result as { containerId: string }).containerId;
      expect(await docker(mainDocker, ['inspect', '-f', '{{.State.Running}} {{.HostConfig.NetworkMode}}', containerId])).toBe('true none\n');
      expect(await docker(mainDocker, ['exec', containerId, 'ip', '-4', 'addr', 'show', 'eth0'])).toContain(`${a.ip}/${a.prefixLength}`);
      expect(await run('ovs-vsctl', ['port-to-br', hostIfNameFor(interfaceId)])).toBe(`${bridge.name}\n`);
      await nodeCmd('removeReplica', replicaId, { replicaId, timeoutSec: 1 });
      expect((await docker(mainDocker, ['ps', '-aq', '--filter', `label=sdmi.replica=${replicaId}`])).trim()).toBe('');
      await netCmd('detachInterface', { interfaceId });

      // The Milestone-1 example deployed on this containerised control plane through the SDK, as
      // a user would: the host admitted, the manifest applied, the db mesh formed by the example's
      // hooks (exec in the replicas through the containerised node-agent), a request LB -> App -> DB.
      await buildExampleImages(mainDocker);
      await client.run('scheduler', { kind: 'addNode', key: `node/${node}`, payload: { name: node } }, { timeoutMs: 60_000 });
      const m1 = new Milestone1(Cluster.over(nc, { prefix: names.prefix }), { tenant: tag, timeoutMs: 300_000 });
      try {
        await m1.deploy();
        expect(m1.meshMembers).toHaveLength(3);
        const w = await m1.request('/items', { method: 'POST', body: JSON.stringify({ body: 'through-containers' }) });
        expect(w.status, JSON.stringify(w.body)).toBe(201);
        const r = await m1.request('/');
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body).toMatchObject({ lb: expect.any(String), app: expect.any(String), db: { node: expect.stringMatching(/^db[123]$/) } });
      } finally {
        await m1.stop();
      }

      // SIGTERM (docker stop) ends each service cleanly, also node as PID 1 in its container.
      for (const c of started.splice(0)) {
        const id = c.getId();
        await c.stop({ timeout: 20_000, remove: false });
        expect(await docker(mainDocker, ['inspect', '-f', '{{.State.ExitCode}}', id]), c.getName()).toBe('0\n');
        await docker(mainDocker, ['rm', id]);
      }
    } finally {
      for (const c of started) await c.stop({ timeout: 5_000 }).catch(() => undefined);
    }
  }, 600_000);
});

describe('up --containers and down', () => {
  it('run each service as a container labelled with the run dir, refuse a second up, and down stops and removes exactly them', async () => {
    const instance = `cpu-${tag}`;
    const tsx = path.join(DEFAULT_ROOT_DIR, 'node_modules', '.bin', 'tsx');
    const script = (name: string) => path.join(DEFAULT_ROOT_DIR, 'packages', 'controlplane', 'src', name);
    const ports = await dnsPorts();
    // Info level: each container's last line ("stopped") must be in the output kept at down.
    const env = { ...process.env, ...serviceEnv, SDMI_LOG_LEVEL: 'info', SDMI_DNS_PORT: String(ports.dnsPort), SDMI_PDNS_API_PORT: String(ports.apiPort), SDMI_DOT_PORT: String(ports.dotPort) };
    const up = await exec(tsx, [script('up.ts'), '--containers', '--detach', '--run-dir', upRunDir, '--instance-id', instance, '--ready-timeout', '120000'], { timeout: 900_000, env });
    const [tablePart, dnsPart] = up.stdout.trim().split('\n\n');
    const table = tablePart!.split('\n');
    expect(table[0]).toMatch(/^SERVICE\s+INSTANCE\s+VERSION\s+PID\s+STATUS\s+ENDPOINTS$/);
    expect(table.slice(1).map((l) => l.split(/\s+/).slice(0, 2).concat(l.split(/\s+/)[4]!)), up.stdout).toEqual(SERVICE_NAMES.map((s) => [s, instance, 'ready']));

    const running = await listContainers(upRunDir);
    expect(running.map((c) => [c.service, c.name, c.running]).sort()).toEqual(SERVICE_NAMES.map((s) => [s, containerName(s, instance), true]).sort());
    // Each runs its service's image (tagged by content; others editing the tree may have made it
    // newer than the one built above) on the host network.
    for (const c of running) {
      const [image, network] = (await docker(mainDocker, ['inspect', '-f', '{{.Config.Image}} {{.HostConfig.NetworkMode}}', c.id])).trim().split(' ');
      expect(image, c.service).toMatch(new RegExp(`^sdmi/${c.service}:[0-9a-f]{16}$`));
      expect(network, c.service).toBe('host');
    }
    for (const s of SERVICE_NAMES) {
      // up saw each ready already; on a loaded machine one health answer can take over a second
      // (seen in CI), which says nothing about the service: ask again before failing.
      let h: Awaited<ReturnType<typeof requestHealth>> | undefined;
      for (let attempt = 1; h === undefined; attempt++) {
        h = await requestHealth(nc, healthSubject(s, instance), { timeout: 3_000 }).catch((err: unknown) => {
          if (attempt >= 3) throw err;
          return undefined;
        });
      }
      expect(h.ready, `${s}: ${JSON.stringify(h)}`).toBe(true);
    }
    // The DNS server it started (host processes, loopback ports) answers over TLS; dns-manager's
    // container has the API key file, read-only, and can read it as the images' user.
    expect(dnsPart).toMatch(new RegExp(`^DoT\\s+127\\.0\\.0\\.1:${ports.dotPort}\\s+dnsdist pid \\d+ \\(started\\)`, 'm'));
    expect((await kdig({ port: ports.dotPort }, '+norecurse', 'nothing.sdmi.invalid.', 'A')).status).toBe('REFUSED');
    const keyFile = path.join(upRunDir, 'dns', 'api-key');
    const dnsManager = running.find((c) => c.service === 'dns-manager')!;
    const mounts = JSON.parse(await docker(mainDocker, ['inspect', '-f', '{{json .Mounts}}', dnsManager.id])) as { Source: string; Destination: string; RW: boolean }[];
    expect(mounts.map((m) => [m.Source, m.Destination, m.RW])).toEqual([[keyFile, keyFile, false]]);
    await docker(mainDocker, ['exec', dnsManager.id, 'test', '-r', keyFile]);

    const again = await exec(tsx, [script('up.ts'), '--containers', '--run-dir', upRunDir, '--instance-id', instance], { env, timeout: 120_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('ContainersAlreadyRunningError') });

    // Exit 1 when a service's own stop failed (on a loaded machine one may outlive its stop
    // timeout): down says so for that container, and its kept log below ends with "stop failed".
    const down = await exec(tsx, [script('down.ts'), '--run-dir', upRunDir], { timeout: 120_000, env }).then(
      (r) => ({ ...r, code: 0 }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    const said = new Map(down.stdout.trim().split('\n').map((l) => [l.split(/\s+/)[0]!, l.split(/\s+/)[3]!]));
    expect([...said.keys()]).toEqual([...SERVICE_NAMES, 'dnsdist', 'pdns_server']);
    for (const s of SERVICE_NAMES) expect(['stopped', 'stop-failed'], `${s}: ${down.stdout}`).toContain(said.get(s));
    expect(said.get('dnsdist')).toBe('stopped');
    expect(said.get('pdns_server')).toBe('stopped');
    expect(down.code, down.stdout).toBe([...said.values()].every((o) => o === 'stopped') ? 0 : 1);
    await expect(kdig({ port: ports.dotPort, timeoutMs: 5_000 }, '+time=1', '+retry=0', 'nothing.sdmi.invalid.', 'A')).resolves.toMatchObject({ status: undefined });
    expect(await listContainers(upRunDir)).toEqual([]);
    for (const c of running) expect((await exec('docker', ['ps', '-aq', '--filter', `id=${c.id}`])).stdout.trim(), c.name).toBe('');
    // What each printed outlives its container: kept in the run dir, down to its last words.
    // (On a loaded machine a service may outlive its own stop timeout: then its last line is "stop failed".)
    for (const c of running) {
      const kept = await readFile(containerLogFile(upRunDir, c.name), 'utf8');
      expect(kept, c.name).toContain(`"service":"${c.service}"`);
      // What down said is what the service's last words say.
      expect(kept, c.name).toMatch(said.get(c.service) === 'stopped' ? /"msg":"stopped"/ : /"msg":"stop failed"/);
    }
    // Nobody answers for them any more.
    for (const s of SERVICE_NAMES) await expect(ready(s, instance)(), s).rejects.toThrow();
  }, 1_200_000);
});
