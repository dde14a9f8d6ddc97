// SDMI's side: the LocalCluster the end-to-end tests use (two Docker hosts, their OVS bridges on
// one fabric, network-controller, node-agents and scheduler as processes), one network, a probe
// replica on it, and the measured service scaled through the bus.
//
// "Running and reachable", per replica: its sched.replica row is running (or healthy), its
// container runs on its host (Engine API), and its address answers one ICMP echo from the probe,
// itself a replica of another service on the same network (so the policy allows it, and half of
// the pings cross hosts through the reactive inter-host path). That is the cheapest check that
// proves the data plane carries traffic to the replica; admission flows alone would only show the
// controller's intent. Two loops run side by side until every replica passes: one reads the state
// (database and both daemons) every 250 ms, the other pings, from the probe, in one `docker exec`,
// every replica that runs and has not answered yet, and notes the moment each answer line arrives.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createPool } from '@sdmi/bus';
import { type Logger } from 'pino';
import { LocalCluster } from '../../../test/cluster';
import { containersWithLabel } from './engine';

export const NETWORK = { name: 'bench', cidr: '10.67.0.0/24' } as const;
const NETWORK_ID = `cluster/${NETWORK.name}`;
const now = (): number => performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface SdmiScaleResult {
  n: number;
  /** scaleService sent → every replica running (database and container), ms. */
  runningMs: number;
  /** scaleService sent → every replica running and answering a ping from the probe, ms. */
  reachableMs: number;
  /** scaleService sent → its task completed (desired state stored), ms. */
  commandMs: number;
  /** Replicas per host once all ran. */
  perHost: Record<string, number>;
  pingRounds: number;
  statePolls: number;
  /** scaleService 0 sent → no replica row, container or address of the service left, ms. */
  scaleDownMs: number;
}

interface Probe {
  host: string;
  containerId: string;
  ip: string;
}

export class SdmiSide {
  readonly cluster = new LocalCluster('bs');
  readonly tenant = this.cluster.tag;
  readonly service = `${this.cluster.tag}/scale`;
  readonly probeService = `${this.cluster.tag}/probe`;
  #pool?: ReturnType<typeof createPool>;
  #probe?: Probe;

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

  private spec(name: string, replicas: number) {
    return { tenant: this.tenant, name, image: this.image, command: ['sleep', '3600'], replicas, networks: [{ network: NETWORK_ID, ip: { mode: 'dynamic' } }] };
  }

  /** The cluster, the network, both hosts admitted, the probe running with its admission flows, the measured service at 0. */
  async start(): Promise<void> {
    await this.cluster.start({ scheduler: true });
    await this.cluster.netCmd('createNetworks', { clusterNetworks: [{ name: NETWORK.name, cidr: NETWORK.cidr }] });
    for (const host of this.cluster.hosts.keys()) {
      // The agents announce themselves a moment after they are ready.
      await this.cluster.until(async () => (await this.cmd('addNode', `node/${host}`, { name: host }), true), `${host} admitted`);
    }
    await this.cmd('deployService', this.probeService, { spec: this.spec('probe', 1) });
    await this.cluster.until(async () => (await this.replicas(this.probeService)).filter((r) => r.ready && r.ip).length === 1, 'the probe replica running', 90_000);
    const [p] = await this.replicas(this.probeService);
    this.#probe = { host: p!.host!, containerId: p!.containerId!, ip: p!.ip! };
    const bridge = this.cluster.hosts.get(this.#probe.host)!.bridge;
    await this.cluster.until(async () => (await bridge.dumpFlows()).some((f) => f.includes(`=${this.#probe!.ip},`)), 'admission flows of the probe');
    await this.cmd('deployService', this.service, { spec: this.spec('scale', 0) });
    this.log.info({ probe: this.#probe }, 'SDMI cluster up, probe running');
  }

  /**
   * The replicas of a service as the database and the daemons see them: ready = its row is
   * running/healthy and its container runs.
   */
  async replicas(service: string): Promise<{ id: string; ip?: string; host?: string; containerId?: string; ready: boolean }[]> {
    const [rows, addrs, ...onHosts] = await Promise.all([
      this.pool.query<{ id: string; state: string; node: string }>('SELECT id, state, node FROM sched.replica WHERE service = $1', [service]),
      this.pool.query<{ interface_id: string; address: string }>(`SELECT interface_id, host('0.0.0.0'::inet + address) AS address FROM ipam.allocation WHERE interface_id LIKE $1`, [`${service}-%`]),
      ...[...this.cluster.hosts.values()].map(async (h) => ({ host: h.name, list: await containersWithLabel(h.socket, 'sdmi.replica', { running: true }) })),
    ]);
    const ipOf = new Map(addrs.rows.map((a) => [a.interface_id.replace(/\/[^/]+$/, ''), a.address]));
    const running = new Map<string, { host: string; id: string }>();
    for (const h of onHosts) for (const c of h.list) running.set(c.Labels['sdmi.replica'] ?? '', { host: h.host, id: c.Id });
    return rows.rows.map((r) => {
      const c = running.get(r.id);
      return { id: r.id, ip: ipOf.get(r.id), host: c?.host, containerId: c?.id, ready: (r.state === 'running' || r.state === 'healthy') && c !== undefined };
    });
  }

  /** Pings the addresses from the probe, all at once, calling `answered` as each reply's line arrives. */
  private pingFromProbe(ips: readonly string[], answered: (ip: string, at: number) => void): Promise<void> {
    const p = this.#probe!;
    const script = `for ip in ${ips.join(' ')}; do (ping -c 1 -W 1 $ip >/dev/null 2>&1 && echo $ip) & done; wait`;
    const child = spawn('docker', ['-H', this.cluster.hosts.get(p.host)!.endpoint.host, 'exec', p.containerId, 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      const at = now();
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) answered(l.trim(), at);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    return new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async scaleUp(n: number, timeoutMs: number, signal: AbortSignal): Promise<SdmiScaleResult> {
    const firstReady = new Map<string, number>();
    const reached = new Map<string, number>();
    let current: Awaited<ReturnType<SdmiSide['replicas']>> = [];
    let statePolls = 0;
    let pingRounds = 0;
    const done = () => current.length === n && current.every((r) => r.ready && r.ip !== undefined && reached.has(r.ip));
    const t0 = now();
    const deadline = t0 + timeoutMs;
    let failure: Error | undefined;
    const fail = (what: string) => {
      failure ??= new Error(`SDMI ${n}: ${what}${signal.aborted ? '' : `\n${this.cluster.logs()}`}`);
    };
    const check = (what: () => string) => {
      if (signal.aborted) fail('interrupted');
      else if (now() > deadline) fail(`not within ${timeoutMs} ms: ${what()}`);
    };
    // Both loops end on the first failure of either, so that nothing polls a cluster being torn down.
    const loop = (body: () => Promise<void>) =>
      (async () => {
        try {
          while (!done() && !failure) await body();
        } catch (err) {
          failure ??= err as Error;
        }
      })();
    const command = this.cmd('scaleService', this.service, { service: this.service, replicas: n }).then(
      () => now() - t0,
      (err: unknown) => {
        failure ??= err as Error;
        return Number.NaN;
      },
    );
    const stateLoop = loop(async () => {
      const t = now();
      current = await this.replicas(this.service);
      statePolls++;
      for (const r of current) if (r.ready && !firstReady.has(r.id)) firstReady.set(r.id, t);
      check(() => `${current.filter((r) => r.ready).length} of ${n} replicas running`);
      await sleep(Math.max(0, 250 - (now() - t)));
    });
    const pingLoop = loop(async () => {
      const todo = current.filter((r) => r.ready && r.ip !== undefined && !reached.has(r.ip)).map((r) => r.ip!);
      if (todo.length === 0) {
        await sleep(50);
        check(() => `${reached.size} of ${n} replicas answered the probe`);
        return;
      }
      pingRounds++;
      await this.pingFromProbe(todo, (ip, at) => {
        if (!reached.has(ip)) reached.set(ip, at);
      });
      check(() => `${reached.size} of ${n} replicas answered the probe`);
    });
    const [commandMs] = await Promise.all([command, stateLoop, pingLoop]);
    if (failure) throw failure;
    const runningMs = Math.max(...current.map((r) => firstReady.get(r.id)!)) - t0;
    const reachableMs = Math.max(runningMs, Math.max(...current.map((r) => reached.get(r.ip!)!)) - t0);
    const perHost: Record<string, number> = {};
    for (const r of current) perHost[r.host!] = (perHost[r.host!] ?? 0) + 1;
    const scaleDownMs = await this.scaleToZero(timeoutMs);
    return { n, runningMs, reachableMs, commandMs, perHost, pingRounds, statePolls, scaleDownMs };
  }

  /** Scales the measured service to 0 and waits until nothing of its replicas is left; resolves with how long that took. */
  async scaleToZero(timeoutMs: number): Promise<number> {
    const t0 = now();
    await this.cmd('scaleService', this.service, { service: this.service, replicas: 0 });
    await this.cluster.until(async () => {
      const left = await this.replicas(this.service);
      const addrs = await this.pool.query('SELECT 1 FROM ipam.allocation WHERE interface_id LIKE $1', [`${this.service}-%`]);
      let containers = 0;
      for (const h of this.cluster.hosts.keys()) containers += (await this.cluster.containers(h)).filter((c) => c.replica.startsWith(`${this.service}-`)).length;
      return left.length === 0 && addrs.rowCount === 0 && containers === 0;
    }, `${this.service} scaled to 0: no replica row, address or container left`, timeoutMs);
    return now() - t0;
  }

  /** Removes both services over the bus (the measured one must be at 0 already), then the cluster. */
  async dispose(interrupted = false): Promise<void> {
    try {
      // Interrupted, the measured service may be half way up: the cluster's own clean-up removes
      // every container of the run, and the database goes with it.
      if (this.#probe && !interrupted) {
        await this.cmd('removeService', this.service, { service: this.service }).catch((err: unknown) => this.log.warn({ err }, 'removeService of the measured service failed'));
        await this.cmd('scaleService', this.probeService, { service: this.probeService, replicas: 0 });
        await this.cluster.until(async () => (await this.replicas(this.probeService)).length === 0, 'the probe removed', 60_000);
        await this.cmd('removeService', this.probeService, { service: this.probeService });
      }
    } catch (err) {
      this.log.warn({ err }, 'removing the services over the bus failed; the cluster clean-up removes their containers');
    } finally {
      await this.#pool?.end().catch(() => undefined);
      await this.cluster.dispose();
    }
  }
}
