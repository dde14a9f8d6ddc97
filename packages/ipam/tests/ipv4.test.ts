import { describe, expect, it } from 'vitest';
import { InvalidAddress, IpamErrorCode, cidrContains, cidrWithin, cidrsOverlap, formatIpv4, parseCidr, parseIpv4 } from '../src/index';

/** Runs fn, expects an InvalidAddress, returns its info. */
function refused(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidAddress);
    return (err as InvalidAddress).info;
  }
  throw new Error('expected InvalidAddress, nothing was thrown');
}

describe('parseIpv4 / formatIpv4', () => {
  it('parses dotted quads to numbers, including the top half of the space', () => {
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('10.0.0.1')).toBe(167772161);
    expect(parseIpv4('192.168.1.255')).toBe(3232236031);
    expect(parseIpv4('255.255.255.255')).toBe(4294967295);
  });

  it('formats numbers back to canonical text', () => {
    expect(formatIpv4(0)).toBe('0.0.0.0');
    expect(formatIpv4(167772161)).toBe('10.0.0.1');
    expect(formatIpv4(4294967295)).toBe('255.255.255.255');
    expect(formatIpv4(2147483648)).toBe('128.0.0.0');
  });

  it('round-trips a spread of addresses', () => {
    for (let n = 0; n <= 4294967295; n += 16777259) expect(parseIpv4(formatIpv4(n))).toBe(n);
  });

  it('refuses a number outside 0 .. 2^32-1 when formatting', () => {
    expect(() => formatIpv4(-1)).toThrow(new RangeError('-1 is not an IPv4 address number (0 to 4294967295)'));
    expect(() => formatIpv4(4294967296)).toThrow(RangeError);
    expect(() => formatIpv4(1.5)).toThrow(RangeError);
  });

  it('refuses bad syntax with code, path and exact message', () => {
    for (const bad of ['', '10.0.0', '10.0.0.0.1', '10.0.0.x', ' 10.0.0.1', '10.0.0.1 ', '1e1.0.0.1', '10..0.1', '+1.0.0.1', '1000.0.0.1']) {
      const info = refused(() => parseIpv4(bad));
      expect(info).toEqual({
        code: IpamErrorCode.INVALID_ADDRESS,
        message: `/address: ${JSON.stringify(bad)} is not a dotted-quad IPv4 address such as 10.0.0.1`,
        path: '/address',
        rule: 'ipv4-syntax',
        details: { value: bad },
      });
    }
  });

  it('refuses a non-string at the given path', () => {
    expect(refused(() => parseIpv4(42 as unknown as string, '/gateway')).message).toBe(
      '/gateway: 42 is not a dotted-quad IPv4 address such as 10.0.0.1',
    );
    expect(refused(() => parseIpv4(undefined as unknown as string, '/pools/0/start')).message).toBe(
      '/pools/0/start: undefined is not a dotted-quad IPv4 address such as 10.0.0.1',
    );
  });

  it('refuses an octet above 255, naming it', () => {
    expect(refused(() => parseIpv4('10.0.256.1')).message).toBe('/address: "10.0.256.1" is not a valid IPv4 address: octet 3 is 256, above 255');
  });

  it('refuses leading zeros (octal to some parsers, decimal to others)', () => {
    expect(refused(() => parseIpv4('10.01.0.1')).message).toBe('/address: "10.01.0.1" is not a valid IPv4 address: octet 2 "01" has a leading zero');
  });
});

describe('parseCidr', () => {
  it('gives network, prefix, first, last and size', () => {
    expect(parseCidr('10.1.0.0/16')).toEqual({ text: '10.1.0.0/16', network: 167837696, prefix: 16, first: 167837696, last: 167903231, size: 65536 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ text: '0.0.0.0/0', network: 0, prefix: 0, first: 0, last: 4294967295, size: 4294967296 });
    expect(parseCidr('192.168.7.9/32')).toMatchObject({ first: 3232237321, last: 3232237321, size: 1 });
    expect(parseCidr('200.0.0.0/5')).toMatchObject({ text: '200.0.0.0/5', first: 3355443200, last: 3489660927 });
  });

  it('refuses a missing or malformed prefix', () => {
    for (const bad of ['10.0.0.0', '10.0.0/8', 'x/8']) {
      expect(refused(() => parseCidr(bad)).message).toBe(`/cidr: ${JSON.stringify(bad)} is not a CIDR such as 10.0.0.0/24`);
    }
    for (const bad of ['10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0.0/2x']) {
      expect(refused(() => parseCidr(bad)).message).toBe(
        `/cidr: ${JSON.stringify(bad)} is not a CIDR such as 10.0.0.0/24: the prefix length must be a number from 0 to 32`,
      );
    }
  });

  it('refuses a prefix above 32', () => {
    const info = refused(() => parseCidr('10.0.0.0/33', '/spec/cidr'));
    expect(info.path).toBe('/spec/cidr');
    expect(info.message).toBe('/spec/cidr: "10.0.0.0/33" is not a valid CIDR: prefix /33 is above 32');
  });

  it('refuses host bits set, naming the network meant', () => {
    expect(refused(() => parseCidr('10.0.0.5/24')).message).toBe(
      '/cidr: "10.0.0.5/24" has host bits set: the /24 network containing 10.0.0.5 is 10.0.0.0/24',
    );
    expect(refused(() => parseCidr('172.16.5.0/12')).message).toBe(
      '/cidr: "172.16.5.0/12" has host bits set: the /12 network containing 172.16.5.0 is 172.16.0.0/12',
    );
  });

  it('refuses a bad octet in the address part', () => {
    expect(refused(() => parseCidr('10.0.300.0/24')).message).toBe('/cidr: "10.0.300.0/24" is not a valid CIDR: octet 3 is 300, above 255');
    expect(refused(() => parseCidr('10.00.0.0/24')).message).toBe('/cidr: "10.00.0.0/24" is not a valid CIDR: octet 2 "00" has a leading zero');
  });
});

describe('CIDR relations', () => {
  const a = parseCidr('10.0.0.0/16');
  const b = parseCidr('10.0.4.0/22');
  const c = parseCidr('10.1.0.0/16');
  const all = parseCidr('0.0.0.0/0');

  it('contains', () => {
    expect(cidrContains(a, parseIpv4('10.0.255.255'))).toBe(true);
    expect(cidrContains(a, parseIpv4('10.0.0.0'))).toBe(true);
    expect(cidrContains(a, parseIpv4('10.1.0.0'))).toBe(false);
    expect(cidrContains(all, 4294967295)).toBe(true);
  });

  it('within: a child inside its parent, a CIDR within itself, not the reverse', () => {
    expect(cidrWithin(b, a)).toBe(true);
    expect(cidrWithin(a, a)).toBe(true);
    expect(cidrWithin(a, b)).toBe(false);
    expect(cidrWithin(c, a)).toBe(false);
    expect(cidrWithin(c, all)).toBe(true);
  });

  it('overlap is symmetric and true for nesting', () => {
    expect(cidrsOverlap(a, b)).toBe(true);
    expect(cidrsOverlap(b, a)).toBe(true);
    expect(cidrsOverlap(a, c)).toBe(false);
    expect(cidrsOverlap(parseCidr('10.0.3.0/24'), b)).toBe(false);
    expect(cidrsOverlap(parseCidr('10.0.7.0/24'), b)).toBe(true);
  });

  it('agrees with a brute-force model on random pairs (seeded)', () => {
    let seed = 0x5d1;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      // Small prefixes near each other so that overlaps happen often.
      const mk = () => {
        const prefix = 24 + rnd(9);
        const size = 2 ** (32 - prefix);
        const network = Math.floor((167772160 + rnd(1024)) / size) * size;
        return parseCidr(`${formatIpv4(network)}/${prefix}`);
      };
      const x = mk();
      const y = mk();
      let shared = 0;
      for (let addr = x.first; addr <= x.last; addr++) if (cidrContains(y, addr)) shared++;
      expect(cidrsOverlap(x, y)).toBe(shared > 0);
      expect(cidrWithin(x, y)).toBe(shared === x.size);
    }
  });
});
