// The only writer to PowerDNS: a level-triggered pass that computes what the cluster's DNS should
// hold from the scheduler's and the network-controller's answers (and dns-manager's own rows), and
// patches every zone to it. One instance passes (a PostgreSQL advisory lock); passes never overlap.
// A pass whose sources do not all answer changes nothing: missing data never removes a record.
import { LeaderLock, type RdmpClient } from '@sdmi/bus';
import type { ListReplicasReply } from '@sdmi/contracts';
import { desiredDns, rrsetChanges, splitId, zoneAccount, nameserverOf, type DesiredDns, type ReplicaInput } from '@sdmi/dns-records';
import { NetworkQueries } from '@sdmi/networks';
import type { PowerDnsClient } from '@sdmi/powerdns';
import { SchedulerQueries } from '@sdmi/scheduling';
import { PassLoop } from '@sdmi/service';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { DnsConfig } from './config';
import type { DnsStore } from './store';

const LEADER_LOCK = 'sdmi dns-manager reconciler';
/** States in which a replica has its names; pending and starting ones only once registered. */
const NAMED = new Set(['running', 'healthy', 'unhealthy']);
const STARTING = new Set(['pending', 'starting']);
/** Keys are re-read from PowerDNS this often (passes), in case someone changed them by hand. */
const KEY_REFRESH_PASSES = 50;

export interface ZoneKeys {
  dnskeys: string[];
  ds: string[];
}

export interface PassResult {
  ok: boolean;
  changes: number;
  detail: string;
}

export interface DnsReconcilerOptions {
  pool: pg.Pool;
  dbUrl: string;
  store: DnsStore;
  client: RdmpClient;
  pdns: PowerDnsClient;
  config: DnsConfig;
  log: Logger;
}

type Replica = ListReplicasReply['replicas'][number];

export class DnsReconciler {
  readonly #lock: LeaderLock;
  readonly #loop: PassLoop;
  #keys = new Map<string, ZoneKeys>();
  #passes = 0;
  #lastProblems = '';
  #last: (PassResult & { at: number }) | undefined;

  constructor(private readonly opts: DnsReconcilerOptions) {
    this.#lock = new LeaderLock(opts.dbUrl, LEADER_LOCK);
    this.#loop = new PassLoop({ pass: () => this.#pass(), everyMs: opts.config.resyncMs, log: opts.log, what: 'dns' });
  }

  get lastPass(): (PassResult & { at: number }) | undefined {
    return this.#last;
  }

  get leader(): boolean {
    return this.#lock.held;
  }

  start(): void {
    this.#loop.start();
  }

  /** Asks for a pass: now, or right after the one under way (which may have read before the change). */
  trigger(): void {
    this.#loop.trigger();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await this.#lock.release();
  }

  async #pass(): Promise<void> {
    if (!(await this.#lock.tryAcquire())) return;
    const at = new Date();
    let result: PassResult;
    let desired: DesiredDns | undefined;
    try {
      ({ result, desired } = await this.#converge());
    } catch (err) {
      result = { ok: false, changes: 0, detail: (err as Error).message };
    }
    this.#last = { ...result, at: at.getTime() };
    await this.opts.store.recordPass(this.opts.pool, { at, ...result }, result.ok ? desired?.replicaNames : undefined);
    if (!result.ok) this.opts.log.warn({ detail: result.detail }, 'dns pass did not reach PowerDNS; names stay as they were');
    else if (result.changes > 0) this.opts.log.info({ changes: result.changes, detail: result.detail }, 'dns follows the cluster');
  }

  /** Reads every source; throws (changing nothing) when one does not answer. */
  async #inputs() {
    const { store, pool, client } = this.opts;
    // Registrations first: one read before the scheduler's answer is for a replica whose row the
    // scheduler already had (it is written before the start transaction is submitted), so a
    // registration the answer lacks is of a replica that is gone.
    const registrations = await store.registrations(pool);
    const custom = await store.custom(pool);
    const [replicas, services, networks] = await Promise.all([
      client.query('scheduler', SchedulerQueries.listReplicas, {}).catch((e: Error) => Promise.reject(new Error(`the scheduler did not answer listReplicas: ${e.message}`))),
      client.query('scheduler', SchedulerQueries.listServices, {}).catch((e: Error) => Promise.reject(new Error(`the scheduler did not answer listServices: ${e.message}`))),
      client.query('network-controller', NetworkQueries.listNetworks, {}).catch((e: Error) => Promise.reject(new Error(`the network-controller did not answer listNetworks: ${e.message}`))),
    ]);
    return { registrations, custom, replicas: replicas.replicas, services: services.services, networks };
  }

  async #converge(): Promise<{ result: PassResult; desired: DesiredDns }> {
    const { store, pool, pdns, config, log } = this.opts;
    const src = await this.#inputs();
    const live = new Map<string, Replica>(src.replicas.map((r) => [r.id, r]));
    const gone = src.registrations.filter((g) => {
      const r = live.get(g.replicaId);
      return r === undefined || r.state === 'stopped' || r.state === 'failed';
    });
    await store.forget(pool, gone.map((g) => g.replicaId));
    const registered = new Map(src.registrations.map((g) => [g.replicaId, g]));
    const named: ReplicaInput[] = [];
    for (const r of src.replicas) {
      const reg = registered.get(r.id);
      const recorded = r.interfaces.map((i) => ({ network: i.network, ip: i.ip }));
      if (NAMED.has(r.state) && (recorded.length > 0 || reg)) named.push({ id: r.id, service: r.service, serving: r.serving, interfaces: recorded.length > 0 ? recorded : reg!.interfaces });
      else if (STARTING.has(r.state) && reg) named.push({ id: r.id, service: r.service, serving: false, interfaces: reg.interfaces });
    }
    const tenants = new Set<string>();
    for (const c of src.networks.tenantConfigs) tenants.add(c.tenant);
    for (const n of src.networks.tenantNetworks) tenants.add(n.spec.tenant);
    for (const s of src.services) tenants.add(splitId(s.id).scope);
    for (const r of named) tenants.add(splitId(r.service).scope);
    const base = {
      domain: config.domain,
      nsAddress: config.nsAddress,
      ttl: config.ttl,
      tenants: [...tenants],
      networks: [...src.networks.clusterNetworks, ...src.networks.tenantNetworks].map((n) => ({ id: n.id, cidr: n.spec.cidr })),
      replicas: named,
      services: src.services.map((s) => ({ id: s.id, ports: s.spec.ports ?? [] })),
      custom: src.custom,
    };
    // Zones first (their keys give the delegations' DS), then every zone's records.
    const first = desiredDns({ ...base, ds: new Map() });
    await this.#zones(first.zones.map((z) => z.name));
    const ds = new Map([...this.#keys].map(([z, k]) => [z, k.ds]));
    const desired = desiredDns({ ...base, ds });
    const problems = desired.problems.join('; ');
    if (problems !== this.#lastProblems) {
      if (problems !== '') log.warn({ problems: desired.problems }, 'some names could not be made; they are left out');
      this.#lastProblems = problems;
    }
    let changes = 0;
    for (const z of desired.zones) {
      const zone = await pdns.getZone(z.name);
      const diff = rrsetChanges(z.name, z.rrsets, zone.rrsets);
      if (diff.length === 0) continue;
      await pdns.patchRRsets(z.name, diff);
      changes += diff.length;
    }
    this.#passes++;
    return { result: { ok: true, changes, detail: `${desired.zones.length} zones, ${desired.replicaNames.size} named replicas${problems ? `; left out: ${problems}` : ''}` }, desired };
  }

  /** Creates the zones that are missing (signed), deletes those of ours no longer wanted. */
  async #zones(wanted: readonly string[]): Promise<void> {
    const { pdns, config, log } = this.opts;
    const account = zoneAccount(config.domain);
    const existing = new Map((await pdns.listZones()).map((z) => [z.name, z]));
    const want = new Set(wanted);
    if (this.#passes % KEY_REFRESH_PASSES === 0) this.#keys.clear();
    for (const name of wanted) {
      const z = existing.get(name);
      if (z && z.account !== account) {
        throw new Error(`zone ${name} exists in PowerDNS but is not dns-manager's (account ${JSON.stringify(z.account)}, not ${JSON.stringify(account)}): remove it or choose another cluster domain`);
      }
      if (!z) {
        await pdns.createZone({ name, nameservers: [nameserverOf(config.domain)], account });
        log.info({ zone: name }, 'zone created');
        this.#keys.delete(name);
      }
      if (!this.#keys.has(name)) {
        let keys = (await pdns.listCryptoKeys(name)).filter((k) => k.active);
        if (keys.length === 0) {
          keys = [await pdns.createCryptoKey(name)];
          log.info({ zone: name, keytag: keys[0]!.ds[0]?.split(' ')[0] }, 'zone signed (ECDSA P-256)');
        }
        this.#keys.set(name, { dnskeys: keys.map((k) => k.dnskey), ds: keys.flatMap((k) => k.ds) });
      }
    }
    for (const [name, z] of existing) {
      if (z.account !== account || want.has(name)) continue;
      await pdns.deleteZone(name);
      this.#keys.delete(name);
      log.info({ zone: name }, 'zone deleted: nothing of the cluster is in it any more');
    }
  }

  keys(zone: string): ZoneKeys | undefined {
    return this.#keys.get(zone);
  }
}
