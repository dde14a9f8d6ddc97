// SDMI's side: the set-up of services/scheduler/tests/http-rollout.test.ts on the LocalCluster the
// end-to-end tests use (two Docker hosts on one OVS fabric, network-controller, node-agents and
// scheduler as processes): networks `front` (allowed to reach `web`) and `web`, the HTTP service
// with 3 replicas on `web` behind its service address, and a client replica on `front`.
import { performance } from 'node:perf_hooks';
import { createPool } from '@sdmi/bus';
import { SchedulerQueries } from '@sdmi/scheduling';
import { docker } from '@sdmi/testbed';
import { type Logger } from 'pino';
import { LocalCluster } from '../../../test/cluster';
import { containersWithLabel } from '../../scale/src/engine';
import { Load } from './load';
import { HEALTH_CMD, HTTP_COMMAND, REPLICAS, type RolloutMeasure, type RolloutSide } from './side';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const NETWORKS = [
  { name: 'front', cidr: '10.68.1.0/24', dependsOn: ['web'] },
  { name: 'web', cidr: '10.68.2.0/24' },
];

export class SdmiSide implements RolloutSide {
  readonly name = 'sdmi';
  readonly cluster = new LocalCluster('br');
  readonly tenant = this.cluster.tag;
  readonly service = `${this.tenant}/web`;
  readonly clientService = `${this.tenant}/client`;
  vip = '';
  #client?: { host: string; id: string };
  #pool?: ReturnType<typeof createPool>;
  #load?: Load;

  constructor(
    private readonly image: string,
    private readonly log: Logger,
  ) {}

  private cmd(kind: string, key: string, payload: Record<string, unknown>) {
    return this.cluster.client.run('scheduler', { kind, key, payload }, { timeoutMs: 120_000 });
  }

  private get pool() {
    this.#pool ??= createPool(this.cluster.db.url, 2);
    return this.#pool;
  }

  /** The test's policy, which the Swarm side mirrors flag by flag. */
  private spec(version: string) {
    return {
      tenant: this.tenant,
      name: 'web',
      image: this.image,
      command: HTTP_COMMAND,
      env: { VERSION: version },
      replicas: REPLICAS,
      networks: [{ network: 'cluster/web', ip: { mode: 'dynamic' } }],
      healthCheck: { exec: HEALTH_CMD, intervalMs: 1000, timeoutMs: 1000, retries: 2 },
      update: { parallelism: 1, delayMs: 0, monitorMs: 1000, order: 'start-first', failureAction: 'rollback' },
    };
  }

  private rollout() {
    return this.cluster.client.query('scheduler', SchedulerQueries.rolloutStatus, { service: this.service }).then((r) => r.rollout);
  }

  /** Running containers of the web service per revision, on both hosts (Engine API). */
  async runningByRevision(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const h of this.cluster.hosts.values()) {
      for (const c of await containersWithLabel(h.socket, 'sdmi.replica', { running: true })) {
        const id = c.Labels['sdmi.replica'] ?? '';
        if (!id.startsWith(`${this.service}-`)) continue;
        const rev = Number(/@rev(\d+)/.exec(id)?.[1] ?? Number.NaN);
        out.set(rev, (out.get(rev) ?? 0) + 1);
      }
    }
    return out;
  }

  async start(version: string, timeoutMs: number): Promise<void> {
    const c = this.cluster;
    await c.start({ scheduler: true });
    await c.netCmd('createNetworks', { clusterNetworks: NETWORKS });
    for (const host of c.hosts.keys()) await c.until(async () => (await this.cmd('addNode', `node/${host}`, { name: host }), true), `${host} admitted`);
    await this.cmd('deployService', this.clientService, { spec: { tenant: this.tenant, name: 'client', image: this.image, command: ['sleep', '3600'], replicas: 1, networks: [{ network: 'cluster/front', ip: { mode: 'dynamic' } }] } });
    await this.cmd('deployService', this.service, { spec: this.spec(version) });
    await c.until(async () => {
      for (const h of c.hosts.keys()) {
        const x = (await c.containers(h)).find((k) => k.replica.startsWith(`${this.clientService}-`) && k.running);
        if (x) this.#client = { host: h, id: x.id };
      }
      const r = await this.rollout();
      return this.#client !== undefined && r.state === 'complete' && (r.revisions[0]?.serving ?? 0) === REPLICAS;
    }, `client running, ${REPLICAS} web replicas serving`, timeoutMs);
    await c.until(async () => {
      const rows = await this.pool.query<{ address: string | null }>('SELECT host(address) AS address FROM sched.service_address WHERE service = $1', [this.service]);
      this.vip = rows.rows[0]?.address ?? '';
      if (!this.vip) return false;
      const out = await docker(c.hosts.get(this.#client!.host)!.endpoint, ['exec', this.#client!.id, 'timeout', '2', 'wget', '-q', '-O', '-', `http://${this.vip}:8080/`]).catch(() => '');
      return out.trim() === version;
    }, `the service address answers ${version}`, timeoutMs);
    this.log.info({ vip: this.vip, client: this.#client }, 'SDMI cluster up, web service serving');
  }

  startLoad(): Load {
    this.#load = new Load(this.cluster.hosts.get(this.#client!.host)!.endpoint.host, this.#client!.id, this.vip);
    return this.#load;
  }

  /**
   * updateService to VERSION=<to> over the bus, then the scheduler's rolloutStatus query every 100 ms
   * until the new revision's rollout is `complete` (the loop records that once every slot runs the
   * new revision and serves, and the monitor passed).
   */
  async update(to: string, timeoutMs: number, signal: AbortSignal): Promise<RolloutMeasure> {
    const target = (await this.rollout()).revision + 1;
    const t0 = performance.now();
    await this.cmd('updateService', this.service, { spec: this.spec(to) });
    const commandMs = performance.now() - t0;
    const end = t0 + timeoutMs;
    let completeMs: number | undefined;
    let oldGoneMs: number | undefined;
    let polls = 0;
    const timeline: RolloutMeasure['timeline'] = [];
    while (completeMs === undefined || oldGoneMs === undefined) {
      if (signal.aborted) throw new Error('SDMI: interrupted');
      if (performance.now() > end) throw new Error(`SDMI: update to ${to} (rev ${target}) not complete within ${timeoutMs} ms\n${this.cluster.logs()}`);
      const t = performance.now();
      const [r, running] = await Promise.all([this.rollout(), this.runningByRevision()]);
      polls++;
      const state = `${[...running].sort(([a], [b]) => a - b).map(([v, n]) => `rev${v}:${n}`).join(' ')} | ${r.revision === target ? r.state : `still rev ${r.revision}`}${r.detail ? `: ${r.detail}` : ''}`;
      if (timeline.at(-1)?.state !== state) timeline.push({ ms: t - t0, state });
      if (completeMs === undefined && r.revision === target) {
        if (r.state === 'complete') completeMs = t - t0;
        else if (r.state !== 'progressing') throw new Error(`SDMI: update to ${to} ended ${r.state}: ${r.reason ?? ''}`);
      }
      if (oldGoneMs === undefined && running.get(target) === REPLICAS && running.size === 1) oldGoneMs = t - t0;
      await sleep(Math.max(0, 100 - (performance.now() - t)));
    }
    return { t0, commandMs, completeMs, oldGoneMs, polls, timeline };
  }

  async describe(): Promise<string> {
    return `service address ${this.vip}, client on ${this.#client?.host ?? '–'}`;
  }

  /** Removes both services over the bus, then the cluster (its processes, extra dockerd, bridges, database, streams). */
  async dispose(): Promise<void> {
    try {
      await this.#load?.stop().catch(() => undefined);
      if (this.#client) {
        for (const s of [this.service, this.clientService]) await this.cmd('removeService', s, { service: s }).catch((err: unknown) => this.log.warn({ err, s }, 'removeService failed'));
        await this.cluster.until(async () => (await this.runningByRevision()).size === 0, 'the web replicas removed', 60_000).catch((err: unknown) => this.log.warn({ err }, 'web replicas still there; the cluster clean-up removes them'));
      }
    } finally {
      await this.#pool?.end().catch(() => undefined);
      await this.cluster.dispose();
    }
  }
}
