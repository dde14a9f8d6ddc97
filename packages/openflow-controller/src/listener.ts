import { rm } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Controller } from './controller';
import type { Transport } from './transport';

export interface ListenOptions {
  host?: string;
  /** 0 picks a free port; 6653 is OpenFlow's. */
  port?: number;
  /**
   * Listen on this unix socket instead of TCP (OVS target `unix:<path>`): for switches in another
   * network namespace on the same machine, which share the file system but not the loopback.
   */
  path?: string;
  /** Serve OpenFlow over TLS with these credentials (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
}

/** The TCP (or TLS) side: every accepted socket becomes a Transport the controller attaches. */
export class OpenFlowListener {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly controller: Controller) {}

  async listen(opts: ListenOptions = {}): Promise<{ host: string; port: number; path?: string }> {
    const onSocket = (socket: net.Socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.controller.attach(socketTransport(socket));
    };
    const server = opts.tls ? tls.createServer(opts.tls, onSocket) : net.createServer(onSocket);
    this.server = server;
    // A socket file left by a process that died would refuse the bind.
    if (opts.path) await rm(opts.path, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.off('error', reject);
        resolve();
      };
      if (opts.path) server.listen(opts.path, done);
      else server.listen(opts.port ?? 6653, opts.host ?? '127.0.0.1', done);
    });
    if (opts.path) return { host: 'unix', port: 0, path: opts.path };
    const addr = server.address() as net.AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    this.controller.close();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function socketTransport(socket: net.Socket): Transport {
  // Messages written in one turn of the event loop (a packet-in's flow mod and packet out, a
  // batch and its barrier) leave in one send instead of one syscall each.
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  return {
    remote: `${socket.remoteAddress}:${socket.remotePort}`,
    write: (data) => {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(data);
    },
    close: () => socket.destroy(),
    onData: (cb) => void socket.on('data', cb),
    onClose: (cb) => {
      let error: Error | undefined;
      socket.on('error', (err) => (error = err));
      socket.on('close', () => cb(error));
    },
  };
}
