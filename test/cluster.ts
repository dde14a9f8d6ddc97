// A whole SDMI cluster on this machine for end-to-end tests: a run-unique database and bus prefix,
// two Docker hosts (the machine's dockerd and one more of our own), each with its OVS bridge on one
// fabric, and the services as processes of their own (network-controller, a node-agent per host,
// optionally the scheduler), driven only over the bus.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BusNames, RdmpClient, connectNats, jetstreamManager, removeStreams, type Outcome } from '@sdmi/bus';
import { healthSubject, requestHealth } from '@sdmi/service';
import { FailMode, Testbed, buildBaseImage, createDatabase, docker, mainDocker, run, runId, type DockerEndpoint, type OvsBridge, type TestDatabase } from '@sdmi/testbed';

const root = fileURLToPath(new URL('../', import.meta.url));

export interface ClusterHost {
  name: string;
  dpid: string;
  bridge: OvsBridge;
  uplink: string;
  endpoint: DockerEndpoint;
  socket: string;
  instance: string;
}

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  script: string;
  env: Record<string, string>;
}

export class LocalCluster {
  readonly tag = runId();
  readonly names: BusNames;
  readonly tb = new Testbed();
  readonly hosts = new Map<string, ClusterHost>();
  db!: TestDatabase;
  nc!: Awaited<ReturnType<typeof connectNats>>;
  client!: RdmpClient;
  #port = 0;
  readonly #procs: Proc[] = [];

  /** `id` keeps concurrent clusters of one test run apart (bus prefix, datapath ids). */
  constructor(private readonly id: string) {
    this.names = new BusNames(`${this.tag}${id}`);
  }

  /**
   * `dns`: the cluster has DNS under `domain`, kept by a dns-manager in the given PowerDNS (the
   * scheduler then registers replicas as they start). `metrics`: a metrics-collector runs, and the
   * node-agents and the network-controller sample every second (rather than every 5 s) so that tests
   * see samples soon, and the autoscaler evaluates every second.
   */
  async start(opts: { scheduler?: boolean; metrics?: boolean; dns?: { domain: string; apiUrl: string; apiKey: string; resyncMs?: number; publishTimeoutMs?: number } } = {}): Promise<void> {
    this.db = await createDatabase();
    this.nc = await connectNats(`test-${this.tag}-${this.id}`);
    this.client = new RdmpClient(this.nc, { names: this.names });
    const net = await import('node:net');
    this.#port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as import('node:net').AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const extra = await this.tb.dockerHost();
    const fabric = await this.tb.bridge({ failMode: FailMode.Standalone });
    // Datapath ids must be unique on the machine's ovs-vswitchd, also across concurrent runs.
    const dpidBase = createHash('sha1').update(`${this.tag}${this.id}`).digest('hex').slice(0, 6);
    for (const [i, [name, endpoint, socket]] of ([['host-a', mainDocker, '/var/run/docker.sock'], ['host-b', extra, extra.socketPath]] as const).entries()) {
      const dpid = `000000${dpidBase}${(i + 1).toString(16).padStart(4, '0')}`;
      const bridge = await this.tb.bridge({ otherConfig: { 'datapath-id': dpid } });
      const uplink = await bridge.addVethPort();
      await fabric.addPort(uplink.peer);
      await run('ovs-vsctl', ['--timeout=10', '--', 'set', 'Bridge', bridge.name, 'controller=@c', '--', '--id=@c', 'create', 'Controller', `target="tcp:127.0.0.1:${this.#port}"`, 'max_backoff=1000']);
      await buildBaseImage(endpoint);
      this.hosts.set(name, { name, dpid, bridge, uplink: uplink.bridgeEnd, endpoint, socket, instance: `na-${this.tag}-${name}` });
    }
    const metricsEnv: Record<string, string> = opts.metrics ? { SDMI_METRICS_INTERVAL_MS: '1000' } : {};
    if (opts.metrics) this.#spawn('metrics-collector', 'services/metrics-collector/src/main.ts', { SDMI_INSTANCE_ID: `mc-${this.tag}`, SDMI_AUTOSCALE_INTERVAL_MS: '1000', ...metricsEnv });
    this.#spawn('network-controller', 'services/network-controller/src/main.ts', { SDMI_INSTANCE_ID: `nc-${this.tag}`, SDMI_OPENFLOW_LISTEN: `127.0.0.1:${this.#port}`, ...metricsEnv });
    for (const h of this.hosts.values()) {
      this.#spawn(h.name, 'services/node-agent/src/main.ts', { SDMI_INSTANCE_ID: h.instance, SDMI_NODE_NAME: h.name, SDMI_DOCKER_SOCKET: h.socket, SDMI_NODE_BRIDGE: h.bridge.name, ...metricsEnv });
    }
    const dnsEnv: Record<string, string> = opts.dns ? { SDMI_DNS_DOMAIN: opts.dns.domain } : {};
    const publish: Record<string, string> = opts.dns?.publishTimeoutMs !== undefined ? { SDMI_DNS_PUBLISH_TIMEOUT_MS: String(opts.dns.publishTimeoutMs) } : {};
    if (opts.scheduler) this.#spawn('scheduler', 'services/scheduler/src/main.ts', { SDMI_INSTANCE_ID: `sc-${this.tag}`, ...dnsEnv, ...publish });
    if (opts.dns) {
      this.#spawn('dns-manager', 'services/dns-manager/src/main.ts', {
        SDMI_INSTANCE_ID: `dm-${this.tag}`,
        ...dnsEnv,
        SDMI_PDNS_API_URL: opts.dns.apiUrl,
        SDMI_PDNS_API_KEY: opts.dns.apiKey,
        ...(opts.dns.resyncMs !== undefined ? { SDMI_DNS_RESYNC_MS: String(opts.dns.resyncMs) } : {}),
      });
    }
    await this.ready('network-controller', `nc-${this.tag}`);
    for (const h of this.hosts.values()) await this.ready('node-agent', h.instance);
    if (opts.scheduler) await this.ready('scheduler', `sc-${this.tag}`);
    if (opts.dns) await this.ready('dns-manager', `dm-${this.tag}`);
    if (opts.metrics) await this.ready('metrics-collector', `mc-${this.tag}`);
    for (const h of this.hosts.values()) await this.netCmd('registerHost', { name: h.name, dpid: h.dpid, uplinkPort: h.uplink });
  }

  #spawn(name: string, script: string, env: Record<string, string>): void {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SDMI_BUS_PREFIX: this.names.prefix, SDMI_PG_URL: this.db.url, SDMI_LOG_LEVEL: 'warn', ...env },
    });
    const p: Proc = { name, child, log: '', script, env };
    child.stdout!.on('data', (d: Buffer) => (p.log = (p.log + d.toString()).slice(-6000)));
    child.stderr!.on('data', (d: Buffer) => (p.log = (p.log + d.toString()).slice(-6000)));
    this.#procs.push(p);
  }

  /** SIGKILLs one of the service processes (by the name it was started under: a host name for its agent). */
  async kill(name: string): Promise<void> {
    const p = this.#procs.find((x) => x.name === name && x.child.exitCode === null && x.child.signalCode === null);
    if (!p) return;
    const gone = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGKILL');
    await gone;
  }

  /** Starts a killed service process again, as it was started the first time. */
  restart(name: string): void {
    const p = this.#procs.find((x) => x.name === name);
    if (!p) throw new Error(`no process ${name}`);
    this.#spawn(name, p.script, p.env);
  }

  /** The services' recent output, for a failure message. */
  logs(): string {
    return this.#procs.map((p) => `--- ${p.name}\n${p.log}`).join('\n');
  }

  async until(cond: () => Promise<boolean>, what: string, timeoutMs = 40_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await cond().catch(() => false))) {
      if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}\n${this.logs()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  ready(service: string, instance: string): Promise<void> {
    return this.until(async () => (await requestHealth(this.nc, healthSubject(service, instance), { timeout: 1_000 })).ready, `${service} ${instance} ready`);
  }

  netCmd(kind: string, payload: Record<string, unknown>): Promise<Outcome> {
    return this.client.run('network-controller', { kind, key: 'networks', payload });
  }

  /** Whether `from` (a container on `host`) gets an echo reply from `ip`. */
  pings(host: string, containerId: string, ip: string, waitSec = 3): Promise<boolean> {
    return run('docker', ['-H', this.hosts.get(host)!.endpoint.host, 'exec', containerId, 'ping', '-c', '1', '-W', String(waitSec), ip]).then(
      () => true,
      () => false,
    );
  }

  /** Containers of this run's replicas on a host (their replica ids start with the run tag). */
  async containers(host: string): Promise<{ id: string; replica: string; running: boolean }[]> {
    const ep = this.hosts.get(host)!.endpoint;
    const ids = (await docker(ep, ['ps', '-aq', '--filter', 'label=sdmi.replica'])).split('\n').filter(Boolean);
    const out = [];
    for (const id of ids) {
      // A container listed a moment ago may be gone by now (removed by its agent, or by another test).
      const line = await docker(ep, ['inspect', '-f', '{{index .Config.Labels "sdmi.replica"}} {{.State.Running}}', id]).catch(() => undefined);
      if (line === undefined) continue;
      const [replica, running] = line.trim().split(' ');
      if (replica!.startsWith(`${this.tag}/`)) out.push({ id, replica: replica!, running: running === 'true' });
    }
    return out;
  }

  async dispose(): Promise<void> {
    for (const p of this.#procs) p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_500));
    for (const p of this.#procs) p.child.kill('SIGKILL');
    // Containers of this run on the machine's dockerd (the extra daemon takes its own with it).
    const mine = this.hosts.has('host-a') ? (await this.containers('host-a')).map((c) => c.id) : [];
    if (mine.length) await docker(mainDocker, ['rm', '-f', ...mine]);
    await this.tb.dispose();
    if (this.nc) {
      await removeStreams(await jetstreamManager(this.nc), this.names).catch(() => undefined);
      await this.nc.close();
    }
    await this.db?.dispose();
  }
}
