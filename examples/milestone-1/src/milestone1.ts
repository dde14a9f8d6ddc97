// The Milestone-1 application written against the SDK: its manifest applied through Cluster.apply,
// and the database as a Service subclass whose lifecycle hooks run the mesh workflow inside the
// PostgreSQL containers (through the node-agents' exec channel) as nodes join and leave.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseManifest, type Resource } from '@sdmi/manifest';
import { Member, Service, type Cluster, type HealthResult, type LifecycleEvent, type PlanProgress, type ServiceWatch } from '@sdmi/sdk';
import { MESH_COMMAND, addNodePlan, meshHealth, meshNodeName, parsePeers, removeNodePlan, type MeshNode, type MeshStep } from './mesh';

export const MANIFEST_FILE = fileURLToPath(new URL('../manifest/milestone-1.yaml', import.meta.url));
export const DEFAULT_TENANT = 'm1';

/** The manifest's resources, for another tenant when given (tests use a run-unique one). */
export async function milestone1Resources(tenant = DEFAULT_TENANT): Promise<Resource[]> {
  const text = await readFile(MANIFEST_FILE, 'utf8');
  return parseManifest(text, MANIFEST_FILE).map((r) => ({ ...r, spec: { ...r.spec, tenant } }) as Resource);
}

/** A db replica's mesh name: stable per slot, so a replacement takes over its predecessor's name. */
export function dbNodeName(m: Pick<Member, 'slot'>): string {
  return meshNodeName(`db${m.slot}`);
}

function meshNode(m: Member): MeshNode {
  const address = m.address('db');
  if (address === null) throw new Error(`db replica ${m.id} has no address on the db network`);
  return { name: dbNodeName(m), address };
}

/**
 * The PostgreSQL tier. A node that joins subscribes to every member and every member to it
 * (copying rows first, so it gets the history); a node that leaves is unsubscribed from by every
 * remaining member, and the slots kept for it are dropped, so no WAL is held back for it.
 * A node is healthy when it answers and its subscriptions to its peers are enabled: one that
 * stops replicating leaves the mesh (its container stays: it still answers the image's own
 * `m1-mesh health`, the scheduler's check) and joins again, copying anew, once it is repaired.
 */
export class Database extends Service {
  /** Each step as it ran, for the example's output. */
  onStep: (step: MeshStep) => void = () => {};

  override async onAddNode(joining: Member, members: readonly Member[]): Promise<void> {
    await this.runSteps(addNodePlan(meshNode(joining), members.map(meshNode)), [joining, ...members]);
  }

  override async onRemoveNode(leaving: Member, remaining: readonly Member[]): Promise<void> {
    await this.runSteps(removeNodePlan(dbNodeName(leaving), remaining.map(dbNodeName)), [...remaining]);
  }

  override async health(member: Member): Promise<HealthResult> {
    // `peers` waits up to 30 s for PostgreSQL by default; a check should say at once that it does not answer.
    const r = await member.exec(['/usr/bin/env', 'M1_MESH_WAIT_S=2', MESH_COMMAND, 'peers'], { timeoutMs: 8_000 });
    if (r.exitCode !== 0) return { healthy: false, detail: r.stderr.trim().split('\n').at(-1) || `m1-mesh peers exited with ${r.exitCode}` };
    return meshHealth(parsePeers(r.stdout));
  }

  private async runSteps(steps: readonly MeshStep[], members: readonly Member[]): Promise<void> {
    const byName = new Map(members.map((m) => [dbNodeName(m), m]));
    for (const step of steps) {
      const m = byName.get(step.node);
      if (!m) throw new Error(`mesh step for ${step.node}, which is not a member: ${step.why}`);
      await m.run(step.argv as [string, ...string[]], { timeoutMs: 60_000 });
      this.onStep(step);
    }
  }
}

export interface Milestone1Options {
  tenant?: string;
  onProgress?: (p: PlanProgress) => void;
  onMesh?: (e: LifecycleEvent | { type: 'step'; step: MeshStep }) => void;
  timeoutMs?: number;
  /** The db watch's health checks (defaults: the SDK's, 10 s and 3 failures in a row). */
  healthIntervalMs?: number;
  healthRetries?: number;
}

/** What a request through the application returned. */
export interface Milestone1Reply {
  status: number;
  body: { app?: string; lb?: string; db?: { node?: string; address?: string }; row?: unknown; count?: number; [k: string]: unknown };
}

/** The application deployed on a cluster, with its database mesh kept by this process. */
export class Milestone1 {
  readonly tenant: string;
  readonly db: Database;
  private watch: ServiceWatch | null = null;

  constructor(
    readonly cluster: Cluster,
    private readonly opts: Milestone1Options = {},
  ) {
    this.tenant = opts.tenant ?? DEFAULT_TENANT;
    this.db = cluster.tenant(this.tenant).service('db', Database);
    this.db.onStep = (step) => this.opts.onMesh?.({ type: 'step', step });
  }

  /** Applies the manifest (waiting until every service serves) and forms the mesh of the db replicas. */
  async deploy(): Promise<void> {
    const resources = await milestone1Resources(this.tenant);
    this.startMesh();
    await this.cluster.apply(resources, { ...(this.opts.onProgress ? { onProgress: this.opts.onProgress } : {}), ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}) });
    const desired = resources.find((r) => r.kind === 'Service' && r.spec.name === 'db')!.spec as { replicas: number };
    await this.watch!.settled({ count: desired.replicas, ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}) });
  }

  /** Keeps the mesh following the db replicas (deploy starts it; call it after a restart of this process). */
  startMesh(): ServiceWatch {
    this.watch ??= this.db.watch({
      onEvent: (e) => this.opts.onMesh?.(e),
      ...(this.opts.healthIntervalMs !== undefined ? { healthIntervalMs: this.opts.healthIntervalMs } : {}),
      ...(this.opts.healthRetries !== undefined ? { healthRetries: this.opts.healthRetries } : {}),
    });
    return this.watch;
  }

  /** Scales the database; returns once the mesh has exactly `n` members. */
  async scaleDatabase(n: number): Promise<Member[]> {
    const w = this.startMesh();
    await this.db.scale(n, this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {});
    return w.settled({ count: n, ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}) });
  }

  get meshMembers(): Member[] {
    return this.watch?.members ?? [];
  }

  /** db replicas that run but are out of the mesh for failing their health check. */
  get benchedMembers(): Member[] {
    return this.watch?.benched ?? [];
  }

  /** The load balancer's address, as the manifest fixes it. */
  async lbAddress(): Promise<string> {
    const s = await this.cluster.tenant(this.tenant).service('lb').status();
    const a = s?.addresses.find((x) => x.network === `${this.tenant}/lb`)?.address;
    if (!a) throw new Error(`service ${this.tenant}/lb has no address on its lb network yet`);
    return a;
  }

  /**
   * A request from the client replica (on the lb network, like any user of the application) to
   * the load balancer over TLS: LB -> App -> DB. `method` POST writes a row.
   */
  async request(path = '/', opts: { method?: 'GET' | 'POST'; body?: string } = {}): Promise<Milestone1Reply> {
    const [client] = await this.cluster.tenant(this.tenant).service('client').liveReplicas();
    if (!client) throw new Error(`service ${this.tenant}/client has no replica to send the request from`);
    const m = new Member(this.cluster, client);
    const lb = await this.lbAddress();
    const argv: [string, ...string[]] = ['curl', '-sk', '-m', '10', '-w', '\n%{http_code}', ...(opts.method === 'POST' ? ['-X', 'POST', '-H', 'content-type: application/json', '--data', opts.body ?? '{}'] : []), `https://${lb}${path}`];
    const r = await m.exec(argv, { timeoutMs: 20_000 });
    const lines = r.stdout.trimEnd().split('\n');
    const status = Number(lines.pop());
    let body: Milestone1Reply['body'] = {};
    try {
      body = JSON.parse(lines.join('\n')) as Milestone1Reply['body'];
    } catch {
      body = { raw: lines.join('\n'), stderr: r.stderr };
    }
    return { status: Number.isFinite(status) ? status : 0, body };
  }

  /** Reads the rows one db node has (`SELECT` through psql in its container). */
  async rowsOn(member: Member): Promise<string[]> {
    const out = await member.run(['psql', '-U', 'postgres', '-d', 'm1', '-Atc', 'SELECT body FROM items ORDER BY body'], { timeoutMs: 20_000 });
    return out.split('\n').filter((l) => l !== '');
  }

  async stop(): Promise<void> {
    await this.watch?.stop();
    this.watch = null;
  }
}
