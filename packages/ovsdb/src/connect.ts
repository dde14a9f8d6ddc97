import { OvsdbClient, type ClientOptions } from './client';
import { ConnectFailed } from './errors';
import { connectTcp } from './tcp';
import type { Connector, Transport } from './transport';
import { type ConnectOptions, DEFAULT_OVSDB_SOCKET, connectUnix } from './unix';

/** The local ovsdb-server of this host. */
export const DEFAULT_OVSDB_TARGET = `unix:${DEFAULT_OVSDB_SOCKET}`;

/** Opens a transport for an OVS-style target: `unix:/path/db.sock`, `tcp:127.0.0.1:6640`, `tcp:[::1]:6640`. */
export function openTransport(target: string, options: ConnectOptions = {}): Promise<Transport> {
  if (target.startsWith('unix:')) return connectUnix(target.slice('unix:'.length), options);
  const tcp = /^tcp:(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
  if (tcp) {
    const port = Number(tcp[3]);
    if (port > 0 && port < 65536) return connectTcp((tcp[1] ?? tcp[2]) as string, port, options);
  }
  return Promise.reject(new ConnectFailed(target, { cause: new Error('target must be unix:<path> or tcp:<host>:<port>') }));
}

/** Connects an OvsdbClient to a target string (default the local ovsdb-server) or through a Connector. */
export async function connectOvsdb(
  target: string | Connector = DEFAULT_OVSDB_TARGET,
  options: ClientOptions & ConnectOptions = {},
): Promise<OvsdbClient> {
  const transport = typeof target === 'string' ? await openTransport(target, options) : await target();
  return new OvsdbClient(transport, options);
}
