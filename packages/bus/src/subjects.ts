/** What a metric sample describes; the third token of its subject. */
export const MetricsKinds = ['node', 'container', 'network'] as const;
export type MetricsKind = (typeof MetricsKinds)[number];

/**
 * A replica id as one subject token: `/` → `_`, `@` → `_`, `#` → `_` (acme/app-3@rev2#1 becomes
 * acme_app-3_rev2_1). Tenant and service names hold no `_`, so no two replica ids share a token;
 * the sample itself carries the real id.
 */
export function metricsToken(replicaId: string): string {
  return replicaId.replace(/[^A-Za-z0-9-]/g, '_');
}

/**
 * Every subject and stream name of the bus, derived from one prefix so that test runs and
 * clusters sharing a NATS server stay apart.
 */
export class BusNames {
  readonly streamPrefix: string;

  constructor(readonly prefix: string = 'sdmi') {
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(prefix)) {
      throw new Error(`bus prefix "${prefix}" must be 1-32 chars of a-z, 0-9, _ starting with a letter`);
    }
    this.streamPrefix = prefix.toUpperCase();
  }

  /** Request/reply: submit a command to a service. */
  submit(service: string): string {
    return `${this.prefix}.cmd.${service}`;
  }
  /** Request/reply: ask a service about a task. */
  taskStatus(service: string): string {
    return `${this.prefix}.q.${service}.task`;
  }
  /** Request/reply: one of a service's queries (reads that change nothing and are not recorded). */
  query(service: string, name: string): string {
    return `${this.prefix}.query.${service}.${name}`;
  }
  /** Every query of a service: what its query server subscribes to. */
  queries(service: string): string {
    return `${this.prefix}.query.${service}.*`;
  }
  /** Queued tasks of a service, in the work-queue stream. */
  queued(service: string): string {
    return `${this.prefix}.task.${service}.q`;
  }
  /** Broadcast tasks of a service, in the broadcast stream: every endpoint consumes them. */
  broadcast(service: string): string {
    return `${this.prefix}.task.${service}.b`;
  }
  /**
   * Core NATS, no queue group: a FollowEventsRequest, heard by every RDMP worker of every
   * service (the tenant-scoped event feed, for principals that may not subscribe to events).
   */
  get follow(): string {
    return `${this.prefix}.follow`;
  }
  /** Status events of one task; `*` for any. */
  taskEvents(service: string, taskId = '*'): string {
    return `${this.prefix}.evt.task.${service}.${taskId}`;
  }
  /** What node-agents announce: `status` every few seconds, `container` on Docker events; `*` for any. */
  nodeEvents(node = '*', topic = '*'): string {
    return `${this.prefix}.evt.node.${node}.${topic}`;
  }
  /**
   * Core NATS (never a stream): one metric sample. `node` carries a NodeMetrics
   * (schemas/metrics/node-metrics.schema.json) with `id` the node name, `container` a
   * ContainerMetrics (container-metrics.schema.json) with `id` {@link metricsToken} of its replica,
   * `network` a NetworkMetrics (network-metrics.schema.json). `*` for any id.
   */
  metrics(kind: MetricsKind, id = '*'): string {
    return `${this.prefix}.metrics.${kind}.${id}`;
  }
  /** Every metric sample of the cluster: what the metrics-collector subscribes to. */
  get allMetrics(): string {
    return `${this.prefix}.metrics.>`;
  }
  /**
   * The autoscaler's ScaleDecisions of a service (`<tenant>/<name>`), in the EVENTS stream:
   * `<p>.evt.metrics.scale.<tenant>.<name>`; `*` for every service.
   */
  scaleDecisions(service = '*'): string {
    return this.#metricsEvent('scale', service);
  }
  /** ThresholdEvents of a service, like {@link scaleDecisions}: `<p>.evt.metrics.threshold.<tenant>.<name>`. */
  thresholdEvents(service = '*'): string {
    return this.#metricsEvent('threshold', service);
  }
  #metricsEvent(topic: 'scale' | 'threshold', service: string): string {
    return `${this.prefix}.evt.metrics.${topic}.${service === '*' ? '*.*' : service.replace('/', '.')}`;
  }
  /** Messages found in a task stream that are not tasks at all. */
  rejected(service: string): string {
    return `${this.prefix}.evt.rejected.${service}`;
  }
  get tasksStream(): string {
    return `${this.streamPrefix}_TASKS`;
  }
  get broadcastStream(): string {
    return `${this.streamPrefix}_BCAST`;
  }
  get eventsStream(): string {
    return `${this.streamPrefix}_EVENTS`;
  }
  durableQueued(service: string): string {
    return `${service}-q`.replace(/[^A-Za-z0-9_-]/g, '_');
  }
  durableBroadcast(service: string, endpoint: string): string {
    return `${service}-b-${endpoint}`.replace(/[^A-Za-z0-9_-]/g, '_');
  }
}
