// One function per sdmi command: arguments in, lines out (stdout for results, stderr for
// progress), an exit code back. Each opens its own connection through the SDK.
import { spawnSync } from 'node:child_process';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Timeout } from '@sdmi/bus';
import { loadManifests, planIsEmpty, type Plan } from '@sdmi/manifest';
import { Cluster, runPlan, semanticRules, type ClusterEvent, type Node, type PlanProgress, type ReplicaStatus, type ServiceDnsNames } from '@sdmi/sdk';
import { dnsLines } from './dns';
import { CliError, ExitCodes, UsageError } from './exit';
import { age, formatPlan, outputFormat, planData, render, table, type OutputFormat } from './format';
import { Progress } from './progress';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Whether stderr is a terminal (progress rewrites one line per resource there). */
  tty: boolean;
  signal?: AbortSignal;
}

const CONNECTION = {
  'nats-url': { type: 'string' },
  prefix: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export type Values = Record<string, string | boolean | string[] | undefined>;

export function parse(args: readonly string[], options: ParseArgsConfig['options'], positionals: { min: number; max: number; usage: string }): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { ...CONNECTION, ...options }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\nusage: ${positionals.usage}`);
  }
  const n = parsed.positionals.length;
  if (n < positionals.min || n > positionals.max) throw new UsageError(`expected ${positionals.min === positionals.max ? positionals.min : `${positionals.min}-${positionals.max}`} argument(s), got ${n}\nusage: ${positionals.usage}`);
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

async function connect(values: Values): Promise<Cluster> {
  return Cluster.connect({
    name: 'sdmi-cli',
    ...(typeof values['nats-url'] === 'string' ? { natsUrl: values['nats-url'] } : {}),
    ...(typeof values.prefix === 'string' ? { prefix: values.prefix } : {}),
  });
}

export async function withCluster<T>(values: Values, f: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await connect(values);
  try {
    return await f(c);
  } finally {
    await c.close();
  }
}

export function serviceId(raw: string): string {
  if (!/^[a-z][a-z0-9-]{0,62}\/[a-z][a-z0-9-]{0,62}$/.test(raw)) throw new CliError(`"${raw}" is not a service id: write <tenant>/<service>, lower-case letters, digits and "-"`, ExitCodes.DataErr);
  return raw;
}

function count(raw: string, what: string, max = 1000): number {
  if (!/^\d+$/.test(raw) || Number(raw) > max) throw new CliError(`${what} must be a whole number from 0 to ${max}, got "${raw}"`, ExitCodes.DataErr);
  return Number(raw);
}

function timeout(values: Values): number | undefined {
  const raw = values.timeout;
  if (typeof raw !== 'string') return undefined;
  const m = /^(\d+)(ms|s|m)?$/.exec(raw);
  if (!m) throw new UsageError(`--timeout must be a duration like 90s, 5m or 500ms, got "${raw}"`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 'ms' ? 1 : 1000);
}

function files(values: Values, usage: string): string[] {
  const f = values.filename;
  const list = Array.isArray(f) ? f : typeof f === 'string' ? [f] : [];
  if (list.length === 0) throw new UsageError(`-f <file or directory> is required\nusage: ${usage}`);
  return list;
}

const MANIFEST_OPTS = {
  filename: { type: 'string', short: 'f', multiple: true },
  output: { type: 'string', short: 'o' },
} as const satisfies ParseArgsConfig['options'];

// ---- plan / apply / delete ------------------------------------------------------------------

const PLAN_USAGE = 'sdmi plan -f <file|dir>... [--exit-code] [-o table|json|yaml]';
export async function plan(args: readonly string[], io: Io): Promise<number> {
  const { values } = parse(args, { ...MANIFEST_OPTS, 'exit-code': { type: 'boolean' } }, { min: 0, max: 0, usage: PLAN_USAGE });
  const format = outputFormat(values.output as string | undefined);
  const resources = await loadManifests(files(values, PLAN_USAGE), { semantic: semanticRules });
  const p = await withCluster(values, (c) => c.plan(resources));
  io.out(render(format, planData(p), () => formatPlan(p)));
  return values['exit-code'] && !planIsEmpty(p) ? ExitCodes.Changes : ExitCodes.Ok;
}

const APPLY_USAGE = 'sdmi apply -f <file|dir>... [--no-wait] [--timeout 180s] [--dry-run]';
export async function apply(args: readonly string[], io: Io): Promise<number> {
  const { values } = parse(args, { ...MANIFEST_OPTS, 'no-wait': { type: 'boolean' }, timeout: { type: 'string' }, 'dry-run': { type: 'boolean' } }, { min: 0, max: 0, usage: APPLY_USAGE });
  const resources = await loadManifests(files(values, APPLY_USAGE), { semantic: semanticRules });
  return withCluster(values, async (c) => {
    const p = await c.plan(resources);
    io.err(formatPlan(p));
    if (values['dry-run'] || planIsEmpty(p)) {
      io.err(planIsEmpty(p) ? 'apply: nothing to do' : 'apply: dry run, nothing changed');
      return ExitCodes.Ok;
    }
    await runWithProgress(c, p, values, io, 'apply');
    io.out(`applied: ${summary(p)}`);
    return ExitCodes.Ok;
  });
}

const DELETE_USAGE = 'sdmi delete -f <file|dir>... [--no-wait] [--timeout 180s]';
export async function del(args: readonly string[], io: Io): Promise<number> {
  const { values } = parse(args, { ...MANIFEST_OPTS, 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } }, { min: 0, max: 0, usage: DELETE_USAGE });
  const resources = await loadManifests(files(values, DELETE_USAGE));
  return withCluster(values, async (c) => {
    const p = await c.planDeletion(resources);
    io.err(formatPlan(p));
    if (planIsEmpty(p)) {
      io.err('delete: nothing declared exists');
      return ExitCodes.Ok;
    }
    await runWithProgress(c, p, values, io, 'delete');
    io.out(`deleted: ${summary(p)}`);
    return ExitCodes.Ok;
  });
}

function summary(p: Plan): string {
  return p.changes.filter((c) => c.action !== 'unchanged' && c.action !== 'keep').map((c) => `${c.action} ${c.kind} ${c.id}`).join(', ');
}

async function runWithProgress(c: Cluster, p: Plan, values: Values, io: Io, verb: string): Promise<void> {
  const progress = new Progress(io, verb);
  const t = timeout(values);
  try {
    await runPlan(c, p, { wait: !values['no-wait'], ...(t !== undefined ? { timeoutMs: t } : {}), onProgress: (e: PlanProgress) => progress.update(e) });
  } finally {
    progress.end();
  }
}

// ---- get / describe ------------------------------------------------------------------------

const GET_USAGE = 'sdmi get services|replicas|networks|nodes [-t tenant] [-s tenant/service] [-n node] [-o table|json|yaml]';
export async function get(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    args,
    { output: { type: 'string', short: 'o' }, tenant: { type: 'string', short: 't' }, service: { type: 'string', short: 's' }, node: { type: 'string', short: 'n' } },
    { min: 1, max: 1, usage: GET_USAGE },
  );
  const format = outputFormat(values.output as string | undefined);
  const tenant = values.tenant as string | undefined;
  const what = positionals[0]!;
  return withCluster(values, async (c) => {
    switch (what) {
      case 'services':
      case 'service':
      case 'svc': {
        const list = await c.services(tenant);
        io.out(render(format, list, () => servicesTable(list)));
        return ExitCodes.Ok;
      }
      case 'replicas':
      case 'replica': {
        const filter = { ...(values.service ? { service: serviceId(values.service as string) } : {}), ...(values.node ? { node: values.node as string } : {}) };
        let list = await c.replicas(filter);
        if (tenant) list = list.filter((r) => r.service.startsWith(`${tenant}/`));
        io.out(render(format, list, () => replicasTable(list)));
        return ExitCodes.Ok;
      }
      case 'networks':
      case 'network':
      case 'net':
        return networks([...(tenant ? ['-t', tenant] : []), ...(values.output ? ['-o', values.output as string] : [])], io, c);
      case 'nodes':
      case 'node': {
        const list = await c.nodes();
        io.out(render(format, list, () => nodesTable(list)));
        return ExitCodes.Ok;
      }
      default:
        throw new UsageError(`unknown resource "${what}"\nusage: ${GET_USAGE}`);
    }
  });
}

type ServiceRow = Awaited<ReturnType<Cluster['services']>>[number];

function servicesTable(list: readonly ServiceRow[]): string {
  return table(
    ['SERVICE', 'REVISION', 'DESIRED', 'RUNNING', 'SERVING', 'ROLLOUT', 'ADDRESSES', 'IMAGE'],
    list.map((s) => [
      s.id,
      String(s.revision),
      String(s.desired),
      String(s.running),
      String(s.serving),
      s.rollout.state,
      (s.addresses ?? []).map((a) => `${a.network}=${a.address ?? 'pending'}`).join(',') || '-',
      s.spec.image,
    ]),
  );
}

function replicasTable(list: readonly ReplicaStatus[]): string {
  return table(
    ['REPLICA', 'NODE', 'STATE', 'AGE', 'ADDRESSES', 'REASON'],
    list.map((r) => [r.id, r.node, r.state, age(r.since), (r.interfaces ?? []).map((i) => `${i.network}=${i.ip ?? '-'}`).join(',') || '-', r.reason ?? '']),
  );
}

type NodeRow = Awaited<ReturnType<Cluster['nodes']>>[number];

function nodesTable(list: readonly NodeRow[]): string {
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)}G`;
  return table(
    ['NODE', 'STATE', 'REACHABLE', 'REPLICAS', 'CPUS (RESERVED)', 'MEMORY (RESERVED)', 'BRIDGE', 'LAST SEEN'],
    list.map((n) => [
      n.name,
      n.state,
      n.reachable ? 'yes' : 'no',
      String(n.replicas),
      n.capacity ? `${n.capacity.cpus} (${n.reserved.cpus})` : `- (${n.reserved.cpus})`,
      n.capacity ? `${gib(n.capacity.memoryBytes)} (${gib(n.reserved.memoryBytes)})` : `- (${gib(n.reserved.memoryBytes)})`,
      n.bridge ?? '-',
      n.lastSeen ? age(n.lastSeen) : 'never',
    ]),
  );
}

const DESCRIBE_USAGE = 'sdmi describe service <tenant/service> [-o table|json|yaml]';
export async function describe(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { output: { type: 'string', short: 'o' } }, { min: 2, max: 2, usage: DESCRIBE_USAGE });
  if (!['service', 'svc'].includes(positionals[0]!)) throw new UsageError(`can describe: service\nusage: ${DESCRIBE_USAGE}`);
  const id = serviceId(positionals[1]!);
  const format = outputFormat(values.output as string | undefined);
  return withCluster(values, async (c) => {
    const [tenant, name] = id.split('/') as [string, string];
    const svc = c.tenant(tenant).service(name);
    const status = await svc.status();
    if (!status) throw new CliError(`service ${id} does not exist (see: sdmi get services)`, ExitCodes.Failed);
    const replicas = (await svc.replicas()).filter((r) => r.state !== 'stopped');
    // undefined: dns-manager did not answer, which must not keep the rest of the description back.
    const dns: ServiceDnsNames | null | undefined = await svc.dnsNames({ status, replicas }).catch((e: unknown) => {
      if (e instanceof Timeout) return undefined;
      throw e;
    });
    io.out(
      render(format, { service: status, replicas, ...(dns !== undefined ? { dns } : {}) }, () =>
        [
          `Service:    ${status.id}`,
          `Image:      ${status.spec.image}`,
          `Revision:   ${status.revision} (history ${status.revisions.join(', ')})`,
          `Replicas:   ${status.desired} desired, ${status.replicas} present, ${status.running} running, ${status.serving} serving`,
          `Rollout:    ${status.rollout.state}${status.rollout.reason ? ` (${status.rollout.reason})` : ''}${status.rollout.detail ? ` - ${status.rollout.detail}` : ''}`,
          `Networks:   ${status.spec.networks.map((n) => `${n.network} (${n.ip.mode})`).join(', ')}`,
          `Addresses:  ${(status.addresses ?? []).map((a) => `${a.network} ${a.address ?? 'pending'} -> ${a.backends} backend(s)`).join('; ') || '-'}`,
          ...dnsLines(dns),
          '',
          replicas.length > 0 ? replicasTable(replicas) : 'no replicas',
        ].join('\n'),
      ),
    );
    return ExitCodes.Ok;
  });
}

// ---- scale / rollout ------------------------------------------------------------------------

const SCALE_USAGE = 'sdmi scale <tenant/service> <replicas> [--no-wait] [--timeout 180s]';
export async function scale(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } }, { min: 2, max: 2, usage: SCALE_USAGE });
  const id = serviceId(positionals[0]!);
  const n = count(positionals[1]!, 'replicas');
  return withCluster(values, async (c) => {
    const [tenant, name] = id.split('/') as [string, string];
    const progress = new Progress(io, 'scale');
    const t = timeout(values);
    try {
      const s = await c.tenant(tenant).service(name).scale(n, {
        wait: !values['no-wait'],
        ...(t !== undefined ? { timeoutMs: t } : {}),
        onProgress: (_s, detail) => progress.line(id, detail),
      });
      progress.end();
      io.out(`${id}: ${s.desired} desired, ${s.serving} serving`);
    } finally {
      progress.end();
    }
    return ExitCodes.Ok;
  });
}

const ROLLOUT_USAGE = 'sdmi rollout status|undo <tenant/service> [--to-revision N] [--no-wait] [-o table|json|yaml]';
export async function rollout(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    args,
    { output: { type: 'string', short: 'o' }, 'to-revision': { type: 'string' }, 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } },
    { min: 2, max: 2, usage: ROLLOUT_USAGE },
  );
  const sub = positionals[0]!;
  const id = serviceId(positionals[1]!);
  const [tenant, name] = id.split('/') as [string, string];
  const format = outputFormat(values.output as string | undefined);
  return withCluster(values, async (c) => {
    const svc = c.tenant(tenant).service(name);
    if (sub === 'status') {
      const r = await svc.rollout();
      io.out(
        render(format, r, () =>
          [
            `${r.service}: revision ${r.revision}${r.fromRevision !== null ? ` from ${r.fromRevision}` : ''}, ${r.state}${r.rollbackOf !== null ? ` (rollback of ${r.rollbackOf})` : ''}`,
            ...(r.reason ? [`reason: ${r.reason}`] : []),
            ...(r.detail ? [`now: ${r.detail}`] : []),
            table(['REVISION', 'REPLICAS', 'RUNNING', 'HEALTHY', 'SERVING'], r.revisions.map((x) => [String(x.revision), String(x.replicas), String(x.running), String(x.healthy), String(x.serving)])),
          ].join('\n'),
        ),
      );
      // Like `kubectl rollout status`: a script can tell a rollout that failed.
      return r.state === 'complete' || r.state === 'progressing' ? ExitCodes.Ok : ExitCodes.NotConverged;
    }
    if (sub === 'undo') {
      const raw = values['to-revision'] as string | undefined;
      const to = raw === undefined ? undefined : count(raw, '--to-revision', 1e9);
      const progress = new Progress(io, 'undo');
      const t = timeout(values);
      try {
        const s = await svc.undo(to, { wait: !values['no-wait'], ...(t !== undefined ? { timeoutMs: t } : {}), onProgress: (_s, d) => progress.line(id, d) });
        progress.end();
        io.out(`${id}: back on revision ${s.revision}, ${s.serving}/${s.desired} serving`);
      } finally {
        progress.end();
      }
      return ExitCodes.Ok;
    }
    throw new UsageError(`unknown rollout command "${sub}"\nusage: ${ROLLOUT_USAGE}`);
  });
}

// ---- nodes / networks / events ----------------------------------------------------------------

const NODES_USAGE = 'sdmi nodes [list] | add <node> [--force] [--register] | drain <node> [--force] | remove <node> [--force]';
export async function nodes(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { force: { type: 'boolean' }, register: { type: 'boolean' }, output: { type: 'string', short: 'o' } }, { min: 0, max: 2, usage: NODES_USAGE });
  const sub = positionals[0] ?? 'list';
  if (sub === 'list') return get(['nodes', ...(values.output ? ['-o', values.output as string] : []), ...connectionArgs(values)], io);
  const node = positionals[1];
  if (!node) throw new UsageError(`nodes ${sub} needs a node name\nusage: ${NODES_USAGE}`);
  const force = values.force === true;
  return withCluster(values, async (c) => {
    const n = c.node(node);
    switch (sub) {
      case 'add':
        if (values.register) await registerLocalHost(n, io);
        await n.add({ force });
        io.out(`node ${node}: admitted`);
        return ExitCodes.Ok;
      // Draining moves every replica to the other nodes and stops placing on this one; remove also
      // takes the host's bridge out of the network-controller's topology.
      case 'drain':
        await n.remove({ force });
        io.out(`node ${node}: drained (re-admit with: sdmi nodes add ${node})`);
        return ExitCodes.Ok;
      case 'remove':
        await n.remove({ force });
        await n.unregister();
        io.out(`node ${node}: drained and removed`);
        return ExitCodes.Ok;
      default:
        throw new UsageError(`unknown nodes command "${sub}"\nusage: ${NODES_USAGE}`);
    }
  });
}

/**
 * Registers a host of this machine with the network-controller: the bridge its node-agent
 * announces, by the datapath id this machine's Open vSwitch gives it. Only meaningful on the host
 * itself (a single-host cluster, or each host of a multi-host one in turn).
 */
async function registerLocalHost(n: Node, io: Io): Promise<void> {
  const status = await n.announcement(15_000);
  if (!status) throw new CliError(`no node-agent announced node "${n.name}" within 15 s: is its node-agent running (sdmi up) with SDMI_NODE_NAME=${n.name}?`, ExitCodes.Unavailable);
  const r = spawnSync('ovs-vsctl', ['--timeout=5', 'get', 'Bridge', status.bridge, 'datapath_id'], { encoding: 'utf8' });
  if (r.status !== 0) throw new CliError(`cannot read the datapath id of bridge ${status.bridge} from this machine's Open vSwitch: ${(r.stderr || r.error?.message || '').trim()}`, ExitCodes.Unavailable);
  const dpid = r.stdout.trim().replace(/^"|"$/g, '');
  await n.register({ dpid });
  io.err(`node ${n.name}: bridge ${status.bridge} (dpid ${dpid}) registered with the network-controller`);
}

function connectionArgs(values: Values): string[] {
  return [...(values['nats-url'] ? ['--nats-url', values['nats-url'] as string] : []), ...(values.prefix ? ['--prefix', values.prefix as string] : [])];
}

const NETWORKS_USAGE = 'sdmi networks [-t tenant] [-o table|json|yaml]';
export async function networks(args: readonly string[], io: Io, cluster?: Cluster): Promise<number> {
  const { values } = parse(args, { output: { type: 'string', short: 'o' }, tenant: { type: 'string', short: 't' } }, { min: 0, max: 0, usage: NETWORKS_USAGE });
  const format: OutputFormat = outputFormat(values.output as string | undefined);
  const show = async (c: Cluster): Promise<number> => {
    const n = await c.networks(values.tenant as string | undefined);
    const rows = [
      ...n.clusterNetworks.map((x) => [x.id, x.spec.cidr, x.spec.vlan !== undefined ? `vlan ${x.spec.vlan}` : x.spec.vni !== undefined ? `vni ${x.spec.vni}` : '-', (x.spec.dependsOn ?? []).join(',') || '-', String(x.interfaces), String(x.addresses)]),
      ...n.tenantNetworks.map((x) => [x.id, x.spec.cidr, x.assigned.vlan !== undefined ? `vlan ${x.assigned.vlan}` : x.assigned.vni !== undefined ? `vni ${x.assigned.vni}` : '-', (x.spec.dependsOn ?? []).join(',') || '-', String(x.interfaces), String(x.addresses)]),
    ];
    io.out(render(format, n, () => table(['NETWORK', 'CIDR', 'SEGMENT', 'DEPENDS ON', 'INTERFACES', 'ADDRESSES'], rows)));
    return ExitCodes.Ok;
  };
  return cluster ? show(cluster) : withCluster(values, show);
}

const EVENTS_USAGE = 'sdmi events -f [--service name] [--nodes] [--autoscale] [-o table|json]';
export async function events(args: readonly string[], io: Io): Promise<number> {
  const { values } = parse(args, { follow: { type: 'boolean', short: 'f' }, service: { type: 'string' }, nodes: { type: 'boolean' }, autoscale: { type: 'boolean' }, output: { type: 'string', short: 'o' } }, { min: 0, max: 0, usage: EVENTS_USAGE });
  // Task events are not kept for reading back later; following is the only mode, so say so rather than print nothing.
  if (!values.follow) throw new UsageError(`events are streamed as they happen: use -f to follow them (Ctrl-C stops)\nusage: ${EVENTS_USAGE}`);
  const format = outputFormat(values.output as string | undefined);
  return withCluster(values, async (c) => {
    const it = c.events({ ...(values.service ? { service: values.service as string } : {}), nodes: values.nodes === true, autoscale: values.autoscale === true });
    const stop = new Promise<void>((resolve) => io.signal?.addEventListener('abort', () => resolve(), { once: true }));
    io.err('events: following (Ctrl-C stops)');
    for (;;) {
      const next = await Promise.race([it.next(), stop.then(() => null)]);
      if (next === null || next.done) break;
      // What the stream leaves out is said on stderr, so stdout stays the events alone.
      if (next.value.type === 'notice') io.err(`events: ${next.value.message}`);
      else io.out(format === 'table' ? eventLine(next.value) : JSON.stringify(next.value));
    }
    await it.return(undefined);
    return ExitCodes.Ok;
  });
}

function eventLine(e: Exclude<ClusterEvent, { type: 'notice' }>): string {
  if (e.type === 'node') return `${e.event.time}  node      ${e.event.node}: ${e.event.replicas.length} replica(s)`;
  if (e.type === 'scale') return `${e.event.at}  scale     ${e.event.service} ${e.event.from} -> ${e.event.to} (${e.event.reason}): ${e.event.why}`;
  if (e.type === 'threshold') return `${e.event.at}  threshold ${e.event.service} ${e.event.threshold} ${e.event.kind}: ${e.event.why}`;
  const t = e.event;
  const what = t.error ? `${t.status}: ${t.error.code} ${t.error.message}` : t.status;
  return `${t.at}  task      ${t.service} ${t.kind} ${t.key} ${t.taskId}: ${what}${t.step ? ` (step ${JSON.stringify(t.step)})` : ''}`;
}
