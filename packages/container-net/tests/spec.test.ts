// Pure tests: validation of attach specs (every rule, its exact code and message), the derived
// names, and the reconcile buckets. The real-component tests are in plumber.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type AttachSpec,
  ContainerNetError,
  hostIfNameFor,
  peerIfNameFor,
  planReconcile,
  validateSpec,
  validateSpecs,
} from '../src/index';

const good: AttachSpec = {
  interfaceId: 'if-1',
  containerId: 'c-1',
  pid: 1234,
  ifname: 'eth0',
  mac: '02:42:0A:01:02:03',
  address: '10.1.2.3/24',
  gateway: '10.1.2.1',
  routes: [{ dst: '10.9.0.0/16', via: '10.1.2.254' }],
  mtu: 1400,
  networkId: 'tenant/app',
};

function refusal(fn: () => unknown): { code: string; message: string; path?: string; rule?: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ContainerNetError);
    const info = (e as ContainerNetError).info;
    expect((e as Error).message).toBe(info.message);
    return info;
  }
  throw new Error('expected a refusal');
}

const bad = (patch: Record<string, unknown>) => refusal(() => validateSpec({ ...good, ...patch } as AttachSpec));

describe('validateSpec', () => {
  it('resolves a good spec: lower-case MAC, default host name from the interface id', () => {
    const s = validateSpec(good);
    expect(s.mac).toBe('02:42:0a:01:02:03');
    expect(s.hostIfName).toBe(hostIfNameFor('if-1'));
    expect(s.peerIfName).toBe(peerIfNameFor(s.hostIfName));
    expect(s.routes).toEqual([{ dst: '10.9.0.0/16', via: '10.1.2.254' }]);
    expect(validateSpec({ ...good, hostIfName: 'veth-a' }).hostIfName).toBe('veth-a');
    const none = validateSpec({ ...good, address: null, gateway: undefined, routes: undefined });
    expect(none.address).toBeNull();
    expect(none.routes).toEqual([]);
  });

  it('INVALID_ID for interfaceId, containerId and networkId', () => {
    expect(bad({ interfaceId: '' })).toEqual({
      code: 'INVALID_ID',
      message: '/interfaceId: "" is not a valid id (a string of 1 to 253 characters without whitespace or control characters)',
      path: '/interfaceId',
      rule: 'id-syntax',
      details: { value: '' },
    });
    expect(bad({ containerId: 'a b' }).message).toBe(
      '/containerId: "a b" is not a valid id (a string of 1 to 253 characters without whitespace or control characters)',
    );
    expect(bad({ networkId: 7 }).message).toBe('/networkId: 7 is not a valid id (a string of 1 to 253 characters without whitespace or control characters)');
    expect(bad({ interfaceId: 'x'.repeat(254) }).code).toBe('INVALID_ID');
  });

  it('INVALID_PID', () => {
    for (const pid of [0, -1, 1.5, '12']) {
      expect(bad({ pid })).toMatchObject({ code: 'INVALID_PID', message: `/pid: ${JSON.stringify(pid)} is not a process id (a positive integer)`, path: '/pid', rule: 'pid' });
    }
  });

  it('INVALID_IFNAME for ifname (also lo) and hostIfName', () => {
    const msg = (path: string, v: unknown) =>
      `${path}: ${JSON.stringify(v)} is not a valid interface name (1 to 15 characters of letters, digits, '-', '_' or '.', not '.' or '..')`;
    for (const ifname of ['', 'a'.repeat(16), 'eth/0', 'eth:0', 'eth 0', '.', '..', 'lo']) {
      expect(bad({ ifname })).toMatchObject({ code: 'INVALID_IFNAME', message: msg('/ifname', ifname), path: '/ifname', rule: 'ifname-syntax' });
    }
    expect(bad({ hostIfName: 'x'.repeat(16) })).toMatchObject({ code: 'INVALID_IFNAME', message: msg('/hostIfName', 'x'.repeat(16)), path: '/hostIfName' });
  });

  it('INVALID_MAC: syntax, multicast, all zero', () => {
    expect(bad({ mac: '02:42:0a:01:02' })).toMatchObject({
      code: 'INVALID_MAC',
      message: '/mac: "02:42:0a:01:02" is not a MAC address (six hex octets separated by colons)',
      path: '/mac',
      rule: 'unicast-mac',
    });
    expect(bad({ mac: '01:00:5e:00:00:01' }).message).toBe('/mac: "01:00:5e:00:00:01" is a multicast or broadcast address, not a unicast one');
    expect(bad({ mac: 'ff:ff:ff:ff:ff:ff' }).code).toBe('INVALID_MAC');
    expect(bad({ mac: '00:00:00:00:00:00' }).message).toBe('/mac: "00:00:00:00:00:00" is the all-zero address');
  });

  it('INVALID_MTU', () => {
    for (const mtu of [67, 65536, 1500.5, '1500']) {
      expect(bad({ mtu })).toMatchObject({ code: 'INVALID_MTU', message: `/mtu: ${JSON.stringify(mtu)} is not a valid MTU (an integer from 68 to 65535)`, path: '/mtu', rule: 'mtu-range' });
    }
  });

  it('INVALID_ADDRESS: address, gateway, route dst and via', () => {
    const cidrMsg = (v: string) => `/address: ${JSON.stringify(v)} is not an IPv4 address with prefix length (e.g. 10.1.2.3/24) or null`;
    for (const address of ['10.1.2.3', '10.1.2.256/24', '10.1.2.3/33', '010.1.2.3/24', 'fe80::1/64']) {
      expect(bad({ address })).toMatchObject({ code: 'INVALID_ADDRESS', message: cidrMsg(address), path: '/address', rule: 'ipv4-syntax' });
    }
    expect(bad({ address: '10.1.2.3/0' }).message).toBe('/address: "10.1.2.3/0" needs a prefix length from 1 to 32');
    expect(bad({ gateway: '10.1.2' })).toMatchObject({ code: 'INVALID_ADDRESS', message: '/gateway: "10.1.2" is not an IPv4 address (dotted quad)', path: '/gateway' });
    expect(bad({ routes: [{ dst: '10.9.0.1/16', via: '10.1.2.254' }] })).toMatchObject({
      code: 'INVALID_ADDRESS',
      message: '/routes/0/dst: "10.9.0.1/16" is not a network in CIDR notation (e.g. 10.2.0.0/16, no host bits set)',
      path: '/routes/0/dst',
    });
    expect(bad({ routes: [{ dst: '10.9.0.0/16', via: 'x' }] }).message).toBe('/routes/0/via: "x" is not an IPv4 address (dotted quad)');
  });

  it('GATEWAY_WITHOUT_ADDRESS: a gateway or routes on an interface without address', () => {
    expect(bad({ address: null, routes: [] })).toMatchObject({
      code: 'GATEWAY_WITHOUT_ADDRESS',
      message: '/gateway: an interface without an address cannot have a gateway or routes',
      path: '/gateway',
      rule: 'gateway-needs-address',
    });
    expect(bad({ address: null, gateway: undefined }).message).toBe('/routes/0: an interface without an address cannot have a gateway or routes');
  });

  it('GATEWAY_NOT_ON_LINK: outside the subnet, or the own address', () => {
    expect(bad({ gateway: '10.1.3.1' })).toEqual({
      code: 'GATEWAY_NOT_ON_LINK',
      message: '/gateway: "10.1.3.1" is not another address in the subnet of 10.1.2.3/24, so it cannot be reached on this link',
      path: '/gateway',
      rule: 'gateway-on-link',
      details: { value: '10.1.3.1', address: '10.1.2.3/24' },
    });
    expect(bad({ gateway: '10.1.2.3' }).code).toBe('GATEWAY_NOT_ON_LINK');
    expect(bad({ routes: [{ dst: '10.9.0.0/16', via: '192.168.0.1' }] }).message).toBe(
      '/routes/0/via: "192.168.0.1" is not another address in the subnet of 10.1.2.3/24, so it cannot be reached on this link',
    );
  });
});

describe('validateSpecs', () => {
  const second: AttachSpec = { ...good, interfaceId: 'if-2', ifname: 'eth1', mac: '02:42:0a:01:02:04' };

  it('prefixes paths with the index', () => {
    expect(refusal(() => validateSpecs([good, { ...second, pid: 0 }])).path).toBe('/1/pid');
  });

  it('DUPLICATE_INTERFACE: interface id, host name, ifname in one container', () => {
    expect(refusal(() => validateSpecs([good, { ...second, interfaceId: 'if-1' }]))).toEqual({
      code: 'DUPLICATE_INTERFACE',
      message: '/1/interfaceId: interface id "if-1" is already used by /0',
      path: '/1/interfaceId',
      rule: 'unique',
      details: { what: 'interface id', value: 'if-1', firstIndex: 0 },
    });
    expect(refusal(() => validateSpecs([good, { ...second, hostIfName: hostIfNameFor('if-1') }])).message).toBe(
      `/1/hostIfName: host interface name "${hostIfNameFor('if-1')}" is already used by /0`,
    );
    expect(refusal(() => validateSpecs([good, { ...second, ifname: 'eth0' }])).message).toBe(
      '/1/ifname: interface name in container "c-1" "eth0" is already used by /0',
    );
    // The same ifname in another container is fine.
    expect(validateSpecs([good, { ...second, ifname: 'eth0', containerId: 'c-2' }])).toHaveLength(2);
  });
});

describe('names', () => {
  it('host names are deterministic, 15 characters, distinct per id; the peer name differs', () => {
    const a = hostIfNameFor('tenant/app/web-1/eth0');
    expect(a).toBe(hostIfNameFor('tenant/app/web-1/eth0'));
    expect(a).toMatch(/^sv[0-9a-f]{13}$/);
    expect(hostIfNameFor('tenant/app/web-1/eth1')).not.toBe(a);
    expect(peerIfNameFor(a)).toHaveLength(15);
    expect(peerIfNameFor(a)).not.toBe(a);
    expect(peerIfNameFor('abcp')).toBe('abcq');
  });
});

describe('planReconcile', () => {
  const [a, b, c] = validateSpecs([
    { ...good, interfaceId: 'a', containerId: 'c1' },
    { ...good, interfaceId: 'b', containerId: 'c2', mac: '02:00:00:00:00:02' },
    { ...good, interfaceId: 'c', containerId: 'c1', ifname: 'eth1', mac: '02:00:00:00:00:03' },
  ]);

  it('attaches desired interfaces of live containers in order, skips the others, detaches the rest once', () => {
    const plan = planReconcile([a!, b!, c!], [{ interfaceId: 'a' }, { interfaceId: 'b' }, { interfaceId: 'old' }], [{ interfaceId: 'old' }, { interfaceId: 'crashed' }], new Map([['c1', 10]]));
    expect(plan.attach.map((s) => s.interfaceId)).toEqual(['a', 'c']);
    expect(plan.skip.map((s) => s.interfaceId)).toEqual(['b']);
    expect(plan.detach).toEqual(['b', 'old', 'crashed']);
  });

  it('nothing desired: everything goes; nothing observed: nothing to detach', () => {
    expect(planReconcile([], [{ interfaceId: 'a' }], [], new Map()).detach).toEqual(['a']);
    expect(planReconcile([a!], [], [], new Map([['c1', 1]]))).toEqual({ attach: [a], detach: [], skip: [] });
  });
});
