// Who may say what on the bus, as pure data. Every subject comes from BusNames (or the service
// runtime's fixed roots), so a principal's lists follow the prefix the cluster runs under. The
// lists are built from a few roles (RDMP server, RDMP client, query server...) that mirror what
// packages/bus and packages/service actually publish and subscribe; docs/security.md has the table.
import { BusNames } from '@sdmi/bus';
import { SUBJECT_ROOT } from '@sdmi/service';
import { nodeService } from '@sdmi/contracts';

export const PrincipalKinds = { service: 'service', nodeAgent: 'node-agent', user: 'user' } as const;
export type PrincipalKind = (typeof PrincipalKinds)[keyof typeof PrincipalKinds];

/** Subject allow lists as nats-server takes them (wildcards `*` and `>` are whole tokens). */
export interface Permissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  /**
   * The principal answers requests: it may publish one reply to the reply subject of each
   * request it received (nats-server's `allow_responses`), without an allow entry for `_INBOX.>`.
   */
  readonly allowResponses: boolean;
}

export interface Principal {
  /** A file-name-safe identifier: `scheduler`, `node-agent-host-a`, `admin`... */
  readonly name: string;
  readonly kind: PrincipalKind;
  /** The node of a node-agent. */
  readonly node?: string;
  readonly permissions: Permissions;
  /**
   * The role its credential gives it, before any stored role binding (@sdmi/access reads it from
   * principals.json): system for services and node-agents, cluster-admin for admin, viewer for
   * viewer; other users have none until bound.
   */
  readonly role?: 'system' | 'cluster-admin' | 'viewer';
}

/** The five singleton services (the node-agent runs one per node and is listed per node). */
export const ClusterServices = ['scheduler', 'network-controller', 'switch-agent', 'metrics-collector', 'dns-manager'] as const;

/**
 * Requests go out with replies to the connection's inbox; every principal reads its replies there.
 * This is the placeholder {@link narrowInbox} replaces with the principal's own `_INBOX.<key>.>`
 * once its key exists.
 */
export const ANY_INBOX = '_INBOX.>';
const INBOX = ANY_INBOX;

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** Collects allow entries without duplicates, in the order roles add them. */
class Lists {
  readonly pub = new Set<string>();
  readonly sub = new Set<string>([INBOX]);
  publish(...s: string[]): this {
    for (const x of s) this.pub.add(x);
    return this;
  }
  subscribe(...s: string[]): this {
    for (const x of s) this.sub.add(x);
    return this;
  }
  done(allowResponses: boolean): Permissions {
    return Object.freeze({ publish: Object.freeze([...this.pub]), subscribe: Object.freeze([...this.sub]), allowResponses });
  }
}

/** The JetStream API a stream's user needs: the account check, and reading/creating/updating the bus streams. */
function streamsApi(l: Lists, n: BusNames): void {
  l.publish('$JS.API.INFO');
  // Every RDMP worker runs ensureStreams at start-up (info, then update or create).
  for (const s of [n.tasksStream, n.broadcastStream, n.eventsStream]) {
    l.publish(`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.CREATE.${s}`, `$JS.API.STREAM.UPDATE.${s}`);
  }
}

/** One durable pull consumer: resetConsumer (info, delete, create), consumers.get (info), consume (next), acks. */
function consumerApi(l: Lists, stream: string, durable: string): void {
  const j = '$JS.API.CONSUMER';
  l.publish(
    `${j}.INFO.${stream}.${durable}`,
    `${j}.DELETE.${stream}.${durable}`,
    // nats.js uses CREATE.<stream>.<name>.<filter> on servers that have it (2.9+), DURABLE.CREATE before.
    `${j}.CREATE.${stream}.${durable}`,
    `${j}.CREATE.${stream}.${durable}.>`,
    `${j}.DURABLE.CREATE.${stream}.${durable}`,
    `${j}.MSG.NEXT.${stream}.${durable}`,
    // Acks, and the `+WPI` working() sends while a message waits behind its key: more than the one
    // response allow_responses grants, so allowed outright, for this consumer only.
    `$JS.ACK.${stream}.${durable}.>`,
  );
}

export interface RdmpServing {
  queued: boolean;
  broadcast: boolean;
}

/** An RDMP endpoint of `service`: the gateway (submit and status), the worker, its events. */
function rdmpServer(l: Lists, n: BusNames, service: string, serving: RdmpServing): void {
  l.subscribe(n.submit(service), n.taskStatus(service));
  l.publish(n.taskEvents(service, '*'), n.rejected(service));
  // The event feed: followers ask on <p>.follow, and get their events in their own inboxes.
  l.subscribe(n.follow).publish(INBOX);
  streamsApi(l, n);
  if (serving.queued) {
    l.publish(n.queued(service));
    consumerApi(l, n.tasksStream, n.durableQueued(service));
  }
  if (serving.broadcast) {
    l.publish(n.broadcast(service));
    // The durable is `<service>-b-<instance>`, one token: a subject wildcard cannot say "begins with
    // <service>-b-", so a broadcast endpoint may use any durable of the broadcast stream.
    consumerApi(l, n.broadcastStream, '*');
  }
}

/** Asks `service` for tasks and their outcome (RdmpClient submit, status, wait). */
function rdmpClient(l: Lists, n: BusNames, service: string): void {
  l.publish(n.submit(service), n.taskStatus(service));
  l.subscribe(n.taskEvents(service, '*'));
}

function queryServer(l: Lists, n: BusNames, service: string): void {
  l.subscribe(n.queries(service));
}

function queryClient(l: Lists, n: BusNames, service: string): void {
  l.publish(n.queries(service));
}

/**
 * The service runtime (SdmiService): its endpoints and health under `sdmi.svc.<name>.`, which it
 * also asks itself (readiness), and the NATS services framework's discovery on `$SRV`.
 */
function runtime(l: Lists, name: string): void {
  l.subscribe(`${SUBJECT_ROOT}.${name}.>`).publish(`${SUBJECT_ROOT}.${name}.>`);
  for (const verb of ['PING', 'INFO', 'STATS']) l.subscribe(`$SRV.${verb}`, `$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.*`);
}

/** A node's RDMP service name, e.g. `node-host-a`. */
function nodeRdmp(node: string): string {
  return nodeService(node);
}

function service(name: string, l: Lists): Principal {
  return Object.freeze({ name, kind: PrincipalKinds.service, permissions: l.done(true), role: 'system' as const });
}

const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * Every principal of a cluster: the five services, one node-agent per node, `admin` (the CLI and
 * SDK of an operator: everything under the prefix, the service runtime and JetStream), `viewer`
 * (reads: task status, queries, events, metrics, discovery and health; no commands), and one per
 * named user: may send commands and queries to every service, and follow the event feed (no
 * event subjects); what its
 * commands may change is decided by its role bindings at each service (@sdmi/access), not here.
 */
export function principalsFor(names: BusNames, nodes: readonly string[], users: readonly string[] = []): Principal[] {
  const seen = new Set<string>();
  for (const node of nodes) {
    if (!NODE_NAME.test(node)) throw new Error(`node name "${node}" must be 1-63 letters, digits, "-" or "_" (it is a NATS subject token)`);
    if (seen.has(node)) throw new Error(`node "${node}" is listed twice`);
    seen.add(node);
  }
  const n = names;
  const p = n.prefix;
  const out: Principal[] = [];

  {
    const l = new Lists();
    runtime(l, 'scheduler');
    rdmpServer(l, n, 'scheduler', { queued: true, broadcast: false });
    queryServer(l, n, 'scheduler');
    // startReplica and its undo, service addresses, DNS steps, and the loop's own tasks.
    for (const s of ['scheduler', 'network-controller', 'dns-manager', ...nodes.map(nodeRdmp)]) rdmpClient(l, n, s);
    queryClient(l, n, 'network-controller');
    queryClient(l, n, 'dns-manager');
    l.subscribe(n.nodeEvents('*', 'status'));
    out.push(service('scheduler', l));
  }
  {
    const l = new Lists();
    runtime(l, 'network-controller');
    rdmpServer(l, n, 'network-controller', { queued: true, broadcast: false });
    queryServer(l, n, 'network-controller');
    // One sample per host bridge; a host's name is whatever registerHost was given, not a node name.
    l.publish(n.metrics('network', '*'));
    out.push(service('network-controller', l));
  }
  {
    const l = new Lists();
    runtime(l, 'switch-agent');
    rdmpServer(l, n, 'switch-agent', { queued: true, broadcast: false });
    queryServer(l, n, 'switch-agent');
    // Desired VLANs: the networks, re-read whenever the network-controller finishes a task.
    queryClient(l, n, 'network-controller');
    l.subscribe(n.taskEvents('network-controller', '*'));
    out.push(service('switch-agent', l));
  }
  {
    const l = new Lists();
    runtime(l, 'metrics-collector');
    rdmpServer(l, n, 'metrics-collector', { queued: true, broadcast: false });
    queryServer(l, n, 'metrics-collector');
    l.subscribe(n.allMetrics);
    l.publish(n.scaleDecisions('*'), n.thresholdEvents('*'));
    // The autoscaler checks services exist and scales them.
    rdmpClient(l, n, 'scheduler');
    queryClient(l, n, 'scheduler');
    out.push(service('metrics-collector', l));
  }
  {
    const l = new Lists();
    runtime(l, 'dns-manager');
    rdmpServer(l, n, 'dns-manager', { queued: true, broadcast: false });
    queryServer(l, n, 'dns-manager');
    queryClient(l, n, 'scheduler');
    queryClient(l, n, 'network-controller');
    // What makes it reconcile: replicas and networks changing, containers starting and dying.
    l.subscribe(n.taskEvents('scheduler', '*'), n.taskEvents('network-controller', '*'), n.nodeEvents('*', 'container'));
    out.push(service('dns-manager', l));
  }
  for (const node of nodes) {
    const l = new Lists();
    runtime(l, 'node-agent');
    // The service-wide broadcast worker, and the node's own queued tasks and queries.
    rdmpServer(l, n, 'node-agent', { queued: false, broadcast: true });
    rdmpServer(l, n, nodeRdmp(node), { queued: true, broadcast: false });
    queryServer(l, n, nodeRdmp(node));
    l.publish(n.nodeEvents(node, '*'), n.metrics('node', node));
    // A container sample's id is its replica's token, which does not name the node.
    l.publish(n.metrics('container', '*'));
    out.push(Object.freeze({ name: `node-agent-${node}`, kind: PrincipalKinds.nodeAgent, node, permissions: l.done(true), role: 'system' as const }));
  }
  {
    const l = new Lists();
    l.publish(`${p}.>`, `${SUBJECT_ROOT}.>`, '$SRV.>', '$JS.API.>', '$JS.ACK.>');
    l.subscribe(`${p}.>`, `${SUBJECT_ROOT}.>`, '$SRV.>');
    out.push(Object.freeze({ name: 'admin', kind: PrincipalKinds.user, permissions: l.done(false), role: 'cluster-admin' as const }));
  }
  {
    const l = new Lists();
    l.publish(`${p}.q.*.task`, `${p}.query.*.*`, '$SRV.>', `${SUBJECT_ROOT}.*.*.health`);
    // History of events through an ordered consumer on the events stream; nothing else of JetStream.
    const e = n.eventsStream;
    l.publish('$JS.API.INFO', `$JS.API.STREAM.INFO.${e}`, `$JS.API.CONSUMER.CREATE.${e}.>`, `$JS.API.CONSUMER.INFO.${e}.*`, `$JS.API.CONSUMER.DELETE.${e}.*`, `$JS.API.CONSUMER.MSG.NEXT.${e}.*`);
    l.subscribe(`${p}.evt.>`, n.allMetrics);
    out.push(Object.freeze({ name: 'viewer', kind: PrincipalKinds.user, permissions: l.done(false), role: 'viewer' as const }));
  }
  const taken = new Set(out.map((x) => x.name));
  for (const user of users) {
    if (!USER_NAME.test(user)) throw new Error(`user name "${user}" must be 1-63 lower-case letters, digits, ".", "_" or "-"`);
    if (taken.has(user)) throw new Error(`user name "${user}" is taken (by a service, node-agent, admin, viewer, or an earlier user)`);
    taken.add(user);
    const l = new Lists();
    l.publish(`${p}.cmd.*`, `${p}.q.*.task`, `${p}.query.*.*`, '$SRV.>', `${SUBJECT_ROOT}.*.*.health`);
    // No task events: their subjects carry no tenant, so a user would see every tenant's tasks.
    // It follows the events its bindings let it read through the event feed instead (its own
    // inbox), and RdmpClient.wait learns outcomes from the task's status (docs/security.md).
    l.publish(n.follow);
    out.push(Object.freeze({ name: user, kind: PrincipalKinds.user, permissions: l.done(false) }));
  }
  return out;
}

/**
 * The permissions with `_INBOX.>` narrowed to the principal's own inbox, `_INBOX.<public key>.>`,
 * which is where connectNats puts its replies when it connects with that key.
 */
export function narrowInbox(permissions: Permissions, ownInboxPrefix: string): Permissions {
  const own = `${ownInboxPrefix}.>`;
  return Object.freeze({
    publish: permissions.publish,
    subscribe: Object.freeze(permissions.subscribe.map((s) => (s === ANY_INBOX ? own : s))),
    allowResponses: permissions.allowResponses,
  });
}

/** The principal a service process runs as (`node-agent` needs its node). */
export function principalName(service: string, node?: string): string {
  if (service === 'node-agent') {
    if (!node) throw new Error('a node-agent principal needs its node');
    return `node-agent-${node}`;
  }
  return service;
}
