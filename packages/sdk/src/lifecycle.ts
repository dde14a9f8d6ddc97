// Runs a Service subclass's lifecycle hooks as its replicas join and leave. A replica joins once
// it runs (and, with a health check, is healthy); it leaves when it stops, fails or goes away.
// Hooks run one at a time, leaves before joins (a replacement may take the name of the replica it
// replaces), and a hook that fails is retried on the next poll: membership only changes once its
// hook succeeded, so the workflow inside the containers is never half-recorded as done.
//
// The `health` hook is the workflow's own judgement, on top of the scheduler's container check:
// it runs only on replicas the scheduler lets take part, and a member failing it `healthRetries`
// times in a row leaves (onRemoveNode) while its container keeps running and serving; it joins
// again once the hook passes. Nothing of it goes back to the scheduler.
import { contracts as sharedContracts, execInReplica, execInReplicaWaitMs, nodeService, type ExecInReplicaPayload, type ExecInReplicaResult } from '@sdmi/contracts';
import type { Cluster } from './cluster';
import { DEFAULT_HEALTH_INTERVAL_MS, DEFAULT_HEALTH_RETRIES, DEFAULT_HEALTH_TIMEOUT_MS, HealthLedger, type HealthResult, type MemberHealth } from './health';
import type { ReplicaStatus, Service } from './service';

export interface ExecOptions {
  timeoutMs?: number;
  stdin?: string;
}

// Written only by the watch; a WeakMap so that users read `member.health` but cannot set it.
const healthOf = new WeakMap<Member, MemberHealth>();

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

  /** Its last health check while a watch ran (null before the first). */
  get health(): MemberHealth | null {
    return healthOf.get(this) ?? null;
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

/**
 * Why a member left: its replica no longer takes part as the scheduler sees it (stopped, failed,
 * gone, or unhealthy by the container check), or it failed the service's health hook.
 */
export type LeaveReason =
  | { cause: 'replica'; state: ReplicaStatus['state'] | 'gone'; detail: string }
  | { cause: 'health'; health: MemberHealth; detail: string };

export type LifecycleEvent =
  | { type: 'joined'; member: Member; members: readonly Member[] }
  | { type: 'left'; member: Member; members: readonly Member[]; reason: LeaveReason }
  | { type: 'hook-failed'; hook: 'onAddNode' | 'onRemoveNode'; member: Member; error: unknown }
  /** A health check ended; `member` is a member, or a replica benched for its health. `error` when the hook threw. */
  | { type: 'health'; member: Member; health: MemberHealth; error?: unknown };

export interface WatchOptions {
  /** Default 1000 ms. */
  pollMs?: number;
  /** Time between two runs of the health hook on one replica. Default 10 000 ms. */
  healthIntervalMs?: number;
  /** Failed health checks in a row that take a member out. Default 3. */
  healthRetries?: number;
  /** A health hook still running after this counts as failed. Default 10 000 ms. */
  healthTimeoutMs?: number;
  onEvent?: (e: LifecycleEvent) => void;
}

/** Replica states in which a replica takes part (a replica with a health check joins once healthy). */
function participates(r: ReplicaStatus, hasHealthCheck: boolean): boolean {
  return hasHealthCheck ? r.state === 'healthy' : r.state === 'running' || r.state === 'healthy';
}

/** A running watch of one service: its members are the replicas whose onAddNode hook succeeded. */
export class ServiceWatch {
  private readonly joined = new Map<string, Member>();
  /** Replicas out of membership for their health (a member among them until its onRemoveNode succeeded). */
  private readonly outside = new Map<string, Member>();
  private readonly ledger: HealthLedger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastError: unknown = null;
  private settledWaiters: (() => void)[] = [];
  private pending = true;

  constructor(
    private readonly service: Service,
    private readonly opts: WatchOptions = {},
  ) {
    this.ledger = new HealthLedger({ intervalMs: opts.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS, retries: opts.healthRetries ?? DEFAULT_HEALTH_RETRIES });
  }

  /** Replicas taking part now, by slot. */
  get members(): Member[] {
    return [...this.joined.values()].sort((a, b) => a.slot - b.slot);
  }

  /** Replicas that run but are out of membership because they failed the health hook, by slot. */
  get benched(): Member[] {
    return [...this.outside.values()].filter((m) => !this.joined.has(m.id)).sort((a, b) => a.slot - b.slot);
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
   * there are `count` of them when given. A replica benched for its health does not take part.
   * Rejects on the timeout with the last hook error.
   */
  async settled(opts: { count?: number; timeoutMs?: number } = {}): Promise<Member[]> {
    const end = Date.now() + (opts.timeoutMs ?? 180_000);
    for (;;) {
      if (!this.pending && (opts.count === undefined || this.joined.size === opts.count)) return this.members;
      if (Date.now() > end) {
        const why = this.lastError instanceof Error ? `: last hook error: ${this.lastError.message}` : '';
        const benched = this.benched.map((m) => `${m.id} (${m.health?.detail ?? 'unhealthy'})`);
        throw new Error(
          `service ${this.service.id}: membership not settled within ${opts.timeoutMs ?? 180_000} ms (${this.joined.size} member(s)${opts.count !== undefined ? ` of ${opts.count}` : ''}${benched.length > 0 ? `; benched for health: ${benched.join(', ')}` : ''})${why}`,
        );
      }
      await new Promise<void>((r) => {
        this.settledWaiters.push(r);
        setTimeout(r, 500);
      });
    }
  }

  /** Runs the hook with the watch's timeout; a throw or a timeout is a failed check with the error as its detail. */
  private async check(m: Member): Promise<{ result: HealthResult; error?: unknown }> {
    const timeoutMs = this.opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the health hook did not finish within ${timeoutMs} ms`)), timeoutMs);
      });
      const r = await Promise.race([this.service.health(m), timeout]);
      return { result: { healthy: r.healthy === true, detail: String(r.detail) } };
    } catch (error) {
      return { result: { healthy: false, detail: error instanceof Error ? error.message : String(error) }, error };
    } finally {
      clearTimeout(timer);
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
    const listed = new Map(replicas.map((r) => [r.id, r]));
    const current = new Map(replicas.filter((r) => participates(r, hasHealthCheck)).map((r) => [r.id, r]));
    // A replica the scheduler still lists keeps its record: if its container check flaps while it
    // is benched, it must still pass the health hook before it joins again.
    this.ledger.keepOnly(new Set(listed.keys()));
    for (const id of [...this.outside.keys()]) if (!listed.has(id)) this.outside.delete(id);

    // Health first, so that a member benched now leaves and one readmitted joins in this same poll.
    // Only replicas the scheduler lets take part are checked: the others leave, or wait, anyway.
    const targets = [...current.values()]
      .map((r) => this.joined.get(r.id) ?? (this.ledger.benched(r.id) ? this.outsider(r) : undefined))
      .filter((m): m is Member => m !== undefined)
      .sort((a, b) => a.slot - b.slot);
    for (const m of targets) {
      if (!this.ledger.due(m.id, Date.now())) continue;
      const { result, error } = await this.check(m);
      const { health, change } = this.ledger.record(m.id, result, Date.now());
      healthOf.set(m, health);
      if (change === 'bench') this.outside.set(m.id, m);
      if (change === 'readmit') this.outside.delete(m.id);
      this.opts.onEvent?.({ type: 'health', member: m, health, ...(error !== undefined ? { error } : {}) });
      if (this.stopped) return;
    }

    let failed = false;
    for (const [id, m] of [...this.joined]) {
      const reason = this.leaveReason(m, listed.get(id), current.has(id));
      if (reason === null) continue;
      const remaining = this.members.filter((x) => x.id !== id);
      try {
        await this.service.onRemoveNode(m, remaining, reason);
        this.joined.delete(id);
        this.opts.onEvent?.({ type: 'left', member: m, members: this.members, reason });
      } catch (error) {
        failed = true;
        this.lastError = error;
        this.opts.onEvent?.({ type: 'hook-failed', hook: 'onRemoveNode', member: m, error });
      }
    }
    for (const r of [...current.values()].sort((a, b) => a.slot - b.slot)) {
      if (this.joined.has(r.id) || this.ledger.benched(r.id)) continue;
      const m = new Member(cluster, r);
      // A readmitted replica carries the check that let it back in.
      const known = this.ledger.get(r.id);
      if (known) healthOf.set(m, known);
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
    const eligible = [...current.keys()].filter((id) => !this.ledger.benched(id));
    this.pending = failed || eligible.some((id) => !this.joined.has(id)) || [...this.joined.keys()].some((id) => !eligible.includes(id));
    for (const w of this.settledWaiters.splice(0)) w();
  }

  /** The Member a benched replica is checked as (kept, so its health stays on the same object). */
  private outsider(r: ReplicaStatus): Member {
    let m = this.outside.get(r.id);
    if (!m) {
      m = new Member(this.service.cluster, r);
      const known = this.ledger.get(r.id);
      if (known) healthOf.set(m, known);
      this.outside.set(r.id, m);
    }
    return m;
  }

  /** Why a member must leave now, or null when it stays. */
  private leaveReason(m: Member, listed: ReplicaStatus | undefined, takesPart: boolean): LeaveReason | null {
    if (!listed) return { cause: 'replica', state: 'gone', detail: `replica ${m.id} is no longer listed by the scheduler` };
    if (!takesPart) return { cause: 'replica', state: listed.state, detail: `replica ${m.id} is ${listed.state}` };
    const health = this.ledger.get(m.id);
    if (this.ledger.benched(m.id) && health) return { cause: 'health', health, detail: `failed its health hook ${health.failures} time(s) in a row: ${health.detail}` };
    return null;
  }
}
