// The network resources as classes with behaviour. A spec (the JSON a user sends, typed from the
// schema) becomes a Network with its defaults applied and its references resolved to full ids.
import type {
  AllocationPool,
  ClusterNetwork as ClusterNetworkSpec,
  NetworkRoute,
  TenantConfig as TenantConfigSpec,
  TenantNetwork as TenantNetworkSpec,
} from '@sdmi/contracts';
import { formatIpv4, parseCidr, type AddressingSpec } from '@sdmi/ipam';
import { IdRangeSyntax, IdRangesOverlap, ReservedTenantName, VlanOutOfRange, VniOutOfRange, type NetworkError } from './errors';

export type { ClusterNetworkSpec, TenantConfigSpec, TenantNetworkSpec };

export const NetworkKinds = { Cluster: 'cluster', Tenant: 'tenant' } as const;
export type NetworkKind = (typeof NetworkKinds)[keyof typeof NetworkKinds];

/** The scope part of a cluster network's id; reserved, so no tenant can be called this. */
export const CLUSTER_SCOPE = 'cluster';

export const VniTypes = { Vlan: 'vlan', Vxlan: 'vxlan' } as const;
export type VniType = (typeof VniTypes)[keyof typeof VniTypes];

export const VLAN_MAX = 4094;
export const VNI_MAX = 16_777_215;

export function networkId(scope: string, name: string): string {
  return `${scope}/${name}`;
}

/** Splits a full id `scope/name`. */
export function splitId(id: string): { scope: string; name: string } {
  const i = id.indexOf('/');
  return { scope: id.slice(0, i), name: id.slice(i + 1) };
}

/** A bare name is in `scope` (the referring network's tenant, or the cluster); `x/name` is as written. */
export function resolveReference(ref: string, scope: string): string {
  return ref.includes('/') ? ref : networkId(scope, ref);
}

/** Physical attributes of a network: given by the admin (cluster) or assigned (tenant). */
export interface PhysicalAttributes {
  hostDevice: string | null;
  vlan: number | null;
  vni: number | null;
}

/**
 * A network with its defaults applied: gateway = first host address, pools = the whole CIDR less
 * network and broadcast (IPAM never hands out the gateway). References are full ids.
 */
export abstract class Network {
  abstract readonly kind: NetworkKind;
  readonly id: string;
  readonly name: string;
  readonly cidr: string;
  readonly gateway: string;
  readonly pools: readonly AllocationPool[];
  readonly routes: readonly NetworkRoute[];
  readonly parent: string | null;
  readonly dependsOn: readonly string[];

  protected constructor(
    readonly scope: string,
    readonly spec: ClusterNetworkSpec | TenantNetworkSpec,
    readonly physical: PhysicalAttributes,
  ) {
    this.id = networkId(scope, spec.name);
    this.name = spec.name;
    this.cidr = spec.cidr;
    const d = defaultAddressing(spec.cidr);
    this.gateway = spec.gateway ?? d.gateway;
    this.pools = spec.pools ?? d.pools;
    this.routes = spec.routes ?? [];
    this.parent = spec.parent === undefined ? null : resolveReference(spec.parent, scope);
    this.dependsOn = (spec.dependsOn ?? []).map((r) => resolveReference(r, scope));
  }

  /** The tenant owning the network; null for a cluster network. */
  abstract get tenant(): string | null;

  get vlan(): number | null {
    return this.physical.vlan;
  }
  get vni(): number | null {
    return this.physical.vni;
  }
  get hostDevice(): string | null {
    return this.physical.hostDevice;
  }

  /** What IPAM needs to know. */
  addressing(): AddressingSpec {
    return { id: this.id, cidr: this.cidr, gateway: this.gateway, pools: this.pools.map((p) => ({ start: p.start, end: p.end })) };
  }

  /** Every reference this network makes, with the JSON pointer it was written at. */
  references(): { to: string; relation: 'dependsOn' | 'parent'; path: string }[] {
    return [
      ...(this.parent !== null ? [{ to: this.parent, relation: 'parent' as const, path: '/parent' }] : []),
      ...this.dependsOn.map((to, i) => ({ to, relation: 'dependsOn' as const, path: `/dependsOn/${i}` })),
    ];
  }

  static fromSpec(kind: NetworkKind, spec: ClusterNetworkSpec | TenantNetworkSpec, physical?: PhysicalAttributes): Network {
    return kind === NetworkKinds.Cluster ? new ClusterNetwork(spec as ClusterNetworkSpec) : new TenantNetwork(spec as TenantNetworkSpec, physical);
  }
}

export class ClusterNetwork extends Network {
  readonly kind = NetworkKinds.Cluster;
  constructor(override readonly spec: ClusterNetworkSpec) {
    super(CLUSTER_SCOPE, spec, { hostDevice: spec.hostDevice ?? null, vlan: spec.vlan ?? null, vni: spec.vni ?? null });
  }
  get tenant(): null {
    return null;
  }
}

export class TenantNetwork extends Network {
  readonly kind = NetworkKinds.Tenant;
  constructor(
    override readonly spec: TenantNetworkSpec,
    physical: PhysicalAttributes = { hostDevice: null, vlan: null, vni: null },
  ) {
    super(spec.tenant, spec, physical);
  }
  get tenant(): string {
    return this.spec.tenant;
  }
  /** The same network with physical attributes assigned from its tenant's TenantConfig. */
  withPhysical(physical: PhysicalAttributes): TenantNetwork {
    return new TenantNetwork(this.spec, physical);
  }
}

/** Defaults from a CIDR; for a CIDR IPAM will refuse, placeholders that validation reports on. */
function defaultAddressing(cidr: string): { gateway: string; pools: AllocationPool[] } {
  try {
    const c = parseCidr(cidr);
    if (c.size < 4) return { gateway: formatIpv4(c.first), pools: [{ start: formatIpv4(c.first), end: formatIpv4(c.last) }] };
    return { gateway: formatIpv4(c.first + 1), pools: [{ start: formatIpv4(c.first + 1), end: formatIpv4(c.last - 1) }] };
  } catch {
    return { gateway: '', pools: [] };
  }
}

// --- TenantConfig -----------------------------------------------------------------------------

export type IdRange = readonly [number, number];

export interface TenantDevice {
  readonly name: string;
  readonly type: VniType;
  readonly text: string;
  readonly ranges: readonly IdRange[];
}

/** Parses `700-710,720` into inclusive ranges; `path` is where the text is, for the error. */
export function parseIdRanges(text: string, type: VniType, path: string): { ranges: IdRange[]; errors: NetworkError[] } {
  const ranges: IdRange[] = [];
  const errors: NetworkError[] = [];
  const max = type === VniTypes.Vlan ? VLAN_MAX : VNI_MAX;
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const m = /^(\d{1,9})(?:\s*-\s*(\d{1,9}))?$/.exec(part);
    if (!m) {
      errors.push(new IdRangeSyntax(path, text, part === '' ? 'an item is empty' : `"${part}" is neither an id nor a range lo-hi`));
      continue;
    }
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) {
      errors.push(new IdRangeSyntax(path, text, `range ${lo}-${hi} runs backwards`));
      continue;
    }
    const bad = [lo, hi].find((v) => v < 1 || v > max);
    if (bad !== undefined) {
      errors.push(type === VniTypes.Vlan ? new VlanOutOfRange(path, bad) : new VniOutOfRange(path, bad));
      continue;
    }
    ranges.push([lo, hi]);
  }
  return { ranges, errors };
}

/** Every problem of a TenantConfig (empty = valid); paths relative to the config. */
export function validateTenantConfig(spec: TenantConfigSpec): NetworkError[] {
  const errors: NetworkError[] = [];
  if (spec.tenant === CLUSTER_SCOPE) errors.push(new ReservedTenantName('/tenant'));
  const seen = new Map<string, { range: IdRange; path: string }[]>();
  spec.hostDevices.forEach((d, i) => {
    const path = `/hostDevices/${i}/vniRange`;
    const parsed = parseIdRanges(d.vniRange, d.vniType, path);
    errors.push(...parsed.errors);
    const key = `${d.name}\u0000${d.vniType}`;
    const earlier = seen.get(key) ?? [];
    for (const r of parsed.ranges) {
      const clash = earlier.find((e) => e.range[0] <= r[1] && r[0] <= e.range[1]);
      if (clash) errors.push(new IdRangesOverlap(path, d.name, d.vniType, r, clash.range, clash.path));
      earlier.push({ range: r, path });
    }
    seen.set(key, earlier);
  });
  return errors;
}

/**
 * Which host devices and ids a tenant's networks may use. Assignment takes the first device (in
 * the order given) that has a free id of its type, and on it the lowest free id.
 */
export class TenantConfig {
  readonly tenant: string;
  readonly devices: readonly TenantDevice[];

  private constructor(readonly spec: TenantConfigSpec) {
    this.tenant = spec.tenant;
    this.devices = spec.hostDevices.map((d) => ({
      name: d.name,
      type: d.vniType,
      text: d.vniRange,
      ranges: parseIdRanges(d.vniRange, d.vniType, '').ranges.slice().sort((a, b) => a[0] - b[0]),
    }));
  }

  /** Validates and builds; throws the first problem (validateTenantConfig lists them all). */
  static parse(spec: TenantConfigSpec): TenantConfig {
    const errors = validateTenantConfig(spec);
    if (errors.length > 0) throw errors[0]!;
    return new TenantConfig(spec);
  }

  /** Whether this config offers `id` of `type` on `device`. */
  offers(device: string, type: VniType, id: number): boolean {
    return this.devices.some((d) => d.name === device && d.type === type && d.ranges.some(([lo, hi]) => id >= lo && id <= hi));
  }

  /** The first free attributes, or null when every offered id is taken. */
  assign(taken: (device: string, type: VniType, id: number) => boolean): PhysicalAttributes | null {
    for (const d of this.devices) {
      for (const [lo, hi] of d.ranges) {
        for (let id = lo; id <= hi; id++) {
          if (!taken(d.name, d.type, id)) {
            return { hostDevice: d.name, vlan: d.type === VniTypes.Vlan ? id : null, vni: d.type === VniTypes.Vxlan ? id : null };
          }
        }
      }
    }
    return null;
  }

  /** What it offers, for messages. */
  offered(): { device: string; type: VniType; range: string }[] {
    return this.devices.map((d) => ({ device: d.name, type: d.type, range: d.text }));
  }
}

/** The physical attributes of a network as (device, type, id), or null when it has none. */
export function physicalKey(p: PhysicalAttributes): { device: string; type: VniType; id: number } | null {
  if (p.vlan !== null) return { device: p.hostDevice ?? '', type: VniTypes.Vlan, id: p.vlan };
  if (p.vni !== null) return { device: p.hostDevice ?? '', type: VniTypes.Vxlan, id: p.vni };
  return null;
}
