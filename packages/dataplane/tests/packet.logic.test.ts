// Ethernet/ARP/IPv4 parsing and the ARP reply, against hand-written annotated bytes (never bytes
// produced by the code under test), and the cookie layout the controller reads flows back by.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INTERFACE_MASK, KIND_MASK, NETWORK_MASK, TAG_MASK } from '../src/cookies';
import { ArpOp, COOKIE_TAG, FlowKind, MalformedPacket, arpReply, cookie, ipv4ToNumber, numberToIpv4, parseCookie, parseFrame } from '../src/index';

const bytes = (...b: number[]) => Buffer.from(b);

// "Who has 10.61.1.1? Tell 10.61.1.11", from 02:5e:00:00:00:01.
const ARP_REQUEST = bytes(
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // eth dst: broadcast
  0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, // eth src
  0x08, 0x06, //                         ethertype ARP
  0x00, 0x01, //                         htype Ethernet
  0x08, 0x00, //                         ptype IPv4
  0x06, 0x04, //                         hlen 6, plen 4
  0x00, 0x01, //                         op request
  0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, // sender MAC
  0x0a, 0x3d, 0x01, 0x0b, //             sender IP 10.61.1.11
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: unknown
  0x0a, 0x3d, 0x01, 0x01, //             target IP 10.61.1.1
);

// ICMP from 10.61.1.11 to 10.61.2.11, sent to the lb gateway's MAC.
const IPV4_ICMP = bytes(
  0x02, 0x5d, 0x00, 0x00, 0x00, 0x0b, // eth dst: lb gateway
  0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, // eth src
  0x08, 0x00, //                         ethertype IPv4
  0x45, 0x00, 0x00, 0x54, //             version 4, IHL 5; DSCP/ECN 0; total length 84
  0x12, 0x34, 0x40, 0x00, //             identification; flags DF, fragment offset 0
  0x40, 0x01, 0xbe, 0xef, //             TTL 64; protocol 1 (ICMP); header checksum (not checked)
  0x0a, 0x3d, 0x01, 0x0b, //             source 10.61.1.11
  0x0a, 0x3d, 0x02, 0x0b, //             destination 10.61.2.11
);

function malformed(f: () => unknown): { code: string; message: string } | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (!(err instanceof MalformedPacket)) throw err;
    return { code: err.code, message: err.message };
  }
}

describe('parseFrame', () => {
  it('an ARP request', () => {
    expect(parseFrame(ARP_REQUEST)).toEqual({
      kind: 'arp', ethSrc: '02:5e:00:00:00:01', ethDst: 'ff:ff:ff:ff:ff:ff',
      arp: { op: ArpOp.Request, senderMac: '02:5e:00:00:00:01', senderIp: 0x0a3d010b, targetMac: '00:00:00:00:00:00', targetIp: 0x0a3d0101 },
    });
  });

  it('an IPv4 packet: protocol, source and destination', () => {
    expect(parseFrame(IPV4_ICMP)).toEqual({ kind: 'ipv4', ethSrc: '02:5e:00:00:00:01', ethDst: '02:5d:00:00:00:0b', ip: { protocol: 1, src: 0x0a3d010b, dst: 0x0a3d020b } });
  });

  it('a frame in the middle of a larger buffer (a packet-in\'s data is a view)', () => {
    const big = Buffer.concat([bytes(0xaa, 0xbb, 0xcc), IPV4_ICMP, bytes(0xdd)]);
    expect(parseFrame(big.subarray(3, 3 + IPV4_ICMP.length))).toEqual(parseFrame(IPV4_ICMP));
  });

  it('other ethertypes, and ARP that is not Ethernet/IPv4, are "other"', () => {
    const ipv6 = Buffer.from(IPV4_ICMP);
    ipv6.writeUInt16BE(0x86dd, 12);
    expect(parseFrame(ipv6)).toEqual({ kind: 'other', ethSrc: '02:5e:00:00:00:01', ethDst: '02:5d:00:00:00:0b', ethType: 0x86dd });
    const vlan = Buffer.from(IPV4_ICMP);
    vlan.writeUInt16BE(0x8100, 12);
    expect(parseFrame(vlan)).toMatchObject({ kind: 'other', ethType: 0x8100 });
    for (const [offset, value] of [[14, 6], [16, 0x86dd], [18, 8], [19, 16]] as const) {
      const odd = Buffer.from(ARP_REQUEST);
      if (offset <= 16) odd.writeUInt16BE(value, offset);
      else odd[offset] = value;
      expect(parseFrame(odd)).toMatchObject({ kind: 'other', ethType: 0x0806 });
    }
  });

  it('every truncation of a header is a MalformedPacket saying how long it was and how long it must be', () => {
    for (let n = 0; n < ARP_REQUEST.length; n++) {
      expect(malformed(() => parseFrame(ARP_REQUEST.subarray(0, n)))).toEqual({
        code: 'MALFORMED_PACKET',
        message: n < 14 ? `frame of ${n} bytes is shorter than an Ethernet header` : `ARP frame of ${n} bytes (need 42)`,
      });
    }
    for (let n = 14; n < IPV4_ICMP.length; n++) {
      expect(malformed(() => parseFrame(IPV4_ICMP.subarray(0, n)))).toEqual({ code: 'MALFORMED_PACKET', message: `IPv4 frame of ${n} bytes (need 34)` });
    }
  });
});

describe('arpReply', () => {
  it('"10.61.1.1 is at 02:5d:00:00:00:0b", to the asker', () => {
    const req = parseFrame(ARP_REQUEST);
    if (req.kind !== 'arp') throw new Error('fixture is not ARP');
    expect(arpReply(req.arp, '02:5d:00:00:00:0b').toString('hex')).toBe(
      bytes(
        0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, // eth dst: the asker
        0x02, 0x5d, 0x00, 0x00, 0x00, 0x0b, // eth src: the MAC answered
        0x08, 0x06, //                         ethertype ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet/IPv4, hlen 6, plen 4
        0x00, 0x02, //                         op reply
        0x02, 0x5d, 0x00, 0x00, 0x00, 0x0b, // sender MAC: the answer
        0x0a, 0x3d, 0x01, 0x01, //             sender IP: the address asked for
        0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, // target MAC: the asker
        0x0a, 0x3d, 0x01, 0x0b, //             target IP: the asker's
      ).toString('hex'),
    );
  });

  it('an upper-case MAC gives the same bytes; a malformed MAC is refused', () => {
    const req = { op: 1, senderMac: '02:5e:00:00:00:01', senderIp: 0x0a3d010b, targetMac: '00:00:00:00:00:00', targetIp: 0x0a3d0101 };
    expect(arpReply(req, '02:5D:00:00:00:0B')).toEqual(arpReply(req, '02:5d:00:00:00:0b'));
    expect(malformed(() => arpReply(req, '02:5d:00:00:00'))).toEqual({ code: 'MALFORMED_PACKET', message: '"02:5d:00:00:00" is not a MAC address' });
  });

  it('parses back to the reply it means, for any request and answer', () => {
    const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
    const ip = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(mac, ip, mac, ip, mac, (senderMac, senderIp, targetMac, targetIp, answer) => {
        const reply = parseFrame(arpReply({ op: 1, senderMac, senderIp, targetMac, targetIp }, answer));
        expect(reply).toEqual({ kind: 'arp', ethSrc: answer, ethDst: senderMac, arp: { op: ArpOp.Reply, senderMac: answer, senderIp: targetIp, targetMac: senderMac, targetIp: senderIp } });
      }),
    );
  });
});

describe('IPv4 text', () => {
  it.each(['10.61.1', '10.61.1.1.1', '10.61.1.256', '010.61.1.1', '10.61.-1.1', 'a.b.c.d', '', ' 10.61.1.1'])('"%s" is refused', (text) => {
    expect(malformed(() => ipv4ToNumber(text))).toEqual({ code: 'MALFORMED_PACKET', message: `"${text}" is not a dotted IPv4 address` });
  });

  it('round trips every address, and numbers are unsigned', () => {
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(numberToIpv4(0x0a3d010b)).toBe('10.61.1.11');
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      expect(ipv4ToNumber(numberToIpv4(n))).toBe(n);
    }));
  });
});

describe('cookies', () => {
  it('the layout: tag, kind, network, interface (hand-written vector)', () => {
    //           tag   kind  network  interface
    expect(cookie(FlowKind.Local, 0x0c, 0x18)).toBe(0x5d_03_000c_00000018n);
    expect(cookie(FlowKind.Base)).toBe(0x5d_01_0000_00000000n);
  });

  it('the masks split a cookie into disjoint parts that cover it', () => {
    expect(TAG_MASK | KIND_MASK | NETWORK_MASK | INTERFACE_MASK).toBe(0xffff_ffff_ffff_ffffn);
    expect(NETWORK_MASK & INTERFACE_MASK).toBe(0n);
    expect((KIND_MASK & ~TAG_MASK) & NETWORK_MASK).toBe(0n);
    expect((cookie(FlowKind.PairIn, 7, 9) & TAG_MASK) === (cookie(FlowKind.Base) & TAG_MASK)).toBe(true);
  });

  it('round trips every kind, network number (1..65535) and interface number (1..2^32-1)', () => {
    const kinds = Object.values(FlowKind);
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xffff_ffff }), (kind, network, iface) => {
        const c = cookie(kind, network, iface);
        expect(parseCookie(c)).toEqual({ kind, network, iface });
        expect(c >> 64n).toBe(0n);
        // The controller finds an interface's flows by tag, network and interface alone.
        const where = TAG_MASK | NETWORK_MASK | INTERFACE_MASK;
        expect(c & where).toBe(cookie(FlowKind.Base, network, iface) & where);
      }),
      { numRuns: 500 },
    );
  });

  it('a cookie without our tag is not ours', () => {
    expect(parseCookie(0n)).toBeUndefined();
    expect(parseCookie(0x1234n)).toBeUndefined();
    expect(parseCookie(cookie(FlowKind.Admit, 1, 1) ^ TAG_MASK)).toBeUndefined();
    expect(parseCookie(COOKIE_TAG)).toBeUndefined();
  });
});
