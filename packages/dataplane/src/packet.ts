// Just enough Ethernet, ARP and IPv4 to decide what to do with a packet-in and to answer ARP.
import { MalformedPacket } from './errors';

export const EtherType = { IPv4: 0x0800, ARP: 0x0806 } as const;
export const ArpOp = { Request: 1, Reply: 2 } as const;

export function ipv4ToNumber(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
    throw new MalformedPacket(`"${text}" is not a dotted IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export function macToBytes(mac: string): Buffer {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw new MalformedPacket(`"${mac}" is not a MAC address`);
  return Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
}

export function bytesToMac(b: Uint8Array, at = 0): string {
  return [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface ArpPacket {
  op: number;
  senderMac: string;
  senderIp: number;
  targetMac: string;
  targetIp: number;
}

export interface Ipv4Header {
  src: number;
  dst: number;
  protocol: number;
}

export type Frame =
  | { kind: 'arp'; ethSrc: string; ethDst: string; arp: ArpPacket }
  | { kind: 'ipv4'; ethSrc: string; ethDst: string; ip: Ipv4Header }
  | { kind: 'other'; ethSrc: string; ethDst: string; ethType: number };

/** Classifies an untagged Ethernet frame; throws MalformedPacket when a header is cut short. */
export function parseFrame(data: Uint8Array): Frame {
  if (data.length < 14) throw new MalformedPacket(`frame of ${data.length} bytes is shorter than an Ethernet header`);
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const ethDst = bytesToMac(view, 0);
  const ethSrc = bytesToMac(view, 6);
  const ethType = view.readUInt16BE(12);
  if (ethType === EtherType.ARP) {
    if (view.length < 42) throw new MalformedPacket(`ARP frame of ${view.length} bytes (need 42)`);
    // Only Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4) is ours to answer.
    if (view.readUInt16BE(14) !== 1 || view.readUInt16BE(16) !== EtherType.IPv4 || view[18] !== 6 || view[19] !== 4) {
      return { kind: 'other', ethSrc, ethDst, ethType };
    }
    return {
      kind: 'arp',
      ethSrc,
      ethDst,
      arp: { op: view.readUInt16BE(20), senderMac: bytesToMac(view, 22), senderIp: view.readUInt32BE(28), targetMac: bytesToMac(view, 32), targetIp: view.readUInt32BE(38) },
    };
  }
  if (ethType === EtherType.IPv4) {
    if (view.length < 34) throw new MalformedPacket(`IPv4 frame of ${view.length} bytes (need 34)`);
    return { kind: 'ipv4', ethSrc, ethDst, ip: { protocol: view[23]!, src: view.readUInt32BE(26), dst: view.readUInt32BE(30) } };
  }
  return { kind: 'other', ethSrc, ethDst, ethType };
}

/** The Internet checksum (RFC 1071) of a byte range. */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The echo reply that `replier` (a gateway address with its MAC) sends to an ICMP echo request
 * frame, or undefined when the frame is not an intact IPv4 echo request.
 */
export function icmpEchoReply(request: Uint8Array, replierMac: string): Buffer | undefined {
  const f = Buffer.from(request);
  if (f.length < 34 || f.readUInt16BE(12) !== EtherType.IPv4) return undefined;
  const ihl = (f[14]! & 0x0f) * 4;
  const totalLen = f.readUInt16BE(16);
  const icmp = 14 + ihl;
  if (ihl < 20 || f[23] !== 1 || f.length < icmp + 8 || 14 + totalLen > f.length || f[icmp] !== 8) return undefined;
  const reply = f.subarray(0, 14 + totalLen);
  f.copy(reply, 0, 6, 12); // eth dst := the asker
  macToBytes(replierMac).copy(reply, 6);
  const src = f.readUInt32BE(26);
  reply.writeUInt32BE(f.readUInt32BE(30), 26);
  reply.writeUInt32BE(src, 30);
  reply[22] = 64; // a fresh TTL
  reply.writeUInt16BE(0, 24);
  reply.writeUInt16BE(internetChecksum(reply, 14, 14 + ihl), 24);
  reply[icmp] = 0; // echo reply
  reply.writeUInt16BE(0, icmp + 2);
  reply.writeUInt16BE(internetChecksum(reply, icmp, 14 + totalLen), icmp + 2);
  return reply;
}

/** The ARP reply "`ip` is at `mac`" to the asker of `request`. */
export function arpReply(request: ArpPacket, mac: string): Buffer {
  const f = Buffer.alloc(42);
  macToBytes(request.senderMac).copy(f, 0);
  macToBytes(mac).copy(f, 6);
  f.writeUInt16BE(EtherType.ARP, 12);
  f.writeUInt16BE(1, 14); // htype Ethernet
  f.writeUInt16BE(EtherType.IPv4, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(ArpOp.Reply, 20);
  macToBytes(mac).copy(f, 22);
  f.writeUInt32BE(request.targetIp >>> 0, 28);
  macToBytes(request.senderMac).copy(f, 32);
  f.writeUInt32BE(request.senderIp >>> 0, 38);
  return f;
}
