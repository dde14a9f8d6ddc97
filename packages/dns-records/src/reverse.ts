// Reverse zones (in-addr.arpa) for IPv4 network CIDRs. A zone is cut at an octet boundary, so a
// prefix between boundaries is covered by several zones at the next boundary down (a /20 by
// sixteen /24 zones) and one longer than /24 by the /24 zone around it (shared by the networks in
// it: we are authoritative for all of them, so no RFC 2317 delegation is needed).
const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function octets(ip: string): number[] {
  const m = V4.exec(ip);
  const o = m ? m.slice(1).map(Number) : [];
  if (o.length !== 4 || o.some((x) => x > 255)) throw new Error(`${JSON.stringify(ip)} is not an IPv4 address`);
  return o;
}

/** Most zones one network may need: a /16 split into /24s is 256; below /16 is refused. */
export const MIN_REVERSE_PREFIX = 16;

/** The reverse zones covering `cidr`, absolute, e.g. `2.81.10.in-addr.arpa.` for 10.81.2.0/24. */
export function reverseZonesFor(cidr: string): string[] {
  const [ip, len, ...rest] = cidr.split('/');
  const prefix = Number(len);
  if (rest.length > 0 || !/^\d{1,2}$/.test(len ?? '') || prefix > 32) throw new Error(`${JSON.stringify(cidr)} has no prefix length 0-32`);
  if (prefix < MIN_REVERSE_PREFIX) throw new Error(`${cidr}: reverse zones are made for prefixes of /${MIN_REVERSE_PREFIX} or longer`);
  const o = octets(ip!);
  const cut = prefix >= 24 ? 24 : Math.ceil(prefix / 8) * 8;
  const bytes = cut / 8;
  const base = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
  const net = prefix === 0 ? 0 : (base & (~0 << (32 - Math.min(prefix, cut)))) >>> 0;
  const count = prefix >= cut ? 1 : 2 ** (cut - prefix);
  const step = 2 ** (32 - cut);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const v = (net + i * step) >>> 0;
    const parts = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].slice(0, bytes).reverse();
    out.push(`${parts.join('.')}.in-addr.arpa.`);
  }
  return out;
}

/** The PTR owner of an IPv4 address, e.g. `16.2.81.10.in-addr.arpa.`. */
export function reverseName(ip: string): string {
  return `${octets(ip).reverse().join('.')}.in-addr.arpa.`;
}
