// What the daemons the test bed starts on loopback ports (PowerDns, Dnsdist, NatsServer, Netconfd) have in common.
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

/** The last lines of a log file ('' when there is none). */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A port that is free on 127.0.0.1 right now for TCP, and for UDP too if asked (DNS binds both). */
export async function freePort(udpToo: boolean): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const address = s.address();
        s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
    if (!udpToo) return port;
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** Another process took a port between our probe and the daemon's bind: worth another try with new ports. */
export function lostPortRace(log: string): boolean {
  return /unable to bind|address already in use/i.test(log);
}

/** Whether a server on 127.0.0.1:port greets a new connection with a first line starting `prefix` (NATS: "INFO ", SSH: "SSH-"). */
export function greetsWith(port: number, prefix: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('error', () => done(false));
    s.once('data', (d: Buffer) => done(d.toString('latin1').startsWith(prefix)));
  });
}
