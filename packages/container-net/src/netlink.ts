// Every change and every read of Linux links, addresses and routes goes through the `Netlink`
// interface below. There is no maintained netlink package on npm, so the one implementation runs
// iproute2 (`ip -json`), `ethtool` and `nsenter` with argv arrays (never a shell); a native
// netlink back-end can replace it without touching the plumber.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { NetlinkCommandFailed, NetlinkToolMissing } from './errors';

/**
 * Which network namespace a call acts in: `null` is the host's (the caller's own), a number is
 * the namespace of that process (`/proc/<pid>/ns/net`), e.g. a container's init process.
 */
export type NetnsPid = number | null;

/** A link as the kernel reports it. */
export interface LinkState {
  name: string;
  ifindex: number;
  /** `linkinfo.info_kind`, e.g. `veth`; undefined for physical devices and `lo`. */
  kind: string | undefined;
  /** For a veth: the peer's ifindex when the peer is in another namespace. */
  peerIfindex: number | undefined;
  /** For a veth: the peer's name when the peer is in the same namespace. */
  peerName: string | undefined;
  /** Whether the peer lives in another namespace (`link_netnsid` is reported). */
  peerInOtherNetns: boolean;
  mac: string;
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  alias: string | undefined;
  /** IPv4 addresses as CIDRs, e.g. `10.1.2.3/24`. */
  ipv4: string[];
}

export interface RouteState {
  /** `default` or a CIDR. */
  dst: string;
  gateway: string | undefined;
  dev: string | undefined;
}

export interface Netlink {
  links(pid: NetnsPid): Promise<LinkState[]>;
  routes(pid: NetnsPid): Promise<RouteState[]>;
  /** Creates a veth pair in the host namespace, both ends down. */
  createVeth(name: string, peer: string): Promise<void>;
  /** Deletes a link (a veth takes its peer with it); false when it did not exist. */
  deleteLink(pid: NetnsPid, name: string): Promise<boolean>;
  /** Moves a host link into the namespace of a process. */
  moveToNetns(name: string, pid: number): Promise<void>;
  rename(pid: NetnsPid, from: string, to: string): Promise<void>;
  setAlias(pid: NetnsPid, name: string, alias: string): Promise<void>;
  setMac(pid: NetnsPid, name: string, mac: string): Promise<void>;
  setMtu(pid: NetnsPid, name: string, mtu: number): Promise<void>;
  setUp(pid: NetnsPid, name: string, up: boolean): Promise<void>;
  addAddress(pid: NetnsPid, name: string, cidr: string): Promise<void>;
  deleteAddress(pid: NetnsPid, name: string, cidr: string): Promise<void>;
  /** Adds or replaces the route to `dst` (`default` or a CIDR) via `via` on `dev`. */
  replaceRoute(pid: NetnsPid, route: { dst: string; via: string; dev: string }): Promise<void>;
  /** Whether TX checksum offload (`tx-checksumming`) is on. */
  txChecksumOffload(pid: NetnsPid, name: string): Promise<boolean>;
  setTxChecksumOffload(pid: NetnsPid, name: string, on: boolean): Promise<void>;
  /** Switches IPv6 off on a host link (no link-local address, no router solicitations into the bridge). */
  disableIpv6(name: string): Promise<void>;
}

interface Outcome {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

function spawnArgv(argv: readonly string[], timeoutMs: number): Promise<Outcome> {
  const [command, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(command ?? '', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new NetlinkToolMissing(command ?? '', { cause: e }) : e);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode });
    });
  });
}

const NO_DEVICE = /Cannot find device|does not exist|No such device/i;

interface IpLinkJson {
  ifindex?: number;
  ifname?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
  flags?: string[];
  mtu?: number;
  address?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

interface IpRouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
}

export interface IpRoute2Options {
  /** Kill a command after this long (default 15 s). */
  timeoutMs?: number;
  /** Where the binaries are; default found on PATH. */
  tools?: { ip?: string; nsenter?: string; ethtool?: string };
}

/** The `Netlink` back-end that runs iproute2, ethtool and nsenter. */
export class IpRoute2Netlink implements Netlink {
  readonly #timeoutMs: number;
  readonly #tools: { ip: string; nsenter: string; ethtool: string };

  constructor(options: IpRoute2Options = {}) {
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#tools = { ip: 'ip', nsenter: 'nsenter', ethtool: 'ethtool', ...options.tools };
  }

  async links(pid: NetnsPid): Promise<LinkState[]> {
    // `addr show` gives each link with its addresses in one call; -d adds linkinfo (the kind).
    const out = await this.#run(pid, ['ip', '-json', '-details', 'addr', 'show']);
    const parsed = JSON.parse(out || '[]') as IpLinkJson[];
    return parsed.map(toLinkState);
  }

  async routes(pid: NetnsPid): Promise<RouteState[]> {
    const out = await this.#run(pid, ['ip', '-json', '-4', 'route', 'show', 'table', 'main']);
    const parsed = JSON.parse(out || '[]') as IpRouteJson[];
    return parsed.map((r) => ({ dst: r.dst ?? '', gateway: r.gateway, dev: r.dev }));
  }

  async createVeth(name: string, peer: string): Promise<void> {
    await this.#run(null, ['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
  }

  async deleteLink(pid: NetnsPid, name: string): Promise<boolean> {
    const argv = this.#argv(pid, ['ip', 'link', 'del', 'dev', name]);
    const r = await spawnArgv(argv, this.#timeoutMs);
    if (r.exitCode === 0) return true;
    if (NO_DEVICE.test(r.stderr)) return false;
    throw new NetlinkCommandFailed(argv, r.exitCode, r.stderr);
  }

  async moveToNetns(name: string, pid: number): Promise<void> {
    // `ip link set … netns <pid>` takes the namespace of that process.
    await this.#run(null, ['ip', 'link', 'set', 'dev', name, 'netns', String(pid)]);
  }

  async rename(pid: NetnsPid, from: string, to: string): Promise<void> {
    await this.#run(pid, ['ip', 'link', 'set', 'dev', from, 'name', to]);
  }

  async setAlias(pid: NetnsPid, name: string, alias: string): Promise<void> {
    await this.#run(pid, ['ip', 'link', 'set', 'dev', name, 'alias', alias]);
  }

  async setMac(pid: NetnsPid, name: string, mac: string): Promise<void> {
    await this.#run(pid, ['ip', 'link', 'set', 'dev', name, 'address', mac]);
  }

  async setMtu(pid: NetnsPid, name: string, mtu: number): Promise<void> {
    await this.#run(pid, ['ip', 'link', 'set', 'dev', name, 'mtu', String(mtu)]);
  }

  async setUp(pid: NetnsPid, name: string, up: boolean): Promise<void> {
    await this.#run(pid, ['ip', 'link', 'set', 'dev', name, up ? 'up' : 'down']);
  }

  async addAddress(pid: NetnsPid, name: string, cidr: string): Promise<void> {
    await this.#run(pid, ['ip', 'addr', 'replace', cidr, 'dev', name]);
  }

  async deleteAddress(pid: NetnsPid, name: string, cidr: string): Promise<void> {
    await this.#run(pid, ['ip', 'addr', 'del', cidr, 'dev', name]);
  }

  async replaceRoute(pid: NetnsPid, route: { dst: string; via: string; dev: string }): Promise<void> {
    await this.#run(pid, ['ip', 'route', 'replace', route.dst, 'via', route.via, 'dev', route.dev]);
  }

  async txChecksumOffload(pid: NetnsPid, name: string): Promise<boolean> {
    const out = await this.#run(pid, ['ethtool', '--show-features', name]);
    return /^tx-checksumming:\s*on/m.test(out);
  }

  async setTxChecksumOffload(pid: NetnsPid, name: string, on: boolean): Promise<void> {
    await this.#run(pid, ['ethtool', '--features', name, 'tx', on ? 'on' : 'off']);
  }

  async disableIpv6(name: string): Promise<void> {
    try {
      await writeFile(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
    } catch (e) {
      // A kernel without IPv6 has no such file: nothing to switch off.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  #argv(pid: NetnsPid, argv: readonly string[]): string[] {
    const [tool, ...args] = argv;
    const cmd = [tool === 'ip' ? this.#tools.ip : tool === 'ethtool' ? this.#tools.ethtool : (tool ?? ''), ...args];
    // nsenter enters only the network namespace: the binaries are the host's, so a container
    // image needs neither iproute2 nor ethtool.
    return pid === null ? cmd : [this.#tools.nsenter, `--net=/proc/${pid}/ns/net`, '--', ...cmd];
  }

  async #run(pid: NetnsPid, argv: readonly string[]): Promise<string> {
    const full = this.#argv(pid, argv);
    const r = await spawnArgv(full, this.#timeoutMs);
    if (r.exitCode !== 0) throw new NetlinkCommandFailed(full, r.exitCode, r.stderr);
    return r.stdout;
  }
}

function toLinkState(j: IpLinkJson): LinkState {
  return {
    name: j.ifname ?? '',
    ifindex: j.ifindex ?? 0,
    kind: j.linkinfo?.info_kind,
    peerIfindex: j.link_netnsid !== undefined ? j.link_index : undefined,
    peerName: j.link_netnsid === undefined ? j.link : undefined,
    peerInOtherNetns: j.link_netnsid !== undefined,
    mac: (j.address ?? '').toLowerCase(),
    mtu: j.mtu ?? 0,
    up: (j.flags ?? []).includes('UP'),
    alias: j.ifalias,
    ipv4: (j.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => `${a.local}/${a.prefixlen ?? 32}`),
  };
}
