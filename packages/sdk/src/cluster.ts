import { errors as natsErrors, type NatsConnection } from '@nats-io/nats-core';
import { BusNames, RdmpClient, asyncQueue, connectNats, defaultNatsUrl, type Outcome } from '@sdmi/bus';
import { METRICS_COLLECTOR, MetricsQueries, contracts as sharedContracts, type AutoscaleStatusReply, type ErrorInfo, type ScaleDecision, type ThresholdEvent, type TopQuery, type TopReply, type ListNetworksReply, type ListNodesReply, type ListReplicasReply, type ListServicesReply, type NodeStatusEvent, type TaskStatusEvent } from '@sdmi/contracts';
import { API_VERSION, ManifestError, ManifestInvalid, planApply, planDelete, type ClusterState, type Plan, type Resource } from '@sdmi/manifest';
import { NetworkQueries } from '@sdmi/networks';
import { SchedulerQueries, validateServiceSpec } from '@sdmi/scheduling';
import { Access, roleBindingProblems } from './access';
import { Switches, switchProblems } from './switches';
import { runPlan, type PlanProgress } from './apply';
import { scaleDecisions, thresholdEvents } from './autoscale';
import { Dns } from './dns';
import { liveMetrics, type MetricSample, type MetricsFilter } from './metrics';
import { eachJson, type JsonMessage } from './messages';
import { ClusterNetwork } from './network';
import { Node } from './node';
import { Tenant } from './tenant';

export const Services = { Scheduler: 'scheduler', NetworkController: 'network-controller', DnsManager: 'dns-manager', MetricsCollector: METRICS_COLLECTOR } as const;

export interface ConnectOptions {
  /** Default SDMI_NATS_URL, then nats://127.0.0.1:4222. */
  natsUrl?: string;
  /** The cluster's bus prefix; default SDMI_BUS_PREFIX, then `sdmi`. */
  prefix?: string;
  /** The NATS connection's name (shows in the server's monitoring). */
  name?: string;
  /** How long a task may take before its wait gives up; default 120 s. */
  taskTimeoutMs?: number;
}

export type ClusterEvent =
  | { type: 'task'; service: string; event: TaskStatusEvent }
  | { type: 'node'; event: NodeStatusEvent }
  | { type: 'scale'; event: ScaleDecision }
  | { type: 'threshold'; event: ThresholdEvent }
  /** Something about the stream itself: what this credential is not shown, and why. */
  | { type: 'notice'; message: string };

/**
 * An SDMI cluster as seen over its bus: the entry point of the SDK. Every change is a task
 * submitted to the service that owns the resource, awaited until it completes or fails (a failure
 * is thrown as the bus's error class, with the service's code, message and path).
 */
export class Cluster {
  readonly client: RdmpClient;
  readonly names: BusNames;
  readonly taskTimeoutMs: number;
  /** The cluster's DNS names (dns-manager): zones, and record sets of the user's own. */
  readonly dns: Dns;
  /** Role bindings and the audit log (network-controller). */
  readonly access: Access;
  /** The switches the switch-agent keeps. */
  readonly switches: Switches;

  private constructor(
    readonly nc: NatsConnection,
    names: BusNames,
    taskTimeoutMs: number,
    private readonly owned: boolean,
  ) {
    this.names = names;
    this.client = new RdmpClient(nc, { names });
    this.taskTimeoutMs = taskTimeoutMs;
    this.dns = new Dns(this);
    this.access = new Access(this);
    this.switches = new Switches(this);
  }

  static async connect(opts: ConnectOptions = {}): Promise<Cluster> {
    const names = new BusNames(opts.prefix ?? process.env.SDMI_BUS_PREFIX ?? 'sdmi');
    const nc = await connectNats(opts.name ?? 'sdmi-sdk', opts.natsUrl ?? defaultNatsUrl());
    return new Cluster(nc, names, opts.taskTimeoutMs ?? 120_000, true);
  }

  /** Over a connection the caller keeps (and closes). */
  static over(nc: NatsConnection, opts: { prefix?: string; taskTimeoutMs?: number } = {}): Cluster {
    return new Cluster(nc, new BusNames(opts.prefix ?? 'sdmi'), opts.taskTimeoutMs ?? 120_000, false);
  }

  async close(): Promise<void> {
    if (this.owned) await this.nc.drain();
  }

  tenant(name: string): Tenant {
    return new Tenant(this, name);
  }

  clusterNetwork(name: string): ClusterNetwork {
    return new ClusterNetwork(this, name);
  }

  node(name: string): Node {
    return new Node(this, name);
  }

  /** Runs one command to completion on the service that owns it. */
  async run(service: string, kind: string, key: string, payload: Record<string, unknown>): Promise<Outcome> {
    return this.client.run(service, { kind, key, payload }, { timeoutMs: this.taskTimeoutMs });
  }

  async networks(tenant?: string): Promise<ListNetworksReply> {
    return this.client.query(Services.NetworkController, NetworkQueries.listNetworks, tenant !== undefined ? { tenant } : {});
  }

  async services(tenant?: string): Promise<ListServicesReply['services']> {
    return (await this.client.query(Services.Scheduler, SchedulerQueries.listServices, tenant !== undefined ? { tenant } : {})).services;
  }

  /** Admitted nodes (ready, draining) and hosts whose node-agent announces itself but that are not admitted. */
  async nodes(node?: string): Promise<ListNodesReply['nodes']> {
    return (await this.client.query(Services.Scheduler, SchedulerQueries.listNodes, node !== undefined ? { node } : {})).nodes;
  }

  async replicas(filter: { service?: string; node?: string } = {}): Promise<ListReplicasReply['replicas']> {
    return (await this.client.query(Services.Scheduler, SchedulerQueries.listReplicas, filter)).replicas;
  }

  /**
   * What the cluster holds, as the specs it was given: what a manifest is planned against. The
   * networks, and the scheduler's services unless `services` is false; with `autoscale`, also the
   * metrics-collector's policies and thresholds (asked only then, so that manifests without them do
   * not need a collector); with `roleBindings`, the stored bindings; with `switches`, the
   * switch-agent's switches.
   */
  async state(opts: { services?: boolean; autoscale?: boolean; roleBindings?: boolean; switches?: boolean } = {}): Promise<ClusterState> {
    const [nets, services, autoscale, bindings, switches] = await Promise.all([
      this.networks(),
      opts.services !== false ? this.services() : null,
      opts.autoscale ? this.autoscaling() : null,
      opts.roleBindings ? this.access.roleBindings() : null,
      opts.switches ? this.switches.list() : null,
    ]);
    return {
      tenantConfigs: nets.tenantConfigs,
      clusterNetworks: nets.clusterNetworks.map((n) => n.spec),
      tenantNetworks: nets.tenantNetworks.map((n) => n.spec),
      ...(services ? { services: services.map((s) => s.spec) } : {}),
      ...(autoscale ? { autoscalePolicies: autoscale.policies.map((p) => p.policy), thresholds: autoscale.thresholds.map((t) => t.threshold) } : {}),
      ...(bindings ? { roleBindings: bindings.filter((b) => b.source === 'stored').map((b) => b.binding) } : {}),
      ...(switches ? { switches: switches.map((s) => s.spec) } : {}),
    };
  }

  async plan(resources: readonly Resource[]): Promise<Plan> {
    checkResources(resources);
    return planApply(resources, await this.state(stateFor(resources)));
  }

  async planDeletion(resources: readonly Resource[]): Promise<Plan> {
    checkResources(resources);
    return planDelete(resources, await this.state(stateFor(resources)));
  }

  /**
   * Converges the cluster to the declared resources: plans, runs the plan (role bindings, tenant
   * configs, all new networks in one transaction, updates, switches, then services) and, unless `wait` is false, waits until
   * every changed service has its replicas serving. Returns the plan it ran.
   */
  async apply(resources: readonly Resource[], opts: { wait?: boolean; timeoutMs?: number; onProgress?: (p: PlanProgress) => void } = {}): Promise<Plan> {
    const plan = await this.plan(resources);
    await runPlan(this, plan, opts);
    return plan;
  }

  /** Removes the declared resources that exist (services, switches, then networks in reference order, then role bindings). */
  async delete(resources: readonly Resource[], opts: { wait?: boolean; timeoutMs?: number; onProgress?: (p: PlanProgress) => void } = {}): Promise<Plan> {
    const plan = await this.planDeletion(resources);
    await runPlan(this, plan, opts);
    return plan;
  }

  /**
   * The latest sample of every node and replica (within the collector's staleness window, or
   * `staleAfterMs`), and the samples the collector refused. Throws the bus's Timeout when no
   * metrics-collector answers.
   */
  top(query: TopQuery = {}): Promise<TopReply> {
    return this.client.query(Services.MetricsCollector, MetricsQueries.top, query);
  }

  /** The node-agents' samples as they are published (not stored ones), until the iterator is returned. */
  metrics(filter: MetricsFilter = {}): AsyncGenerator<MetricSample> {
    return liveMetrics(this.nc, this.names, filter);
  }

  /**
   * Every service's (or one's) autoscale policy with its last decision, and thresholds with their
   * phase. Throws the bus's Timeout when no metrics-collector answers.
   */
  autoscaling(service?: string): Promise<AutoscaleStatusReply> {
    return this.client.query(Services.MetricsCollector, MetricsQueries.autoscaleStatus, service !== undefined ? { service } : {});
  }

  /**
   * The autoscaler's ScaleDecisions of one service (`<tenant>/<name>`) or all, as announced: those
   * that change the count and those that say something else than the one before. Until the
   * iterator is returned; a decision breaking its contract is skipped.
   */
  scaleDecisions(service?: string): AsyncGenerator<ScaleDecision> {
    return scaleDecisions(this.nc, this.names, service);
  }

  /** Thresholds raised and cleared, of one service or all, like {@link scaleDecisions}. */
  thresholdEvents(service?: string): AsyncGenerator<ThresholdEvent> {
    return thresholdEvents(this.nc, this.names, service);
  }

  /**
   * Task status events of every service (or one) and node announcements, with `autoscale` also
   * the autoscaler's decisions and threshold events, until the iterator is returned. Subscribed
   * at the call, so nothing announced after it is missed. A credential that may not subscribe to
   * task events (a tenant's user: their subjects carry no tenant) gets the tasks its bindings let
   * it read through the event feed instead ({@link RdmpClient.follow}); what it may not read at
   * all (nodes, the autoscaler's events) ends with a `notice` saying so. A refusal of the feed
   * itself is thrown from the iterator.
   */
  events(opts: { service?: string; nodes?: boolean; autoscale?: boolean } = {}): AsyncGenerator<ClusterEvent> {
    const c = sharedContracts();
    const tasks = this.nc.subscribe(this.names.taskEvents(opts.service ?? '*', '*'));
    const nodes = opts.nodes === false ? null : this.nc.subscribe(this.names.nodeEvents('*', 'status'));
    const decisions = opts.autoscale === true ? this.nc.subscribe(this.names.scaleDecisions()) : null;
    const thresholds = opts.autoscale === true ? this.nc.subscribe(this.names.thresholdEvents()) : null;
    let feed: AsyncGenerator<TaskStatusEvent> | null = null;
    const q = asyncQueue<ClusterEvent>(() => {
      tasks.unsubscribe();
      nodes?.unsubscribe();
      decisions?.unsubscribe();
      thresholds?.unsubscribe();
      void feed?.return(undefined);
    });
    const refused = (err: unknown): boolean => err instanceof natsErrors.PermissionViolationError;
    const pump = (sub: AsyncIterable<JsonMessage>, f: (subject: string, data: unknown) => ClusterEvent | null): Promise<void> =>
      eachJson(sub, (subject, data) => {
        const e = f(subject, data);
        if (e) q.push(e);
      });
    const taskPrefix = `${this.names.prefix}.evt.task.`;
    pump(tasks, (subject, data) => {
      const ev = c.check('TaskStatusEvent', data);
      return ev.ok ? { type: 'task', service: subject.slice(taskPrefix.length).split('.')[0]!, event: ev.value } : null;
    }).catch(async (err: unknown) => {
      if (!refused(err) || q.closed) return q.fail(err);
      feed = this.client.follow(opts.service !== undefined ? { services: [opts.service] } : {});
      q.push({ type: 'notice', message: 'task events: this credential may not subscribe to them, so they come through the event feed: the tasks of the tenants its role bindings let it read' });
      try {
        for await (const ev of feed) q.push({ type: 'task', service: ev.service, event: ev });
      } catch (e) {
        q.fail(e);
      }
    });
    const readOnly = (what: string) => (err: unknown) => {
      if (refused(err)) q.push({ type: 'notice', message: `${what}: this credential may not read them (they are the cluster's); not shown` });
      else q.fail(err);
    };
    if (nodes) {
      pump(nodes, (_s, data) => {
        const ev = c.check('NodeStatusEvent', data);
        return ev.ok ? { type: 'node', event: ev.value } : null;
      }).catch(readOnly('node events'));
    }
    if (decisions && thresholds) {
      pump(decisions, (_s, data) => {
        const ev = c.check('ScaleDecision', data);
        return ev.ok ? { type: 'scale', event: ev.value } : null;
      }).catch(readOnly('scale decisions'));
      pump(thresholds, (_s, data) => {
        const ev = c.check('ThresholdEvent', data);
        return ev.ok ? { type: 'threshold', event: ev.value } : null;
      }).catch(readOnly('threshold events'));
    }
    return q.iterator;
  }
}

/**
 * The rules the owning services apply that need no cluster state, checked before anything is
 * sent so that a plan does not stop half-way on them (a ServiceSpec's semantic rules, an autoscale
 * policy's bounds, a role binding's role and tenant, a switch's access and trunks).
 */
export function semanticRules(r: Resource): ErrorInfo[] {
  if (r.kind === 'Service') return validateServiceSpec(r.spec).map((e) => e.info);
  // The metrics-collector's INVALID_AUTOSCALE_POLICY, seen before anything is sent so that it comes with the file and line.
  if (r.kind === 'AutoscalePolicy' && r.spec.minReplicas > r.spec.maxReplicas) {
    return [{ code: 'INVALID_AUTOSCALE_POLICY', message: `/maxReplicas: ${r.spec.maxReplicas} is below minReplicas ${r.spec.minReplicas}`, path: '/maxReplicas', rule: 'min-not-above-max' }];
  }
  // The network-controller's INVALID_ROLE_BINDING (a role and a tenant that do not go together), likewise.
  if (r.kind === 'RoleBinding') return roleBindingProblems(r.spec);
  // The switch-agent's INVALID_SWITCH (access settings of the other kind, a port listed twice), likewise.
  if (r.kind === 'Switch') return switchProblems(r.spec);
  return [];
}

/**
 * What a plan of these resources needs to read besides networks: only what they declare, so that a
 * manifest of switches is planned without a scheduler (or collector) running.
 */
function stateFor(resources: readonly Resource[]): { services: boolean; autoscale: boolean; roleBindings: boolean; switches: boolean } {
  const declares = (...kinds: Resource['kind'][]): boolean => resources.some((r) => kinds.includes(r.kind));
  return { services: declares('Service'), autoscale: declares('AutoscalePolicy', 'Threshold'), roleBindings: declares('RoleBinding'), switches: declares('Switch') };
}

/** Resources given in code (not read from a manifest file) are checked like a manifest's, before anything is sent. */
function checkResources(resources: readonly Resource[]): void {
  const c = sharedContracts();
  const errors = resources.flatMap((r, i) => {
    const checked = c.check('ManifestResource', { apiVersion: API_VERSION, kind: r.kind, spec: r.spec });
    if (checked.ok) {
      return semanticRules(r).map((e) => new ManifestError(r.source ?? { file: '<code>', line: 0, col: 0 }, `${r.source ? '' : `/${i}`}/spec${e.path ?? ''}`, e.rule ?? 'semantic', e.message));
    }
    const e = checked.error;
    return [new ManifestError(r.source ?? { file: '<code>', line: 0, col: 0 }, r.source ? (e.path ?? '/') : `/${i}${e.path ?? ''}`, e.rule ?? 'schema', e.message)];
  });
  if (errors.length > 0) throw new ManifestInvalid(errors);
}
