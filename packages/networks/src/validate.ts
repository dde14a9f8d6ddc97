// Semantic validation, pure. validateNetwork looks at one network alone; validateTopology at a
// set of networks (what exists plus what a command brings) and names, by JSON pointer, the place
// in the command that is at fault. Addressing rules are IPAM's (validateAddressing), not repeated.
import { cidrContains, cidrWithin, cidrsOverlap, formatIpv4, parseCidr, parseIpv4, validateAddressing, type Cidr } from '@sdmi/ipam';
import {
  ChildOutsideParent,
  CidrOverlap,
  ClusterReferencesTenant,
  CrossTenantReference,
  DependencyCycle,
  ParentGatewayInChild,
  ParentPoolOverlapsChild,
  PhysicalIdTaken,
  ReservedTenantName,
  RouteViaOutsideCidr,
  TenantPhysicalAttribute,
  UnknownNetworkReference,
  VlanOutOfRange,
  VniOutOfRange,
  withPath,
  type ErrorWithInfo,
} from './errors';
import { NetworkGraph } from './graph';
import { CLUSTER_SCOPE, NetworkKinds, VLAN_MAX, VNI_MAX, physicalKey, splitId, type Network } from './model';

const PHYSICAL_KEYS = ['vlan', 'vni', 'hostDevice'] as const;

function tryCidr(text: string): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch {
    return undefined;
  }
}

function tryIp(text: string): number | undefined {
  try {
    return parseIpv4(text);
  } catch {
    return undefined;
  }
}

/** Every problem of one network on its own (empty = valid); paths relative to its spec. */
export function validateNetwork(net: Network): ErrorWithInfo[] {
  const errors: ErrorWithInfo[] = [];
  if (net.kind === NetworkKinds.Tenant) {
    if (net.tenant === CLUSTER_SCOPE) errors.push(new ReservedTenantName('/tenant'));
    const spec = net.spec as unknown as Record<string, unknown>;
    for (const key of PHYSICAL_KEYS) if (spec[key] !== undefined) errors.push(new TenantPhysicalAttribute(`/${key}`, key, net.tenant!));
  } else {
    if (net.vlan !== null && (net.vlan < 1 || net.vlan > VLAN_MAX)) errors.push(new VlanOutOfRange('/vlan', net.vlan));
    if (net.vni !== null && (net.vni < 1 || net.vni > VNI_MAX)) errors.push(new VniOutOfRange('/vni', net.vni));
  }
  errors.push(...validateAddressing(net.addressing()));
  const cidr = tryCidr(net.cidr);
  net.routes.forEach((r, i) => {
    const via = tryIp(r.via);
    if (via === undefined) {
      try {
        parseIpv4(r.via, `/routes/${i}/via`);
      } catch (err) {
        errors.push(err as ErrorWithInfo);
      }
    } else if (cidr && !cidrContains(cidr, via)) errors.push(new RouteViaOutsideCidr(`/routes/${i}/via`, r.via, cidr.text));
    try {
      parseCidr(r.dst, `/routes/${i}/dst`);
    } catch (err) {
      errors.push(err as ErrorWithInfo);
    }
  });
  for (const ref of net.references()) {
    const { scope } = splitId(ref.to);
    if (net.kind === NetworkKinds.Tenant) {
      if (scope !== CLUSTER_SCOPE && scope !== net.tenant) errors.push(new CrossTenantReference(ref.path, net.id, ref.to));
    } else if (scope !== CLUSTER_SCOPE) {
      errors.push(new ClusterReferencesTenant(ref.path, net.id, ref.to, ref.relation === 'parent' ? 'nest in' : 'depend on'));
    }
  }
  return errors;
}

/**
 * Problems of a set of networks taken together. `located` maps the ids of the networks under
 * check (those a command creates or changes) to their place in the command; only problems that
 * involve at least one of them are reported, at their paths.
 */
export function validateTopology(networks: readonly Network[], located: ReadonlyMap<string, string>): ErrorWithInfo[] {
  const errors: ErrorWithInfo[] = [];
  const byId = new Map(networks.map((n) => [n.id, n]));
  const graph = new NetworkGraph(networks);
  const at = (id: string, path: string) => `${located.get(id) ?? ''}${path}`;
  const order = [...located.keys()];
  const rank = (id: string) => (located.has(id) ? order.indexOf(id) : -1);

  for (const net of order.map((id) => byId.get(id)!).filter(Boolean)) {
    for (const ref of net.references()) {
      if (!byId.has(ref.to)) errors.push(new UnknownNetworkReference(at(net.id, ref.path), net.id, ref.to, ref.relation === 'parent' ? 'nests in' : 'depends on'));
    }
  }
  if (errors.length > 0) return errors;

  const cycle = graph.findCycle();
  if (cycle && cycle.some((id) => located.has(id))) {
    // Blame the first network of the command on the cycle, at the edge that leaves it.
    const i = cycle.findIndex((id) => located.has(id));
    const from = byId.get(cycle[i]!)!;
    const next = cycle[i + 1]!;
    const path = from.parent === next ? '/parent' : `/dependsOn/${from.dependsOn.indexOf(next)}`;
    const rotated = [...cycle.slice(i, -1), ...cycle.slice(0, i), cycle[i]!];
    errors.push(new DependencyCycle(at(from.id, path), rotated));
    return errors;
  }

  const cidrs = new Map<string, Cidr>();
  for (const n of networks) {
    const c = tryCidr(n.cidr);
    if (c) cidrs.set(n.id, c);
  }

  for (const child of networks) {
    if (child.parent === null) continue;
    const parent = byId.get(child.parent);
    if (!parent || (!located.has(child.id) && !located.has(parent.id))) continue;
    const cc = cidrs.get(child.id);
    const pc = cidrs.get(parent.id);
    if (!cc || !pc) continue;
    const blameChild = located.has(child.id);
    if (!cidrWithin(cc, pc)) {
      errors.push(new ChildOutsideParent(blameChild ? at(child.id, '/cidr') : at(parent.id, '/cidr'), child.id, cc.text, parent.id, pc.text));
      continue;
    }
    parent.pools.forEach((p, i) => {
      const first = tryIp(p.start);
      const last = tryIp(p.end);
      if (first === undefined || last === undefined || !(first <= cc.last && cc.first <= last)) return;
      errors.push(new ParentPoolOverlapsChild(blameChild ? at(child.id, '/cidr') : at(parent.id, `/pools/${i}`), parent.id, i, `${p.start}-${p.end}`, child.id, cc.text));
    });
    const gw = tryIp(parent.gateway);
    if (gw !== undefined && cidrContains(cc, gw)) {
      errors.push(new ParentGatewayInChild(blameChild ? at(child.id, '/cidr') : at(parent.id, '/gateway'), parent.id, formatIpv4(gw), child.id, cc.text));
    }
  }

  const ids = networks.map((n) => n.id);
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const [a, b] = [ids[i]!, ids[j]!];
      if (!located.has(a) && !located.has(b)) continue;
      const ca = cidrs.get(a);
      const cb = cidrs.get(b);
      if (!ca || !cb || !cidrsOverlap(ca, cb)) continue;
      if (graph.ancestors(a).includes(b) || graph.ancestors(b).includes(a)) continue;
      // Blame whichever comes later in the command (an existing network is never to blame).
      const [blamed, other] = rank(a) > rank(b) ? [a, b] : [b, a];
      errors.push(new CidrOverlap(at(blamed, '/cidr'), blamed, cidrs.get(blamed)!.text, other, cidrs.get(other)!.text));
    }
  }
  return errors;
}

/**
 * VLAN ids and VNIs given explicitly (cluster networks) that another network already has on the
 * same device: the two would share one L2 segment.
 */
export function validatePhysical(networks: readonly Network[], located: ReadonlyMap<string, string>): ErrorWithInfo[] {
  const errors: ErrorWithInfo[] = [];
  const holders = new Map<string, string>();
  const order = [...located.keys()];
  const sorted = [...networks].sort((a, b) => (located.has(a.id) ? order.indexOf(a.id) : -1) - (located.has(b.id) ? order.indexOf(b.id) : -1));
  for (const n of sorted) {
    const k = physicalKey(n.physical);
    if (!k) continue;
    const key = `${k.device}\u0000${k.type}\u0000${k.id}`;
    const holder = holders.get(key);
    if (holder !== undefined && located.has(n.id)) {
      const field = k.type === 'vlan' ? '/vlan' : '/vni';
      errors.push(new PhysicalIdTaken(`${located.get(n.id)}${field}`, k.type === 'vlan' ? 'VLAN' : 'VNI', k.id, k.device || null, holder));
    } else if (holder === undefined) holders.set(key, n.id);
  }
  return errors;
}

/** Rebases every error onto `prefix` (the place of the checked resource in a command). */
export function located<E extends ErrorWithInfo>(errors: readonly E[], prefix: string): E[] {
  return errors.map((e) => withPath(e, prefix));
}
