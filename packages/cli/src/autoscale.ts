// sdmi autoscale and sdmi threshold: a service's autoscale policy and thresholds, kept and
// evaluated by the metrics-collector, through the SDK's service.autoscale()/setThreshold().
// Flags are checked here for what can be told without the cluster (a number, a duration, a known
// metric); what needs the policy as a whole (min above max) or the cluster (the service exists)
// is the metrics-collector's to refuse, and its refusal is printed with code and path.
import { Timeout } from '@sdmi/bus';
import type { Aggregation, AutoscaleStatus, Comparator, MetricName, ThresholdState } from '@sdmi/contracts';
import type { AutoscaleSpec, Cluster, ThresholdSpec } from '@sdmi/sdk';
import { parse, serviceId, withCluster, type Io } from './commands';
import { CliError, ExitCodes, UsageError } from './exit';
import { age, outputFormat, render, table } from './format';

export const AUTOSCALE_USAGE = `sdmi autoscale set <tenant/service> --min N --max N --metric METRIC --target X [--tolerance 0.1]
                 [--scale-down-window 300s] [--scale-up-window 0s] [--stale-after 30s]
       sdmi autoscale get [<tenant/service>] [-o table|json|yaml]
       sdmi autoscale delete <tenant/service>`;

export const THRESHOLD_USAGE = `sdmi threshold set <tenant/service> <name> --metric METRIC --aggregation avg|max|min|sum
                 --comparator '>'|'>='|'<'|'<=' --value X [--for 0s] [--clear-after D] [--hysteresis X]
       sdmi threshold get [<tenant/service>] [-o table|json|yaml]
       sdmi threshold delete <tenant/service> <name>`;

/** Kept in the order help text lists them; a metric the schema gains fails to compile here. */
const METRICS = ['cpu.utilization', 'memory.utilization', 'cpu.cores', 'memory.bytes'] as const satisfies readonly MetricName[];
const coversAllMetrics: Exclude<MetricName, (typeof METRICS)[number]> extends never ? true : never = true;
void coversAllMetrics;
const AGGREGATIONS = ['avg', 'max', 'min', 'sum'] as const satisfies readonly Aggregation[];
const COMPARATORS = ['>', '>=', '<', '<='] as const satisfies readonly Comparator[];

const AUTOSCALE_HELP = `usage: ${AUTOSCALE_USAGE}

  The metrics-collector scales the service by the Kubernetes HPA rule
  desired = ceil(current x average(metric) / target), with no change while the average is within
  --tolerance of the target (default 0.1 = 10 %), the highest recommendation of the last
  --scale-down-window (default 300s) used on scale-down, never below --min or above --max.
  METRIC is one of ${METRICS.join(', ')}; --target is in its unit (0.6 = 60 % of the
  replica's limit for a utilization). A replica whose newest sample is older than --stale-after
  (default 30s) counts as missing. set replaces the service's policy; delete stops the scaling and
  leaves the replica count where it is. Durations: 300s, 5m, 1500ms (a bare number is seconds).
  Exit 64 on a missing flag, 65 on a bad value or a policy the metrics-collector refuses
  (INVALID_AUTOSCALE_POLICY, with the field), 1 when the service does not exist.`;

const THRESHOLD_HELP = `usage: ${THRESHOLD_USAGE}

  A threshold is raised once aggregation(metric over the service's replicas) <comparator> value
  has held for --for (default 0s: at the first evaluation that sees it), and cleared once the
  condition, moved --hysteresis towards the safe side, has not held for --clear-after (default
  --for). Raised and cleared events: sdmi events -f --autoscale. set replaces the threshold of
  that name. Quote the comparator for the shell: --comparator '>'.`;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

function required(values: Record<string, unknown>, flag: string, usage: string): string {
  const v = values[flag];
  if (typeof v !== 'string') throw new UsageError(`--${flag} is required\nusage: ${usage}`);
  return v;
}

function optional(values: Record<string, unknown>, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === 'string' ? v : undefined;
}

function wholeNumber(raw: string, flag: string, min: number, max: number, why = ''): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new CliError(`--${flag} must be a whole number from ${min} to ${max}${why}, got "${raw}"`, ExitCodes.DataErr);
  return Number(raw);
}

function decimal(raw: string, flag: string, check: (n: number) => boolean, what: string): number {
  const n = /^\d+(\.\d+)?([eE][+-]?\d+)?$|^\.\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || !check(n)) throw new CliError(`--${flag} must be ${what}, got "${raw}"`, ExitCodes.DataErr);
  return n;
}

function duration(raw: string, flag: string, min: number, max: number): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(raw);
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : m[2] === 'h' ? HOUR_MS : 1000) : NaN;
  if (!m) throw new CliError(`--${flag} must be a duration like 300s, 5m or 1500ms, got "${raw}"`, ExitCodes.DataErr);
  if (ms < min || ms > max) throw new CliError(`--${flag} must be from ${show(min)} to ${show(max)}, got "${raw}"`, ExitCodes.DataErr);
  return ms;
}

function show(ms: number): string {
  return ms % HOUR_MS === 0 && ms > 0 ? `${ms / HOUR_MS}h` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function oneOf<T extends string>(raw: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) throw new CliError(`--${flag} must be one of ${allowed.join(', ')}, got "${raw}"`, ExitCodes.DataErr);
  return raw as T;
}

function idParts(id: string): [string, string] {
  return id.split('/') as [string, string];
}

/** A metric's value as people read it: utilizations as percent, bytes in MiB, cores with two decimals. */
export function metricValue(metric: MetricName, v: number | null): string {
  if (v === null) return '-';
  if (metric.endsWith('.utilization')) return `${Math.round(v * 100)}%`;
  if (metric === 'memory.bytes') return `${(v / 2 ** 20).toFixed(0)}Mi`;
  return v.toFixed(2);
}

/** The `set` flags as a policy: only what was given, so the collector's defaults hold for the rest. */
export function policyFromFlags(values: Record<string, unknown>): AutoscaleSpec {
  const u = AUTOSCALE_USAGE;
  const minReplicas = wholeNumber(required(values, 'min', u), 'min', 1, 1000, ' (scaling to zero is yours: sdmi scale <service> 0)');
  const maxReplicas = wholeNumber(required(values, 'max', u), 'max', 1, 1000);
  const metric = oneOf(required(values, 'metric', u), 'metric', METRICS);
  const target = decimal(required(values, 'target', u), 'target', (n) => n > 0, `a number above 0 in the metric's unit (0.6 = 60 % for ${metric.endsWith('.utilization') ? metric : 'a utilization'})`);
  const tol = optional(values, 'tolerance');
  const down = optional(values, 'scale-down-window');
  const up = optional(values, 'scale-up-window');
  const stale = optional(values, 'stale-after');
  const behavior = {
    ...(up !== undefined ? { scaleUp: { stabilizationWindowMs: duration(up, 'scale-up-window', 0, HOUR_MS) } } : {}),
    ...(down !== undefined ? { scaleDown: { stabilizationWindowMs: duration(down, 'scale-down-window', 0, HOUR_MS) } } : {}),
  };
  return {
    minReplicas,
    maxReplicas,
    metric,
    target,
    ...(tol !== undefined ? { tolerance: decimal(tol, 'tolerance', (n) => n <= 1, 'a fraction from 0 to 1 (0.1 = no change within 10 % of the target)') } : {}),
    ...(stale !== undefined ? { staleAfterMs: duration(stale, 'stale-after', 1000, HOUR_MS) } : {}),
    ...(Object.keys(behavior).length > 0 ? { behavior } : {}),
  };
}

export function thresholdFromFlags(name: string, values: Record<string, unknown>): ThresholdSpec {
  const u = THRESHOLD_USAGE;
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) throw new CliError(`"${name}" is not a threshold name: a lower-case DNS label (letters, digits and "-", starting with a letter, at most 63)`, ExitCodes.DataErr);
  const metric = oneOf(required(values, 'metric', u), 'metric', METRICS);
  const aggregation = oneOf(required(values, 'aggregation', u), 'aggregation', AGGREGATIONS);
  const comparator = oneOf(required(values, 'comparator', u), 'comparator', COMPARATORS);
  const value = decimal(required(values, 'value', u), 'value', () => true, "a number of 0 or more in the metric's unit");
  const forRaw = optional(values, 'for');
  const clear = optional(values, 'clear-after');
  const hyst = optional(values, 'hysteresis');
  return {
    name,
    metric,
    aggregation,
    comparator,
    value,
    durationMs: forRaw === undefined ? 0 : duration(forRaw, 'for', 0, DAY_MS),
    ...(clear !== undefined ? { clearAfterMs: duration(clear, 'clear-after', 0, DAY_MS) } : {}),
    ...(hyst !== undefined ? { hysteresis: decimal(hyst, 'hysteresis', () => true, "a number of 0 or more in the metric's unit") } : {}),
  };
}

export function policiesTable(list: readonly AutoscaleStatus[], now = Date.now()): string {
  const rows = list.map(({ policy: p, lastDecision: d }) => [
    p.service,
    String(p.minReplicas),
    String(p.maxReplicas),
    p.metric,
    metricValue(p.metric, p.target),
    d ? metricValue(p.metric, d.inputs.value) : '-',
    d ? `${d.from}->${d.to}` : '-',
    d ? d.reason : 'not evaluated yet',
    d ? age(d.at, now) : '-',
    d ? d.why : '',
  ]);
  const errors = list.filter((s) => s.lastError !== null).map((s) => `${s.policy.service}: last evaluation failed: ${s.lastError}`);
  return [table(['SERVICE', 'MIN', 'MAX', 'METRIC', 'TARGET', 'VALUE', 'DECISION', 'REASON', 'AGE', 'WHY'], rows), ...(errors.length > 0 ? ['', ...errors] : [])].join('\n');
}

export function thresholdsTable(list: readonly ThresholdState[], now = Date.now()): string {
  return table(
    ['SERVICE', 'NAME', 'CONDITION', 'FOR', 'PHASE', 'SINCE'],
    list.map(({ threshold: t, phase, since }) => [
      t.service,
      t.name,
      `${t.aggregation}(${t.metric}) ${t.comparator} ${metricValue(t.metric, t.value)}${t.hysteresis ? ` (hysteresis ${metricValue(t.metric, t.hysteresis)})` : ''}`,
      show(t.durationMs),
      phase,
      since ? `${age(since, now)} ago` : '-',
    ]),
  );
}

/** The collector did not answer: say where it was asked and how to get one. */
async function askCollector<T>(c: Cluster, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof Timeout) {
      throw new CliError(`no metrics-collector answered on prefix "${c.names.prefix}" (${err.message})\nstart it with the control plane (sdmi up), or run services/metrics-collector; check --prefix`, ExitCodes.Unavailable);
    }
    throw err;
  }
}

const SET_OPTS = {
  min: { type: 'string' },
  max: { type: 'string' },
  metric: { type: 'string' },
  target: { type: 'string' },
  tolerance: { type: 'string' },
  'scale-down-window': { type: 'string' },
  'scale-up-window': { type: 'string' },
  'stale-after': { type: 'string' },
} as const;

export async function autoscale(args: readonly string[], io: Io): Promise<number> {
  if (args.length === 0 || ['help', '--help', '-h'].includes(args[0]!)) {
    io.out(AUTOSCALE_HELP);
    return args.length === 0 ? ExitCodes.Usage : ExitCodes.Ok;
  }
  const { values, positionals } = parse(args, { ...SET_OPTS, output: { type: 'string', short: 'o' } }, { min: 1, max: 2, usage: AUTOSCALE_USAGE });
  const [sub, target] = positionals as [string, string | undefined];
  const setFlags = Object.keys(SET_OPTS).filter((k) => values[k] !== undefined);
  if (sub !== 'set' && setFlags.length > 0) throw new UsageError(`autoscale ${sub} takes no --${setFlags[0]}\nusage: ${AUTOSCALE_USAGE}`);
  switch (sub) {
    case 'set': {
      if (target === undefined) throw new UsageError(`autoscale set needs a service\nusage: ${AUTOSCALE_USAGE}`);
      const id = serviceId(target);
      const policy = policyFromFlags(values);
      return withCluster(values, async (c) => {
        const r = await askCollector(c, () => c.tenant(idParts(id)[0]).service(idParts(id)[1]).autoscale(policy));
        io.out(`${r.service}: autoscaling ${policy.minReplicas}-${policy.maxReplicas} replicas on ${policy.metric} target ${metricValue(policy.metric, policy.target)} ${r.created ? 'set' : 'replaced'}; evaluated from the metrics-collector's next pass (see: sdmi autoscale get ${r.service})`);
        return ExitCodes.Ok;
      });
    }
    case 'get':
    case 'list': {
      const id = target === undefined ? undefined : serviceId(target);
      const format = outputFormat(values.output as string | undefined);
      return withCluster(values, async (c) => {
        const { policies } = await askCollector(c, () => c.autoscaling(id));
        if (id !== undefined && policies.length === 0) throw new CliError(`${id} has no autoscale policy (set one with: sdmi autoscale set ${id} --min N --max N --metric cpu.utilization --target 0.6)`, ExitCodes.Failed);
        io.out(render(format, policies, () => (policies.length === 0 ? 'no autoscale policies (set one with: sdmi autoscale set <tenant/service> ...)' : policiesTable(policies))));
        return ExitCodes.Ok;
      });
    }
    case 'delete':
    case 'rm': {
      if (target === undefined) throw new UsageError(`autoscale delete needs a service\nusage: ${AUTOSCALE_USAGE}`);
      const id = serviceId(target);
      return withCluster(values, async (c) => {
        const r = await askCollector(c, () => c.tenant(idParts(id)[0]).service(idParts(id)[1]).stopAutoscaling());
        io.out(r.removed ? `${r.service}: autoscaling stopped; the replica count stays where it is` : `${r.service}: had no autoscale policy`);
        return ExitCodes.Ok;
      });
    }
    default:
      throw new UsageError(`unknown autoscale command "${sub}"\nusage: ${AUTOSCALE_USAGE}`);
  }
}

const THRESHOLD_OPTS = {
  metric: { type: 'string' },
  aggregation: { type: 'string' },
  comparator: { type: 'string' },
  value: { type: 'string' },
  for: { type: 'string' },
  'clear-after': { type: 'string' },
  hysteresis: { type: 'string' },
} as const;

export async function threshold(args: readonly string[], io: Io): Promise<number> {
  if (args.length === 0 || ['help', '--help', '-h'].includes(args[0]!)) {
    io.out(THRESHOLD_HELP);
    return args.length === 0 ? ExitCodes.Usage : ExitCodes.Ok;
  }
  const { values, positionals } = parse(args, { ...THRESHOLD_OPTS, output: { type: 'string', short: 'o' } }, { min: 1, max: 3, usage: THRESHOLD_USAGE });
  const [sub, target, name] = positionals as [string, string | undefined, string | undefined];
  const setFlags = Object.keys(THRESHOLD_OPTS).filter((k) => values[k] !== undefined);
  if (sub !== 'set' && setFlags.length > 0) throw new UsageError(`threshold ${sub} takes no --${setFlags[0]}\nusage: ${THRESHOLD_USAGE}`);
  switch (sub) {
    case 'set': {
      if (target === undefined || name === undefined) throw new UsageError(`threshold set needs a service and a name\nusage: ${THRESHOLD_USAGE}`);
      const id = serviceId(target);
      const t = thresholdFromFlags(name, values);
      return withCluster(values, async (c) => {
        const r = await askCollector(c, () => c.tenant(idParts(id)[0]).service(idParts(id)[1]).setThreshold(t));
        io.out(`${r.service} threshold ${r.name}: ${r.created ? 'set' : r.restarted ? 'replaced (it was raised; it starts over in phase ok)' : 'replaced'}`);
        return ExitCodes.Ok;
      });
    }
    case 'get':
    case 'list': {
      if (name !== undefined) throw new UsageError(`threshold get takes at most a service\nusage: ${THRESHOLD_USAGE}`);
      const id = target === undefined ? undefined : serviceId(target);
      const format = outputFormat(values.output as string | undefined);
      return withCluster(values, async (c) => {
        const { thresholds } = await askCollector(c, () => c.autoscaling(id));
        io.out(render(format, thresholds, () => (thresholds.length === 0 ? `no thresholds${id ? ` on ${id}` : ''}` : thresholdsTable(thresholds))));
        return ExitCodes.Ok;
      });
    }
    case 'delete':
    case 'rm': {
      if (target === undefined || name === undefined) throw new UsageError(`threshold delete needs a service and a name\nusage: ${THRESHOLD_USAGE}`);
      const id = serviceId(target);
      return withCluster(values, async (c) => {
        const r = await askCollector(c, () => c.tenant(idParts(id)[0]).service(idParts(id)[1]).deleteThreshold(name));
        io.out(r.removed ? `${r.service} threshold ${r.name}: deleted` : `${r.service} has no threshold ${r.name} (see: sdmi threshold get ${r.service})`);
        return ExitCodes.Ok;
      });
    }
    default:
      throw new UsageError(`unknown threshold command "${sub}"\nusage: ${THRESHOLD_USAGE}`);
  }
}
