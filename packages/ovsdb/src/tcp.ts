import { createConnection } from 'node:net';
import { ConnectFailed } from './errors';
import { SocketTransport, type Transport } from './transport';
import type { ConnectOptions } from './unix';

/** Opens a stream to an OVSDB server listening on TCP (`ptcp:`), e.g. 127.0.0.1:6640. */
export function connectTcp(host: string, port: number, options: ConnectOptions = {}): Promise<Transport> {
  const target = `tcp:${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectFailed(target, { cause: new Error(`no connection within ${options.connectTimeoutMs ?? 10_000} ms`) }));
    }, options.connectTimeoutMs ?? 10_000);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new ConnectFailed(target, { cause: e }));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(new SocketTransport(target, socket));
    });
  });
}
