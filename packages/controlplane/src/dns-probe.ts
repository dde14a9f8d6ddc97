// Just enough DNS to tell whether the embedded name server answers: one query, over UDP or over
// TLS (RFC 7858: TCP framing with a two-byte length), and the RCODE of the reply. The control
// plane needs no dig or kdig at run time for that.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as tlsConnect } from 'node:tls';

/** RCODE names (RFC 1035 section 4.1.1, RFC 6895). */
export const Rcode = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' } as const;

const SOA = 6;

/** A query for `name` (SOA, class IN, recursion not desired). */
export function dnsQuery(id: number, name: string, type = SOA): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4); // QDCOUNT
  const question = Buffer.alloc(4);
  question.writeUInt16BE(type, 0);
  question.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, qname, question]);
}

/** The RCODE of a reply to query `id`, or undefined when it is not one (wrong id, not a response, too short). */
export function replyRcode(id: number, reply: Buffer): number | undefined {
  if (reply.length < 12 || reply.readUInt16BE(0) !== id || (reply[2]! & 0x80) === 0) return undefined;
  return reply[3]! & 0x0f;
}

/** Asks `name` SOA over UDP; resolves with the RCODE, or undefined when nothing answered in time. */
export function udpProbe(host: string, port: number, name: string, timeoutMs = 1_000): Promise<number | undefined> {
  const id = randomInt(0x10000);
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (rcode: number | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(rcode);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('message', (msg) => {
      const rcode = replyRcode(id, msg);
      if (rcode !== undefined) done(rcode);
    });
    socket.send(dnsQuery(id, name), port, host);
  });
}

/**
 * Asks `name` SOA over TLS; resolves with the RCODE, or undefined when no answer came in time or
 * the server's certificate is not the one whose SHA-256 fingerprint is `fingerprint256` (as
 * `X509Certificate.fingerprint256` writes it). The certificate is self-signed, so it is pinned
 * rather than checked against a CA.
 */
export function dotProbe(host: string, port: number, name: string, fingerprint256: string, timeoutMs = 2_000): Promise<number | undefined> {
  const id = randomInt(0x10000);
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false });
    let buffered = Buffer.alloc(0);
    const done = (rcode: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(rcode);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('secureConnect', () => {
      if (socket.getPeerCertificate().fingerprint256 !== fingerprint256) return done(undefined);
      const query = dnsQuery(id, name);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      done(replyRcode(id, buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
    });
    socket.on('end', () => done(undefined));
  });
}
