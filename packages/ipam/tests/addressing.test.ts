import { describe, expect, it } from 'vitest';
import { type AddressingSpec, IpamErrorCode, resolveAddressing, usableInPool, validateAddressing } from '../src/index';
import { parseCidr, parseIpv4 } from '../src/index';

const ok: AddressingSpec = {
  id: 'cluster/db',
  cidr: '10.30.0.0/24',
  gateway: '10.30.0.1',
  pools: [
    { start: '10.30.0.10', end: '10.30.0.99' },
    { start: '10.30.0.200', end: '10.30.0.254' },
  ],
};

const infos = (spec: unknown) => validateAddressing(spec as AddressingSpec).map((e) => e.info);

describe('validateAddressing', () => {
  it('accepts a valid spec', () => {
    expect(validateAddressing(ok)).toEqual([]);
  });

  it('accepts pools that include the network, broadcast and gateway addresses (they are skipped, not errors)', () => {
    expect(validateAddressing({ ...ok, pools: [{ start: '10.30.0.0', end: '10.30.0.255' }] })).toEqual([]);
  });

  it('id syntax', () => {
    for (const id of ['', 'a b', 'tab\there', 'x'.repeat(254), 42, undefined]) {
      expect(infos({ ...ok, id })).toEqual([
        {
          code: IpamErrorCode.INVALID_ID,
          message: `/id: ${JSON.stringify(id) ?? 'undefined'} is not a valid id (a string of 1 to 253 characters without whitespace or control characters)`,
          path: '/id',
          rule: 'id-syntax',
          details: { value: id },
        },
      ]);
    }
    expect(validateAddressing({ ...ok, id: 'x'.repeat(253) })).toEqual([]);
    expect(validateAddressing({ ...ok, id: 'tenant-ä/net_1.2' })).toEqual([]);
  });

  it('cidr syntax', () => {
    const [e, ...rest] = infos({ ...ok, cidr: '10.30.0.1/24' });
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      code: IpamErrorCode.INVALID_ADDRESS,
      path: '/cidr',
      message: '/cidr: "10.30.0.1/24" has host bits set: the /24 network containing 10.30.0.1 is 10.30.0.0/24',
    });
  });

  it('cidr too small for a gateway and a host', () => {
    for (const cidr of ['10.30.0.0/31', '10.30.0.1/32']) {
      expect(infos({ ...ok, cidr, pools: [{ start: '10.30.0.1', end: '10.30.0.1' }] })).toEqual([
        {
          code: IpamErrorCode.CIDR_TOO_SMALL,
          message: `/cidr: ${cidr} is too small: a network needs a prefix of /30 or shorter (network, gateway, one host, broadcast)`,
          path: '/cidr',
          rule: 'cidr-has-hosts',
          details: { cidr },
        },
      ]);
    }
    expect(validateAddressing({ ...ok, cidr: '10.30.0.0/30', pools: [{ start: '10.30.0.0', end: '10.30.0.3' }] })).toEqual([]);
  });

  it('gateway syntax', () => {
    expect(infos({ ...ok, gateway: '10.30.0.256' })).toEqual([
      {
        code: IpamErrorCode.INVALID_ADDRESS,
        message: '/gateway: "10.30.0.256" is not a valid IPv4 address: octet 4 is 256, above 255',
        path: '/gateway',
        rule: 'ipv4-syntax',
        details: { value: '10.30.0.256' },
      },
    ]);
  });

  it('gateway inside the cidr', () => {
    expect(infos({ ...ok, gateway: '10.31.0.1' })).toEqual([
      {
        code: IpamErrorCode.GATEWAY_OUTSIDE_CIDR,
        message: "/gateway: gateway 10.31.0.1 is not inside the network's CIDR 10.30.0.0/24",
        path: '/gateway',
        rule: 'gateway-inside-cidr',
        details: { gateway: '10.31.0.1', cidr: '10.30.0.0/24' },
      },
    ]);
  });

  it('gateway is not the network or broadcast address', () => {
    expect(infos({ ...ok, gateway: '10.30.0.0' })).toEqual([
      {
        code: IpamErrorCode.GATEWAY_RESERVED,
        message: '/gateway: gateway 10.30.0.0 is the network address of 10.30.0.0/24, not a host address',
        path: '/gateway',
        rule: 'gateway-is-host',
        details: { gateway: '10.30.0.0', cidr: '10.30.0.0/24', reservedAs: 'network' },
      },
    ]);
    expect(infos({ ...ok, gateway: '10.30.0.255' })[0]!.message).toBe(
      '/gateway: gateway 10.30.0.255 is the broadcast address of 10.30.0.0/24, not a host address',
    );
  });

  it('at least one pool', () => {
    for (const pools of [[], undefined, 'all']) {
      expect(infos({ ...ok, pools })).toEqual([
        {
          code: IpamErrorCode.NO_POOLS,
          message: '/pools: network cluster/db needs at least one allocation pool',
          path: '/pools',
          rule: 'pools-required',
          details: { networkId: 'cluster/db' },
        },
      ]);
    }
  });

  it('pool start and end syntax, with the pool index in the path', () => {
    expect(infos({ ...ok, pools: [ok.pools[0], { start: '10.30.0.300', end: 'x' }] })).toEqual([
      expect.objectContaining({
        code: IpamErrorCode.INVALID_ADDRESS,
        path: '/pools/1/start',
        message: '/pools/1/start: "10.30.0.300" is not a valid IPv4 address: octet 4 is 300, above 255',
      }),
      expect.objectContaining({
        code: IpamErrorCode.INVALID_ADDRESS,
        path: '/pools/1/end',
        message: '/pools/1/end: "x" is not a dotted-quad IPv4 address such as 10.0.0.1',
      }),
    ]);
    expect(infos({ ...ok, pools: [null] })[0]!.message).toBe('/pools/0/start: undefined is not a dotted-quad IPv4 address such as 10.0.0.1');
  });

  it('pool start not above end', () => {
    expect(infos({ ...ok, pools: [ok.pools[0], { start: '10.30.0.150', end: '10.30.0.140' }] })).toEqual([
      {
        code: IpamErrorCode.POOL_RANGE_INVERTED,
        message: '/pools/1: start 10.30.0.150 is above end 10.30.0.140',
        path: '/pools/1',
        rule: 'pool-start-not-above-end',
        details: { index: 1, start: '10.30.0.150', end: '10.30.0.140' },
      },
    ]);
  });

  it('pool inside the cidr (partly outside counts)', () => {
    expect(infos({ ...ok, pools: [{ start: '10.30.0.200', end: '10.30.1.10' }] })).toEqual([
      {
        code: IpamErrorCode.POOL_OUTSIDE_CIDR,
        message: "/pools/0: pool 10.30.0.200-10.30.1.10 is not inside the network's CIDR 10.30.0.0/24",
        path: '/pools/0',
        rule: 'pool-inside-cidr',
        details: { index: 0, pool: '10.30.0.200-10.30.1.10', cidr: '10.30.0.0/24' },
      },
    ]);
    expect(infos({ ...ok, pools: [{ start: '10.29.255.250', end: '10.30.0.5' }] })[0]!.code).toBe(IpamErrorCode.POOL_OUTSIDE_CIDR);
  });

  it('pool with at least one address to hand out', () => {
    expect(infos({ ...ok, pools: [ok.pools[0], { start: '10.30.0.0', end: '10.30.0.1' }] })).toEqual([
      {
        code: IpamErrorCode.POOL_WITHOUT_USABLE_ADDRESS,
        message: '/pools/1: pool 10.30.0.0-10.30.0.1 has no address to hand out (network, broadcast and gateway addresses never are)',
        path: '/pools/1',
        rule: 'pool-has-usable-address',
        details: { index: 1, pool: '10.30.0.0-10.30.0.1' },
      },
    ]);
  });

  it('pools pairwise disjoint: the later pool is blamed, naming the earlier', () => {
    const pools = [
      { start: '10.30.0.50', end: '10.30.0.60' },
      { start: '10.30.0.10', end: '10.30.0.20' },
      { start: '10.30.0.20', end: '10.30.0.30' }, // shares .20 with pool 1
      { start: '10.30.0.55', end: '10.30.0.55' }, // inside pool 0
    ];
    expect(infos({ ...ok, pools })).toEqual([
      {
        code: IpamErrorCode.POOLS_OVERLAP,
        message: '/pools/2: pool 10.30.0.20-10.30.0.30 overlaps pool 1 (10.30.0.10-10.30.0.20)',
        path: '/pools/2',
        rule: 'pools-disjoint',
        details: { first: { index: 1, pool: '10.30.0.10-10.30.0.20' }, second: { index: 2, pool: '10.30.0.20-10.30.0.30' } },
      },
      expect.objectContaining({ path: '/pools/3', message: '/pools/3: pool 10.30.0.55-10.30.0.55 overlaps pool 0 (10.30.0.50-10.30.0.60)' }),
    ]);
    // Adjacent is not overlapping.
    expect(validateAddressing({ ...ok, pools: [{ start: '10.30.0.10', end: '10.30.0.19' }, { start: '10.30.0.20', end: '10.30.0.30' }] })).toEqual([]);
  });

  it('reports every problem at once, in field order', () => {
    const codes = infos({ id: '', cidr: '10.30.0.0/24', gateway: '10.99.0.1', pools: [{ start: '10.30.0.9', end: '10.30.0.1' }, { start: '10.40.0.1', end: '10.40.0.2' }] }).map(
      (i) => i.code,
    );
    expect(codes).toEqual([IpamErrorCode.INVALID_ID, IpamErrorCode.GATEWAY_OUTSIDE_CIDR, IpamErrorCode.POOL_RANGE_INVERTED, IpamErrorCode.POOL_OUTSIDE_CIDR]);
  });

  it('does not check containment against a CIDR it could not parse', () => {
    expect(infos({ ...ok, cidr: 'nope' }).map((i) => i.path)).toEqual(['/cidr']);
  });

  it('agrees with a brute-force overlap model on random pool lists (seeded)', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const pools = Array.from({ length: 1 + rnd(5) }, () => {
        const a = 2 + rnd(60);
        return { start: `10.30.0.${a}`, end: `10.30.0.${a + rnd(10)}` };
      });
      const overlapping = new Set<number>();
      pools.forEach((p, j) => {
        for (let k = 0; k < j; k++) {
          const [s1, e1, s2, e2] = [p.start, p.end, pools[k]!.start, pools[k]!.end].map((x) => parseIpv4(x));
          if (s1! <= e2! && s2! <= e1!) overlapping.add(Math.max(j, k));
        }
      });
      const blamed = validateAddressing({ ...ok, pools }).map((e) => e.info.path);
      // Every pool the model finds overlapping an earlier one is reported, and nothing else.
      expect(blamed.every((p) => p!.startsWith('/pools/'))).toBe(true);
      expect(new Set(blamed).size).toBeLessThanOrEqual(overlapping.size);
      expect(blamed.length === 0).toBe(overlapping.size === 0);
    }
  });
});

describe('resolveAddressing and usableInPool', () => {
  it('resolves a valid spec to numbers', () => {
    const a = resolveAddressing(ok);
    expect(a.cidr.text).toBe('10.30.0.0/24');
    expect(a.gateway).toBe(parseIpv4('10.30.0.1'));
    expect(a.pools).toEqual([
      { first: parseIpv4('10.30.0.10'), last: parseIpv4('10.30.0.99') },
      { first: parseIpv4('10.30.0.200'), last: parseIpv4('10.30.0.254') },
    ]);
  });

  it('throws the first problem', () => {
    expect(() => resolveAddressing({ ...ok, gateway: '10.31.0.1', pools: [] })).toThrow(
      "/gateway: gateway 10.31.0.1 is not inside the network's CIDR 10.30.0.0/24",
    );
  });

  it('counts usable addresses: network, broadcast and gateway excluded', () => {
    const cidr = parseCidr('10.30.0.0/24');
    const gw = parseIpv4('10.30.0.1');
    expect(usableInPool({ first: cidr.first, last: cidr.last }, cidr, gw)).toBe(253);
    expect(usableInPool({ first: parseIpv4('10.30.0.10'), last: parseIpv4('10.30.0.19') }, cidr, gw)).toBe(10);
    expect(usableInPool({ first: parseIpv4('10.30.0.1'), last: parseIpv4('10.30.0.2') }, cidr, gw)).toBe(1);
  });
});
