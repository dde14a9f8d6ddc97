import { createConnection } from 'node:net';
import { openSocket, type Transport } from './transport';
import type { ConnectOptions } from './unix';

/** Opens a stream to an OVSDB server listening on TCP (`ptcp:`), e.g. 127.0.0.1:6640. */
export function connectTcp(host: string, port: number, options: ConnectOptions = {}): Promise<Transport> {
  const socket = createConnection({ host, port });
  socket.setNoDelay(true);
  return openSocket(`tcp:${host.includes(':') ? `[${host}]` : host}:${port}`, socket, options.connectTimeoutMs);
}
