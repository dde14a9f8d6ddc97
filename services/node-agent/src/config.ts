// The node-agent's own settings, from the environment.
import os from 'node:os';

export const NodeEnv = {
  /** The host's name as registered with the network-controller (default: the machine's host name). */
  node: 'SDMI_NODE_NAME',
  /** The local Docker Engine's unix socket (default /var/run/docker.sock). */
  dockerSocket: 'SDMI_DOCKER_SOCKET',
  /** The host's OVS bridge that container interfaces become ports of (default br-sdmi). */
  bridge: 'SDMI_NODE_BRIDGE',
  /** OVSDB target of the host's Open vSwitch (default unix:/var/run/openvswitch/db.sock). */
  ovsdb: 'SDMI_OVSDB',
  /** Where the bridge's switch finds the network-controller, if the agent creates the bridge (default tcp:127.0.0.1:6653). */
  controller: 'SDMI_OPENFLOW_CONTROLLER',
  /** How often the agent publishes its host's and its replicas' metric samples, in ms (default 5000). */
  metricsIntervalMs: 'SDMI_METRICS_INTERVAL_MS',
} as const;

export interface NodeConfig {
  node: string;
  dockerSocket: string;
  bridge: string;
  ovsdb: string;
  controller: string;
  metricsIntervalMs: number;
}

export function loadNodeConfig(env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const node = env[NodeEnv.node] || os.hostname().toLowerCase();
  if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(node)) throw new Error(`${NodeEnv.node}="${node}": a node name is 1-63 lower-case letters, digits, "." or "-"`);
  const bridge = env[NodeEnv.bridge] || 'br-sdmi';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(bridge)) throw new Error(`${NodeEnv.bridge}="${bridge}": an OVS bridge name of at most 15 characters`);
  const dockerSocket = env[NodeEnv.dockerSocket] || '/var/run/docker.sock';
  if (!dockerSocket.startsWith('/')) throw new Error(`${NodeEnv.dockerSocket}="${dockerSocket}": the absolute path of the Docker Engine's unix socket (the API is never used over TCP)`);
  const rawInterval = env[NodeEnv.metricsIntervalMs] || '5000';
  if (!/^\d+$/.test(rawInterval) || Number(rawInterval) < 100 || Number(rawInterval) > 3_600_000) throw new Error(`${NodeEnv.metricsIntervalMs}="${rawInterval}": whole milliseconds from 100 to 3600000`);
  return { node, bridge, dockerSocket, metricsIntervalMs: Number(rawInterval), ovsdb: env[NodeEnv.ovsdb] || 'unix:/var/run/openvswitch/db.sock', controller: env[NodeEnv.controller] || 'tcp:127.0.0.1:6653' };
}
