// Semantic rules of a ServiceSpec, on top of its JSON Schema (which the gateway checks first).
// Every rule is its own error class; all problems are returned, in the order of the spec's fields.
import type { ServiceNetworkAttachment, ServiceSpec } from '@sdmi/contracts';
import {
  AddressesNeedStatic,
  ContradictoryConstraints,
  CrossTenantNetwork,
  DuplicateIfname,
  DuplicateNetworkAttachment,
  DuplicateStaticAddress,
  HealthTimeoutExceedsInterval,
  IfnameReserved,
  NameNotDnsLabel,
  ReservedTenantName,
  ServiceAddressWithoutIp,
  StartFirstWithStaticAddresses,
  StaticAddressCount,
  type SchedulingError,
} from './errors';

const CLUSTER_SCOPE = 'cluster';

function resolve(ref: string, tenant: string): string {
  return ref.includes('/') ? ref : `${tenant}/${ref}`;
}

/** Every semantic problem of a spec (empty = valid); paths are relative to the spec. */
export function validateServiceSpec(spec: ServiceSpec): SchedulingError[] {
  const errors: SchedulingError[] = [];
  const id = `${spec.tenant}/${spec.name}`;
  if (spec.tenant === CLUSTER_SCOPE) errors.push(new ReservedTenantName('/tenant'));
  if (spec.tenant.endsWith('-')) errors.push(new NameNotDnsLabel('/tenant', spec.tenant));
  if (spec.name.endsWith('-')) errors.push(new NameNotDnsLabel('/name', spec.name));

  const networks = spec.networks as readonly ServiceNetworkAttachment[];
  const seenNetwork = new Map<string, string>();
  const seenIfname = new Map<string, string>();
  let firstStatic = -1;
  networks.forEach((n, i) => {
    const at = `/networks/${i}`;
    const network = resolve(n.network, spec.tenant);
    const scope = network.slice(0, network.indexOf('/'));
    if (scope !== CLUSTER_SCOPE && scope !== spec.tenant) errors.push(new CrossTenantNetwork(`${at}/network`, id, network));
    const other = seenNetwork.get(network);
    if (other !== undefined) errors.push(new DuplicateNetworkAttachment(`${at}/network`, network, other));
    else seenNetwork.set(network, `${at}/network`);

    const ifname = n.ifname ?? `eth${i}`;
    if (ifname === 'lo') errors.push(new IfnameReserved(`${at}/ifname`, ifname));
    const otherIf = seenIfname.get(ifname);
    if (otherIf !== undefined) errors.push(new DuplicateIfname(`${at}/ifname`, ifname, otherIf));
    else seenIfname.set(ifname, at);

    if (n.serviceAddress !== undefined && n.ip.mode === 'none') errors.push(new ServiceAddressWithoutIp(`${at}/serviceAddress`));
    const addresses = n.ip.addresses;
    if (n.ip.mode !== 'static') {
      if (addresses !== undefined) errors.push(new AddressesNeedStatic(`${at}/ip/addresses`, n.ip.mode));
      return;
    }
    if (firstStatic < 0) firstStatic = i;
    const list = addresses ?? [];
    if (list.length !== spec.replicas) errors.push(new StaticAddressCount(`${at}/ip/addresses`, spec.replicas, list.length));
    const seen = new Map<string, number>();
    list.forEach((a, j) => {
      const k = seen.get(a);
      if (k !== undefined) errors.push(new DuplicateStaticAddress(`${at}/ip/addresses/${j}`, a, `${at}/ip/addresses/${k}`));
      else seen.set(a, j);
    });
  });

  const hc = spec.healthCheck;
  if (hc && hc.timeoutMs > hc.intervalMs) errors.push(new HealthTimeoutExceedsInterval('/healthCheck/timeoutMs', hc.timeoutMs, hc.intervalMs));

  // Per label: the value it must have (first ==) and the values it must not have (!=).
  const must = new Map<string, { value: string; path: string }>();
  const mustNot = new Map<string, Map<string, string>>();
  (spec.placement?.constraints ?? []).forEach((c, i) => {
    const at = `/placement/constraints/${i}`;
    const text = `${c.label}${c.op}${c.value}`;
    const eq = must.get(c.label);
    const ne = mustNot.get(c.label) ?? new Map<string, string>();
    if (c.op === '==') {
      if (eq && eq.value !== c.value) errors.push(new ContradictoryConstraints(at, text, `${c.label}==${eq.value}`, eq.path));
      else if (ne.has(c.value)) errors.push(new ContradictoryConstraints(at, text, `${c.label}!=${c.value}`, ne.get(c.value)!));
      else if (!eq) must.set(c.label, { value: c.value, path: at });
    } else {
      if (eq && eq.value === c.value) errors.push(new ContradictoryConstraints(at, text, `${c.label}==${c.value}`, eq.path));
      else if (!ne.has(c.value)) ne.set(c.value, at);
      mustNot.set(c.label, ne);
    }
  });

  if (firstStatic >= 0 && spec.update?.order === 'start-first') {
    errors.push(new StartFirstWithStaticAddresses('/update/order', `/networks/${firstStatic}`));
  }
  return errors;
}
