// What a switch's VLAN configuration should be and what it takes to get there, as pure functions:
// the agent computes desired from the networks and the switch's declared trunks, reads running,
// and sends only the difference, so VLANs and trunk memberships it does not manage are left alone.

/** A switch's VLAN configuration as plain values: VLAN id → name, trunk port → allowed VLAN ids. */
export interface VlanState {
  vlans: Map<number, string>;
  trunks: Map<string, Set<number>>;
}

/** A trunk the Switch resource declares, and which networks it carries. */
export interface TrunkSpec {
  port: string;
  carries: 'all-networks' | readonly string[];
}

/** A network that needs a VLAN on the fabric (its id, e.g. `cluster/storage` or `acme/app`). */
export interface NetworkVlan {
  network: string;
  vlan: number;
}

/** The change from running to desired, limited to what the agent manages. */
export interface VlanPlan {
  addVlans: { id: number; name: string }[];
  removeVlans: number[];
  allow: { port: string; vlans: number[] }[];
  disallow: { port: string; vlans: number[] }[];
}

/** A VLAN's name on the switch: the network's id with `/` as `.` (names are 1..64 characters). */
export function vlanName(network: string): string {
  return network.replace(/\//g, '.').slice(0, 64);
}

/** Desired: every network with a VLAN, on each declared trunk that carries it. */
export function desiredState(trunks: readonly TrunkSpec[], networks: readonly NetworkVlan[]): VlanState {
  const out: VlanState = { vlans: new Map(), trunks: new Map() };
  const sorted = [...networks].sort((a, b) => a.network.localeCompare(b.network));
  for (const t of trunks) {
    const carried = sorted.filter((n) => t.carries === 'all-networks' || t.carries.includes(n.network));
    for (const n of carried) if (!out.vlans.has(n.vlan)) out.vlans.set(n.vlan, vlanName(n.network));
    out.trunks.set(t.port, new Set(carried.map((n) => n.vlan)));
  }
  return out;
}

/**
 * The plan from running to desired. `managed` are the VLAN ids the agent answers for (what it
 * applied before); only those are removed, from the VLAN list and from the declared trunks.
 */
export function planVlans(desired: VlanState, running: VlanState, managed: ReadonlySet<number>): VlanPlan {
  const plan: VlanPlan = { addVlans: [], removeVlans: [], allow: [], disallow: [] };
  for (const [id, name] of [...desired.vlans].sort((a, b) => a[0] - b[0])) {
    if (running.vlans.get(id) !== name) plan.addVlans.push({ id, name });
  }
  for (const id of [...running.vlans.keys()].sort((a, b) => a - b)) {
    if (managed.has(id) && !desired.vlans.has(id)) plan.removeVlans.push(id);
  }
  for (const [port, want] of [...desired.trunks].sort((a, b) => a[0].localeCompare(b[0]))) {
    const have = running.trunks.get(port) ?? new Set<number>();
    const add = [...want].filter((v) => !have.has(v)).sort((a, b) => a - b);
    const drop = [...have].filter((v) => managed.has(v) && !want.has(v)).sort((a, b) => a - b);
    if (add.length) plan.allow.push({ port, vlans: add });
    if (drop.length) plan.disallow.push({ port, vlans: drop });
  }
  // A removed VLAN must leave every trunk first (allowed-vlan is a leafref), declared or not.
  const removed = new Set(plan.removeVlans);
  for (const [port, have] of running.trunks) {
    if (desired.trunks.has(port)) continue;
    const drop = [...have].filter((v) => removed.has(v)).sort((a, b) => a - b);
    if (drop.length) plan.disallow.push({ port, vlans: drop });
  }
  return plan;
}

export function isEmptyPlan(p: VlanPlan): boolean {
  return !p.addVlans.length && !p.removeVlans.length && !p.allow.length && !p.disallow.length;
}

/** One line per change, for logs, drift reports and task errors. */
export function describePlan(p: VlanPlan): string[] {
  return [
    ...p.addVlans.map((v) => `vlan ${v.id} (${v.name}) missing`),
    ...p.removeVlans.map((id) => `vlan ${id} not desired`),
    ...p.allow.map((t) => `trunk ${t.port} lacks ${t.vlans.join(',')}`),
    ...p.disallow.map((t) => `trunk ${t.port} carries ${t.vlans.join(',')} not desired`),
  ];
}
