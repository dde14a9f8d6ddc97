import { createConnection } from 'node:net';
import { openSocket, type Transport } from './transport';

/** The ovsdb-server socket of a Debian openvswitch-switch installation. */
export const DEFAULT_OVSDB_SOCKET = '/var/run/openvswitch/db.sock';

export interface ConnectOptions {
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/** Opens a stream to an OVSDB server listening on a unix socket (`punix:`). */
export function connectUnix(path: string = DEFAULT_OVSDB_SOCKET, options: ConnectOptions = {}): Promise<Transport> {
  return openSocket(`unix:${path}`, createConnection({ path }), options.connectTimeoutMs);
}
