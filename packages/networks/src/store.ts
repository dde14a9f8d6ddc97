// Persistence of the network resources in PostgreSQL. Every method takes the caller's client and
// runs inside the caller's transaction (an RDMP task's), so a command's effects, its IPAM
// allocations and its task record commit together or not at all. Mutations serialise on one
// transaction-scoped advisory lock: validation reads "what exists" and must not race another
// writer's insert (the unique constraints would catch it, but with a far less useful error).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@sdmi/bus';
import type { ClusterNetworkStatus, CreateNetworksPayload, ListNetworksReply, Principal, RegisterHostPayload, TenantNetworkAssignment, TenantNetworkStatus, UpdateNetworkPayload } from '@sdmi/contracts';
import { Ipam, parseIpv4, type Allocation } from '@sdmi/ipam';
import type pg from 'pg';
import {
  DpidTaken,
  VtepTaken,
  DuplicateNetwork,
  HostHasInterfaces,
  HostNotFound,
  InterfaceExists,
  InterfaceNotFound,
  MacNotUsable,
  MacTaken,
  NetworkDependedUpon,
  NetworkExists,
  NetworkHasInterfaces,
  NetworkHasServiceAddresses,
  BackendNotUsable,
  ServiceAddressFixed,
  NetworkNotFound,
  NumbersExhausted,
  PortTaken,
  TenantConfigExhausted,
  TenantConfigInUse,
  TenantConfigMissing,
  TenantForbidden,
  ChangeWhileInUse,
  withPath,
  type ErrorWithInfo,
} from './errors';
import { NetworkGraph } from './graph';
import {
  ClusterNetwork,
  Network,
  NetworkKinds,
  TenantConfig,
  TenantNetwork,
  physicalKey,
  splitId,
  type ClusterNetworkSpec,
  type NetworkKind,
  type PhysicalAttributes,
  type TenantConfigSpec,
  type TenantNetworkSpec,
} from './model';
import { validateNetwork, validatePhysical, validateTopology } from './validate';

/** A client inside a transaction (a pool would run each statement on its own connection). */
export type Db = pg.ClientBase;

export const NET_CHANGED_CHANNEL = 'sdmi_net_changed';
export const migrationsDir: string = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');
// Constant shared by every writer of net.*: one writer at a time, released at commit or rollback.
const NET_LOCK = 0x5d_4e_0001;
const NETWORK_NUM_MAX = 65_535;
const INTERFACE_NUM_MAX = 4_294_967_295;

export interface NetworkRecord {
  id: string;
  kind: NetworkKind;
  tenant: string | null;
  name: string;
  num: number;
  cidr: string;
  gateway: string;
  gatewayMac: string;
  pools: { start: string; end: string }[];
  parent: string | null;
  dependsOn: string[];
  vlan: number | null;
  vni: number | null;
  hostDevice: string | null;
}

export interface InterfaceRecord {
  id: string;
  num: number;
  networkId: string;
  host: string;
  portName: string;
  mac: string;
  ip: string | null;
}

export interface HostRecord {
  name: string;
  dpid: string;
  /** Port into the shared L2 fabric of its l2Domain; null for a host reached over VXLAN only. */
  uplinkPort: string | null;
  l2Domain: string;
  /** VXLAN tunnel endpoint: the tunnel port on the bridge and the underlay address. */
  vtep: { ip: string; port: string } | null;
}

/** What the dataplane programs switches from: one consistent read. */
export interface NetworkSnapshot {
  revision: number;
  networks: { id: string; num: number; cidr: string; gateway: string; gatewayMac: string; dependsOn: string[]; parent: string | null; vlan: number | null; vni: number | null }[];
  interfaces: InterfaceRecord[];
  hosts: HostRecord[];
  services: ServiceAddressRecord[];
}

/** A service's address on one network and the interfaces its new connections go to. */
export interface ServiceAddressRecord {
  service: string;
  networkId: string;
  num: number;
  ip: string;
  mac: string;
  /** Interface ids, sorted. */
  backends: string[];
}

export interface ServiceEndpointsRequest {
  service: string;
  networkId: string;
  address?: string;
  backends: readonly string[];
}

export interface AttachRequest {
  interfaceId: string;
  networkId: string;
  host: string;
  portName: string;
  mac?: string;
  ip: { mode: 'dynamic' | 'static' | 'none'; address?: string };
}

/** Locally administered unicast MACs: 02:5d:00:00:hi:lo for network gateways, 02:5e:<32 bits> for interfaces. */
export function gatewayMac(num: number): string {
  return `02:5d:00:00:${hex(Math.floor(num / 256) % 256)}:${hex(num % 256)}`;
}
export function interfaceMac(num: number): string {
  return `02:5e:${[24, 16, 8, 0].map((s) => hex(Math.floor(num / 2 ** s) % 256)).join(':')}`;
}
const hex = (n: number) => n.toString(16).padStart(2, '0');

/** Why a MAC may not be given to an interface, or undefined when it may. */
export function macProblem(mac: string): string | undefined {
  const first = parseInt(mac.slice(0, 2), 16);
  if (first % 2 === 1) return 'it is a multicast address (the lowest bit of the first octet is set)';
  if (mac.startsWith('02:5d:00:00:')) return 'the block 02:5d:00:00:00:00/32 holds the networks\' gateway MACs';
  if (mac.startsWith('02:5e:')) return 'the block 02:5e:00:00:00:00/16 holds generated interface MACs';
  if (mac === '00:00:00:00:00:00') return 'it is the all-zero address';
  return undefined;
}

/** Runs `fn` in a transaction on a client of `pool`: commit on success, roll back on error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  const db = await pool.connect();
  let broken: Error | undefined;
  try {
    await db.query('BEGIN');
    const out = await fn(db);
    await db.query('COMMIT');
    return out;
  } catch (err) {
    await db.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    db.release(broken);
  }
}

/** One network as listNetworks' statement builds it (the spec column holds what was submitted). */
type ListedNetworkRow = {
  id: string;
  hostDevice: string | null;
  vlan: number | null;
  vni: number | null;
  interfaces: number;
  addresses: number;
} & ({ kind: typeof NetworkKinds.Cluster; spec: ClusterNetworkSpec } | { kind: typeof NetworkKinds.Tenant; spec: TenantNetworkSpec });

interface NetworkRow {
  id: string;
  kind: NetworkKind;
  spec: Record<string, unknown>;
  vlan: number | null;
  vni: number | null;
  host_device: string | null;
  num: number;
  gateway_mac: string;
}

export class NetworkStore {
  readonly ipam: Ipam;

  constructor(opts: { ipam?: Ipam } = {}) {
    this.ipam = opts.ipam ?? new Ipam();
  }

  /** Applies IPAM's and this package's migrations (idempotent; safe from several processes). */
  async migrate(pool: pg.Pool): Promise<string[]> {
    return [...(await this.ipam.migrate(pool)), ...(await migrate(pool, migrationsDir))];
  }

  // --- TenantConfig ---------------------------------------------------------------------------

  async putTenantConfig(db: Db, spec: TenantConfigSpec): Promise<{ tenant: string; revision: number }> {
    const config = TenantConfig.parse(spec);
    await this.lock(db);
    const used: { networkId: string; device: string; type: string; id: number }[] = [];
    for (const n of await this.loadNetworks(db)) {
      if (n.tenant !== spec.tenant) continue;
      const k = physicalKey(n.physical);
      if (k && !config.offers(k.device, k.type, k.id)) used.push({ networkId: n.id, ...k });
    }
    if (used.length > 0) throw new TenantConfigInUse('/hostDevices', spec.tenant, used);
    await db.query(
      `INSERT INTO net.tenant_config (tenant, spec) VALUES ($1, $2)
       ON CONFLICT (tenant) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()`,
      [spec.tenant, JSON.stringify(spec)],
    );
    return { tenant: spec.tenant, revision: await this.bump(db) };
  }

  async tenantConfig(db: Db, tenant: string): Promise<TenantConfig | null> {
    const r = await db.query<{ spec: TenantConfigSpec }>('SELECT spec FROM net.tenant_config WHERE tenant = $1', [tenant]);
    return r.rows[0] ? TenantConfig.parse(r.rows[0].spec) : null;
  }

  // --- networks -------------------------------------------------------------------------------

  /**
   * Validates the networks together against what exists, then creates them in dependency order
   * (parents and dependencies first). Throws the first problem, its path naming the network's
   * place in `specs`, and writes nothing then (the caller's transaction rolls back).
   */
  async createNetworks(db: Db, specs: CreateNetworksPayload, principal?: Principal): Promise<{ created: NetworkRecord[]; order: string[]; revision: number }> {
    const items: { net: Network; path: string }[] = [
      ...(specs.clusterNetworks ?? []).map((s, i) => ({ net: new ClusterNetwork(s) as Network, path: `/clusterNetworks/${i}` })),
      ...(specs.tenantNetworks ?? []).map((s, i) => ({ net: new TenantNetwork(s) as Network, path: `/tenantNetworks/${i}` })),
    ];
    const located = new Map<string, string>();
    for (const { net, path } of items) {
      authorize(principal, net, net.kind === NetworkKinds.Tenant ? `${path}/tenant` : path);
      const first = located.get(net.id);
      if (first !== undefined) throw new DuplicateNetwork(`${path}/name`, net.id, first);
      located.set(net.id, path);
      const problems = validateNetwork(net);
      if (problems.length > 0) throw withPath(problems[0]!, path);
    }
    await this.lock(db);
    const existing = await this.loadNetworks(db);
    const existingIds = new Set(existing.map((n) => n.id));
    for (const { net, path } of items) if (existingIds.has(net.id)) throw new NetworkExists(`${path}/name`, net.id);

    let all = [...existing, ...items.map((i) => i.net)];
    firstProblem(validateTopology(all, located));
    firstProblem(validatePhysical(all, located));

    const order = new NetworkGraph(all).creationOrder(located.keys());
    const byId = new Map(items.map((i) => [i.net.id, i.net]));
    // Physical attributes for tenant networks, in creation order: first device with a free id.
    const taken = new Set(all.map((n) => physicalKey(n.physical)).filter((k) => k !== null).map((k) => `${k.device}\u0000${k.type}\u0000${k.id}`));
    const configs = new Map<string, TenantConfig | null>();
    for (const id of order) {
      const net = byId.get(id)!;
      if (!(net instanceof TenantNetwork)) continue;
      const path = located.get(id)!;
      if (!configs.has(net.tenant)) configs.set(net.tenant, await this.tenantConfig(db, net.tenant));
      const config = configs.get(net.tenant);
      if (!config) throw new TenantConfigMissing(`${path}/tenant`, net.tenant, id);
      const assigned = config.assign((device, type, n) => taken.has(`${device}\u0000${type}\u0000${n}`));
      if (!assigned) throw new TenantConfigExhausted(`${path}/tenant`, net.tenant, id, config.offered());
      const k = physicalKey(assigned)!;
      taken.add(`${k.device}\u0000${k.type}\u0000${k.id}`);
      byId.set(id, net.withPhysical(assigned));
    }
    all = [...existing, ...order.map((id) => byId.get(id)!)];

    const firstNum = await this.takeNumbers(db, 'network', order.length);
    for (const [i, id] of order.entries()) {
      const net = byId.get(id)!;
      const num = firstNum + i;
      await db.query(
        `INSERT INTO net.network (id, kind, tenant, name, spec, cidr, gateway, parent, vlan, vni, host_device, num, gateway_mac, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [net.id, net.kind, net.tenant, net.name, JSON.stringify(net.spec), net.cidr, net.gateway, net.parent, net.vlan, net.vni, net.hostDevice, num, gatewayMac(num), principal?.id ?? 'anonymous'],
      );
      await this.writeDependencies(db, net);
      try {
        await this.ipam.defineNetwork(db, net.addressing());
      } catch (err) {
        throw rebased(err, located.get(id)!);
      }
    }
    const revision = await this.bump(db);
    const records = await this.networks(db);
    return { created: order.map((id) => records.find((r) => r.id === id)!), order, revision };
  }

  /** Replaces the spec of an existing network; tenant networks keep their physical attributes. */
  async updateNetwork(db: Db, payload: UpdateNetworkPayload, principal?: Principal): Promise<{ network: NetworkRecord; revision: number }> {
    const [path, fresh] = payload.clusterNetwork
      ? (['/clusterNetwork', new ClusterNetwork(payload.clusterNetwork)] as const)
      : (['/tenantNetwork', new TenantNetwork(payload.tenantNetwork!)] as const);
    authorize(principal, fresh, fresh.kind === NetworkKinds.Tenant ? `${path}/tenant` : path);
    await this.lock(db);
    const existing = await this.loadNetworks(db);
    const old = existing.find((n) => n.id === fresh.id);
    if (!old) throw new NetworkNotFound(`${path}/name`, fresh.id);
    const net = fresh instanceof TenantNetwork ? fresh.withPhysical(old.physical) : fresh;
    const problems = validateNetwork(net);
    if (problems.length > 0) throw withPath(problems[0]!, path);

    const interfaces = await this.interfaceIds(db, { networkId: net.id });
    if (interfaces.length > 0) {
      const fields: [string, unknown, unknown][] = [
        ['parent', old.parent, net.parent],
        ['vlan', old.vlan, net.vlan],
        ['vni', old.vni, net.vni],
        ['hostDevice', old.hostDevice, net.hostDevice],
      ];
      for (const [field, from, to] of fields) if (from !== to) throw new ChangeWhileInUse(`${path}/${field}`, net.id, field, from, to, interfaces);
    }
    const all = existing.map((n) => (n.id === net.id ? net : n));
    const located = new Map([[net.id, path]]);
    firstProblem(validateTopology(all, located));
    firstProblem(validatePhysical(all, located));
    try {
      // Refuses (NetworkInUse) an addressing change that would re-address allocated interfaces.
      await this.ipam.defineNetwork(db, net.addressing());
    } catch (err) {
      throw rebased(err, path);
    }
    await db.query(
      `UPDATE net.network SET spec = $2, cidr = $3, gateway = $4, parent = $5, vlan = $6, vni = $7, host_device = $8, updated_at = now() WHERE id = $1`,
      [net.id, JSON.stringify(net.spec), net.cidr, net.gateway, net.parent, net.vlan, net.vni, net.hostDevice],
    );
    await db.query('DELETE FROM net.dependency WHERE network_id = $1', [net.id]);
    await this.writeDependencies(db, net);
    const revision = await this.bump(db);
    return { network: (await this.networks(db)).find((r) => r.id === net.id)!, revision };
  }

  /** Refused while interfaces are attached, or while other networks depend on or nest in it. */
  async deleteNetwork(db: Db, id: string, principal?: Principal): Promise<{ id: string; revision: number }> {
    await this.lock(db);
    const existing = await this.loadNetworks(db);
    const net = existing.find((n) => n.id === id);
    if (!net) throw new NetworkNotFound('/id', id);
    authorize(principal, net, '/id');
    const interfaces = await this.interfaceIds(db, { networkId: id });
    if (interfaces.length > 0) throw new NetworkHasInterfaces('/id', id, interfaces);
    const held = await db.query<{ service: string }>('SELECT service FROM net.service_address WHERE network_id = $1 ORDER BY service', [id]);
    if (held.rows.length > 0) throw new NetworkHasServiceAddresses('/id', id, held.rows.map((r) => r.service));
    const graph = new NetworkGraph(existing);
    const dependents = graph.dependents(id);
    const children = graph.children(id);
    if (dependents.length > 0 || children.length > 0) throw new NetworkDependedUpon('/id', id, dependents, children);
    await this.ipam.removeNetwork(db, id);
    await db.query('DELETE FROM net.network WHERE id = $1', [id]);
    return { id, revision: await this.bump(db) };
  }

  async networks(db: Db): Promise<NetworkRecord[]> {
    const rows = await this.loadRows(db);
    const deps = await db.query<{ network_id: string; depends_on: string }>('SELECT network_id, depends_on FROM net.dependency ORDER BY network_id, depends_on');
    return rows.map((r) => {
      const n = fromRow(r);
      return {
        id: n.id,
        kind: n.kind,
        tenant: n.tenant,
        name: n.name,
        num: r.num,
        cidr: n.cidr,
        gateway: n.gateway,
        gatewayMac: r.gateway_mac,
        pools: n.pools.map((p) => ({ start: p.start, end: p.end })),
        parent: n.parent,
        dependsOn: deps.rows.filter((d) => d.network_id === n.id).map((d) => d.depends_on),
        vlan: n.vlan,
        vni: n.vni,
        hostDevice: n.hostDevice,
      };
    });
  }

  async network(db: Db, id: string): Promise<NetworkRecord | undefined> {
    return (await this.networks(db)).find((n) => n.id === id);
  }

  /** The dependency graph of what exists. */
  async graph(db: Db): Promise<NetworkGraph> {
    return new NetworkGraph(await this.loadNetworks(db));
  }

  // --- interfaces -----------------------------------------------------------------------------

  /** Attaches an interface and allocates its address through IPAM, in the caller's transaction. */
  async attachInterface(db: Db, req: AttachRequest): Promise<InterfaceRecord & { prefixLength: number; gateway: string; revision: number }> {
    await this.lock(db);
    const net = await db.query('SELECT 1 FROM net.network WHERE id = $1', [req.networkId]);
    if (!net.rowCount) throw new NetworkNotFound('/networkId', req.networkId);
    const host = await db.query('SELECT 1 FROM net.host WHERE name = $1', [req.host]);
    if (!host.rowCount) throw new HostNotFound('/host', req.host);
    const same = await db.query<{ network_id: string; host: string }>('SELECT network_id, host FROM net.interface WHERE id = $1', [req.interfaceId]);
    if (same.rows[0]) throw new InterfaceExists('/interfaceId', req.interfaceId, same.rows[0].network_id, same.rows[0].host);
    const port = await db.query<{ id: string }>('SELECT id FROM net.interface WHERE host = $1 AND port_name = $2', [req.host, req.portName]);
    if (port.rows[0]) throw new PortTaken('/portName', req.host, req.portName, port.rows[0].id);
    let mac = req.mac?.toLowerCase();
    if (mac !== undefined) {
      const why = macProblem(mac);
      if (why) throw new MacNotUsable('/mac', mac, why);
      const holder = await db.query<{ id: string }>('SELECT id FROM net.interface WHERE mac = $1', [mac]);
      if (holder.rows[0]) throw new MacTaken('/mac', mac, holder.rows[0].id);
    }
    const num = await this.takeNumbers(db, 'interface', 1);
    mac ??= interfaceMac(num);
    let alloc: Allocation | null;
    try {
      alloc = await this.ipam.allocate(db, { networkId: req.networkId, interfaceId: req.interfaceId, mode: req.ip.mode, ...(req.ip.address !== undefined ? { address: req.ip.address } : {}) });
    } catch (err) {
      throw rebased(err, '/ip');
    }
    await db.query('INSERT INTO net.interface (id, network_id, host, port_name, mac, ip, num) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      req.interfaceId,
      req.networkId,
      req.host,
      req.portName,
      mac,
      alloc?.address ?? null,
      num,
    ]);
    const revision = await this.bump(db);
    // What the container side needs to configure the interface: the prefix length and the gateway.
    const addressing = await db.query<{ prefix: number; gateway: string }>('SELECT masklen(cidr) AS prefix, host(gateway) AS gateway FROM net.network WHERE id = $1', [req.networkId]);
    const { prefix, gateway } = addressing.rows[0]!;
    return { id: req.interfaceId, num, networkId: req.networkId, host: req.host, portName: req.portName, mac, ip: alloc?.address ?? null, prefixLength: prefix, gateway, revision };
  }

  /** Detaches an interface and releases its address in the same transaction: nothing can leak. */
  async detachInterface(db: Db, interfaceId: string): Promise<{ id: string; networkId: string; ip: string | null; revision: number }> {
    await this.lock(db);
    const r = await db.query<{ network_id: string; ip: string | null }>('SELECT network_id, host(ip) AS ip FROM net.interface WHERE id = $1', [interfaceId]);
    const row = r.rows[0];
    if (!row) throw new InterfaceNotFound('/interfaceId', interfaceId);
    await this.ipam.release(db, row.network_id, interfaceId);
    await db.query('DELETE FROM net.interface WHERE id = $1', [interfaceId]);
    return { id: interfaceId, networkId: row.network_id, ip: row.ip, revision: await this.bump(db) };
  }

  async interfaces(db: Db): Promise<InterfaceRecord[]> {
    const r = await db.query<{ id: string; num: string; network_id: string; host: string; port_name: string; mac: string; ip: string | null }>(
      'SELECT id, num, network_id, host, port_name, mac::text AS mac, host(ip) AS ip FROM net.interface ORDER BY num',
    );
    return r.rows.map((x) => ({ id: x.id, num: Number(x.num), networkId: x.network_id, host: x.host, portName: x.port_name, mac: x.mac, ip: x.ip }));
  }

  // --- service addresses ----------------------------------------------------------------------

  /**
   * Sets the interfaces a service's address on a network balances its new connections over; the
   * address is allocated by IPAM the first time. Level-triggered: calling it again with the same
   * list changes nothing (and does not bump the revision).
   */
  async setServiceEndpoints(db: Db, req: ServiceEndpointsRequest): Promise<ServiceAddressRecord & { revision: number; changed: boolean }> {
    await this.lock(db);
    const net = await db.query('SELECT 1 FROM net.network WHERE id = $1', [req.networkId]);
    if (!net.rowCount) throw new NetworkNotFound('/networkId', req.networkId);
    const backends = [...new Set(req.backends)].sort();
    if (backends.length > 0) {
      const found = await db.query<{ id: string; network_id: string; ip: string | null }>('SELECT id, network_id, host(ip) AS ip FROM net.interface WHERE id = ANY($1)', [backends]);
      const byId = new Map(found.rows.map((r) => [r.id, r]));
      for (const [i, id] of req.backends.entries()) {
        const row = byId.get(id);
        const path = `/backends/${i}`;
        if (!row) throw new BackendNotUsable(path, req.service, req.networkId, id, 'no interface of that id is attached');
        if (row.network_id !== req.networkId) throw new BackendNotUsable(path, req.service, req.networkId, id, `it is on network ${row.network_id}`);
        if (row.ip === null) throw new BackendNotUsable(path, req.service, req.networkId, id, 'it has no address (IP policy none)');
      }
    }
    let held = (await db.query<{ num: string; ip: string; mac: string }>('SELECT num, host(ip) AS ip, mac::text AS mac FROM net.service_address WHERE service = $1 AND network_id = $2', [req.service, req.networkId])).rows[0];
    let changed = false;
    if (held && req.address !== undefined && held.ip !== req.address) throw new ServiceAddressFixed('/address', req.service, req.networkId, held.ip, req.address);
    if (!held) {
      const num = await this.takeNumbers(db, 'interface', 1);
      let alloc: Allocation | null;
      try {
        alloc = await this.ipam.allocate(db, { networkId: req.networkId, interfaceId: serviceAllocationId(req.service, req.networkId), ...(req.address !== undefined ? { mode: 'static', address: req.address } : { mode: 'dynamic' }) });
      } catch (err) {
        throw rebased(err, req.address !== undefined ? '/address' : '/networkId');
      }
      const mac = interfaceMac(num);
      await db.query('INSERT INTO net.service_address (service, network_id, ip, mac, num) VALUES ($1, $2, $3, $4, $5)', [req.service, req.networkId, alloc!.address, mac, num]);
      held = { num: String(num), ip: alloc!.address, mac };
      changed = true;
    }
    const before = (await db.query<{ interface_id: string }>('SELECT interface_id FROM net.service_backend WHERE service = $1 AND network_id = $2 ORDER BY interface_id', [req.service, req.networkId])).rows.map((r) => r.interface_id);
    if (before.join('\n') !== backends.join('\n')) {
      await db.query('DELETE FROM net.service_backend WHERE service = $1 AND network_id = $2 AND NOT (interface_id = ANY($3))', [req.service, req.networkId, backends]);
      await db.query('INSERT INTO net.service_backend (service, network_id, interface_id) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING', [req.service, req.networkId, backends]);
      changed = true;
    }
    const revision = changed ? await this.bump(db) : await this.revision(db);
    return { service: req.service, networkId: req.networkId, num: Number(held.num), ip: held.ip, mac: held.mac, backends, revision, changed };
  }

  /** Releases a service's address on a network; its backends go with it. */
  async releaseServiceAddress(db: Db, service: string, networkId: string): Promise<{ service: string; networkId: string; released: string | null; revision: number }> {
    await this.lock(db);
    const r = await db.query<{ ip: string }>('DELETE FROM net.service_address WHERE service = $1 AND network_id = $2 RETURNING host(ip) AS ip', [service, networkId]);
    const ip = r.rows[0]?.ip ?? null;
    if (ip === null) return { service, networkId, released: null, revision: await this.revision(db) };
    await this.ipam.release(db, networkId, serviceAllocationId(service, networkId));
    return { service, networkId, released: ip, revision: await this.bump(db) };
  }

  /**
   * Every IPAM holder that keeps its address: the attached interfaces and the service addresses
   * (whose allocations are held under `svc:` ids, not by an interface). What start-up
   * reconciliation must not release.
   */
  async allocationHolders(db: Db): Promise<Set<string>> {
    const interfaces = await this.interfaces(db);
    const services = await this.serviceAddresses(db);
    return new Set([...interfaces.map((i) => i.id), ...services.map((a) => serviceAllocationId(a.service, a.networkId))]);
  }

  async serviceAddresses(db: Db | pg.Pool, service?: string): Promise<ServiceAddressRecord[]> {
    const r = await db.query<{ service: string; network_id: string; num: string; ip: string; mac: string; backends: string[] }>(
      `SELECT a.service, a.network_id, a.num, host(a.ip) AS ip, a.mac::text AS mac,
              coalesce(array_agg(b.interface_id ORDER BY b.interface_id) FILTER (WHERE b.interface_id IS NOT NULL), '{}') AS backends
         FROM net.service_address a LEFT JOIN net.service_backend b USING (service, network_id)
        WHERE $1::text IS NULL OR a.service = $1
        GROUP BY a.service, a.network_id, a.num, a.ip, a.mac ORDER BY a.service, a.network_id`,
      [service ?? null],
    );
    return r.rows.map((x) => ({ service: x.service, networkId: x.network_id, num: Number(x.num), ip: x.ip, mac: x.mac, backends: x.backends }));
  }

  // --- hosts ----------------------------------------------------------------------------------

  /** Registers a host, or updates its dpid and uplink when it is known. */
  async registerHost(db: Db, spec: RegisterHostPayload): Promise<HostRecord & { revision: number }> {
    const host: HostRecord = { name: spec.name, dpid: spec.dpid, uplinkPort: spec.uplinkPort ?? null, l2Domain: spec.l2Domain ?? 'default', vtep: spec.vtep ?? null };
    await this.lock(db);
    const holder = await db.query<{ name: string }>('SELECT name FROM net.host WHERE dpid = $1 AND name <> $2', [host.dpid, host.name]);
    if (holder.rows[0]) throw new DpidTaken('/dpid', host.dpid, holder.rows[0].name);
    if (host.vtep) {
      parseIpv4(host.vtep.ip, '/vtep/ip');
      const other = await db.query<{ name: string }>('SELECT name FROM net.host WHERE vtep_ip = $1 AND name <> $2', [host.vtep.ip, host.name]);
      if (other.rows[0]) throw new VtepTaken('/vtep/ip', host.vtep.ip, other.rows[0].name);
    }
    await db.query(
      `INSERT INTO net.host (name, dpid, uplink_port, l2_domain, vtep_ip, vtep_port) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET dpid = EXCLUDED.dpid, uplink_port = EXCLUDED.uplink_port, l2_domain = EXCLUDED.l2_domain,
         vtep_ip = EXCLUDED.vtep_ip, vtep_port = EXCLUDED.vtep_port`,
      [host.name, host.dpid, host.uplinkPort, host.l2Domain, host.vtep?.ip ?? null, host.vtep?.port ?? null],
    );
    return { ...host, revision: await this.bump(db) };
  }

  async unregisterHost(db: Db, name: string): Promise<{ name: string; revision: number }> {
    await this.lock(db);
    const r = await db.query('SELECT 1 FROM net.host WHERE name = $1', [name]);
    if (!r.rowCount) throw new HostNotFound('/name', name);
    const interfaces = await this.interfaceIds(db, { host: name });
    if (interfaces.length > 0) throw new HostHasInterfaces('/name', name, interfaces);
    await db.query('DELETE FROM net.host WHERE name = $1', [name]);
    return { name, revision: await this.bump(db) };
  }

  // --- reads for the controller ---------------------------------------------------------------

  async revision(db: Db | pg.Pool): Promise<number> {
    return Number((await db.query<{ revision: string }>('SELECT revision FROM net.state')).rows[0]!.revision);
  }

  /**
   * Everything the dataplane needs, read in one statement so that it is one consistent state
   * even on a pool (no transaction needed).
   */
  async snapshot(db: Db | pg.Pool): Promise<NetworkSnapshot> {
    const r = await db.query<{ revision: string; networks: NetworkSnapshot['networks']; interfaces: NetworkSnapshot['interfaces']; hosts: NetworkSnapshot['hosts']; services: NetworkSnapshot['services'] }>(`
      SELECT
        (SELECT revision FROM net.state) AS revision,
        coalesce((SELECT json_agg(json_build_object(
            'id', n.id, 'num', n.num, 'cidr', n.cidr::text, 'gateway', host(n.gateway), 'gatewayMac', n.gateway_mac::text,
            'dependsOn', coalesce((SELECT json_agg(d.depends_on ORDER BY d.depends_on) FROM net.dependency d WHERE d.network_id = n.id), '[]'::json),
            'parent', n.parent, 'vlan', n.vlan, 'vni', n.vni) ORDER BY n.num) FROM net.network n), '[]'::json) AS networks,
        coalesce((SELECT json_agg(json_build_object(
            'id', i.id, 'num', i.num, 'networkId', i.network_id, 'host', i.host, 'portName', i.port_name, 'mac', i.mac::text, 'ip', host(i.ip))
            ORDER BY i.num) FROM net.interface i), '[]'::json) AS interfaces,
        coalesce((SELECT json_agg(json_build_object('name', h.name, 'dpid', h.dpid, 'uplinkPort', h.uplink_port, 'l2Domain', h.l2_domain,
            'vtep', CASE WHEN h.vtep_ip IS NULL THEN NULL ELSE json_build_object('ip', host(h.vtep_ip), 'port', h.vtep_port) END) ORDER BY h.name) FROM net.host h), '[]'::json) AS hosts,
        coalesce((SELECT json_agg(json_build_object('service', a.service, 'networkId', a.network_id, 'num', a.num, 'ip', host(a.ip), 'mac', a.mac::text,
            'backends', coalesce((SELECT json_agg(b.interface_id ORDER BY b.interface_id) FROM net.service_backend b WHERE b.service = a.service AND b.network_id = a.network_id), '[]'::json))
            ORDER BY a.num) FROM net.service_address a), '[]'::json) AS services`);
    const row = r.rows[0]!;
    return { revision: Number(row.revision), networks: row.networks, interfaces: row.interfaces, hosts: row.hosts, services: row.services };
  }

  /**
   * The networks and TenantConfigs as submitted, with a few counts, for listNetworks. With a
   * tenant: every cluster network (a tenant's networks may use them) and only that tenant's
   * networks and config. One statement, so one consistent state even on a pool.
   */
  async listNetworks(db: Db | pg.Pool, filter: { tenant?: string } = {}): Promise<ListNetworksReply> {
    // COLLATE "C": byte order whatever the database's locale (locale orders may ignore '-' and '/').
    const r = await db.query<{ networks: ListedNetworkRow[]; configs: TenantConfigSpec[] }>(
      `SELECT
        coalesce((SELECT json_agg(json_build_object(
            'id', n.id, 'kind', n.kind, 'spec', n.spec, 'hostDevice', n.host_device, 'vlan', n.vlan, 'vni', n.vni,
            'interfaces', (SELECT count(*) FROM net.interface i WHERE i.network_id = n.id),
            'addresses', (SELECT count(*) FROM net.interface i WHERE i.network_id = n.id AND i.ip IS NOT NULL)
                       + (SELECT count(*) FROM net.service_address a WHERE a.network_id = n.id))
            ORDER BY n.id COLLATE "C")
          FROM net.network n WHERE n.kind = 'cluster' OR $1::text IS NULL OR n.tenant = $1), '[]'::json) AS networks,
        coalesce((SELECT json_agg(c.spec ORDER BY c.tenant COLLATE "C") FROM net.tenant_config c WHERE $1::text IS NULL OR c.tenant = $1), '[]'::json) AS configs`,
      [filter.tenant ?? null],
    );
    const row = r.rows[0]!;
    const clusterNetworks: ClusterNetworkStatus[] = [];
    const tenantNetworks: TenantNetworkStatus[] = [];
    for (const n of row.networks) {
      const counts = { interfaces: n.interfaces, addresses: n.addresses };
      if (n.kind === NetworkKinds.Cluster) {
        clusterNetworks.push({ id: n.id, spec: n.spec, ...counts });
        continue;
      }
      const assigned: TenantNetworkAssignment = {
        ...(n.hostDevice !== null ? { hostDevice: n.hostDevice } : {}),
        ...(n.vlan !== null ? { vlan: n.vlan } : {}),
        ...(n.vni !== null ? { vni: n.vni } : {}),
      };
      tenantNetworks.push({ id: n.id, spec: n.spec, assigned, ...counts });
    }
    return { clusterNetworks, tenantNetworks, tenantConfigs: row.configs };
  }

  // --- internals ------------------------------------------------------------------------------

  private async lock(db: Db): Promise<void> {
    await db.query('SELECT pg_advisory_xact_lock($1)', [NET_LOCK]);
  }

  /** Next revision, announced to listeners when the transaction commits (NOTIFY is transactional). */
  private async bump(db: Db): Promise<number> {
    const r = await db.query<{ revision: string }>('UPDATE net.state SET revision = revision + 1 RETURNING revision');
    const revision = Number(r.rows[0]!.revision);
    await db.query('SELECT pg_notify($1, $2)', [NET_CHANGED_CHANNEL, String(revision)]);
    return revision;
  }

  private async takeNumbers(db: Db, what: 'network' | 'interface', count: number): Promise<number> {
    const column = what === 'network' ? 'next_network_num' : 'next_interface_num';
    const max = what === 'network' ? NETWORK_NUM_MAX : INTERFACE_NUM_MAX;
    const r = await db.query<{ first: string }>(`UPDATE net.state SET ${column} = ${column} + $1 RETURNING ${column} - $1 AS first`, [count]);
    const first = Number(r.rows[0]!.first);
    if (first + count - 1 > max) throw new NumbersExhausted(what, max);
    return first;
  }

  private async writeDependencies(db: Db, net: Network): Promise<void> {
    for (const to of net.dependsOn) await db.query('INSERT INTO net.dependency (network_id, depends_on) VALUES ($1, $2)', [net.id, to]);
  }

  private async interfaceIds(db: Db, where: { networkId?: string; host?: string }): Promise<string[]> {
    const r = where.networkId !== undefined
      ? await db.query<{ id: string }>('SELECT id FROM net.interface WHERE network_id = $1 ORDER BY id', [where.networkId])
      : await db.query<{ id: string }>('SELECT id FROM net.interface WHERE host = $1 ORDER BY id', [where.host]);
    return r.rows.map((x) => x.id);
  }

  private async loadRows(db: Db): Promise<NetworkRow[]> {
    return (await db.query<NetworkRow>('SELECT id, kind, spec, vlan, vni, host_device, num, gateway_mac::text AS gateway_mac FROM net.network ORDER BY id')).rows;
  }

  private async loadNetworks(db: Db): Promise<Network[]> {
    return (await this.loadRows(db)).map(fromRow);
  }
}

/** The IPAM holder name of a service address: never an interface id (those have no `svc:`). */
function serviceAllocationId(service: string, networkId: string): string {
  return `svc:${service}@${networkId}`;
}

function fromRow(r: NetworkRow): Network {
  const physical: PhysicalAttributes = { hostDevice: r.host_device, vlan: r.vlan, vni: r.vni };
  return r.kind === NetworkKinds.Cluster ? new ClusterNetwork(r.spec as never) : new TenantNetwork(r.spec as never, physical);
}

/** A principal bound to a tenant may manage only that tenant's networks. */
function authorize(principal: Principal | undefined, net: Network, path: string): void {
  if (principal?.tenant === undefined || principal.tenant === '') return;
  if (splitId(net.id).scope !== principal.tenant) {
    throw new TenantForbidden(path, principal.id, principal.tenant, net.id);
  }
}

function firstProblem(errors: readonly ErrorWithInfo[]): void {
  if (errors.length > 0) throw errors[0]!;
}

function rebased(err: unknown, prefix: string): unknown {
  const e = err as ErrorWithInfo;
  return e instanceof Error && typeof e.info?.code === 'string' ? withPath(e, prefix) : err;
}
