// The done-when of the issue: 1,000 concurrent allocations in one pool, no duplicate, a clean
// exhaustion error after the last — on a real PostgreSQL, from many connections at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Allocation, type AddressingSpec, Ipam, IpamErrorCode, PoolExhausted, parseIpv4 } from '../src/index';
import { type IpamFixture, ipamFixture, rejection, tables } from './fixture';

const CONNECTIONS = 50;
let f: IpamFixture;

beforeAll(async () => {
  f = await ipamFixture(CONNECTIONS);
});
afterAll(async () => {
  await f?.dispose();
});

// Exactly 1,000 usable addresses in three discontinuous pools; the gateway sits inside the first
// pool (256 addresses, 255 usable), so skipping it is part of the count.
const spec: AddressingSpec = {
  id: 'cluster/big',
  cidr: '10.20.0.0/16',
  gateway: '10.20.1.1',
  pools: [
    { start: '10.20.1.0', end: '10.20.1.255' }, // 256, minus the gateway = 255
    { start: '10.20.3.0', end: '10.20.4.143' }, // 256 + 144 = 400
    { start: '10.20.9.10', end: '10.20.10.98' }, // 246 + 99 = 345
  ],
};
const inPools = (address: string) => {
  const n = parseIpv4(address);
  return spec.pools.some((p) => n >= parseIpv4(p.start) && n <= parseIpv4(p.end));
};

/** Starts all requests at once and waits for every one (fulfilled or not). */
async function race<T>(n: number, fn: (i: number) => Promise<T>) {
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => fn(i)));
  return {
    ok: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    failed: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
}

describe('1,000 concurrent dynamic allocations', () => {
  it(`from ${CONNECTIONS} connections: 1,000 distinct addresses inside the pools, then PoolExhausted`, async () => {
    await f.ipam.defineNetwork(f.pool, spec);
    expect(await f.ipam.usage(f.pool, spec.id)).toEqual({ usable: 1000, allocated: 0, free: 1000, outsidePools: 0 });

    // Every request takes a connection of its own from the pool (with 1,000 queued on 50).
    const { ok, failed } = await race(1000, (i) => f.ipam.allocate(f.pool, { networkId: spec.id, interfaceId: `c${i}`, mode: 'dynamic' }));
    expect(failed).toEqual([]);
    expect(f.pool.totalCount).toBe(CONNECTIONS);
    const addresses = (ok as Allocation[]).map((a) => a.address);
    expect(addresses).toHaveLength(1000);
    expect(new Set(addresses).size).toBe(1000);
    expect(addresses.every(inPools)).toBe(true);
    expect(addresses).not.toContain(spec.gateway);
    // Each interface got the address the table says it holds.
    const stored = new Map((await f.ipam.allocations(f.pool, spec.id)).map((a) => [a.interfaceId, a.address]));
    expect(stored.size).toBe(1000);
    for (const a of ok as Allocation[]) expect(stored.get(a.interfaceId)).toBe(a.address);
    expect(await f.ipam.usage(f.pool, spec.id)).toEqual({ usable: 1000, allocated: 1000, free: 0, outsidePools: 0 });

    const before = await tables(f.pool);
    const err = await rejection(f.ipam.allocate(f.pool, { networkId: spec.id, interfaceId: 'c1000', mode: 'dynamic' }));
    expect(err).toBeInstanceOf(PoolExhausted);
    expect(err.info.code).toBe(IpamErrorCode.POOL_EXHAUSTED);
    expect(err.info.message).toBe(
      'network cluster/big has no free address: all 1000 usable addresses of its 3 pool(s) are allocated ' +
        '(10.20.1.0-10.20.1.255: 255, 10.20.3.0-10.20.4.143: 400, 10.20.9.10-10.20.10.98: 345)',
    );
    expect(await tables(f.pool)).toEqual(before);
  });

  it('more requests than addresses at once: exactly the usable number succeed, the rest get PoolExhausted', async () => {
    const id = 'cluster/over';
    await f.ipam.defineNetwork(f.pool, { id, cidr: '10.21.0.0/24', gateway: '10.21.0.1', pools: [{ start: '10.21.0.2', end: '10.21.0.101' }, { start: '10.21.0.201', end: '10.21.0.250' }] });
    const { ok, failed } = await race(200, (i) => f.ipam.allocate(f.pool, { networkId: id, interfaceId: `o${i}`, mode: 'dynamic' }));
    expect(ok).toHaveLength(150);
    expect(new Set((ok as Allocation[]).map((a) => a.address)).size).toBe(150);
    expect(failed).toHaveLength(50);
    expect(failed.every((e) => e instanceof PoolExhausted)).toBe(true);
  });
});

describe('without the network row lock the constraints alone keep addresses unique', () => {
  it('racing allocators (lock off): distinct addresses, losers retried, exhaustion clean', async () => {
    const racy = new Ipam({ lockNetwork: false });
    const id = 'cluster/racy';
    await racy.defineNetwork(f.pool, { id, cidr: '10.22.0.0/24', gateway: '10.22.0.1', pools: [{ start: '10.22.0.10', end: '10.22.0.129' }] });
    const { ok, failed } = await race(150, (i) => racy.allocate(f.pool, { networkId: id, interfaceId: `r${i}`, mode: 'dynamic' }));
    const addresses = (ok as Allocation[]).map((a) => a.address);
    expect(addresses).toHaveLength(120);
    expect(new Set(addresses).size).toBe(120);
    expect(failed).toHaveLength(30);
    expect(failed.every((e) => e instanceof PoolExhausted)).toBe(true);
    expect(await racy.usage(f.pool, id)).toEqual({ usable: 120, allocated: 120, free: 0, outsidePools: 0 });
  });

  it('racing static requests for one address (lock off): one wins, every other one is told who holds it', async () => {
    const racy = new Ipam({ lockNetwork: false });
    const id = 'cluster/static-race';
    await racy.defineNetwork(f.pool, { id, cidr: '10.23.0.0/24', gateway: '10.23.0.1', pools: [{ start: '10.23.0.10', end: '10.23.0.20' }] });
    const { ok, failed } = await race(40, (i) => racy.allocate(f.pool, { networkId: id, interfaceId: `s${i}`, mode: 'static', address: '10.23.0.50' }));
    expect(ok).toHaveLength(1);
    const winner = (ok[0] as Allocation).interfaceId;
    expect(failed).toHaveLength(39);
    for (const e of failed) {
      expect((e as { info: { code: string; message: string } }).info).toMatchObject({
        code: IpamErrorCode.ADDRESS_TAKEN,
        message: `/address: 10.23.0.50 on network ${id} is already held by interface ${winner}`,
      });
    }
  });

  it('the same interface asking on many connections at once gets one address', async () => {
    const id = 'cluster/same-iface';
    for (const ipam of [f.ipam, new Ipam({ lockNetwork: false })]) {
      await ipam.defineNetwork(f.pool, { id, cidr: '10.24.0.0/24', gateway: '10.24.0.1', pools: [{ start: '10.24.0.10', end: '10.24.0.200' }] });
      const { ok, failed } = await race(30, () => ipam.allocate(f.pool, { networkId: id, interfaceId: 'one', mode: 'dynamic' }));
      expect(failed).toEqual([]);
      expect(new Set((ok as Allocation[]).map((a) => a.address))).toEqual(new Set(['10.24.0.10']));
      expect(await ipam.allocations(f.pool, id)).toHaveLength(1);
      await ipam.release(f.pool, id, 'one');
    }
  });
});

describe('redefinition racing allocations', () => {
  it('never leaves a dynamic allocation outside the pools that end up stored (lock on and off)', async () => {
    for (const [n, ipam] of [[0, f.ipam], [1, new Ipam({ lockNetwork: false })]] as const) {
      const id = `cluster/redefine-${n}`;
      const wide = { id, cidr: '10.25.0.0/24', gateway: '10.25.0.1', pools: [{ start: '10.25.0.10', end: '10.25.0.250' }] };
      const narrow = { ...wide, pools: [{ start: '10.25.0.10', end: '10.25.0.40' }] };
      await ipam.defineNetwork(f.pool, wide);
      const allocations = race(60, (i) => ipam.allocate(f.pool, { networkId: id, interfaceId: `a${i}`, mode: 'dynamic' }));
      // Flip the pools back and forth while the allocations run; narrowing is refused once an
      // allocation lies beyond .40, which is the point.
      const redefinitions = race(20, (i) => ipam.defineNetwork(f.pool, i % 2 ? wide : narrow));
      const [a, r] = await Promise.all([allocations, redefinitions]);
      for (const e of [...a.failed, ...r.failed]) {
        expect([IpamErrorCode.POOL_EXHAUSTED, IpamErrorCode.NETWORK_IN_USE]).toContain((e as { code: string }).code);
      }
      const stored = (await ipam.network(f.pool, id))!;
      const held = await ipam.allocations(f.pool, id);
      expect(held.length).toBe(a.ok.length);
      const last = parseIpv4(stored.pools[0]!.end);
      for (const h of held) expect(parseIpv4(h.address)).toBeLessThanOrEqual(last);
      expect(new Set(held.map((h) => h.address)).size).toBe(held.length);
    }
  });
});
