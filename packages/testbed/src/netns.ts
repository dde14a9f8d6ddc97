import { existsSync } from 'node:fs';
import { CommandFailed } from './errors';
import { run, tryRun } from './exec';
import type { RunOptions, RunResult } from './exec';
import { checkIfName, testName } from './names';
import { deleteLink, vsctl } from './ovs';
import type { OvsBridge, PortOptions } from './ovs';
import { terminate } from './procs';
import { Resource, allSteps } from './resource';

export interface NamespaceOptions {
  /** Address with prefix length for the interface inside, e.g. `10.20.0.1/24`. */
  address?: string;
  /** MAC address of the interface inside; default random. */
  mac?: string;
  /** Name of the interface inside the namespace; default `eth0`. */
  ifname?: string;
  /** Default route via this address. */
  gateway?: string;
  mtu?: number;
  /** Attach the host end of the veth to this bridge (an OvsBridge or a bridge name). */
  bridge?: OvsBridge | string;
  /** OpenFlow port number to request for the host end on the bridge. */
  ofport?: PortOptions['ofport'];
  /**
   * Keep TX checksum offload on the inside end. Default false: it is switched off, because the
   * userspace (netdev) OVS datapath forwards the veth's partial checksums unfinished, so TCP and
   * UDP would arrive with bad checksums (ICMP is unaffected).
   */
  txOffload?: boolean;
}

function pingBinary(): string[] {
  if (existsSync('/usr/bin/ping') || existsSync('/bin/ping')) return ['ping'];
  return ['busybox', 'ping'];
}

/**
 * A network namespace `sdmi-<tag>-<n>` with one veth link: `ifname` inside (up, with the given
 * address and MAC, `lo` up too) and `hostIf` (`<namespace>h`) outside, up, optionally a port on an
 * OVS bridge. Dispose removes the port, the veth pair and the namespace.
 */
export class NetNamespace extends Resource {
  private constructor(
    readonly name: string,
    readonly hostIf: string,
    readonly ifname: string,
    readonly mac: string,
    readonly address: string | undefined,
    readonly bridge: string | undefined,
  ) {
    super();
  }

  static async create(options: NamespaceOptions = {}): Promise<NetNamespace> {
    const name = testName();
    const hostIf = checkIfName(`${name}h`);
    const ifname = checkIfName(options.ifname ?? 'eth0');
    const bridge = typeof options.bridge === 'string' ? options.bridge : options.bridge?.name;
    const inside = (...args: string[]) => run('ip', ['-n', name, ...args]);
    try {
      await run('ip', ['netns', 'add', name]);
      await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', ifname, 'netns', name]);
      if (options.mac) await inside('link', 'set', ifname, 'address', options.mac);
      if (options.mtu) {
        await inside('link', 'set', ifname, 'mtu', String(options.mtu));
        await run('ip', ['link', 'set', hostIf, 'mtu', String(options.mtu)]);
      }
      if (options.address) await inside('addr', 'add', options.address, 'dev', ifname);
      await inside('link', 'set', 'lo', 'up');
      await inside('link', 'set', ifname, 'up');
      if (!options.txOffload) await run('ip', ['netns', 'exec', name, 'ethtool', '-K', ifname, 'tx', 'off']);
      if (options.gateway) await inside('route', 'add', 'default', 'via', options.gateway, 'dev', ifname);
      await run('ip', ['link', 'set', hostIf, 'up']);
      if (bridge) {
        const ofport = options.ofport === undefined ? [] : ['--', 'set', 'Interface', hostIf, `ofport_request=${options.ofport}`];
        await vsctl('add-port', bridge, hostIf, ...ofport);
      }
      const link = await inside('-o', 'link', 'show', ifname);
      const mac = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1] ?? '';
      return new NetNamespace(name, hostIf, ifname, mac, options.address, bridge);
    } catch (e) {
      await removeNamespace(name, hostIf).catch(() => {});
      throw e;
    }
  }

  /** The address without its prefix length, e.g. `10.20.0.1`. */
  get ip(): string | undefined {
    return this.address?.split('/')[0];
  }

  /** Runs a command inside the namespace: an argv array, or a string for `sh -c`. Resolves with stdout. */
  async exec(command: string | readonly string[], options?: RunOptions): Promise<string> {
    const r = await this.tryExec(command, options);
    if (r.exitCode !== 0) throw new CommandFailed('ip', this.#argv(command), r.exitCode, r.signal, r.stderr);
    return r.stdout;
  }

  /** Like {@link exec} but resolves with the outcome whatever the exit code. */
  tryExec(command: string | readonly string[], options?: RunOptions): Promise<RunResult> {
    return tryRun('ip', this.#argv(command), options);
  }

  /**
   * Whether `address` answers an ICMP echo from this namespace within `deadlineSec` (default 3;
   * the first packet may wait for ARP and MAC learning).
   */
  async ping(address: string, options: { count?: number; deadlineSec?: number } = {}): Promise<boolean> {
    const count = String(options.count ?? 1);
    const deadline = String(options.deadlineSec ?? 3);
    const r = await this.tryExec([...pingBinary(), '-n', '-q', '-c', count, '-w', deadline, address]);
    return r.exitCode === 0;
  }

  #argv(command: string | readonly string[]): string[] {
    return ['netns', 'exec', this.name, ...(typeof command === 'string' ? ['sh', '-c', command] : command)];
  }

  protected async teardown(): Promise<void> {
    await removeNamespace(this.name, this.hostIf);
  }
}

/**
 * Removes a namespace and its host-side veth: the OVS port first, then the veth (which takes its
 * peer inside the namespace with it at once), then the namespace. Missing pieces are fine.
 */
export async function removeNamespace(name: string, hostIf?: string): Promise<void> {
  await allSteps([
    async () => {
      // A process left running inside would keep the deleted namespace, and its devices, alive.
      const r = await tryRun('ip', ['netns', 'pids', name]);
      for (const pid of r.exitCode === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : []) await terminate(pid, 2_000);
    },
    async () => {
      if (hostIf) await vsctl('--if-exists', 'del-port', hostIf);
    },
    async () => {
      if (hostIf) await deleteLink(hostIf);
    },
    async () => {
      const args = ['netns', 'del', name];
      const r = await tryRun('ip', args);
      if (r.exitCode !== 0 && !/No such file|not found/i.test(r.stderr)) {
        throw new CommandFailed('ip', args, r.exitCode, r.signal, r.stderr);
      }
    },
  ]);
}

/** Names of all network namespaces. */
export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** Creates a {@link NetNamespace}. */
export function createNamespace(options?: NamespaceOptions): Promise<NetNamespace> {
  return NetNamespace.create(options);
}
