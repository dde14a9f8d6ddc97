import { describe, expect, it } from 'vitest';
import { MIN_REVERSE_PREFIX, reverseName, reverseZonesFor } from '../src/index';

describe('reverseZonesFor', () => {
  it('gives one zone for a /24', () => {
    expect(reverseZonesFor('10.81.2.0/24')).toEqual(['2.81.10.in-addr.arpa.']);
  });

  it('gives one zone for a /16', () => {
    expect(reverseZonesFor('10.90.0.0/16')).toEqual(['90.10.in-addr.arpa.']);
  });

  it('splits a /20 into its sixteen /24 zones', () => {
    const zones = reverseZonesFor('10.81.16.0/20');
    expect(zones).toHaveLength(16);
    expect(zones[0]).toBe('16.81.10.in-addr.arpa.');
    expect(zones[15]).toBe('31.81.10.in-addr.arpa.');
    expect(new Set(zones).size).toBe(16);
    zones.forEach((z, i) => expect(z).toBe(`${16 + i}.81.10.in-addr.arpa.`));
  });

  it('splits a /17 into 128 /24 zones, and a /23 into two', () => {
    const z17 = reverseZonesFor('10.90.128.0/17');
    expect(z17).toHaveLength(128);
    expect(z17[0]).toBe('128.90.10.in-addr.arpa.');
    expect(z17[127]).toBe('255.90.10.in-addr.arpa.');
    expect(reverseZonesFor('10.81.4.0/23')).toEqual(['4.81.10.in-addr.arpa.', '5.81.10.in-addr.arpa.']);
  });

  it('gives the enclosing /24 for prefixes longer than /24', () => {
    expect(reverseZonesFor('10.81.2.64/26')).toEqual(['2.81.10.in-addr.arpa.']);
    expect(reverseZonesFor('10.81.2.252/30')).toEqual(['2.81.10.in-addr.arpa.']);
    expect(reverseZonesFor('10.81.2.7/32')).toEqual(['2.81.10.in-addr.arpa.']);
  });

  it('works above 128.0.0.0 (no sign trouble)', () => {
    expect(reverseZonesFor('192.168.1.0/24')).toEqual(['1.168.192.in-addr.arpa.']);
    const z = reverseZonesFor('255.255.240.0/20');
    expect(z[0]).toBe('240.255.255.in-addr.arpa.');
    expect(z[15]).toBe('255.255.255.in-addr.arpa.');
  });

  it('gives the network’s zones when the CIDR has host bits set', () => {
    expect(reverseZonesFor('10.81.2.77/24')).toEqual(['2.81.10.in-addr.arpa.']);
    expect(reverseZonesFor('10.90.5.5/16')).toEqual(['90.10.in-addr.arpa.']);
    expect(reverseZonesFor('10.81.23.9/20')).toEqual(reverseZonesFor('10.81.16.0/20'));
  });

  it(`refuses prefixes shorter than /${MIN_REVERSE_PREFIX}`, () => {
    expect(MIN_REVERSE_PREFIX).toBe(16);
    expect(() => reverseZonesFor('10.0.0.0/8')).toThrow(/prefixes of \/16 or longer/);
    expect(() => reverseZonesFor('172.16.0.0/12')).toThrow(/prefixes of \/16 or longer/);
    expect(() => reverseZonesFor('10.80.0.0/15')).toThrow(/prefixes of \/16 or longer/);
    expect(() => reverseZonesFor('0.0.0.0/0')).toThrow(/prefixes of \/16 or longer/);
  });

  it.each(['10.81.2.0', '10.81.2.0/33', '10.81.2.0/-1', '10.81.2.0/abc', '10.81.2.0/'])('refuses %j: no prefix length 0-32', (cidr) => {
    expect(() => reverseZonesFor(cidr)).toThrow(/prefix length 0-32/);
  });

  it.each(['10.81.2.0/0x18', '10.81.2.0/ 24', '10.81.2.0/24.0', '10.81.2.0/24/8', '10.81.2.0/1e1'])('refuses %j, a prefix length not written as digits', (cidr) => {
    expect(() => reverseZonesFor(cidr)).toThrow(/prefix length 0-32/);
  });

  it.each(['nonsense/24', '10.81.2/24', '256.0.0.0/24', '10.81.2.0.1/24', 'fd00::/24', '/24'])('refuses %j: not an IPv4 address', (cidr) => {
    expect(() => reverseZonesFor(cidr)).toThrow(/is not an IPv4 address/);
  });
});

describe('reverseName', () => {
  it('is the address reversed under in-addr.arpa', () => {
    expect(reverseName('10.81.2.5')).toBe('5.2.81.10.in-addr.arpa.');
    expect(reverseName('192.168.0.255')).toBe('255.0.168.192.in-addr.arpa.');
  });

  it('lies in the reverse zone of its network', () => {
    const [zone] = reverseZonesFor('10.81.2.0/24');
    expect(reverseName('10.81.2.5').endsWith(`.${zone}`)).toBe(true);
  });

  it.each(['10.81.2', '10.81.2.256', 'fd00::1', '10.81.2.5/24', ''])('refuses %j', (ip) => {
    expect(() => reverseName(ip)).toThrow(/is not an IPv4 address/);
  });
});
