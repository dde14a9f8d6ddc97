import { CommandFailed } from './errors';
import { run, tryRun } from './exec';
import { checkIfName, testName } from './names';
import { Resource, allSteps } from './resource';

/** What an OVS bridge does with traffic when no controller is connected. */
export const FailMode = {
  /** Only flows installed by a controller forward traffic; no controller, no forwarding. */
  Secure: 'secure',
  /** Acts as a normal L2 learning switch while no controller is connected. */
  Standalone: 'standalone',
} as const;
export type FailMode = (typeof FailMode)[keyof typeof FailMode];

export interface BridgeOptions {
  /** Default `secure` (the SDMI data plane). */
  failMode?: FailMode;
  /** Controller target(s), e.g. `tcp:127.0.0.1:6653`. */
  controller?: string | readonly string[];
  /** Default `['OpenFlow13']`. */
  protocols?: readonly string[];
  /** Bridge `other_config` entries, e.g. `{ 'datapath-id': '0000000000000001' }`. */
  otherConfig?: Readonly<Record<string, string>>;
}

export interface PortOptions {
  /** Requested OpenFlow port number. */
  ofport?: number;
}

/** A veth pair whose `bridgeEnd` is a port on a bridge and whose `peer` is free for the test. */
export interface VethPort {
  readonly bridgeEnd: string;
  readonly peer: string;
}

/** `ovs-vsctl` with a timeout, so a dead ovsdb-server fails the call instead of hanging it. */
export function vsctl(...args: string[]): Promise<string> {
  return run('ovs-vsctl', ['--timeout=10', ...args]);
}

function ofportArgs(port: string, options: PortOptions): string[] {
  return options.ofport === undefined ? [] : ['--', 'set', 'Interface', port, `ofport_request=${options.ofport}`];
}

/**
 * An Open vSwitch bridge `sdmi-<tag>-b<n>` on the userspace datapath (`datapath_type=netdev`; the
 * machines have no OVS kernel module). Dispose deletes the bridge with all its ports, and the veth
 * pairs made by {@link OvsBridge.addVethPort}.
 */
export class OvsBridge extends Resource {
  readonly #veths: string[] = [];

  private constructor(
    readonly name: string,
    readonly protocols: readonly string[],
  ) {
    super();
  }

  static async create(options: BridgeOptions = {}): Promise<OvsBridge> {
    const name = checkIfName(testName('b'));
    const protocols = options.protocols ?? ['OpenFlow13'];
    const settings = [
      'datapath_type=netdev',
      `fail_mode=${options.failMode ?? FailMode.Secure}`,
      `protocols=${protocols.join(',')}`,
      ...Object.entries(options.otherConfig ?? {}).map(([k, v]) => `other_config:${k}=${v}`),
    ];
    const controllers = options.controller === undefined ? [] : [options.controller].flat();
    try {
      await vsctl(
        'add-br',
        name,
        '--',
        'set',
        'Bridge',
        name,
        ...settings,
        ...(controllers.length ? ['--', 'set-controller', name, ...controllers] : []),
      );
    } catch (e) {
      await tryRun('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', name]).catch(() => {});
      throw e;
    }
    return new OvsBridge(name, protocols);
  }

  /** Adds an existing interface (e.g. a veth end) as a port. */
  async addPort(ifname: string, options: PortOptions = {}): Promise<void> {
    await vsctl('add-port', this.name, ifname, ...ofportArgs(ifname, options));
  }

  /** Removes a port (no error if it is not there). */
  async deletePort(ifname: string): Promise<void> {
    await vsctl('--if-exists', 'del-port', this.name, ifname);
  }

  /** Adds an internal port `sdmi-<tag>-i<n>` (a tap device on the netdev datapath), returns its name. */
  async addInternalPort(options: PortOptions & { name?: string } = {}): Promise<string> {
    const port = checkIfName(options.name ?? testName('i'));
    const settings = ['type=internal', ...(options.ofport === undefined ? [] : [`ofport_request=${options.ofport}`])];
    await vsctl('add-port', this.name, port, '--', 'set', 'Interface', port, ...settings);
    return port;
  }

  /**
   * Creates a veth pair `sdmi-<tag>-v<n>` / `sdmi-<tag>-v<n>p`, both ends up, and adds the first to
   * the bridge. The peer stays in the host namespace for the test to use or move.
   */
  async addVethPort(options: PortOptions = {}): Promise<VethPort> {
    const bridgeEnd = checkIfName(testName('v'));
    const peer = checkIfName(`${bridgeEnd}p`);
    await run('ip', ['link', 'add', bridgeEnd, 'type', 'veth', 'peer', 'name', peer]);
    this.#veths.push(bridgeEnd);
    await run('ip', ['link', 'set', bridgeEnd, 'up']);
    await run('ip', ['link', 'set', peer, 'up']);
    await this.addPort(bridgeEnd, options);
    return { bridgeEnd, peer };
  }

  /** Runs `ovs-ofctl -O <protocols> <command> <bridge> …args`. */
  ofctl(command: string, ...args: string[]): Promise<string> {
    return run('ovs-ofctl', ['-O', this.protocols.join(','), command, this.name, ...args]);
  }

  /** The bridge's flows as `ovs-ofctl dump-flows` lines (header removed). */
  async dumpFlows(): Promise<string[]> {
    const out = await this.ofctl('dump-flows');
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('OFPST_FLOW') && !l.startsWith('NXST_FLOW'));
  }

  async setFailMode(mode: FailMode): Promise<void> {
    await vsctl('set', 'Bridge', this.name, `fail_mode=${mode}`);
  }

  /** Sets the controller target(s); `null` removes them. */
  async setController(target: string | readonly string[] | null): Promise<void> {
    if (target === null) await vsctl('del-controller', this.name);
    else await vsctl('set-controller', this.name, ...[target].flat());
  }

  /** Reads one column of the bridge record, e.g. `fail_mode` or `datapath_type`. */
  async get(column: string): Promise<string> {
    return (await vsctl('get', 'Bridge', this.name, column)).trim().replace(/^"(.*)"$/, '$1');
  }

  protected async teardown(): Promise<void> {
    await allSteps([
      () => vsctl('--if-exists', 'del-br', this.name),
      ...this.#veths.map((v) => () => deleteLink(v)),
    ]);
  }
}

/** Deletes a network interface in the host namespace; a missing one is fine. */
export async function deleteLink(ifname: string): Promise<void> {
  const args = ['link', 'del', ifname];
  const r = await tryRun('ip', args);
  if (r.exitCode !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) {
    throw new CommandFailed('ip', args, r.exitCode, r.signal, r.stderr);
  }
}

/** Names of all OVS bridges. */
export async function listBridges(): Promise<string[]> {
  return (await vsctl('list-br')).split('\n').filter(Boolean);
}

/** Creates an {@link OvsBridge}. */
export function createBridge(options?: BridgeOptions): Promise<OvsBridge> {
  return OvsBridge.create(options);
}
