// Runs a Service subclass's lifecycle hooks as its replicas join and leave. A replica joins once
// it runs (and, with a health check, is healthy); it leaves when it stops, fails or goes away.
// Hooks run one at a time, leaves before joins (a replacement may take the name of the replica it
// replaces), and a hook that fails is retried on the next poll: membership only changes once its
// hook succeeded, so the workflow inside the containers is never half-recorded as done.
import { contracts as sharedContracts, execInReplica, execInReplicaWaitMs, nodeService, type ExecInReplicaPayload, type ExecInReplicaResult } from '@sdmi/contracts';
import type { Cluster } from './cluster';
import type { ReplicaStatus, Service } from './service';

export interface ExecOptions {
  timeoutMs?: number;
  stdin?: string;
}

/** A replica as the hooks see it: where it runs, its addresses, and a way to run commands in it. */
export class Member {
  constructor(
    private readonly cluster: Cluster,
    readonly replica: ReplicaStatus,
  ) {}

  get id(): string {
    return this.replica.id;
  }
  get slot(): number {
    return this.replica.slot;
  }
  get node(): string {
    return this.replica.node;
  }

  /** Its address on a network (the first addressed interface when none is named). */
  address(network?: string): string | null {
    const i = this.replica.interfaces.find((x) => (network === undefined || x.network === network || x.network.endsWith(`/${network}`)) && x.ip !== null);
    return i?.ip ?? null;
  }

  /**
   * Runs argv inside the replica's container through its node-agent (our control channel: no SSH,
   * no Docker socket in the caller's hands). A non-zero exit is returned, not thrown.
   */
  async exec(argv: readonly [string, ...string[]], opts: ExecOptions = {}): Promise<ExecInReplicaResult> {
    const payload: ExecInReplicaPayload = { replicaId: this.replica.id, argv: [...argv], ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) };
    const cmd = execInReplica(payload);
    const outcome = await this.cluster.client.run(nodeService(this.replica.node), cmd, { timeoutMs: execInReplicaWaitMs(payload) });
    return sharedContracts().assert('ExecInReplicaResult', outcome.result);
  }

  /** Like exec, but a non-zero exit throws HookCommandFailed with the command's stderr. */
  async run(argv: readonly [string, ...string[]], opts: ExecOptions = {}): Promise<string> {
    const r = await this.exec(argv, opts);
    if (r.exitCode !== 0) throw new HookCommandFailed(this.replica.id, argv, r);
    return r.stdout;
  }
}

export class HookCommandFailed extends Error {
  override readonly name = 'HookCommandFailed';
  constructor(
    readonly replica: string,
    readonly argv: readonly string[],
    readonly result: ExecInReplicaResult,
  ) {
    super(`${argv.join(' ')} in ${replica} exited with ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-3).join(' | ') || '(no output)'}`);
  }
}

export type LifecycleEvent =
  | { type: 'joined' | 'left'; member: Member; members: readonly Member[] }
  | { type: 'hook-failed'; hook: 'onAddNode' | 'onRemoveNode'; member: Member; error: unknown };

export interface WatchOptions {
  /** Default 1000 ms. */
  pollMs?: number;
  onEvent?: (e: LifecycleEvent) => void;
}

/** Replica states in which a replica takes part (a replica with a health check joins once healthy). */
function participates(r: ReplicaStatus, hasHealthCheck: boolean): boolean {
  return hasHealthCheck ? r.state === 'healthy' : r.state === 'running' || r.state === 'healthy';
}

/** A running watch of one service: its members are the replicas whose onAddNode hook succeeded. */
export class ServiceWatch {
  private readonly joined = new Map<string, Member>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastError: unknown = null;
  private settledWaiters: (() => void)[] = [];
  private pending = true;

  constructor(
    private readonly service: Service,
    private readonly opts: WatchOptions = {},
  ) {}

  /** Replicas taking part now, by slot. */
  get members(): Member[] {
    return [...this.joined.values()].sort((a, b) => a.slot - b.slot);
  }

  /** The last hook failure (null once a poll had none). */
  get error(): unknown {
    return this.lastError;
  }

  start(): this {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.poll().finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(tick, this.opts.pollMs ?? 1_000);
      });
    };
    tick();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Resolves once the members are exactly the replicas that take part (every hook has run), and
   * there are `count` of them when given. Rejects on the timeout with the last hook error.
   */
  async settled(opts: { count?: number; timeoutMs?: number } = {}): Promise<Member[]> {
    const end = Date.now() + (opts.timeoutMs ?? 180_000);
    for (;;) {
      if (!this.pending && (opts.count === undefined || this.joined.size === opts.count)) return this.members;
      if (Date.now() > end) {
        const why = this.lastError instanceof Error ? `: last hook error: ${this.lastError.message}` : '';
        throw new Error(`service ${this.service.id}: membership not settled within ${opts.timeoutMs ?? 180_000} ms (${this.joined.size} member(s)${opts.count !== undefined ? ` of ${opts.count}` : ''})${why}`);
      }
      await new Promise<void>((r) => {
        this.settledWaiters.push(r);
        setTimeout(r, 500);
      });
    }
  }

  private async poll(): Promise<void> {
    let replicas: ReplicaStatus[];
    let hasHealthCheck: boolean;
    try {
      const status = await this.service.status();
      replicas = await this.service.replicas();
      hasHealthCheck = status?.spec.healthCheck !== undefined;
    } catch (e) {
      this.lastError = e;
      return; // the scheduler may be restarting: try again next poll
    }
    const cluster = this.service.cluster;
    const current = new Map(replicas.filter((r) => participates(r, hasHealthCheck)).map((r) => [r.id, r]));
    let failed = false;
    for (const [id, m] of [...this.joined]) {
      if (current.has(id)) continue;
      const remaining = this.members.filter((x) => x.id !== id);
      try {
        await this.service.onRemoveNode(m, remaining);
        this.joined.delete(id);
        this.opts.onEvent?.({ type: 'left', member: m, members: this.members });
      } catch (error) {
        failed = true;
        this.lastError = error;
        this.opts.onEvent?.({ type: 'hook-failed', hook: 'onRemoveNode', member: m, error });
      }
    }
    for (const r of [...current.values()].sort((a, b) => a.slot - b.slot)) {
      if (this.joined.has(r.id)) continue;
      const m = new Member(cluster, r);
      try {
        await this.service.onAddNode(m, this.members);
        this.joined.set(r.id, m);
        this.opts.onEvent?.({ type: 'joined', member: m, members: this.members });
      } catch (error) {
        failed = true;
        this.lastError = error;
        this.opts.onEvent?.({ type: 'hook-failed', hook: 'onAddNode', member: m, error });
      }
    }
    if (!failed) this.lastError = null;
    this.pending = failed || [...current.keys()].some((id) => !this.joined.has(id)) || [...this.joined.keys()].some((id) => !current.has(id));
    for (const w of this.settledWaiters.splice(0)) w();
  }
}
