// A cluster with access control on, for tests: its own nats-server with the generated nkey
// permissions, the real services each running as its own principal with SDMI_PRINCIPALS_FILE set,
// a run-unique database and bus prefix. Users connect with their own seeds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { BusNames, RdmpClient, connectNats, type RdmpClientOptions } from '@sdmi/bus';
import { ensureIdentities, writeServerConfig, type Identity } from '@sdmi/bus-auth';
import { healthSubject, requestHealth } from '@sdmi/service';
import { Testbed, freePort, keepLog, recordSeedsIn, runId, testName, type NatsServer, type TestDatabase } from '@sdmi/testbed';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface SecureClusterOptions {
  /** Users besides admin and viewer. */
  users: readonly string[];
  /** Nodes with a node-agent each (on the machine's dockerd, a bridge of their own). */
  nodes: readonly string[];
}

export class SecureCluster {
  readonly tb = new Testbed();
  readonly names = new BusNames(`acl_${runId()}`);
  readonly keyDir = join(tmpdir(), testName('acl'));
  ids = new Map<string, Identity>();
  server!: NatsServer;
  db!: TestDatabase;
  principalsFile = '';
  /** Everything the services printed. */
  log = '';
  private readonly conns: NatsConnection[] = [];
  private admin!: NatsConnection;

  static async start(o: SecureClusterOptions): Promise<SecureCluster> {
    const c = new SecureCluster();
    try {
      await c.boot(o);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  private async boot(o: SecureClusterOptions): Promise<void> {
    mkdirSync(this.keyDir, { mode: 0o700 });
    this.tb.defer(this.keyDir, () => rmSync(this.keyDir, { recursive: true, force: true }));
    const identities = ensureIdentities({ dir: this.keyDir, names: this.names, nodes: o.nodes, users: o.users });
    this.ids = new Map(identities.map((i) => [i.principal.name, i]));
    recordSeedsIn(this.keyDir);
    this.server = await this.tb.natsServer({
      config: (at) => {
        const files = writeServerConfig({ dir: this.keyDir, identities, host: at.host, port: at.port, storeDir: at.storeDir });
        this.principalsFile = files.manifestFile;
        return readFileSync(files.configFile, 'utf8');
      },
    });
    this.db = await this.tb.database();
    this.admin = await this.connect('admin');
    // The network-controller first: it creates the access tables the others' gateways read (they
    // would also migrate them; one at a time keeps start-up logs readable).
    await this.startService('network-controller', { SDMI_OPENFLOW_LISTEN: `127.0.0.1:${await freePort(false)}` });
    await Promise.all([this.startService('scheduler'), this.startService('metrics-collector'), this.startService('dns-manager'), this.startService('switch-agent')]);
    for (const node of o.nodes) {
      const bridge = await this.tb.bridge();
      await this.startService('node-agent', { SDMI_NODE_NAME: node, SDMI_DOCKER_SOCKET: '/var/run/docker.sock', SDMI_NODE_BRIDGE: bridge.name }, `node-agent-${node}`, `node-${node}`);
    }
  }

  private instanceOf(service: string): string {
    return `${service === 'network-controller' ? 'nc' : service}-${runId()}`;
  }

  /** services/<service>/src/main.ts as its own principal, with access control on; waits until ready. */
  private async startService(service: string, env: Record<string, string> = {}, principal = service, instance = this.instanceOf(service)): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, `services/${service}/src/main.ts`)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        SDMI_BUS_PREFIX: this.names.prefix,
        SDMI_PG_URL: this.db.url,
        SDMI_NATS_URL: this.server.url,
        SDMI_NATS_NKEY_SEED_FILE: this.ids.get(principal)!.seedFile,
        SDMI_PRINCIPALS_FILE: this.principalsFile,
        SDMI_INSTANCE_ID: instance,
        SDMI_LOG_LEVEL: 'debug',
        ...env,
      },
    });
    child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.tb.defer(`${service} ${instance}`, async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    });
    const end = Date.now() + 90_000;
    for (;;) {
      const h = await requestHealth(this.admin, healthSubject(service, instance), { timeout: 1_000 }).catch(() => undefined);
      if (h?.ready) return child;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`${service} not ready:\n${this.log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** A connection as this principal (its seed; requests signed with it). */
  async connect(principal: string): Promise<NatsConnection> {
    const identity = this.ids.get(principal);
    if (!identity) throw new Error(`no principal ${principal}`);
    const nc = await connectNats(`test-${principal}`, this.server.url, { SDMI_NATS_NKEY_SEED_FILE: identity.seedFile });
    this.conns.push(nc);
    return nc;
  }

  async client(principal: string, opts: Omit<RdmpClientOptions, 'names'> = {}): Promise<RdmpClient> {
    return new RdmpClient(await this.connect(principal), { names: this.names, ...opts });
  }

  async stop(): Promise<void> {
    for (const nc of this.conns) await nc.close().catch(() => undefined);
    await this.tb.dispose();
    keepLog('secure-cluster services', this.log);
  }
}
