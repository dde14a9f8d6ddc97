import { createConnection } from 'node:net';
import { ConnectFailed } from './errors';
import { SocketTransport, type Transport } from './transport';

/** The ovsdb-server socket of a Debian openvswitch-switch installation. */
export const DEFAULT_OVSDB_SOCKET = '/var/run/openvswitch/db.sock';

export interface ConnectOptions {
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/** Opens a stream to an OVSDB server listening on a unix socket (`punix:`). */
export function connectUnix(path: string = DEFAULT_OVSDB_SOCKET, options: ConnectOptions = {}): Promise<Transport> {
  const target = `unix:${path}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
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
      resolve(new SocketTransport(target, socket));
    });
  });
}
