// Name normalisation and refusal, without a server: every refusal has its own reason.
import { describe, expect, it } from 'vitest';
import { InvalidDnsName, NameOutsideZone, absoluteName, isInZone, isValidLabel } from '../src/index';
import { nameInZone } from '../src/internal';

describe('absoluteName', () => {
  it('lower-cases and adds the trailing dot', () => {
    expect(absoluteName('Web.T3F9A.sdmi.test', 'x')).toBe('web.t3f9a.sdmi.test.');
    expect(absoluteName('web.sdmi.test.', 'x')).toBe('web.sdmi.test.');
    expect(absoluteName('_http._tcp.svc.sdmi.test', 'x')).toBe('_http._tcp.svc.sdmi.test.');
    expect(absoluteName('1-2.xn--bcher-kva.test', 'x')).toBe('1-2.xn--bcher-kva.test.');
  });

  it.each([
    ['', 'it is empty'],
    ['.', 'the root is not a name we manage'],
    ['a..b', 'it has an empty label (two dots in a row, or a leading dot)'],
    ['.a.b', 'it has an empty label (two dots in a row, or a leading dot)'],
    ['a.b..', 'it has an empty label (two dots in a row, or a leading dot)'],
    ['my_host.sdmi.test', 'label "my_host" holds "_": labels hold letters, digits and inner hyphens only (an underscore may only start one)'],
    ['web server.sdmi.test', 'label "web server" holds " ": labels hold letters, digits and inner hyphens only (an underscore may only start one)'],
    ['-web.sdmi.test', 'label "-web" starts or ends with a hyphen'],
    ['web-.sdmi.test', 'label "web-" starts or ends with a hyphen'],
    ['_.sdmi.test', 'label "_" has nothing but an underscore before its first letter or digit'],
    ['*.sdmi.test', 'label "*" holds "*": labels hold letters, digits and inner hyphens only (an underscore may only start one)'],
    ['bücher.test', 'label "bücher" holds "ü": labels hold letters, digits and inner hyphens only (an underscore may only start one)'],
    [`${'a'.repeat(64)}.test`, `label "${'a'.repeat(64)}" has 64 characters, at most 63 are allowed`],
    [`${'a'.repeat(60)}.`.repeat(4) + 'abcdefghijklm', 'it has 257 characters without the final dot, at most 253 are allowed'],
  ])('refuses %j: %s', (name, reason) => {
    const e = (() => {
      try {
        absoluteName(name, 'replaceRRset: rrset.name');
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(InvalidDnsName);
    expect((e as InvalidDnsName).message).toBe(`invalid DNS name ${JSON.stringify(name)} in replaceRRset: rrset.name: ${reason}`);
    expect(e).toMatchObject({ name: 'InvalidDnsName', value: name, where: 'replaceRRset: rrset.name', reason });
  });

  it('accepts the longest name and label', () => {
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(longest).toHaveLength(253);
    expect(absoluteName(longest, 'x')).toBe(`${longest}.`);
    expect(isValidLabel('A'.repeat(63))).toBe(true);
    expect(isValidLabel('a_b')).toBe(false);
  });
});

describe('zone membership', () => {
  it('is the apex or a name below it, by whole labels', () => {
    expect(isInZone('sdmi.test.', 'sdmi.test.')).toBe(true);
    expect(isInZone('a.b.sdmi.test.', 'sdmi.test.')).toBe(true);
    expect(isInZone('xsdmi.test.', 'sdmi.test.')).toBe(false);
    expect(isInZone('test.', 'sdmi.test.')).toBe(false);
    expect(nameInZone('WWW.sdmi.test', 'sdmi.test.', 'w')).toBe('www.sdmi.test.');
    expect(() => nameInZone('www.xsdmi.test', 'sdmi.test.', 'patchRRsets(sdmi.test.): changes[0].name')).toThrow(
      new NameOutsideZone('www.xsdmi.test.', 'sdmi.test.', 'patchRRsets(sdmi.test.): changes[0].name'),
    );
  });
});
