// Ethernet frames the emulated switches put in their PACKET_INs, written straight into the
// encoded message (no per-packet allocation beyond the message itself).
//
// Every frame ends with an 8-byte tag (magic, sequence number): a PACKET_OUT that carries the
// frame back tells us exactly which packet-in it answers. In an IPv4/UDP frame the tag is the
// end of the UDP payload; in an ARP frame it sits in the Ethernet padding after the 28-byte ARP
// body. Neither controller looks at those bytes (both learn from MACs and the input port).

/** What the frames carry: UDP in IPv4, or ARP (a request when broadcast, else a reply). */
export const FrameKind = { Udp: 'udp', Arp: 'arp' } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const TAG_MAGIC = 0x53444d49; // "SDMI"
export const TAG_BYTES = 8;
/** Without FCS: 64 leaves room for headers + tag in both kinds (ARP needs 42 + 8, UDP 42 + 8). */
export const MIN_FRAME_BYTES = 64;

const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const BROADCAST = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** One emulated host behind a switch port. */
export interface Host {
  mac: Buffer; // 6 bytes
  macText: string; // aa:bb:cc:dd:ee:ff, as the codec prints OXM ETH_* values
  ip: number; // IPv4 as an unsigned 32-bit number
  port: number; // the switch port it sits behind
}

/**
 * Hosts of one switch: locally administered unicast MACs (02:…, so both controllers may learn
 * them: OVS refuses to learn multicast sources), spread round-robin over the ports.
 */
export function makeHosts(switchIndex: number, count: number, ports: number): Host[] {
  const hosts: Host[] = [];
  for (let i = 0; i < count; i++) {
    const mac = Buffer.from([0x02, (switchIndex >> 8) & 0xff, switchIndex & 0xff, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff]);
    hosts.push({
      mac,
      macText: [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':'),
      // 10.0.0.0/8 holds 2^24 hosts, more than any sane --macs.
      ip: ((10 << 24) | (i + 1)) >>> 0,
      port: 1 + (i % ports),
    });
  }
  return hosts;
}

function ipv4Checksum(buf: Buffer, at: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += buf.readUInt16BE(at + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Writes a whole frame of `len` bytes at buf[at…]: src → dst (dst undefined = broadcast), with
 * the tag for `seq` in its last 8 bytes. Every byte is written, so `buf` may be uninitialised.
 */
export function writeFrame(buf: Buffer, at: number, len: number, kind: FrameKind, src: Host, dst: Host | undefined, seq: number): void {
  buf.fill(0, at, at + len);
  (dst ? dst.mac : BROADCAST).copy(buf, at);
  src.mac.copy(buf, at + 6);
  const l3 = at + ETH_HEADER;
  if (kind === FrameKind.Udp) {
    buf.writeUInt16BE(ETHERTYPE_IPV4, at + 12);
    const ipLen = len - ETH_HEADER;
    buf.writeUInt8(0x45, l3); // IPv4, 20-byte header
    buf.writeUInt16BE(ipLen, l3 + 2);
    buf.writeUInt16BE(seq & 0xffff, l3 + 4); // identification
    buf.writeUInt8(64, l3 + 8); // TTL
    buf.writeUInt8(17, l3 + 9); // UDP
    buf.writeUInt32BE(src.ip, l3 + 12);
    buf.writeUInt32BE(dst ? dst.ip : 0xffffffff, l3 + 16);
    buf.writeUInt16BE(ipv4Checksum(buf, l3), l3 + 10);
    const l4 = l3 + 20;
    buf.writeUInt16BE(40000, l4); // source port
    buf.writeUInt16BE(9, l4 + 2); // discard
    buf.writeUInt16BE(ipLen - 20, l4 + 4);
    // UDP checksum 0 = not computed (allowed for IPv4, RFC 768).
  } else {
    buf.writeUInt16BE(ETHERTYPE_ARP, at + 12);
    buf.writeUInt16BE(1, l3); // Ethernet
    buf.writeUInt16BE(ETHERTYPE_IPV4, l3 + 2);
    buf.writeUInt8(6, l3 + 4);
    buf.writeUInt8(4, l3 + 5);
    buf.writeUInt16BE(dst ? 2 : 1, l3 + 6); // reply to a known host, request when broadcast
    src.mac.copy(buf, l3 + 8);
    buf.writeUInt32BE(src.ip, l3 + 14);
    if (dst) dst.mac.copy(buf, l3 + 18);
    buf.writeUInt32BE(dst ? dst.ip : ((src.ip & 0xffffff00) | 0xfe) >>> 0, l3 + 24);
  }
  buf.writeUInt32BE(TAG_MAGIC, at + len - TAG_BYTES);
  buf.writeUInt32BE(seq >>> 0, at + len - 4);
}

/** The sequence number in a frame we built, or undefined when the frame is not ours. */
export function readTag(frame: Buffer): number | undefined {
  if (frame.length < MIN_FRAME_BYTES) return undefined;
  if (frame.readUInt32BE(frame.length - TAG_BYTES) !== TAG_MAGIC) return undefined;
  return frame.readUInt32BE(frame.length - 4);
}
