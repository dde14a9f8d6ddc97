// ContainerPlumber: one veth per (container, network), the container end configured inside the
// container's network namespace, the host end a port of the host's OVS bridge.
//
// Every operation observes first and then changes only what differs, so a retry after a crash
// at any point converges, and a second attach of the same spec changes nothing. Conflicts are
// detected before the first change.
import { existsSync, readlinkSync } from 'node:fs';
import {
  BridgeNotFound as OvsBridgeNotFound,
  InterfaceFailed as OvsInterfaceFailed,
  OfportTimeout,
  Op,
  PortNotFound,
  ovsMap,
  type OvsSwitch,
  type PortInfo,
} from '@sdmi/ovsdb';
import {
  BridgeNotFound,
  HostLinkConflict,
  IfnameTaken,
  InterfaceFailed,
  NetnsIsHost,
  NetnsNotFound,
  PortConflict,
  PortOnOtherBridge,
  type ContainerNetErrorInfo,
  ContainerNetError,
} from './errors';
import { IpRoute2Netlink, type LinkState, type Netlink } from './netlink';
import { planReconcile } from './reconcile';
import { ALIAS_PREFIX, type AttachSpec, ExternalIdKeys, type ResolvedSpec, externalIdsOf, hostAlias, hostIfNameFor, validateSpec, validateSpecs } from './spec';

/** The subset of a pino logger the plumber uses. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const silent: Logger = { debug() {}, info() {}, warn() {} };

export interface PlumberOptions {
  ovs: OvsSwitch;
  /** The host's integration bridge, e.g. `br-sdmi`. */
  bridge: string;
  log?: Logger;
  /** Default: iproute2 + ethtool + nsenter. */
  netlink?: Netlink;
}

export interface AttachResult {
  interfaceId: string;
  hostIfName: string;
  ifname: string;
  /** The OpenFlow port number ovs-vswitchd assigned to the host end. */
  ofport: number;
  /** Nothing of this interface existed before (no host link, no port). */
  created: boolean;
  /** What this call changed, in order; empty when everything was already as asked. */
  steps: string[];
}

/** An interface of this plumber, as read back from OVSDB (a restarted node-agent sees the same). */
export interface AttachedInterface {
  interfaceId: string;
  containerId: string;
  networkId: string;
  /** `null` for an interface without address. */
  address: string | null;
  mac: string;
  ifname: string;
  hostIfName: string;
  /** undefined until assigned; -1 when ovs-vswitchd cannot open the device (e.g. the veth is gone). */
  ofport: number | undefined;
  /** Whether the host end of the veth still exists. */
  linkExists: boolean;
}

export interface DetachResult {
  interfaceId: string;
  removedPorts: string[];
  removedLinks: string[];
}

export interface ReconcileResult {
  /** Interface ids attached from nothing. */
  attached: string[];
  /** Interface ids that existed in part or differed, and were brought back. */
  repaired: string[];
  /** Interface ids already exactly right. */
  unchanged: string[];
  /** Interface ids removed: not desired, or their container is gone. */
  detached: string[];
  /** Desired interface ids whose container is not running (no pid in `livePids`). */
  skipped: string[];
  /** What could not be done; reconcile carries on with the others. */
  failed: { interfaceId: string; error: ContainerNetErrorInfo }[];
}

const infoOf = (e: unknown): ContainerNetErrorInfo =>
  e instanceof ContainerNetError ? e.info : { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };

export class ContainerPlumber {
  readonly bridge: string;
  readonly #ovs: OvsSwitch;
  readonly #nl: Netlink;
  readonly #log: Logger;

  constructor(options: PlumberOptions) {
    this.#ovs = options.ovs;
    this.bridge = options.bridge;
    this.#nl = options.netlink ?? new IpRoute2Netlink();
    this.#log = options.log ?? silent;
  }

  /**
   * Gives the container the interface described by `spec`, or brings an existing (possibly half
   * made) one to it. Throws a validation error, or a conflict error, before changing anything.
   */
  async attach(spec: AttachSpec): Promise<AttachResult> {
    return this.#attach(validateSpec(spec));
  }

  async #attach(s: ResolvedSpec): Promise<AttachResult> {
    const H = s.hostIfName;
    const T = s.peerIfName;
    const nl = this.#nl;
    const steps: string[] = [];
    const step = (what: string) => {
      steps.push(what);
      this.#log.debug({ interfaceId: s.interfaceId, hostIfName: H, step: what }, 'attach step');
    };

    // ---- observe, and refuse conflicts before the first change ----
    if (!existsSync(`/proc/${s.pid}/ns/net`)) throw new NetnsNotFound(s.pid, s.containerId);
    // Renaming and re-addressing "the peer" in our own namespace would rewire the host itself.
    if (netnsOf(s.pid) === netnsOf('self')) throw new NetnsIsHost(s.pid, s.containerId);
    const [bridges, hostLinks, insideLinks0] = await Promise.all([this.#ovs.listBridges(), nl.links(null), nl.links(s.pid)]);
    let insideLinks = insideLinks0;
    const ours = bridges.find((b) => b.name === this.bridge);
    if (!ours) throw new BridgeNotFound(this.bridge);
    const other = bridges.find((b) => b.name !== this.bridge && b.ports.includes(H));
    if (other) throw new PortOnOtherBridge(H, this.bridge, other.name);
    let port = ours.ports.includes(H) ? (await this.#listPorts()).find((p) => p.name === H) : undefined;
    if (port) {
      const owner = port.externalIds[ExternalIdKeys.InterfaceId];
      if (owner !== s.interfaceId) throw new PortConflict(H, s.interfaceId, owner);
    }

    let host = hostLinks.find((l) => l.name === H);
    if (host && host.kind !== 'veth') throw new HostLinkConflict(H, `exists and is a ${host.kind ?? 'physical'} device, not a veth`);
    let peerInHost: LinkState | undefined;
    let peerInside: LinkState | undefined;
    let stale = false;
    if (host) {
      if (!host.peerInOtherNetns) peerInHost = hostLinks.find((l) => l.name === host?.peerName);
      else {
        peerInside = findPeer(host, insideLinks);
        // The peer is in some other namespace (an earlier container's, kept alive by a process):
        // this veth cannot be ours any more.
        if (!peerInside) stale = true;
      }
    }
    const tempHost = hostLinks.find((l) => l.name === T);
    if (tempHost && tempHost.ifindex !== peerInHost?.ifindex) throw new HostLinkConflict(T, `exists and is not the peer of ${JSON.stringify(H)}`);
    for (const name of [s.ifname, T]) {
      const named = insideLinks.find((l) => l.name === name);
      if (named && named.ifindex !== peerInside?.ifindex) throw new IfnameTaken(name, s.containerId);
    }
    const created = !host && !port;

    // ---- the veth pair, its container end inside ----
    if (stale) {
      await nl.deleteLink(null, H);
      step(`delete host link ${H}: its peer is in another namespace`);
      host = undefined;
    }
    const vethCreated = !host;
    if (!host) {
      await nl.createVeth(H, T);
      step(`create veth ${H} / ${T}`);
      await nl.setAlias(null, H, hostAlias(this.bridge, s.interfaceId));
      await nl.disableIpv6(H);
      peerInHost = { name: T } as LinkState;
    }
    if (peerInHost) {
      await nl.moveToNetns(peerInHost.name, s.pid);
      step(`move ${peerInHost.name} into the namespace of pid ${s.pid}`);
    }
    if (!host || peerInHost) {
      const [h, inside] = await Promise.all([nl.links(null), nl.links(s.pid)]);
      host = h.find((l) => l.name === H);
      insideLinks = inside;
      peerInside = host ? findPeer(host, insideLinks) : undefined;
      if (!host || !peerInside) throw new HostLinkConflict(H, 'lost its peer while it was moved into the container (did the container stop?)');
    }
    if (!peerInside || !host) throw new HostLinkConflict(H, 'has no peer in the container');

    // ---- the container end ----
    const pid = s.pid;
    let inside: LinkState = peerInside;
    if (inside.name !== s.ifname) {
      // Older kernels refuse to rename a device that is up.
      if (inside.up) await nl.setUp(pid, inside.name, false);
      await nl.rename(pid, inside.name, s.ifname);
      step(`rename ${inside.name} to ${s.ifname}`);
      inside = { ...inside, name: s.ifname, up: false };
    }
    if (inside.mac !== s.mac) {
      await nl.setMac(pid, s.ifname, s.mac);
      step(`set MAC ${s.mac}`);
    }
    if (s.mtu !== undefined && inside.mtu !== s.mtu) {
      await nl.setMtu(pid, s.ifname, s.mtu);
      step(`set MTU ${s.mtu} inside`);
    }
    for (const a of inside.ipv4) {
      if (a !== s.address) {
        await nl.deleteAddress(pid, s.ifname, a);
        step(`delete address ${a}`);
      }
    }
    if (s.address !== null && !inside.ipv4.includes(s.address)) {
      await nl.addAddress(pid, s.ifname, s.address);
      step(`add address ${s.address}`);
    }
    // The userspace OVS datapath forwards partial checksums unfinished: TCP/UDP would arrive with
    // bad checksums unless the sender computes them itself.
    if (await nl.txChecksumOffload(pid, s.ifname)) {
      await nl.setTxChecksumOffload(pid, s.ifname, false);
      step('switch TX checksum offload off');
    }
    if (!inside.up) {
      await nl.setUp(pid, s.ifname, true);
      step(`set ${s.ifname} up`);
    }
    const lo = insideLinks.find((l) => l.name === 'lo');
    if (lo && !lo.up) {
      await nl.setUp(pid, 'lo', true);
      step('set lo up');
    }
    if (s.gateway !== undefined || s.routes.length > 0) {
      const routes = await nl.routes(pid);
      const def = routes.find((r) => r.dst === 'default');
      // The first interface of a container that has a gateway owns the default route; a later
      // one does not take it over.
      if (s.gateway !== undefined && (!def || (def.dev === s.ifname && def.gateway !== s.gateway))) {
        await nl.replaceRoute(pid, { dst: 'default', via: s.gateway, dev: s.ifname });
        step(`default route via ${s.gateway}`);
      }
      for (const r of s.routes) {
        if (!routes.some((x) => x.dst === r.dst && x.gateway === r.via && x.dev === s.ifname)) {
          await nl.replaceRoute(pid, { dst: r.dst, via: r.via, dev: s.ifname });
          step(`route ${r.dst} via ${r.via}`);
        }
      }
    }

    // ---- the host end ----
    const alias = hostAlias(this.bridge, s.interfaceId);
    if (host.alias !== alias) {
      await nl.setAlias(null, H, alias);
      if (!created) step(`set alias of ${H}`);
    }
    if (s.mtu !== undefined && host.mtu !== s.mtu) {
      await nl.setMtu(null, H, s.mtu);
      step(`set MTU ${s.mtu} on ${H}`);
    }
    if (!host.up) {
      await nl.setUp(null, H, true);
      step(`set ${H} up`);
    }

    // ---- the OVS port ----
    const ids = externalIdsOf(s);
    const oldOfport = port?.interfaces[0]?.ofport;
    if (port && (vethCreated || oldOfport === -1 || port.interfaces[0]?.error !== undefined)) {
      // ovs-vswitchd keeps the port of a vanished device in error; re-adding makes it open the new
      // veth. Asking for the old OpenFlow port number keeps flows that name it valid.
      await this.#removePort(H);
      step(`remove port ${H} of the vanished veth`);
      port = undefined;
    }
    if (!port) {
      await this.#ovs.addPort(this.bridge, H, {
        externalIds: ids,
        ...(oldOfport !== undefined && oldOfport > 0 ? { ofportRequest: oldOfport } : {}),
      });
      step(`add port ${H} to ${this.bridge}`);
    } else if (!sameRecord(port.externalIds, ids) || !sameRecord(port.interfaces[0]?.externalIds ?? {}, ids)) {
      await this.#ovs.client.transact('Open_vSwitch', [
        Op.update('Port', [['name', '==', H]], { external_ids: ovsMap(ids) }),
        Op.update('Interface', [['name', '==', H]], { external_ids: ovsMap(ids) }),
      ]);
      step(`update external_ids of port ${H}`);
    }
    let ofport: number;
    try {
      ofport = await this.#ovs.ofport(H);
    } catch (e) {
      if (e instanceof OvsInterfaceFailed) throw new InterfaceFailed(H, e.reason ?? 'no reason given', { cause: e });
      if (e instanceof OfportTimeout) throw new InterfaceFailed(H, e.message, { cause: e });
      throw e;
    }
    if (steps.length > 0) this.#log.info({ interfaceId: s.interfaceId, hostIfName: H, ofport, steps }, created ? 'interface attached' : 'interface repaired');
    return { interfaceId: s.interfaceId, hostIfName: H, ifname: s.ifname, ofport, created, steps };
  }

  /**
   * Removes the interface: its OVS port(s) on this bridge and the host end of the veth (the
   * kernel deletes the container end with it). Whatever is already gone is fine.
   */
  async detach(interfaceId: string): Promise<DetachResult> {
    const ports = (await this.#listPorts()).filter((p) => p.externalIds[ExternalIdKeys.InterfaceId] === interfaceId);
    const removedPorts: string[] = [];
    for (const p of ports) {
      if (await this.#removePort(p.name)) removedPorts.push(p.name);
    }
    const alias = hostAlias(this.bridge, interfaceId);
    const hostLinks = await this.#nl.links(null);
    const names = new Set([...ports.map((p) => p.name), hostIfNameFor(interfaceId), ...hostLinks.filter((l) => l.alias === alias).map((l) => l.name)]);
    const removedLinks: string[] = [];
    for (const name of names) {
      const link = hostLinks.find((l) => l.name === name);
      // Never delete a device that is not one of our veths (a default-named link of someone else).
      if (!link || link.kind !== 'veth') continue;
      if (link.alias !== alias && !ports.some((p) => p.name === name)) continue;
      if (await this.#nl.deleteLink(null, name)) removedLinks.push(name);
    }
    if (removedPorts.length + removedLinks.length > 0) this.#log.info({ interfaceId, removedPorts, removedLinks }, 'interface detached');
    return { interfaceId, removedPorts, removedLinks };
  }

  /** The interfaces on this plumber's bridge that carry an `sdmi-interface-id`, sorted by host name. */
  async list(): Promise<AttachedInterface[]> {
    const [ports, links] = await Promise.all([this.#listPorts(), this.#nl.links(null)]);
    const names = new Set(links.map((l) => l.name));
    return ports.flatMap((p) => {
      const e = p.externalIds;
      const interfaceId = e[ExternalIdKeys.InterfaceId];
      if (interfaceId === undefined) return [];
      return [
        {
          interfaceId,
          containerId: e[ExternalIdKeys.ContainerId] ?? '',
          networkId: e[ExternalIdKeys.NetworkId] ?? '',
          address: e[ExternalIdKeys.Address] ? (e[ExternalIdKeys.Address] as string) : null,
          mac: e[ExternalIdKeys.Mac] ?? '',
          ifname: e[ExternalIdKeys.Ifname] ?? '',
          hostIfName: p.name,
          ofport: p.interfaces[0]?.ofport,
          linkExists: names.has(p.name),
        },
      ];
    });
  }

  /**
   * Brings the host to exactly `desired`: every desired interface of a running container
   * (`livePids`: container id → pid of its init now, which wins over the spec's pid) is attached
   * or repaired, in the order given (so the first interface with a gateway owns the default
   * route); every interface of this bridge that is not desired, or whose container is not
   * running, is detached, as are host veths of ours that no port refers to. Validation errors
   * are thrown before anything changes; a failure of one interface is reported and the rest go on.
   */
  async reconcile(desired: readonly AttachSpec[], livePids: ReadonlyMap<string, number>): Promise<ReconcileResult> {
    const resolved = validateSpecs(desired.map((d) => {
      const pid = livePids.get(d.containerId);
      return pid === undefined ? d : { ...d, pid };
    }));
    const [current, hostLinks] = await Promise.all([this.list(), this.#nl.links(null)]);
    const prefix = `${ALIAS_PREFIX} ${this.bridge} `;
    const orphanLinks = hostLinks
      .filter((l) => l.kind === 'veth' && l.alias?.startsWith(prefix))
      .map((l) => ({ hostIfName: l.name, interfaceId: (l.alias ?? '').slice(prefix.length) }));
    const plan = planReconcile(resolved, current, orphanLinks, livePids);
    const result: ReconcileResult = { attached: [], repaired: [], unchanged: [], detached: [], skipped: plan.skip.map((s) => s.interfaceId), failed: [] };
    for (const interfaceId of plan.detach) {
      try {
        const r = await this.detach(interfaceId);
        if (r.removedPorts.length + r.removedLinks.length > 0) result.detached.push(interfaceId);
      } catch (e) {
        result.failed.push({ interfaceId, error: infoOf(e) });
      }
    }
    for (const s of plan.attach) {
      try {
        const r = await this.#attach(s);
        (r.created ? result.attached : r.steps.length > 0 ? result.repaired : result.unchanged).push(s.interfaceId);
      } catch (e) {
        this.#log.warn({ interfaceId: s.interfaceId, err: infoOf(e) }, 'reconcile could not attach');
        result.failed.push({ interfaceId: s.interfaceId, error: infoOf(e) });
      }
    }
    return result;
  }

  async #listPorts(): Promise<PortInfo[]> {
    try {
      return await this.#ovs.listPorts(this.bridge);
    } catch (e) {
      if (e instanceof OvsBridgeNotFound) throw new BridgeNotFound(this.bridge, { cause: e });
      throw e;
    }
  }

  /** Removes a port from our bridge; false when it was not there. */
  async #removePort(name: string): Promise<boolean> {
    try {
      await this.#ovs.removePort(this.bridge, name);
      return true;
    } catch (e) {
      if (e instanceof PortNotFound) return false;
      if (e instanceof OvsBridgeNotFound) throw new BridgeNotFound(this.bridge, { cause: e });
      throw e;
    }
  }
}

function netnsOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** The container end of a host veth: the link whose index and peer index cross-match. */
function findPeer(host: LinkState, inside: readonly LinkState[]): LinkState | undefined {
  return inside.find((l) => l.kind === 'veth' && l.ifindex === host.peerIfindex && l.peerIfindex === host.ifindex);
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
