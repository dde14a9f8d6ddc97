import { QueryFailed } from '@sdmi/bus';
import { MetricsCommandKinds, MetricsQueries, autoscaleKey, type AutoscaleStatus, type ListReplicasReply, type RolloutStatusReply, type ServiceSpec, type ServiceStatus, type ThresholdState } from '@sdmi/contracts';
import { SchedulerQueries } from '@sdmi/scheduling';
import { removeResult, setAutoscaleResult, setThresholdResult, type AutoscaleSpec, type RemoveResult, type SetAutoscaleResult, type SetThresholdResult, type ThresholdSpec } from './autoscale';
import { Services } from './cluster';
import { serviceDnsNames, type ServiceDnsNames } from './dns';
import { ServiceNotConverged, ServiceNotFound } from './errors';
import type { HealthResult } from './health';
import { ServiceWatch, type LeaveReason, type Member, type WatchOptions } from './lifecycle';
import type { Tenant } from './tenant';

export type ReplicaStatus = ListReplicasReply['replicas'][number];

/** A service's autoscaling as the metrics-collector holds it. */
export interface ServiceAutoscaling {
  service: string;
  /** The policy with its last decision and error; null when the service is not scaled automatically. */
  policy: AutoscaleStatus | null;
  /** Its thresholds with their phase, by name. */
  thresholds: ThresholdState[];
}
export type ServiceTemplate = Omit<ServiceSpec, 'tenant' | 'name'>;

export interface WaitOptions {
  /** Default 180 s. */
  timeoutMs?: number;
  /** Called whenever what the service waits for changes, with a line a user can read. */
  onProgress?: (status: ServiceStatus, detail: string) => void;
  signal?: AbortSignal;
}

/** Replica states that count as the replica being there (not on its way out or gone). */
const LIVE = new Set(['pending', 'starting', 'running', 'healthy', 'unhealthy']);

/**
 * A tenant's service. Commands are submitted to the scheduler and awaited; with `wait` (the
 * default for deploy, update and scale) the call returns once the replicas serve as declared, and
 * throws ServiceNotConverged saying why when they do not (a rollback, a pause, a timeout).
 *
 * Subclasses may override the lifecycle hooks; {@link watch} (in ./lifecycle) runs them as replicas
 * join and leave.
 */
export class Service {
  readonly id: string;
  readonly cluster: Tenant['cluster'];

  constructor(
    readonly tenant: Tenant,
    readonly name: string,
  ) {
    this.id = `${tenant.name}/${name}`;
    this.cluster = tenant.cluster;
  }

  private spec(template: ServiceTemplate): ServiceSpec {
    return { ...template, tenant: this.tenant.name, name: this.name };
  }

  async deploy(template: ServiceTemplate, opts: WaitOptions & { wait?: boolean } = {}): Promise<ServiceStatus> {
    await this.cluster.run(Services.Scheduler, 'deployService', this.id, { spec: this.spec(template) });
    return opts.wait === false ? (await this.status())! : this.waitConverged(opts);
  }

  /** A new spec; a changed template is a new revision, rolled out by its update policy. */
  async update(template: ServiceTemplate, opts: WaitOptions & { wait?: boolean } = {}): Promise<ServiceStatus> {
    await this.cluster.run(Services.Scheduler, 'updateService', this.id, { spec: this.spec(template) });
    return opts.wait === false ? (await this.status())! : this.waitConverged(opts);
  }

  async scale(replicas: number, opts: WaitOptions & { wait?: boolean } = {}): Promise<ServiceStatus> {
    await this.cluster.run(Services.Scheduler, 'scaleService', this.id, { service: this.id, replicas });
    return opts.wait === false ? (await this.status())! : this.waitConverged(opts);
  }

  /** Back to an earlier revision (default: the one before). */
  async undo(toRevision?: number, opts: WaitOptions & { wait?: boolean } = {}): Promise<ServiceStatus> {
    await this.cluster.run(Services.Scheduler, 'rolloutUndo', this.id, { service: this.id, ...(toRevision !== undefined ? { toRevision } : {}) });
    return opts.wait === false ? (await this.status())! : this.waitConverged(opts);
  }

  /** Removes the service; with `wait` (default) returns once none of its replicas is left. */
  async remove(opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await this.cluster.run(Services.Scheduler, 'removeService', this.id, { service: this.id });
    if (opts.wait === false) return;
    const end = Date.now() + (opts.timeoutMs ?? 180_000);
    for (;;) {
      const left = (await this.replicas()).filter((r) => r.state !== 'stopped' && r.state !== 'failed');
      if (left.length === 0) return;
      if (Date.now() > end) throw new ServiceNotConverged(this.id, `${left.length} replica(s) still not stopped: ${left.map((r) => `${r.id} ${r.state}`).join(', ')}`);
      await sleep(250);
    }
  }

  /** Spec, revision and counts; null when there is no such service. */
  async status(): Promise<ServiceStatus | null> {
    try {
      return (await this.cluster.client.query(Services.Scheduler, SchedulerQueries.getService, { service: this.id })).service;
    } catch (e) {
      if (e instanceof QueryFailed && e.code === 'SERVICE_NOT_FOUND') return null;
      throw e;
    }
  }

  async rollout(): Promise<RolloutStatusReply['rollout']> {
    return (await this.cluster.client.query(Services.Scheduler, SchedulerQueries.rolloutStatus, { service: this.id })).rollout;
  }

  async replicas(): Promise<ReplicaStatus[]> {
    return this.cluster.replicas({ service: this.id });
  }

  /**
   * Its DNS names per network (`<service>.<network>.<tenant>.<domain>`, and each running
   * replica's `<replica>.<network>.<tenant>.<domain>`), or null when the cluster has no DNS.
   * Pass what was already read to spare the queries. Throws ServiceNotFound when there is no such
   * service, the bus's Timeout when dns-manager does not answer.
   */
  async dnsNames(known: { status?: ServiceStatus; replicas?: readonly ReplicaStatus[] } = {}): Promise<ServiceDnsNames | null> {
    const [domain, status, replicas] = await Promise.all([this.cluster.dns.domain(), known.status ?? this.status(), known.replicas ?? this.replicas()]);
    if (!status) throw new ServiceNotFound(this.id);
    return domain === null ? null : serviceDnsNames(domain, status.spec, replicas);
  }

  /**
   * Scales the service automatically by `policy` (replacing its policy, if it had one); the
   * metrics-collector evaluates it from its next pass. Refusals are thrown as the bus's TaskFailed
   * with the collector's code and path: INVALID_AUTOSCALE_POLICY (minReplicas above maxReplicas),
   * SERVICE_NOT_FOUND, SCHEDULER_UNAVAILABLE; a policy off its schema as BadMessage
   * (SCHEMA_VIOLATION) before anything is stored.
   */
  async autoscale(policy: AutoscaleSpec): Promise<SetAutoscaleResult> {
    const outcome = await this.cluster.run(Services.MetricsCollector, MetricsCommandKinds.SetAutoscalePolicy, autoscaleKey(this.id), { policy: { ...policy, version: 1, service: this.id } });
    return setAutoscaleResult(outcome.result);
  }

  /** Its policy (with the last decision) and thresholds (with their phase). Throws the bus's Timeout when no metrics-collector answers. */
  async autoscaling(): Promise<ServiceAutoscaling> {
    const r = await this.cluster.autoscaling(this.id);
    return { service: this.id, policy: r.policies.find((p) => p.policy.service === this.id) ?? null, thresholds: r.thresholds.filter((t) => t.threshold.service === this.id) };
  }

  /** No more automatic scaling; the replica count stays where it is. `removed` is false when there was no policy. */
  async stopAutoscaling(): Promise<RemoveResult> {
    const outcome = await this.cluster.run(Services.MetricsCollector, MetricsCommandKinds.DeleteAutoscalePolicy, autoscaleKey(this.id), { service: this.id });
    return removeResult(outcome.result);
  }

  /**
   * Creates or replaces the threshold of that name (a replaced one starts over in phase ok).
   * Refusals as for {@link autoscale}, with INVALID_THRESHOLD.
   */
  async setThreshold(threshold: ThresholdSpec): Promise<SetThresholdResult> {
    const outcome = await this.cluster.run(Services.MetricsCollector, MetricsCommandKinds.SetThreshold, autoscaleKey(this.id), { threshold: { ...threshold, version: 1, service: this.id } });
    return setThresholdResult(outcome.result);
  }

  async deleteThreshold(name: string): Promise<RemoveResult & { name: string }> {
    const outcome = await this.cluster.run(Services.MetricsCollector, MetricsCommandKinds.DeleteThreshold, autoscaleKey(this.id), { service: this.id, name });
    return { ...removeResult(outcome.result), name };
  }

  /** The replicas that are there (not stopping, stopped or failed), by slot. */
  async liveReplicas(): Promise<ReplicaStatus[]> {
    return (await this.replicas()).filter((r) => LIVE.has(r.state)).sort((a, b) => a.slot - b.slot);
  }

  /**
   * Lifecycle hook: `joining` runs (and is healthy, with a health check) and is about to become a
   * member next to `members`. Run the workflow that lets it join (e.g. replication subscriptions
   * both ways) with `member.run(...)`. Throwing keeps it out; the hook is tried again.
   */
  async onAddNode(_joining: Member, _members: readonly Member[]): Promise<void> {}

  /**
   * Lifecycle hook: `leaving` stopped, failed or is gone, or failed {@link health} too often
   * (`reason` says which); `remaining` are the members left. Undo what onAddNode set up on them
   * (the leaving replica may no longer answer; one benched for its health still runs).
   */
  async onRemoveNode(_leaving: Member, _remaining: readonly Member[], _reason: LeaveReason): Promise<void> {}

  /**
   * Lifecycle hook: is `member` doing its part in the workflow (e.g. "this database node
   * replicates")? Run every `healthIntervalMs` on each member, and on each replica benched for its
   * health, with `member.exec/run`. Failing `healthRetries` times in a row (a throw or a timeout
   * counts as a failure) takes it out of membership (onRemoveNode); passing again lets it join
   * (onAddNode). The container keeps running and serving: whether it serves is the scheduler's
   * health check's business, not this one's. The default says healthy and runs nothing.
   */
  async health(_member: Member): Promise<HealthResult> {
    return { healthy: true, detail: 'no health hook' };
  }

  /** Starts running this service's hooks as its replicas join and leave; stop() ends it. */
  watch(opts: WatchOptions = {}): ServiceWatch {
    return new ServiceWatch(this, opts).start();
  }

  /**
   * Resolves once the service serves as declared: as many serving replicas as desired, no others
   * left, and its rollout complete. Throws ServiceNotConverged when the rollout was rolled back
   * or paused, or on the timeout, with the scheduler's reason.
   */
  async waitConverged(opts: WaitOptions = {}): Promise<ServiceStatus> {
    const end = Date.now() + (opts.timeoutMs ?? 180_000);
    let last = '';
    for (;;) {
      opts.signal?.throwIfAborted();
      const s = await this.status();
      if (!s) throw new ServiceNotConverged(this.id, 'the service does not exist');
      const r = s.rollout;
      const detail = `${s.serving}/${s.desired} serving, ${s.replicas} replica(s) of revision(s) ${r.revisions.map((x) => x.revision).join(',')}${r.detail ? `: ${r.detail}` : ''}`;
      if (detail !== last) opts.onProgress?.(s, detail);
      last = detail;
      if (r.state === 'rolled-back') throw new ServiceNotConverged(this.id, `revision ${r.rollbackOf ?? '?'} was rolled back to ${r.revision}: ${r.reason ?? 'no reason recorded'}`, s);
      if (r.state === 'paused') throw new ServiceNotConverged(this.id, `the rollout is paused: ${r.reason ?? r.detail ?? 'no reason recorded'}`, s);
      if (r.state === 'complete' && s.serving === s.desired && s.replicas === s.desired) return s;
      if (Date.now() > end) throw new ServiceNotConverged(this.id, `not serving as declared within ${opts.timeoutMs ?? 180_000} ms (${detail})`, s);
      await sleep(300);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
