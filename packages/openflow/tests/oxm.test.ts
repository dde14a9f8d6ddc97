// One byte vector per OpenFlow 1.3 basic match field (OpenFlow 1.3.5 §7.2.2.7, table 12: field
// codes and sizes), plus masked forms where the spec allows a mask. The TLV bytes come from the
// test-only builder `tlv` below, whose inputs are literal hex.
import { type Match, type Oxm } from '@sdmi/openflow';
import { Reader, Writer, readMatch, readOxm, writeMatch, writeOxm } from '@sdmi/openflow/internal';
import { describe, expect, it } from 'vitest';

/** OXM TLV: class 0x8000 (OFPXMC_OPENFLOW_BASIC), field << 1 | HM, length, value [, mask]. */
function tlv(field: number, valueHex: string, maskHex?: string): Buffer {
  const payload = Buffer.from(valueHex + (maskHex ?? ''), 'hex');
  return Buffer.concat([Buffer.from([0x80, 0x00, (field << 1) | (maskHex ? 1 : 0), payload.length]), payload]);
}

// [field code, value bytes, mask bytes or '', decoded]
const cases: [number, string, string, Oxm][] = [
  [0, '00000001', '', { field: 'IN_PORT', value: 1 }],
  [1, 'fffffffe', '', { field: 'IN_PHY_PORT', value: 0xfffffffe }],
  [2, '0102030405060708', '', { field: 'METADATA', value: 0x0102030405060708n }],
  [2, '00000000000000ff', 'ffffffff000000ff', { field: 'METADATA', value: 0xffn, mask: 0xffffffff000000ffn }],
  [3, 'aabbccddeeff', '', { field: 'ETH_DST', value: 'aa:bb:cc:dd:ee:ff' }],
  [3, '010000000000', '010000000000', { field: 'ETH_DST', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }],
  [4, '001122334455', 'ffffffffff00', { field: 'ETH_SRC', value: '00:11:22:33:44:55', mask: 'ff:ff:ff:ff:ff:00' }],
  [5, '86dd', '', { field: 'ETH_TYPE', value: 0x86dd }],
  [6, '1064', '', { field: 'VLAN_VID', value: 0x1064 }], // OFPVID_PRESENT | 100
  [6, '1000', '1000', { field: 'VLAN_VID', value: 0x1000, mask: 0x1000 }], // any VLAN tag (§7.2.2.8)
  [7, '05', '', { field: 'VLAN_PCP', value: 5 }],
  [8, '2e', '', { field: 'IP_DSCP', value: 46 }],
  [9, '03', '', { field: 'IP_ECN', value: 3 }],
  [10, '06', '', { field: 'IP_PROTO', value: 6 }],
  [11, 'c0a80001', '', { field: 'IPV4_SRC', value: '192.168.0.1' }],
  [11, '0a000000', 'ff000000', { field: 'IPV4_SRC', value: '10.0.0.0', mask: '255.0.0.0' }],
  [12, '0a010203', 'ffffff00', { field: 'IPV4_DST', value: '10.1.2.3', mask: '255.255.255.0' }],
  [13, '0050', '', { field: 'TCP_SRC', value: 80 }],
  [14, '01bb', '', { field: 'TCP_DST', value: 443 }],
  [15, '0035', '', { field: 'UDP_SRC', value: 53 }],
  [16, '12b5', '', { field: 'UDP_DST', value: 4789 }],
  [17, '0b59', '', { field: 'SCTP_SRC', value: 2905 }],
  [18, '0b5a', '', { field: 'SCTP_DST', value: 2906 }],
  [19, '08', '', { field: 'ICMPV4_TYPE', value: 8 }],
  [20, '00', '', { field: 'ICMPV4_CODE', value: 0 }],
  [21, '0001', '', { field: 'ARP_OP', value: 1 }],
  [22, '0a000001', '', { field: 'ARP_SPA', value: '10.0.0.1' }],
  [22, '0a000000', 'ffffff00', { field: 'ARP_SPA', value: '10.0.0.0', mask: '255.255.255.0' }],
  [23, '0a000002', 'ffffffff', { field: 'ARP_TPA', value: '10.0.0.2', mask: '255.255.255.255' }],
  [24, '020000000001', '', { field: 'ARP_SHA', value: '02:00:00:00:00:01' }],
  [25, '020000000002', 'ffffffffffff', { field: 'ARP_THA', value: '02:00:00:00:00:02', mask: 'ff:ff:ff:ff:ff:ff' }],
  [26, '20010db8000000000000000000000001', '', { field: 'IPV6_SRC', value: '2001:db8::1' }],
  [
    27,
    '20010db8000100000000000000000000',
    'ffffffffffff00000000000000000000',
    { field: 'IPV6_DST', value: '2001:db8:1::', mask: 'ffff:ffff:ffff::' },
  ],
  [28, '000abcde', '', { field: 'IPV6_FLABEL', value: 0xabcde }],
  [28, '00012345', '000fffff', { field: 'IPV6_FLABEL', value: 0x12345, mask: 0xfffff }],
  [29, '87', '', { field: 'ICMPV6_TYPE', value: 135 }],
  [30, '00', '', { field: 'ICMPV6_CODE', value: 0 }],
  [31, 'fe800000000000000000000000000001', '', { field: 'IPV6_ND_TARGET', value: 'fe80::1' }],
  [32, '0a0b0c0d0e0f', '', { field: 'IPV6_ND_SLL', value: '0a:0b:0c:0d:0e:0f' }],
  [33, '0a0b0c0d0e10', '', { field: 'IPV6_ND_TLL', value: '0a:0b:0c:0d:0e:10' }],
  [34, '000fffff', '', { field: 'MPLS_LABEL', value: 0xfffff }],
  [35, '07', '', { field: 'MPLS_TC', value: 7 }],
  [36, '01', '', { field: 'MPLS_BOS', value: 1 }],
  [37, 'abcdef', '', { field: 'PBB_ISID', value: 0xabcdef }],
  [37, '00ff00', 'ffff00', { field: 'PBB_ISID', value: 0xff00, mask: 0xffff00 }],
  [38, '0000000000001388', '', { field: 'TUNNEL_ID', value: 5000n }],
  [38, '0000000000001388', 'ffffffffffffffff', { field: 'TUNNEL_ID', value: 5000n, mask: 0xffffffffffffffffn }],
  [39, '0001', '', { field: 'IPV6_EXTHDR', value: 1 }], // OFPIEH_NONEXT
  [39, '0040', '01ff', { field: 'IPV6_EXTHDR', value: 0x40, mask: 0x1ff }], // HOP
];

function roundTripOxm(bytes: Buffer): { decoded: Oxm; reencoded: Buffer } {
  const decoded = readOxm(Reader.of(bytes));
  const w = new Writer();
  writeOxm(w, decoded);
  return { decoded, reencoded: w.finish() };
}

describe('OXM basic fields (every field 0..39)', () => {
  it('covers every field code 0..39', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(Array.from({ length: 40 }, (_, i) => i)));
  });

  it.each(cases)('field %i value %s mask %s', (field, value, mask, oxm) => {
    const bytes = tlv(field, value, mask || undefined);
    const { decoded, reencoded } = roundTripOxm(bytes);
    expect(decoded).toEqual(oxm);
    const w = new Writer();
    writeOxm(w, oxm);
    expect(w.finish().toString('hex')).toBe(bytes.toString('hex'));
    expect(reencoded.toString('hex')).toBe(bytes.toString('hex'));
  });

  it('refuses an oxm_length that does not match the field size', () => {
    const bytes = Buffer.from('8000000500000001', 'hex'); // IN_PORT with length 5
    expect(() => readOxm(Reader.of(Buffer.concat([bytes, Buffer.alloc(1)])))).toThrow(
      expect.objectContaining({ reason: 'BAD_LENGTH', offset: 0 }),
    );
  });

  it('keeps OXMs of other classes and unknown basic fields as raw bytes', () => {
    const nxm = Buffer.from('00010204deadbeef', 'hex'); // NXM_1 field 1, length 4
    const later = Buffer.from('80005401ff', 'hex'); // basic field 42 (TCP_FLAGS of OpenFlow 1.5), length 1
    const exp = Buffer.from('ffff0008000026e1abcd1234', 'hex'); // experimenter class
    for (const [bytes, expected] of [
      [nxm, { field: 'RAW', oxmClass: 1, oxmField: 1, hasMask: false, payload: Buffer.from('deadbeef', 'hex') }],
      [later, { field: 'RAW', oxmClass: 0x8000, oxmField: 42, hasMask: false, payload: Buffer.from('ff', 'hex') }],
      [exp, { field: 'RAW', oxmClass: 0xffff, oxmField: 0, hasMask: false, payload: Buffer.from('000026e1abcd1234', 'hex') }],
    ] as const) {
      const { decoded, reencoded } = roundTripOxm(bytes);
      expect(decoded).toEqual(expected);
      expect(reencoded.toString('hex')).toBe(bytes.toString('hex'));
    }
  });
});

describe('ofp_match padding (§7.2.2)', () => {
  it.each([
    ['empty', [] as Match, '00010004' + '00000000'], // empty match: length 4, padded to 8
    ['ETH_TYPE', [{ field: 'ETH_TYPE', value: 0x0806 }] as Match, '0001000a' + '80000a020806' + '000000000000'], // length 10 → 16
    ['IN_PORT', [{ field: 'IN_PORT', value: 3 }] as Match, '0001000c' + '8000000400000003' + '00000000'], // length 12 → 16
    [
      'masked METADATA',
      [{ field: 'METADATA', value: 1n, mask: 1n }] as Match, // length 4 + 20 = 24, already aligned
      '00010018' + '80000510' + '0000000000000001' + '0000000000000001',
    ],
  ])('%s', (_name, match, hex) => {
    const w = new Writer();
    writeMatch(w, match);
    expect(w.finish().toString('hex')).toBe(hex);
    const r = Reader.of(Buffer.from(hex, 'hex'));
    expect(readMatch(r)).toEqual(match);
    expect(r.remaining).toBe(0);
  });
});
