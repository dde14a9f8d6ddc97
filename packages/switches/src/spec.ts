// What a Switch resource means beyond its schema, and what it should carry, as pure functions.
import { createHash } from 'node:crypto';
import { SwitchErrorCodes, type ErrorInfo, type ListNetworksReply, type Switch } from '@sdmi/contracts';
import { desiredState, type NetworkVlan, type VlanState } from './plan';

/** A Switch the schema accepts but that cannot be kept as given. `path` is a JSON pointer into the payload. */
export class InvalidSwitch extends Error {
  override name = 'InvalidSwitch';
  readonly code = SwitchErrorCodes.InvalidSwitch;
  constructor(
    message: string,
    readonly path: string,
    /** Which rule: access-matches-kind or port-listed-once. */
    readonly rule: string,
  ) {
    super(message);
  }
}

/**
 * Refuses what the schema cannot say: access matching the kind, one entry per trunk port. `at` is
 * where the switch sits in the message (`/switch` in registerSwitch's payload, `` in a manifest's spec).
 */
export function checkSwitch(s: Switch, at = '/switch'): void {
  if (s.kind === 'netconf' && !s.netconf) throw new InvalidSwitch(`${at}/netconf: a kind netconf switch needs netconf (host, port, username, privateKeyFile, hostKey)`, `${at}/netconf`, 'access-matches-kind');
  if (s.kind === 'ovs' && !s.ovs) throw new InvalidSwitch(`${at}/ovs: a kind ovs switch needs ovs (ovsdb, bridge)`, `${at}/ovs`, 'access-matches-kind');
  if (s.kind === 'netconf' && s.ovs) throw new InvalidSwitch(`${at}/ovs: a kind netconf switch takes no ovs settings`, `${at}/ovs`, 'access-matches-kind');
  if (s.kind === 'ovs' && s.netconf) throw new InvalidSwitch(`${at}/netconf: a kind ovs switch takes no netconf settings`, `${at}/netconf`, 'access-matches-kind');
  const seen = new Map<string, number>();
  s.trunks.forEach((t, i) => {
    const first = seen.get(t.port);
    if (first !== undefined) throw new InvalidSwitch(`${at}/trunks/${i}/port: port ${t.port} is already trunk ${first}; list each port once`, `${at}/trunks/${i}/port`, 'port-listed-once');
    seen.set(t.port, i);
  });
}

/** checkSwitch's refusal as the contracts report problems (paths relative to the switch), or none. */
export function switchProblems(s: Switch): ErrorInfo[] {
  try {
    checkSwitch(s, '');
  } catch (e) {
    if (e instanceof InvalidSwitch) return [{ code: e.code, message: e.message, path: e.path, rule: e.rule }];
    throw e;
  }
  return [];
}

/** Every network with a VLAN: ClusterNetworks' own, TenantNetworks' assigned from their TenantConfig. */
export function networkVlans(reply: ListNetworksReply): NetworkVlan[] {
  return [
    ...reply.clusterNetworks.flatMap((n) => (n.spec.vlan !== undefined ? [{ network: n.id, vlan: n.spec.vlan }] : [])),
    ...reply.tenantNetworks.flatMap((n) => (n.assigned.vlan !== undefined ? [{ network: n.id, vlan: n.assigned.vlan }] : [])),
  ];
}

export function desiredFor(s: Switch, networks: readonly NetworkVlan[]): VlanState {
  return desiredState(s.trunks, networks);
}

/** The VLAN ids a desired state uses. */
export function vlansOf(desired: VlanState): number[] {
  return [...desired.vlans.keys()].sort((a, b) => a - b);
}

/**
 * What a sync brings about, as one string: the spec (its access, bridge settings and trunks) and the
 * desired VLANs. A pass syncs a switch whose fingerprint differs from the last one that landed.
 */
export function fingerprint(s: Switch, desired: VlanState): string {
  const d = {
    vlans: [...desired.vlans].sort((a, b) => a[0] - b[0]),
    trunks: [...desired.trunks].map(([p, v]) => [p, [...v].sort((a, b) => a - b)] as const).sort((a, b) => a[0].localeCompare(b[0])),
  };
  return createHash('sha256').update(JSON.stringify({ spec: s, d })).digest('hex').slice(0, 32);
}
