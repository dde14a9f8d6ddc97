import type { NatsConnection } from '@nats-io/nats-core';
import { Svcm, type EndpointInfo, type ServiceInfo } from '@nats-io/services';
import { HEALTH_ENDPOINT, requestHealth, type HealthReply } from '@sdmi/service';
import { messageOf } from './text';

export const ServiceStatusValue = {
  /** Answers health with ready=true and every check passing. */
  ready: 'ready',
  /** Ready, but an optional check fails. */
  degraded: 'degraded',
  /** Answers health with ready=false. */
  notReady: 'not-ready',
  /** Known to be running (a process) but not answering on NATS. */
  unreachable: 'unreachable',
  /** Its process has ended. */
  exited: 'exited',
} as const;
export type ServiceStatusValue = (typeof ServiceStatusValue)[keyof typeof ServiceStatusValue];

/** One instance as the services framework and its health endpoint describe it. */
export interface DiscoveredService {
  service: string;
  instance: string;
  /** The framework's id for the instance (`$SRV.*.<service>.<id>`). */
  id: string;
  version: string;
  description: string;
  pid: number | undefined;
  metadata: Record<string, string>;
  endpoints: EndpointInfo[];
  /** Undefined when health did not answer; see healthError. */
  health: HealthReply | undefined;
  healthError: string | undefined;
}

/** A row of the status table. */
export interface ServiceStatus {
  service: string;
  instance: string;
  version: string | undefined;
  pid: number | undefined;
  status: ServiceStatusValue;
  /** Endpoint names as `$SRV.INFO` lists them. */
  endpoints: string[];
  /** Why it is not ready: failing checks, the health error, the exit code. */
  detail: string | undefined;
}

export interface DiscoverOptions {
  /** Service names to ask for (`$SRV.INFO.<name>`); all services on the bus when omitted. */
  services?: readonly string[];
  /** Keep only instances this returns true for (e.g. the ones we started). */
  filter?: (info: ServiceInfo) => boolean;
  /** How long to collect `$SRV.INFO` answers. */
  maxWaitMs?: number;
  healthTimeoutMs?: number;
}

/**
 * Finds service instances through the services framework (`$SRV.INFO`), then asks each one's
 * health endpoint, whose subject comes from the INFO reply rather than from a naming convention.
 */
export async function discoverServices(nc: NatsConnection, options: DiscoverOptions = {}): Promise<DiscoveredService[]> {
  const client = new Svcm(nc).client({ strategy: 'stall', maxWait: options.maxWaitMs ?? 2000, stall: 300 });
  const names = options.services ?? [undefined];
  const infos = (
    await Promise.all(
      names.map(async (name) => {
        const found: ServiceInfo[] = [];
        for await (const info of await client.info(name)) found.push(info);
        return found;
      }),
    )
  ).flat();
  const wanted = options.filter ? infos.filter(options.filter) : infos;
  const discovered = await Promise.all(
    wanted.map(async (info): Promise<DiscoveredService> => {
      const metadata = { ...(info.metadata ?? {}) };
      const healthEndpoint = info.endpoints.find((e) => e.name === HEALTH_ENDPOINT);
      let health: HealthReply | undefined;
      let healthError: string | undefined;
      if (healthEndpoint === undefined) {
        healthError = 'no health endpoint';
      } else {
        try {
          health = await requestHealth(nc, healthEndpoint.subject, { timeout: options.healthTimeoutMs ?? 3000 });
        } catch (err) {
          healthError = messageOf(err);
        }
      }
      const pid = Number(metadata.pid);
      return {
        service: info.name,
        instance: metadata.instance ?? info.id,
        id: info.id,
        version: info.version,
        description: info.description,
        pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
        metadata,
        endpoints: info.endpoints,
        health,
        healthError,
      };
    }),
  );
  return discovered.sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
}

export function statusOf(d: DiscoveredService): ServiceStatus {
  let status: ServiceStatusValue;
  let detail: string | undefined;
  if (d.health === undefined) {
    status = ServiceStatusValue.unreachable;
    detail = d.healthError;
  } else {
    const failing = d.health.checks.filter((c) => !c.ok).map((c) => (c.detail ? `${c.name}: ${c.detail}` : c.name));
    status = !d.health.ready ? ServiceStatusValue.notReady : d.health.status === 'ok' ? ServiceStatusValue.ready : ServiceStatusValue.degraded;
    detail = failing.length > 0 ? failing.join('; ') : undefined;
  }
  return {
    service: d.service,
    instance: d.instance,
    version: d.version,
    pid: d.pid,
    status,
    endpoints: d.endpoints.map((e) => e.name),
    detail,
  };
}

/** A plain-text table, one row per instance, for terminals and logs. */
export function formatStatusTable(rows: readonly ServiceStatus[]): string {
  const header = ['SERVICE', 'INSTANCE', 'VERSION', 'PID', 'STATUS', 'ENDPOINTS'];
  const cells = rows.map((r) => [
    r.service,
    r.instance,
    r.version ?? '-',
    r.pid === undefined ? '-' : String(r.pid),
    r.detail ? `${r.status} (${r.detail})` : r.status,
    r.endpoints.join(',') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

/** One service instance a control plane started: what its status row is made from. */
export interface StartedMember {
  service: string;
  instance: string;
  pid: number;
  /** Set once it exited: how (`code 1`, `signal SIGKILL`). */
  exitDetail: string | undefined;
}

/**
 * The status rows of the instances a control plane started, in their order: from `$SRV.INFO` and
 * each instance's health, `exited` or `unreachable` where those say nothing. The pid is the
 * control plane's own view of the process (a container's host pid, not what it reports).
 */
export async function memberStatuses(nc: NatsConnection, members: readonly StartedMember[]): Promise<ServiceStatus[]> {
  const ours = new Set(members.map((m) => `${m.service}/${m.instance}`));
  const found = await discoverServices(nc, {
    services: members.map((m) => m.service),
    filter: (info) => ours.has(`${info.name}/${info.metadata?.instance}`),
  });
  const rows = new Map(found.map((d) => [`${d.service}/${d.instance}`, statusOf(d)]));
  return members.map((m): ServiceStatus => {
    const bare = { service: m.service, instance: m.instance, version: undefined, pid: m.pid, endpoints: [] };
    if (m.exitDetail !== undefined) return { ...bare, status: ServiceStatusValue.exited, detail: m.exitDetail };
    const row = rows.get(`${m.service}/${m.instance}`);
    return row === undefined ? { ...bare, status: ServiceStatusValue.unreachable, detail: 'not found by $SRV.INFO' } : { ...row, pid: m.pid };
  });
}
