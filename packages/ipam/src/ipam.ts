// The PostgreSQL allocator. Every method takes a Queryable: a pg Pool (the method then runs in a
// transaction of its own) or a client inside the caller's transaction, so that an allocation or
// release commits or rolls back together with whatever else the caller changes (the interface
// row, above all: that is what keeps addresses from leaking).
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate as busMigrate } from '@sdmi/bus';
import type pg from 'pg';
import {
  type Addressing,
  type AddressingSpec,
  checkId,
  poolText,
  reservedAddresses,
  reservedAs,
  resolveAddressing,
  usableInPool,
} from './addressing';
import {
  AddressOutsideCidr,
  AddressReserved,
  AddressTaken,
  AllocationContended,
  type AllocationConflict,
  InterfaceAlreadyAllocated,
  InvalidAllocation,
  NetworkInUse,
  NetworkNotFound,
  PoolExhausted,
} from './errors';
import { type Cidr, cidrContains, formatIpv4, parseCidr, parseIpv4 } from './ipv4';

/** A pool or a client inside the caller's transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

export const AllocationModes = { Dynamic: 'dynamic', Static: 'static', None: 'none' } as const;
export type AllocationMode = (typeof AllocationModes)[keyof typeof AllocationModes];

export interface AllocationRequest {
  networkId: string;
  interfaceId: string;
  mode: AllocationMode;
  /** Required for static, refused otherwise. */
  address?: string;
}

export interface Allocation {
  networkId: string;
  interfaceId: string;
  mode: 'dynamic' | 'static';
  address: string;
}

export interface Usage {
  /** Pool addresses dynamic allocation may hand out (network, broadcast and gateway excluded). */
  usable: number;
  /** Every allocation on the network, static ones outside the pools included. */
  allocated: number;
  /** Usable pool addresses not allocated. */
  free: number;
  /** Static allocations outside every pool (counted in `allocated`, not in `usable`). */
  outsidePools: number;
}

export interface IpamOptions {
  /** PostgreSQL schema of the tables; default 'ipam'. */
  schema?: string;
  /**
   * Serialise allocations per network with a row lock on the network (default true). With false,
   * concurrent allocators race and the primary key alone keeps addresses unique: losers retry.
   * Correct either way; the lock avoids the retries (1,000 racers on one address = 1,000 rounds).
   */
  lockNetwork?: boolean;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const DEFAULT_SCHEMA = 'ipam';
const MODES: readonly string[] = Object.values(AllocationModes);

interface NetworkRow {
  id: string;
  cidr: string;
  gateway: string;
}
interface AllocationRow {
  network_id: string;
  interface_id: string;
  mode: 'dynamic' | 'static';
  address: string;
}

/** A network as loaded from the tables, in numbers. */
interface LoadedNetwork {
  id: string;
  cidr: Cidr;
  gateway: number;
  pools: { first: number; last: number }[];
}

const toAllocation = (r: AllocationRow): Allocation => ({
  networkId: r.network_id,
  interfaceId: r.interface_id,
  mode: r.mode,
  address: formatIpv4(Number(r.address)),
});

function isPool(db: Queryable): db is pg.Pool {
  const p = db as Partial<pg.Pool>;
  return typeof p.connect === 'function' && typeof p.totalCount === 'number';
}

/** True for a pg client that is not inside a transaction block ('I' = idle). */
function idleClient(db: Queryable): boolean {
  const c = db as Partial<Pick<pg.ClientBase, 'getTransactionStatus'>>;
  return typeof c.getTransactionStatus === 'function' && c.getTransactionStatus() === 'I';
}

/**
 * Runs `fn` in a transaction: its own when given a pool (or a client outside any transaction),
 * else the caller's, as is — then the caller's COMMIT or ROLLBACK decides for IPAM too.
 */
async function inTransaction<T>(db: Queryable, fn: (q: Queryable) => Promise<T>): Promise<T> {
  if (!isPool(db)) {
    if (!idleClient(db)) return fn(db);
    const r = await ownTransaction(db, fn);
    if (!r.ok) throw r.error;
    return r.result;
  }
  const client = await db.connect();
  const r = await ownTransaction(client, fn).catch((error: unknown) => ({ ok: false as const, error, rollbackFailed: undefined }));
  // A client whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
  client.release(r.ok ? undefined : r.rollbackFailed);
  if (!r.ok) throw r.error;
  return r.result;
}

type Outcome<T> = { ok: true; result: T } | { ok: false; error: unknown; rollbackFailed: Error | undefined };

async function ownTransaction<T>(q: Queryable, fn: (q: Queryable) => Promise<T>): Promise<Outcome<T>> {
  await q.query('BEGIN');
  try {
    const result = await fn(q);
    await q.query('COMMIT');
    return { ok: true, result };
  } catch (error) {
    let rollbackFailed: Error | undefined;
    await q.query('ROLLBACK').catch((e: Error) => (rollbackFailed = e));
    return { ok: false, error, rollbackFailed };
  }
}

const pgCode = (err: unknown): string | undefined => (err as { code?: unknown })?.code as string | undefined;

export class Ipam {
  /** Absolute path of packages/ipam/migrations, for @sdmi/bus `migrate(pool, dir)`. */
  static readonly migrationsDir: string = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');

  readonly schema: string;
  private readonly lockNetwork: boolean;
  /** Quoted table names. */
  private readonly t: { network: string; pool: string; allocation: string };

  constructor(opts: IpamOptions = {}) {
    const schema = opts.schema ?? DEFAULT_SCHEMA;
    if (!SCHEMA_NAME.test(schema)) {
      throw new RangeError(`IPAM schema ${JSON.stringify(schema)} is not a plain lower-case SQL identifier (a-z, 0-9, _; at most 63)`);
    }
    this.schema = schema;
    this.lockNetwork = opts.lockNetwork ?? true;
    this.t = { network: `${schema}.network`, pool: `${schema}.pool`, allocation: `${schema}.allocation` };
  }

  /**
   * Applies the SQL files through @sdmi/bus `migrate` and returns the names applied now. For a
   * schema other than 'ipam' the same files are applied with the schema renamed, recorded as
   * `<schema>__<file>` so each schema is migrated once.
   */
  async migrate(pool: pg.Pool): Promise<string[]> {
    if (this.schema === DEFAULT_SCHEMA) return busMigrate(pool, Ipam.migrationsDir);
    const dir = mkdtempSync(join(tmpdir(), 'sdmi-ipam-'));
    try {
      for (const file of readdirSync(Ipam.migrationsDir).filter((f) => f.endsWith('.sql'))) {
        const sql = readFileSync(join(Ipam.migrationsDir, file), 'utf8')
          .replace(/\bipam\./g, `${this.schema}.`)
          .replace(/SCHEMA IF NOT EXISTS ipam\b/g, `SCHEMA IF NOT EXISTS ${this.schema}`);
        writeFileSync(join(dir, `${this.schema}__${file}`), sql);
      }
      return await busMigrate(pool, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Creates a network or replaces its addressing. Validates first and throws the first problem
   * (validateAddressing lists all of them). A change that would leave an existing allocation
   * outside the new CIDR (static) or pools (dynamic), or on a reserved address, throws
   * NetworkInUse listing them, and changes nothing.
   */
  async defineNetwork(db: Queryable, spec: AddressingSpec): Promise<void> {
    const a = resolveAddressing(spec);
    await inTransaction(db, async (q) => {
      const created = await q.query(
        `INSERT INTO ${this.t.network} (id, cidr, gateway) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [a.id, a.cidr.text, formatIpv4(a.gateway)],
      );
      if (created.rowCount === 1) {
        await this.insertPools(q, a);
        return;
      }
      // Exists: lock it so no allocation lands while we check and rewrite.
      await q.query(`SELECT 1 FROM ${this.t.network} WHERE id = $1 FOR NO KEY UPDATE`, [a.id]);
      const held = await this.rows(q, `WHERE network_id = $1`, [a.id]);
      const conflicts = held.flatMap((r) => {
        const reason = this.misfit(a, r);
        return reason ? [{ interfaceId: r.interface_id, address: formatIpv4(Number(r.address)), mode: r.mode, reason }] : [];
      });
      if (conflicts.length > 0) throw new NetworkInUse(a.id, 'change', conflicts);
      await q.query(`UPDATE ${this.t.network} SET cidr = $2, gateway = $3, updated_at = now() WHERE id = $1`, [
        a.id,
        a.cidr.text,
        formatIpv4(a.gateway),
      ]);
      await q.query(`DELETE FROM ${this.t.pool} WHERE network_id = $1`, [a.id]);
      await this.insertPools(q, a);
    });
  }

  /** Why an existing allocation would not fit the new addressing, or undefined if it does. */
  private misfit(a: Addressing, r: AllocationRow): string | undefined {
    const address = Number(r.address);
    if (!cidrContains(a.cidr, address)) return `outside the new CIDR ${a.cidr.text}`;
    const reserved = reservedAs(a.cidr, a.gateway, address);
    if (reserved === 'gateway') return 'it would be the new gateway';
    if (reserved) return `it would be the ${reserved} address of ${a.cidr.text}`;
    if (r.mode === 'dynamic' && !a.pools.some((p) => address >= p.first && address <= p.last)) return 'outside the new pools';
    return undefined;
  }

  private async insertPools(q: Queryable, a: Addressing): Promise<void> {
    await q.query(
      `INSERT INTO ${this.t.pool} (network_id, ord, first_address, last_address)
       SELECT $1, ord - 1, f, l FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS p(f, l, ord)`,
      [a.id, a.pools.map((p) => p.first), a.pools.map((p) => p.last)],
    );
  }

  /** Removes a network; refused with NetworkInUse while any interface holds an address on it. */
  async removeNetwork(db: Queryable, networkId: string): Promise<void> {
    checkId(networkId, '/networkId');
    await inTransaction(db, async (q) => {
      // FOR UPDATE: no allocation can start on this network until we are done.
      const found = await q.query(`SELECT 1 FROM ${this.t.network} WHERE id = $1 FOR UPDATE`, [networkId]);
      if (found.rowCount === 0) throw new NetworkNotFound(networkId);
      const held = await this.rows(q, 'WHERE network_id = $1', [networkId]);
      if (held.length > 0) throw new NetworkInUse(networkId, 'remove', held.map((r) => conflictOf(r, 'still allocated')));
      try {
        await q.query(`DELETE FROM ${this.t.network} WHERE id = $1`, [networkId]);
      } catch (err) {
        // The foreign key is the last word if an allocation got in anyway.
        if (pgCode(err) === '23503') {
          const rows = await this.rows(q, 'WHERE network_id = $1', [networkId]).catch(() => []);
          throw new NetworkInUse(networkId, 'remove', rows.map((r) => conflictOf(r, 'still allocated')));
        }
        throw err;
      }
    });
  }

  /**
   * Gives an interface an address on a network: the lowest free one walking the pools in order
   * (dynamic), the one asked for (static: inside the CIDR, not reserved, not taken; it may lie
   * outside the pools), or none (null). Asking again for the same thing returns the same
   * allocation; asking for something else while holding one throws InterfaceAlreadyAllocated.
   */
  async allocate(db: Queryable, req: AllocationRequest): Promise<Allocation | null> {
    const r = (req ?? {}) as Partial<AllocationRequest>;
    const networkId = checkId(r.networkId, '/networkId');
    const interfaceId = checkId(r.interfaceId, '/interfaceId');
    if (typeof r.mode !== 'string' || !MODES.includes(r.mode)) {
      throw new InvalidAllocation('/mode', `${JSON.stringify(r.mode) ?? String(r.mode)} is not an allocation mode (dynamic, static or none)`);
    }
    const mode = r.mode as AllocationMode;
    let wanted: number | undefined;
    if (mode === AllocationModes.Static) {
      if (r.address === undefined) throw new InvalidAllocation('/address', 'a static allocation needs an address');
      wanted = parseIpv4(r.address, '/address');
    } else if (r.address !== undefined) {
      throw new InvalidAllocation('/address', `a ${mode} allocation takes no address (${mode === 'dynamic' ? 'IPAM chooses it' : 'none is given'})`);
    }
    const requested = mode === AllocationModes.Static ? `static ${formatIpv4(wanted!)}` : mode;

    return inTransaction(db, async (q) => {
      const net = await this.loadNetwork(q, networkId, this.lockNetwork ? 'FOR NO KEY UPDATE' : 'FOR SHARE');
      const current = await this.held(q, networkId, interfaceId);
      if (current) {
        const same = current.mode === mode && (mode === AllocationModes.Dynamic || current.address === formatIpv4(wanted!));
        if (same) return current;
        throw new InterfaceAlreadyAllocated(networkId, interfaceId, current, requested);
      }
      if (mode === AllocationModes.None) return null;
      if (mode === AllocationModes.Static) return this.allocateStatic(q, net, interfaceId, wanted!);
      return this.allocateDynamic(q, net, interfaceId);
    });
  }

  private async allocateStatic(q: Queryable, net: LoadedNetwork, interfaceId: string, address: number): Promise<Allocation> {
    const text = formatIpv4(address);
    if (!cidrContains(net.cidr, address)) throw new AddressOutsideCidr(net.id, text, net.cidr.text);
    const reserved = reservedAs(net.cidr, net.gateway, address);
    if (reserved) throw new AddressReserved(net.id, text, reserved);
    const row = await this.insert(q, net.id, interfaceId, 'static', address);
    if (row) return row;
    return this.lostInsert(q, net.id, interfaceId, 'static', text);
  }

  private async allocateDynamic(q: Queryable, net: LoadedNetwork, interfaceId: string): Promise<Allocation> {
    const reserved = reservedAddresses(net.cidr, net.gateway);
    let previous: number | undefined;
    // Without the network lock (or if someone writes the table directly) the address found can be
    // taken before our insert; the insert then does nothing and we look again. Each lost round
    // means another allocation succeeded, so this ends; the guard catches a snapshot that cannot
    // see the winner (REPEATABLE READ), where looking again finds the same address forever.
    for (let attempt = 1; ; attempt++) {
      const found = await q.query<{ address: string }>(this.gapSearch, [net.id, reserved]);
      const candidate = found.rows[0] ? Number(found.rows[0].address) : undefined;
      if (candidate === undefined) {
        throw new PoolExhausted(
          net.id,
          net.pools.map((p) => ({ range: poolText(p), usable: usableInPool(p, net.cidr, net.gateway) })),
        );
      }
      if (candidate === previous) {
        throw new AllocationContended(net.id, interfaceId, `lost the race for ${formatIpv4(candidate)} twice in ${attempt} attempts`);
      }
      const row = await this.insert(q, net.id, interfaceId, 'dynamic', candidate);
      if (row) return row;
      const mine = await this.held(q, net.id, interfaceId);
      if (mine) {
        // The same interface allocated concurrently through another connection.
        if (mine.mode === 'dynamic') return mine;
        throw new InterfaceAlreadyAllocated(net.id, interfaceId, mine, 'dynamic');
      }
      previous = candidate;
    }
  }

  /**
   * Lowest free address walking the pools in order, without enumerating any pool. Per pool (in
   * `ord` order, stopping at the first pool with a gap): its allocations and reserved addresses,
   * plus a sentinel just below its start, sorted; the first of them whose successor is not the
   * next number is followed by a free address. Cost grows with the allocations in the pools
   * walked, not with their size (a /8 is as cheap as a /24). UNION ALL, not UNION: reserved
   * addresses are never allocated, and a duplicate would only hide a gap of length zero anyway.
   */
  private get gapSearch(): string {
    return `
      SELECT g.address + 1 AS address
        FROM ${this.t.pool} p CROSS JOIN LATERAL (
          SELECT t.address FROM (
            SELECT t.address, lead(t.address) OVER (ORDER BY t.address) AS next FROM (
              SELECT p.first_address - 1 AS address
              UNION ALL
              SELECT a.address FROM ${this.t.allocation} a
               WHERE a.network_id = $1 AND a.address BETWEEN p.first_address AND p.last_address
              UNION ALL
              SELECT r FROM unnest($2::bigint[]) AS r WHERE r BETWEEN p.first_address AND p.last_address
            ) t
          ) t
          WHERE t.address + 1 <= p.last_address AND (t.next IS NULL OR t.next > t.address + 1)
          ORDER BY t.address
          LIMIT 1
        ) g
       WHERE p.network_id = $1
       ORDER BY p.ord
       LIMIT 1`;
  }

  /**
   * Inserts an allocation; null when a unique constraint refused it (address or interface already
   * held). ON CONFLICT DO NOTHING rather than catching 23505: an error would abort the caller's
   * transaction, and the constraint still decides (it waits for a concurrent insert to commit).
   */
  private async insert(q: Queryable, networkId: string, interfaceId: string, mode: 'dynamic' | 'static', address: number): Promise<Allocation | null> {
    try {
      const r = await q.query<AllocationRow>(
        `INSERT INTO ${this.t.allocation} (network_id, address, interface_id, mode) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING network_id, interface_id, mode, address`,
        [networkId, address, interfaceId, mode],
      );
      return r.rows[0] ? toAllocation(r.rows[0]) : null;
    } catch (err) {
      // The network was removed by a transaction that committed while we waited.
      if (pgCode(err) === '23503') throw new NetworkNotFound(networkId);
      // Under REPEATABLE READ a conflicting row our snapshot cannot see is a serialization failure.
      if (pgCode(err) === '40001') {
        throw new AllocationContended(networkId, interfaceId, `${formatIpv4(address)} was taken by a transaction this one's snapshot cannot see`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Explains a static insert the constraints refused: who holds the address, or what this interface holds. */
  private async lostInsert(q: Queryable, networkId: string, interfaceId: string, mode: 'static', text: string): Promise<Allocation> {
    const mine = await this.held(q, networkId, interfaceId);
    if (mine) {
      if (mine.mode === mode && mine.address === text) return mine;
      throw new InterfaceAlreadyAllocated(networkId, interfaceId, mine, `${mode} ${text}`);
    }
    const holder = await q.query<{ interface_id: string }>(
      `SELECT interface_id FROM ${this.t.allocation} WHERE network_id = $1 AND address = $2`,
      [networkId, parseIpv4(text)],
    );
    throw new AddressTaken(networkId, text, holder.rows[0]?.interface_id ?? '(unknown)');
  }

  /** Releases an interface's address on one network; true if it held one. */
  async release(db: Queryable, networkId: string, interfaceId: string): Promise<boolean> {
    checkId(networkId, '/networkId');
    checkId(interfaceId, '/interfaceId');
    const r = await db.query(`DELETE FROM ${this.t.allocation} WHERE network_id = $1 AND interface_id = $2`, [networkId, interfaceId]);
    return (r.rowCount ?? 0) > 0;
  }

  /** Releases an interface's addresses on every network; returns what was released. */
  async releaseInterface(db: Queryable, interfaceId: string): Promise<Allocation[]> {
    checkId(interfaceId, '/interfaceId');
    const r = await db.query<AllocationRow>(
      `DELETE FROM ${this.t.allocation} WHERE interface_id = $1 RETURNING network_id, interface_id, mode, address`,
      [interfaceId],
    );
    return sortAllocations(r.rows.map(toAllocation));
  }

  /** Every allocation (of one network, if given), by network then address. */
  async allocations(db: Queryable, networkId?: string): Promise<Allocation[]> {
    if (networkId !== undefined) checkId(networkId, '/networkId');
    const rows = networkId === undefined ? await this.rows(db, '', []) : await this.rows(db, 'WHERE network_id = $1', [networkId]);
    return rows.map(toAllocation);
  }

  async usage(db: Queryable, networkId: string): Promise<Usage> {
    checkId(networkId, '/networkId');
    return inTransaction(db, async (q) => {
      const net = await this.loadNetwork(q, networkId, '');
      const r = await q.query<{ allocated: string; outside: string }>(
        `SELECT count(*) AS allocated,
                count(*) FILTER (WHERE NOT EXISTS (
                  SELECT 1 FROM ${this.t.pool} p WHERE p.network_id = a.network_id AND a.address BETWEEN p.first_address AND p.last_address
                )) AS outside
           FROM ${this.t.allocation} a WHERE a.network_id = $1`,
        [networkId],
      );
      const usable = net.pools.reduce((n, p) => n + usableInPool(p, net.cidr, net.gateway), 0);
      const allocated = Number(r.rows[0]!.allocated);
      const outsidePools = Number(r.rows[0]!.outside);
      return { usable, allocated, free: usable - (allocated - outsidePools), outsidePools };
    });
  }

  /**
   * Start-up reconciliation: releases every allocation whose interface is not live (its owner
   * died, or a delete was missed) and returns what it released.
   */
  async reconcile(db: Queryable, liveInterfaceIds: ReadonlySet<string>): Promise<Allocation[]> {
    const r = await db.query<AllocationRow>(
      `DELETE FROM ${this.t.allocation} WHERE interface_id <> ALL($1::text[]) RETURNING network_id, interface_id, mode, address`,
      [[...liveInterfaceIds]],
    );
    return sortAllocations(r.rows.map(toAllocation));
  }

  /** The stored addressing of a network (null if it is not defined). */
  async network(db: Queryable, networkId: string): Promise<AddressingSpec | null> {
    checkId(networkId, '/networkId');
    try {
      const net = await this.loadNetwork(db, networkId, '');
      return {
        id: net.id,
        cidr: net.cidr.text,
        gateway: formatIpv4(net.gateway),
        pools: net.pools.map((p) => ({ start: formatIpv4(p.first), end: formatIpv4(p.last) })),
      };
    } catch (err) {
      if (err instanceof NetworkNotFound) return null;
      throw err;
    }
  }

  private async loadNetwork(q: Queryable, networkId: string, lock: '' | 'FOR SHARE' | 'FOR NO KEY UPDATE'): Promise<LoadedNetwork> {
    // One round trip: it runs while holding the network lock, where every round trip counts.
    const n = await q.query<NetworkRow & { firsts: string[] | null; lasts: string[] | null }>(
      `SELECT n.id, n.cidr::text AS cidr, host(n.gateway) AS gateway,
              (SELECT array_agg(first_address ORDER BY ord) FROM ${this.t.pool} WHERE network_id = n.id) AS firsts,
              (SELECT array_agg(last_address ORDER BY ord) FROM ${this.t.pool} WHERE network_id = n.id) AS lasts
         FROM ${this.t.network} n WHERE n.id = $1 ${lock}`,
      [networkId],
    );
    const row = n.rows[0];
    if (!row) throw new NetworkNotFound(networkId);
    const lasts = row.lasts ?? [];
    return {
      id: row.id,
      cidr: parseCidr(row.cidr),
      gateway: parseIpv4(row.gateway),
      pools: (row.firsts ?? []).map((first, i) => ({ first: Number(first), last: Number(lasts[i]) })),
    };
  }

  private async held(q: Queryable, networkId: string, interfaceId: string): Promise<Allocation | undefined> {
    const rows = await this.rows(q, 'WHERE network_id = $1 AND interface_id = $2', [networkId, interfaceId]);
    return rows[0] ? toAllocation(rows[0]) : undefined;
  }

  private async rows(q: Queryable, where: string, values: unknown[]): Promise<AllocationRow[]> {
    const r = await q.query<AllocationRow>(
      `SELECT network_id, interface_id, mode, address FROM ${this.t.allocation} ${where} ORDER BY network_id, address`,
      values,
    );
    return r.rows;
  }
}

function conflictOf(r: AllocationRow, reason: string): AllocationConflict {
  return { interfaceId: r.interface_id, address: formatIpv4(Number(r.address)), mode: r.mode, reason };
}

function sortAllocations(list: Allocation[]): Allocation[] {
  return list.sort((a, b) => (a.networkId < b.networkId ? -1 : a.networkId > b.networkId ? 1 : parseIpv4(a.address) - parseIpv4(b.address)));
}
