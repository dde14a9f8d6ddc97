// Swarm's side: the same HTTP service as SDMI's (image, command, health check, 3 replicas, update
// policy start-first one at a time, 1 s monitor, rollback on failure) as a Swarm service on an
// attachable overlay network of a single-node Swarm of our own (bench/scale's SwarmHost: its own
// dockerd inside a network namespace of ours), and a client container on that network.
//
// No VIP: this machine's kernel is built without IP_VS (CONFIG_IP_VS is not set; there is no
// /proc/net/ip_vs), and Swarm's VIP balancing is IPVS in the client's namespace. So the service
// runs with --endpoint-mode dnsrr, Swarm's own balancing without IPVS: the service name resolves,
// through the daemon's embedded DNS, to the addresses of the tasks whose service binding is
// active, and each request (a new wget) resolves again.
import { performance } from 'node:perf_hooks';
import { type Testbed, docker, testName, tryRun } from '@sdmi/testbed';
import { engineGet } from '../../scale/src/engine';
import { SwarmHost } from '../../scale/src/swarm';
import { Load } from './load';
import { HEALTH_CMD, HTTP_COMMAND, REPLICAS, type RolloutMeasure, type RolloutSide } from './side';

interface ServiceInspect {
  ID: string;
  Version: { Index: number };
  UpdateStatus?: { State: string; StartedAt?: string; CompletedAt?: string; Message?: string };
}

interface TaskInspect {
  ID: string;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
  Spec: { ContainerSpec?: { Env?: string[] } };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const filters = (f: Record<string, string[]>): string => encodeURIComponent(JSON.stringify(f));

export class SwarmSide implements RolloutSide {
  readonly name = 'swarm';
  readonly service = testName('web');
  readonly network = testName('net');
  #swarm?: SwarmHost;
  #client?: string;
  #load?: Load;

  constructor(
    private readonly tb: Testbed,
    private readonly image: string,
  ) {}

  get swarm(): SwarmHost {
    if (!this.#swarm) throw new Error('Swarm side not started');
    return this.#swarm;
  }

  private tasks(): Promise<TaskInspect[]> {
    return engineGet<TaskInspect[]>(this.swarm.daemon.socketPath, `/tasks?filters=${filters({ service: [this.service] })}`);
  }

  private inspect(): Promise<ServiceInspect> {
    return engineGet<ServiceInspect>(this.swarm.daemon.socketPath, `/services/${this.service}`);
  }

  private async version(t: TaskInspect): Promise<string | undefined> {
    return t.Spec.ContainerSpec?.Env?.find((e) => e.startsWith('VERSION='))?.slice('VERSION='.length);
  }

  /** Tasks whose container runs, per VERSION. */
  async runningByVersion(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const t of await this.tasks()) {
      if (t.Status.State !== 'running') continue;
      const v = (await this.version(t)) ?? '?';
      out.set(v, (out.get(v) ?? 0) + 1);
    }
    return out;
  }

  async start(version: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    this.#swarm = await SwarmHost.start(this.tb, this.image);
    const d = this.swarm.daemon;
    await docker(d, ['network', 'create', '--driver', 'overlay', '--attachable', this.network], { timeoutMs: 60_000 });
    await docker(
      d,
      [
        'service', 'create', '--detach', '--no-resolve-image',
        '--name', this.service,
        '--network', this.network,
        '--endpoint-mode', 'dnsrr',
        '--replicas', String(REPLICAS),
        '--env', `VERSION=${version}`,
        '--health-cmd', HEALTH_CMD.join(' '),
        '--health-interval', '1s', '--health-timeout', '1s', '--health-retries', '2', '--health-start-period', '0s',
        '--update-order', 'start-first', '--update-parallelism', '1', '--update-delay', '0s',
        '--update-monitor', '1s', '--update-failure-action', 'rollback',
        '--rollback-order', 'start-first', '--rollback-parallelism', '1', '--rollback-monitor', '1s',
        this.image, ...HTTP_COMMAND,
      ],
      { timeoutMs: 120_000 },
    );
    this.#client = (await docker(d, ['run', '-d', '--name', testName('client'), '--network', this.network, this.image, 'sleep', '3600'], { timeoutMs: 120_000 })).trim();
    const end = performance.now() + timeoutMs;
    while ((await this.runningByVersion()).get(version) !== REPLICAS) {
      if (signal.aborted) throw new Error('Swarm: interrupted');
      if (performance.now() > end) throw new Error(`Swarm: ${REPLICAS} tasks of ${version} not running within ${timeoutMs} ms`);
      await sleep(250);
    }
  }

  startLoad(): Load {
    this.#load = new Load(this.swarm.daemon.host, this.#client!, this.service);
    return this.#load;
  }

  /**
   * `docker service update --detach --env-add VERSION=<to>` (a new task template: every task is
   * replaced), then the service's UpdateStatus polled on the Engine API every 100 ms until it is a
   * new one in state `completed`. That is the honest end: without --detach the CLI would return
   * only after its own "verify" wait (the update monitor again, here 1 s, or 5 s) past completion.
   */
  async update(to: string, timeoutMs: number, signal: AbortSignal): Promise<RolloutMeasure> {
    const before = (await this.inspect()).UpdateStatus?.StartedAt;
    const t0 = performance.now();
    await docker(this.swarm.daemon, ['service', 'update', '--detach', '--no-resolve-image', '--env-add', `VERSION=${to}`, this.service], { timeoutMs: 120_000 });
    const commandMs = performance.now() - t0;
    const end = t0 + timeoutMs;
    let completeMs: number | undefined;
    let swarmOwnMs: number | undefined;
    let oldGoneMs: number | undefined;
    let polls = 0;
    const timeline: RolloutMeasure['timeline'] = [];
    while (completeMs === undefined || oldGoneMs === undefined) {
      if (signal.aborted) throw new Error('Swarm: interrupted');
      if (performance.now() > end) throw new Error(`Swarm: update to ${to} not complete within ${timeoutMs} ms`);
      const t = performance.now();
      const [svc, running] = await Promise.all([this.inspect(), this.runningByVersion()]);
      polls++;
      const u = svc.UpdateStatus;
      const state = `${[...running].sort().map(([v, n]) => `${v}:${n}`).join(' ')} | ${u?.StartedAt === before ? 'not started' : (u?.State ?? 'no status')}`;
      if (timeline.at(-1)?.state !== state) timeline.push({ ms: t - t0, state });
      if (completeMs === undefined && u && u.StartedAt !== before) {
        if (u.State === 'completed') {
          completeMs = t - t0;
          if (u.StartedAt && u.CompletedAt) swarmOwnMs = Date.parse(u.CompletedAt) - Date.parse(u.StartedAt);
        } else if (u.State !== 'updating') throw new Error(`Swarm: update to ${to} ended ${u.State}: ${u.Message ?? ''}`);
      }
      if (oldGoneMs === undefined && running.get(to) === REPLICAS && running.size === 1) oldGoneMs = t - t0;
      await sleep(Math.max(0, 100 - (performance.now() - t)));
    }
    return { t0, commandMs, completeMs, oldGoneMs, ownMs: swarmOwnMs, polls, timeline };
  }

  async describe(): Promise<string> {
    return this.#swarm ? this.#swarm.describeNamespace() : '–';
  }

  async dispose(): Promise<void> {
    await this.#load?.stop().catch(() => undefined);
    if (!this.#swarm) return;
    // removeService waits until the daemon holds no container at all: the client goes first.
    if (this.#client) await tryRun('docker', ['-H', this.swarm.daemon.host, 'rm', '-f', this.#client], { timeoutMs: 60_000 });
    await this.#swarm.removeService(this.service, 60_000);
    // The testbed (the caller's) leaves the swarm, stops the daemon and removes the namespace.
  }
}
