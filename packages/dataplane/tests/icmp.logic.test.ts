// The gateway's echo reply, byte by byte: addresses swapped, type 0, TTL renewed, both checksums
// valid (a checksum over a range that includes its own checksum field comes out 0).
import { describe, expect, it } from 'vitest';
import { icmpEchoReply, internetChecksum } from '../src/index';

const request = Buffer.from([
  0x02, 0x5d, 0x00, 0x00, 0x00, 0x0c, // eth dst: the gateway MAC the asker resolved
  0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, // eth src: the asker
  0x08, 0x00, // IPv4
  0x45, 0x00, 0x00, 0x20, // version 4, IHL 5, total length 32
  0x12, 0x34, 0x40, 0x00, // id, don't fragment
  0x40, 0x01, 0x00, 0x00, // TTL 64, ICMP, checksum (filled below)
  10, 61, 2, 11, // source 10.61.2.11
  10, 61, 2, 1, // destination: the gateway
  0x08, 0x00, 0x00, 0x00, // echo request, code 0, checksum (filled below)
  0xbe, 0xef, 0x00, 0x07, // identifier, sequence 7
  0x61, 0x62, 0x63, 0x64, // payload "abcd"
]);
request.writeUInt16BE(internetChecksum(request, 14, 34), 24);
request.writeUInt16BE(internetChecksum(request, 34, 46), 36);

describe('icmpEchoReply', () => {
  it('answers an echo request from the gateway, with valid checksums', () => {
    const r = icmpEchoReply(request, '02:5d:00:00:00:0c')!;
    expect(r.length).toBe(46);
    expect([...r.subarray(0, 12)]).toEqual([0x02, 0x5e, 0, 0, 0, 0x01, 0x02, 0x5d, 0, 0, 0, 0x0c]);
    expect([...r.subarray(26, 34)]).toEqual([10, 61, 2, 1, 10, 61, 2, 11]);
    expect(r[22]).toBe(64);
    expect(r[34]).toBe(0);
    expect(internetChecksum(r, 14, 34)).toBe(0);
    expect(internetChecksum(r, 34, 46)).toBe(0);
    expect(r.subarray(38, 46).toString('hex')).toBe('beef000761626364');
  });

  it('leaves everything that is not an intact echo request unanswered', () => {
    const reply = Buffer.from(request);
    reply[34] = 0;
    expect(icmpEchoReply(reply, '02:5d:00:00:00:0c')).toBeUndefined();
    const udp = Buffer.from(request);
    udp[23] = 17;
    expect(icmpEchoReply(udp, '02:5d:00:00:00:0c')).toBeUndefined();
    expect(icmpEchoReply(request.subarray(0, 40), '02:5d:00:00:00:0c')).toBeUndefined();
  });
});
