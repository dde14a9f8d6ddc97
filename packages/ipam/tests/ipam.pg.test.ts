// The allocator on a real PostgreSQL (a run-unique database from the test bed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddressOutsideCidr,
  AddressReserved,
  AddressTaken,
  type AddressingSpec,
  InterfaceAlreadyAllocated,
  InvalidAddress,
  InvalidAllocation,
  InvalidId,
  Ipam,
  IpamErrorCode,
  NetworkInUse,
  NetworkNotFound,
  PoolExhausted,
  PoolsOverlap,
  parseIpv4,
} from '../src/index';
import { type IpamFixture, ipamFixture, rejection, tables } from './fixture';

let f: IpamFixture;
let seq = 0;
/** A network id unique within this file, so tests do not see each other's rows. */
const nid = (name: string) => `t${++seq}/${name}`;

beforeAll(async () => {
  f = await ipamFixture(10);
});
afterAll(async () => {
  await f?.dispose();
});

const small = (id: string): AddressingSpec => ({
  id,
  cidr: '10.50.0.0/24',
  gateway: '10.50.0.1',
  pools: [
    { start: '10.50.0.0', end: '10.50.0.3' }, // network .0 and gateway .1 inside: skipped
    { start: '10.50.0.200', end: '10.50.0.201' },
    { start: '10.50.0.100', end: '10.50.0.100' },
  ],
});

describe('migrate', () => {
  it('applies its file once, through the bus migration ledger', async () => {
    expect(await f.ipam.migrate(f.pool)).toEqual([]);
    const r = await f.pool.query("SELECT name FROM public.sdmi_migration WHERE name LIKE '%ipam%' ORDER BY name");
    expect(r.rows.map((x) => x.name)).toEqual(['ipam_001_schema.sql', 'ipam_002_allocation_in_network.sql']);
  });

  it('can put the tables in another schema, migrated and used independently', async () => {
    const other = new Ipam({ schema: 'ipam_other' });
    expect(await other.migrate(f.pool)).toEqual(['ipam_other__ipam_001_schema.sql', 'ipam_other__ipam_002_allocation_in_network.sql']);
    expect(await other.migrate(f.pool)).toEqual([]);
    const id = nid('schema');
    await other.defineNetwork(f.pool, small(id));
    expect(await other.allocate(f.pool, { networkId: id, interfaceId: 'e1', mode: 'dynamic' })).toMatchObject({ address: '10.50.0.2' });
    expect(await f.ipam.network(f.pool, id)).toBeNull();
    expect((await tables(f.pool, 'ipam_other')).allocation).toHaveLength(1);
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => new Ipam({ schema: 'x; DROP TABLE y' })).toThrow(
      new RangeError('IPAM schema "x; DROP TABLE y" is not a plain lower-case SQL identifier (a-z, 0-9, _; at most 63)'),
    );
  });
});

describe('defineNetwork', () => {
  it('creates a network and stores its addressing as given', async () => {
    const id = nid('create');
    await f.ipam.defineNetwork(f.pool, small(id));
    expect(await f.ipam.network(f.pool, id)).toEqual(small(id));
  });

  it('refuses an invalid spec with its first problem and writes nothing', async () => {
    const before = await tables(f.pool);
    const err = await rejection(
      f.ipam.defineNetwork(f.pool, { ...small(nid('bad')), pools: [{ start: '10.50.0.10', end: '10.50.0.20' }, { start: '10.50.0.15', end: '10.50.0.30' }] }),
    );
    expect(err).toBeInstanceOf(PoolsOverlap);
    expect(err.info.message).toBe('/pools/1: pool 10.50.0.15-10.50.0.30 overlaps pool 0 (10.50.0.10-10.50.0.20)');
    expect(await tables(f.pool)).toEqual(before);
  });

  it('updates addressing when every allocation still fits', async () => {
    const id = nid('update');
    await f.ipam.defineNetwork(f.pool, small(id));
    const a = await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e1', mode: 'dynamic' });
    expect(a?.address).toBe('10.50.0.2');
    const wider: AddressingSpec = { id, cidr: '10.50.0.0/23', gateway: '10.50.1.254', pools: [{ start: '10.50.0.2', end: '10.50.1.200' }] };
    await f.ipam.defineNetwork(f.pool, wider);
    expect(await f.ipam.network(f.pool, id)).toEqual(wider);
    expect(await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e2', mode: 'dynamic' })).toMatchObject({ address: '10.50.0.3' });
  });

  it('refuses a change that would re-address allocations, listing them, and changes nothing', async () => {
    const id = nid('inuse');
    await f.ipam.defineNetwork(f.pool, { id, cidr: '10.51.0.0/24', gateway: '10.51.0.1', pools: [{ start: '10.51.0.10', end: '10.51.0.20' }] });
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'dyn', mode: 'dynamic' }); // .10
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'gw-to-be', mode: 'dynamic' }); // .11
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'st', mode: 'static', address: '10.51.0.200' }); // outside the pools
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'fits', mode: 'dynamic' }); // .12
    const before = await tables(f.pool);

    const err = await rejection(
      f.ipam.defineNetwork(f.pool, { id, cidr: '10.51.0.0/25', gateway: '10.51.0.11', pools: [{ start: '10.51.0.12', end: '10.51.0.100' }] }),
    );
    expect(err).toBeInstanceOf(NetworkInUse);
    expect(err.info.code).toBe(IpamErrorCode.NETWORK_IN_USE);
    expect(err.info.message).toBe(
      `network ${id} cannot be changed this way: 3 existing allocation(s) would have to be re-addressed: ` +
        'dyn holds 10.51.0.10 (dynamic, outside the new pools); gw-to-be holds 10.51.0.11 (dynamic, it would be the new gateway); ' +
        'st holds 10.51.0.200 (static, outside the new CIDR 10.51.0.0/25); release them first',
    );
    expect(err.info.details).toMatchObject({ networkId: id, action: 'change' });
    expect(await tables(f.pool)).toEqual(before);
  });

  it('lists at most five conflicts in the message, all of them in details', async () => {
    const id = nid('many');
    await f.ipam.defineNetwork(f.pool, { id, cidr: '10.52.0.0/24', gateway: '10.52.0.1', pools: [{ start: '10.52.0.2', end: '10.52.0.254' }] });
    for (let i = 0; i < 7; i++) await f.ipam.allocate(f.pool, { networkId: id, interfaceId: `if${i}`, mode: 'dynamic' });
    const err = await rejection(f.ipam.defineNetwork(f.pool, { id, cidr: '10.52.0.0/24', gateway: '10.52.0.1', pools: [{ start: '10.52.0.100', end: '10.52.0.254' }] }));
    expect(err.info.message).toMatch(/: 7 existing allocation\(s\) would have to be re-addressed: if0 holds 10\.52\.0\.2 .*if4 holds 10\.52\.0\.6 \(dynamic, outside the new pools\); and 2 more; release them first$/);
    expect((err.info.details!.conflicts as unknown[]).length).toBe(7);
  });
});

describe('allocate', () => {
  it('dynamic: lowest free address walking pools in order, skipping network, gateway and broadcast', async () => {
    const id = nid('dyn');
    await f.ipam.defineNetwork(f.pool, small(id));
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await f.ipam.allocate(f.pool, { networkId: id, interfaceId: `e${i}`, mode: 'dynamic' }))!.address);
    // Pool 0 (.0-.3) gives .2 and .3; pool 1 (.200-.201) comes before pool 2 (.100) because pools are walked in order.
    expect(got).toEqual(['10.50.0.2', '10.50.0.3', '10.50.0.200', '10.50.0.201', '10.50.0.100']);
    const before = await tables(f.pool);
    const err = await rejection(f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e5', mode: 'dynamic' }));
    expect(err).toBeInstanceOf(PoolExhausted);
    expect(err.info).toEqual({
      code: IpamErrorCode.POOL_EXHAUSTED,
      message: `network ${id} has no free address: all 5 usable addresses of its 3 pool(s) are allocated (10.50.0.0-10.50.0.3: 2, 10.50.0.200-10.50.0.201: 2, 10.50.0.100-10.50.0.100: 1)`,
      details: {
        networkId: id,
        usable: 5,
        pools: [
          { range: '10.50.0.0-10.50.0.3', usable: 2 },
          { range: '10.50.0.200-10.50.0.201', usable: 2 },
          { range: '10.50.0.100-10.50.0.100', usable: 1 },
        ],
      },
    });
    expect(await tables(f.pool)).toEqual(before);
    // A released address is the lowest free one again.
    expect(await f.ipam.release(f.pool, id, 'e1')).toBe(true);
    expect(await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e6', mode: 'dynamic' })).toEqual({
      networkId: id,
      interfaceId: 'e6',
      mode: 'dynamic',
      address: '10.50.0.3',
    });
  });

  it('dynamic skips addresses held statically', async () => {
    const id = nid('skip');
    await f.ipam.defineNetwork(f.pool, small(id));
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 's', mode: 'static', address: '10.50.0.2' });
    expect((await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'd', mode: 'dynamic' }))!.address).toBe('10.50.0.3');
  });

  it('static: inside a pool or outside the pools, as long as it is inside the CIDR', async () => {
    const id = nid('static');
    await f.ipam.defineNetwork(f.pool, small(id));
    expect(await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'a', mode: 'static', address: '10.50.0.201' })).toEqual({
      networkId: id,
      interfaceId: 'a',
      mode: 'static',
      address: '10.50.0.201',
    });
    expect((await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'b', mode: 'static', address: '10.50.0.77' }))!.address).toBe('10.50.0.77');
    expect(await f.ipam.usage(f.pool, id)).toEqual({ usable: 5, allocated: 2, free: 4, outsidePools: 1 });
  });

  it('static: refused outside the CIDR, on a reserved address, or when taken (naming the holder); nothing changes', async () => {
    const id = nid('static-bad');
    await f.ipam.defineNetwork(f.pool, small(id));
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'holder', mode: 'static', address: '10.50.0.150' });
    const before = await tables(f.pool);
    const ask = (address: string) => rejection(f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'x', mode: 'static', address }));

    const outside = await ask('10.50.1.1');
    expect(outside).toBeInstanceOf(AddressOutsideCidr);
    expect(outside.info).toEqual({
      code: IpamErrorCode.ADDRESS_OUTSIDE_CIDR,
      message: `/address: 10.50.1.1 is not inside 10.50.0.0/24, the CIDR of network ${id}`,
      path: '/address',
      rule: 'address-inside-cidr',
      details: { networkId: id, address: '10.50.1.1', cidr: '10.50.0.0/24' },
    });
    for (const [address, what] of [['10.50.0.1', 'gateway'], ['10.50.0.0', 'network'], ['10.50.0.255', 'broadcast']] as const) {
      const e = await ask(address);
      expect(e).toBeInstanceOf(AddressReserved);
      expect(e.info).toMatchObject({
        code: IpamErrorCode.ADDRESS_RESERVED,
        path: '/address',
        message: `/address: ${address} is the ${what} address of network ${id} and is never handed out`,
      });
    }
    const taken = await ask('10.50.0.150');
    expect(taken).toBeInstanceOf(AddressTaken);
    expect(taken.info).toEqual({
      code: IpamErrorCode.ADDRESS_TAKEN,
      message: `/address: 10.50.0.150 on network ${id} is already held by interface holder`,
      path: '/address',
      rule: 'address-free',
      details: { networkId: id, address: '10.50.0.150', holder: 'holder' },
    });
    const syntax = await ask('10.50.0.1234');
    expect(syntax).toBeInstanceOf(InvalidAddress);
    expect(syntax.info.message).toBe('/address: "10.50.0.1234" is not a dotted-quad IPv4 address such as 10.0.0.1');
    expect(await tables(f.pool)).toEqual(before);
  });

  it('none: null, nothing stored', async () => {
    const id = nid('none');
    await f.ipam.defineNetwork(f.pool, small(id));
    expect(await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'n', mode: 'none' })).toBeNull();
    expect(await f.ipam.allocations(f.pool, id)).toEqual([]);
  });

  it('is idempotent for the same request, and refuses a different one while holding an address', async () => {
    const id = nid('idem');
    await f.ipam.defineNetwork(f.pool, small(id));
    const d1 = await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'd', mode: 'dynamic' });
    expect(await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'd', mode: 'dynamic' })).toEqual(d1);
    const s1 = await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 's', mode: 'static', address: '10.50.0.60' });
    expect(await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 's', mode: 'static', address: '10.50.0.60' })).toEqual(s1);
    const before = await tables(f.pool);

    const other = await rejection(f.ipam.allocate(f.pool, { networkId: id, interfaceId: 's', mode: 'static', address: '10.50.0.61' }));
    expect(other).toBeInstanceOf(InterfaceAlreadyAllocated);
    expect(other.info).toEqual({
      code: IpamErrorCode.INTERFACE_ALREADY_ALLOCATED,
      message: `interface s already holds 10.50.0.60 (static) on network ${id} and asked for static 10.50.0.61; release it first`,
      details: { networkId: id, interfaceId: 's', held: { networkId: id, interfaceId: 's', mode: 'static', address: '10.50.0.60' }, requested: 'static 10.50.0.61' },
    });
    expect((await rejection(f.ipam.allocate(f.pool, { networkId: id, interfaceId: 's', mode: 'dynamic' }))).info.message).toBe(
      `interface s already holds 10.50.0.60 (static) on network ${id} and asked for dynamic; release it first`,
    );
    expect((await rejection(f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'd', mode: 'static', address: '10.50.0.2' }))).info.message).toBe(
      `interface d already holds 10.50.0.2 (dynamic) on network ${id} and asked for static 10.50.0.2; release it first`,
    );
    expect((await rejection(f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'd', mode: 'none' }))).info.message).toBe(
      `interface d already holds 10.50.0.2 (dynamic) on network ${id} and asked for none; release it first`,
    );
    expect(await tables(f.pool)).toEqual(before);
  });

  it('refuses malformed requests with the field to blame, and changes nothing', async () => {
    const id = nid('malformed');
    await f.ipam.defineNetwork(f.pool, small(id));
    const before = await tables(f.pool);
    const cases: [unknown, new (...a: never[]) => Error, string, string][] = [
      [{ networkId: id, interfaceId: 'x', mode: 'dhcp' }, InvalidAllocation, '/mode', '/mode: "dhcp" is not an allocation mode (dynamic, static or none)'],
      [{ networkId: id, interfaceId: 'x' }, InvalidAllocation, '/mode', '/mode: undefined is not an allocation mode (dynamic, static or none)'],
      [{ networkId: id, interfaceId: 'x', mode: 'static' }, InvalidAllocation, '/address', '/address: a static allocation needs an address'],
      [{ networkId: id, interfaceId: 'x', mode: 'dynamic', address: '10.50.0.9' }, InvalidAllocation, '/address', '/address: a dynamic allocation takes no address (IPAM chooses it)'],
      [{ networkId: id, interfaceId: 'x', mode: 'none', address: '10.50.0.9' }, InvalidAllocation, '/address', '/address: a none allocation takes no address (none is given)'],
      [{ networkId: id, interfaceId: '', mode: 'dynamic' }, InvalidId, '/interfaceId', '/interfaceId: "" is not a valid id (a string of 1 to 253 characters without whitespace or control characters)'],
      [{ networkId: 7, interfaceId: 'x', mode: 'dynamic' }, InvalidId, '/networkId', '/networkId: 7 is not a valid id (a string of 1 to 253 characters without whitespace or control characters)'],
      [{ networkId: 'no/such', interfaceId: 'x', mode: 'dynamic' }, NetworkNotFound, '/networkId', '/networkId: network no/such is not defined in IPAM'],
      [{ networkId: 'no/such', interfaceId: 'x', mode: 'none' }, NetworkNotFound, '/networkId', '/networkId: network no/such is not defined in IPAM'],
    ];
    for (const [req, cls, path, message] of cases) {
      const err = await rejection(f.ipam.allocate(f.pool, req as never));
      expect(err, JSON.stringify(req)).toBeInstanceOf(cls);
      expect(err.info.path).toBe(path);
      expect(err.info.message).toBe(message);
    }
    expect(await tables(f.pool)).toEqual(before);
  });
});

describe('release, releaseInterface, reconcile', () => {
  it('release: true once, then false', async () => {
    const id = nid('rel');
    await f.ipam.defineNetwork(f.pool, small(id));
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e', mode: 'dynamic' });
    expect(await f.ipam.release(f.pool, id, 'e')).toBe(true);
    expect(await f.ipam.release(f.pool, id, 'e')).toBe(false);
    expect(await f.ipam.allocations(f.pool, id)).toEqual([]);
  });

  it('releaseInterface releases the interface on every network and nothing else', async () => {
    const a = nid('ra');
    const b = nid('rb');
    await f.ipam.defineNetwork(f.pool, small(a));
    await f.ipam.defineNetwork(f.pool, { ...small(b), cidr: '10.60.0.0/24', gateway: '10.60.0.1', pools: [{ start: '10.60.0.5', end: '10.60.0.9' }] });
    await f.ipam.allocate(f.pool, { networkId: a, interfaceId: 'multi', mode: 'dynamic' });
    await f.ipam.allocate(f.pool, { networkId: b, interfaceId: 'multi', mode: 'static', address: '10.60.0.50' });
    await f.ipam.allocate(f.pool, { networkId: b, interfaceId: 'other', mode: 'dynamic' });
    expect(await f.ipam.releaseInterface(f.pool, 'multi')).toEqual([
      { networkId: a, interfaceId: 'multi', mode: 'dynamic', address: '10.50.0.2' },
      { networkId: b, interfaceId: 'multi', mode: 'static', address: '10.60.0.50' },
    ]);
    expect(await f.ipam.allocations(f.pool, b)).toEqual([{ networkId: b, interfaceId: 'other', mode: 'dynamic', address: '10.60.0.5' }]);
    expect(await f.ipam.releaseInterface(f.pool, 'multi')).toEqual([]);
  });

  it('reconcile releases every allocation whose interface is not live, and returns them', async () => {
    // Own schema: reconcile is cluster-wide and must not see the other tests' rows.
    const ipam = new Ipam({ schema: 'ipam_reconcile' });
    await ipam.migrate(f.pool);
    const a = nid('rc');
    await ipam.defineNetwork(f.pool, small(a));
    for (const i of ['live1', 'dead1', 'live2', 'dead2']) await ipam.allocate(f.pool, { networkId: a, interfaceId: i, mode: 'dynamic' });
    expect(await ipam.reconcile(f.pool, new Set(['live1', 'live2', 'not-allocated']))).toEqual([
      { networkId: a, interfaceId: 'dead1', mode: 'dynamic', address: '10.50.0.3' },
      { networkId: a, interfaceId: 'dead2', mode: 'dynamic', address: '10.50.0.201' },
    ]);
    expect((await ipam.allocations(f.pool)).map((x) => x.interfaceId)).toEqual(['live1', 'live2']);
    expect(await ipam.reconcile(f.pool, new Set(['live1', 'live2']))).toEqual([]);
    expect(await ipam.reconcile(f.pool, new Set())).toHaveLength(2);
    expect(await ipam.allocations(f.pool)).toEqual([]);
  });

  it("runs inside the caller's transaction: allocation and release commit or roll back with the caller's own rows", async () => {
    const id = nid('tx');
    await f.ipam.defineNetwork(f.pool, small(id));
    await f.pool.query('CREATE TABLE IF NOT EXISTS public.iface (id text PRIMARY KEY)');
    const client = await f.pool.connect();
    try {
      // Attach, rolled back: neither the interface nor its address remain.
      await client.query('BEGIN');
      await client.query("INSERT INTO public.iface VALUES ('c1')");
      expect((await f.ipam.allocate(client, { networkId: id, interfaceId: 'c1', mode: 'dynamic' }))!.address).toBe('10.50.0.2');
      await client.query('ROLLBACK');
      expect(await f.ipam.allocations(f.pool, id)).toEqual([]);

      // Attach, committed.
      await client.query('BEGIN');
      await client.query("INSERT INTO public.iface VALUES ('c1')");
      await f.ipam.allocate(client, { networkId: id, interfaceId: 'c1', mode: 'dynamic' });
      await client.query('COMMIT');

      // Detach (delete the interface and release in one transaction), rolled back: both stay.
      await client.query('BEGIN');
      await client.query("DELETE FROM public.iface WHERE id = 'c1'");
      expect(await f.ipam.releaseInterface(client, 'c1')).toHaveLength(1);
      await client.query('ROLLBACK');
      expect(await f.ipam.allocations(f.pool, id)).toHaveLength(1);

      // Detach, committed: both go.
      await client.query('BEGIN');
      await client.query("DELETE FROM public.iface WHERE id = 'c1'");
      await f.ipam.releaseInterface(client, 'c1');
      await client.query('COMMIT');
      expect(await f.ipam.allocations(f.pool, id)).toEqual([]);
      expect((await f.pool.query("SELECT * FROM public.iface WHERE id = 'c1'")).rowCount).toBe(0);
    } finally {
      client.release();
    }
  });
});

describe('a client outside any transaction', () => {
  it('gets a transaction of its own per call, and is left outside one', async () => {
    const id = nid('idle');
    const client = await f.pool.connect();
    try {
      await f.ipam.defineNetwork(client, small(id));
      expect(client.getTransactionStatus()).toBe('I');
      expect((await f.ipam.allocate(client, { networkId: id, interfaceId: 'e', mode: 'dynamic' }))!.address).toBe('10.50.0.2');
      expect(client.getTransactionStatus()).toBe('I');
      // A refused call rolls its own transaction back and leaves the client usable.
      const before = await tables(f.pool);
      expect((await rejection(f.ipam.defineNetwork(client, { ...small(id), pools: [{ start: '10.50.0.100', end: '10.50.0.110' }] }))).code).toBe(
        IpamErrorCode.NETWORK_IN_USE,
      );
      expect(client.getTransactionStatus()).toBe('I');
      expect(await tables(f.pool)).toEqual(before);
    } finally {
      client.release();
    }
    // Committed: visible from another connection.
    expect(await f.ipam.allocations(f.pool, id)).toHaveLength(1);
  });
});

describe('REPEATABLE READ callers', () => {
  it('get ALLOCATION_CONTENDED, not a raw serialization failure, when their snapshot misses a newer allocation', async () => {
    const id = nid('rr');
    await f.ipam.defineNetwork(f.pool, small(id));
    const client = await f.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await client.query('SELECT 1 FROM ipam.allocation LIMIT 1'); // the snapshot is taken here
      await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'first', mode: 'dynamic' }); // .2, committed after it
      const err = await rejection(f.ipam.allocate(client, { networkId: id, interfaceId: 'second', mode: 'dynamic' }));
      expect(err.info).toEqual({
        code: IpamErrorCode.ALLOCATION_CONTENDED,
        message: `interface second on network ${id}: 10.50.0.2 was taken by a transaction this one's snapshot cannot see; retry the whole transaction`,
        details: { networkId: id, interfaceId: 'second' },
      });
      expect((err.cause as { code: string }).code).toBe('40001');
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    // A retry in a fresh transaction succeeds.
    expect((await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'second', mode: 'dynamic' }))!.address).toBe('10.50.0.3');
  });
});

describe('release paths refuse malformed ids', () => {
  it('with the field to blame, changing nothing', async () => {
    const before = await tables(f.pool);
    const msg = (path: string, v: string) => `${path}: ${JSON.stringify(v)} is not a valid id (a string of 1 to 253 characters without whitespace or control characters)`;
    expect((await rejection(f.ipam.release(f.pool, 'a b', 'x'))).info.message).toBe(msg('/networkId', 'a b'));
    expect((await rejection(f.ipam.release(f.pool, 'n', ''))).info.message).toBe(msg('/interfaceId', ''));
    expect((await rejection(f.ipam.releaseInterface(f.pool, ' '))).info.message).toBe(msg('/interfaceId', ' '));
    expect((await rejection(f.ipam.removeNetwork(f.pool, ''))).info.message).toBe(msg('/networkId', ''));
    expect(await tables(f.pool)).toEqual(before);
  });
});

describe('removeNetwork and usage', () => {
  it('refuses removal while allocations exist, naming them; removes once released', async () => {
    const id = nid('rm');
    await f.ipam.defineNetwork(f.pool, small(id));
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e1', mode: 'dynamic' });
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e2', mode: 'static', address: '10.50.0.9' });
    const before = await tables(f.pool);
    const err = await rejection(f.ipam.removeNetwork(f.pool, id));
    expect(err).toBeInstanceOf(NetworkInUse);
    expect(err.info.message).toBe(
      `network ${id} cannot be removed: 2 interface(s) still hold addresses on it: e1 holds 10.50.0.2 (dynamic, still allocated); e2 holds 10.50.0.9 (static, still allocated); release them first`,
    );
    expect(await tables(f.pool)).toEqual(before);
    await f.ipam.releaseInterface(f.pool, 'e1');
    await f.ipam.releaseInterface(f.pool, 'e2');
    await f.ipam.removeNetwork(f.pool, id);
    expect(await f.ipam.network(f.pool, id)).toBeNull();
    expect((await f.pool.query('SELECT 1 FROM ipam.pool WHERE network_id = $1', [id])).rowCount).toBe(0);
    expect((await rejection(f.ipam.removeNetwork(f.pool, id))).info).toEqual({
      code: IpamErrorCode.NETWORK_NOT_FOUND,
      message: `/networkId: network ${id} is not defined in IPAM`,
      path: '/networkId',
      details: { networkId: id },
    });
  });

  it('usage counts usable pool addresses, allocations and what is free', async () => {
    const id = nid('usage');
    await f.ipam.defineNetwork(f.pool, { id, cidr: '10.70.0.0/16', gateway: '10.70.0.1', pools: [{ start: '10.70.0.0', end: '10.70.255.255' }] });
    expect(await f.ipam.usage(f.pool, id)).toEqual({ usable: 65533, allocated: 0, free: 65533, outsidePools: 0 });
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'a', mode: 'dynamic' });
    await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'b', mode: 'static', address: '10.70.9.9' });
    expect(await f.ipam.usage(f.pool, id)).toEqual({ usable: 65533, allocated: 2, free: 65531, outsidePools: 0 });
    expect((await rejection(f.ipam.usage(f.pool, 'no/such'))).code).toBe(IpamErrorCode.NETWORK_NOT_FOUND);
  });
});

describe('the constraints are the guarantee', () => {
  it('refuse a duplicate address or a second address for one interface, written directly', async () => {
    const id = nid('constraint');
    await f.ipam.defineNetwork(f.pool, small(id));
    const a = await f.ipam.allocate(f.pool, { networkId: id, interfaceId: 'e1', mode: 'dynamic' });
    const insert = (address: number, iface: string) =>
      f.pool.query("INSERT INTO ipam.allocation (network_id, address, interface_id, mode) VALUES ($1, $2, $3, 'dynamic')", [id, address, iface]);
    const dupAddress = await rejection(insert(parseIpv4('10.50.0.2'), 'e2'));
    expect(a!.address).toBe('10.50.0.2');
    expect((dupAddress as unknown as { code: string; constraint: string }).code).toBe('23505');
    expect((dupAddress as unknown as { constraint: string }).constraint).toBe('allocation_pkey');
    const dupIface = await rejection(insert(parseIpv4('10.50.0.3'), 'e1'));
    expect((dupIface as unknown as { constraint: string }).constraint).toBe('allocation_network_id_interface_id_key');
    // Nor an address outside the CIDR or on a reserved address (a trigger: CHECK cannot see the network).
    for (const [address, why] of [
      ['10.51.0.7', `address ${parseIpv4('10.51.0.7')} is outside the CIDR of network ${id}`],
      ['10.50.0.1', `address ${parseIpv4('10.50.0.1')} is a reserved address of network ${id}`],
      ['10.50.0.255', `address ${parseIpv4('10.50.0.255')} is a reserved address of network ${id}`],
    ] as const) {
      const e = (await rejection(insert(parseIpv4(address), `x-${address}`))) as unknown as { code: string; message: string };
      expect(e.code).toBe('23514');
      expect(e.message).toBe(why);
    }
    // And a network with allocations cannot be deleted behind IPAM's back.
    const fk = await rejection(f.pool.query('DELETE FROM ipam.network WHERE id = $1', [id]));
    expect((fk as unknown as { code: string }).code).toBe('23503');
  });
});
