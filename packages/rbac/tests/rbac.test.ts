// The access rules as a table of cases: every command kind the services take is described, and each
// role may do exactly what docs/security.md says, within its tenant.
import { DnsCommandKinds, MetricsCommandKinds, NodeAgentCommandKinds, type RoleBinding } from '@sdmi/contracts';
import { NetworkCommandKinds } from '@sdmi/networks';
import { ServiceCommandKinds } from '@sdmi/scheduling';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, InvalidRoleBinding, authorize, canRead, checkBinding, readableTenants, targetsOf } from '../src';

const bind = (principal: string, role: RoleBinding['role'], tenant?: string): RoleBinding => ({ version: 1, name: `${principal.split(':')[1]}-${role}`, principal, role, ...(tenant ? { tenant } : {}) });
const bindings: RoleBinding[] = [
  bind('user:root', 'cluster-admin'),
  bind('user:net', 'network-admin'),
  bind('user:alice', 'tenant-admin', 'acme'),
  bind('user:bob', 'tenant-user', 'acme'),
  bind('user:vera', 'viewer', 'acme'),
  bind('user:auditor', 'viewer'),
  bind('service:scheduler', 'system'),
];
const ctx = { domain: 'sdmi.example' };
const spec = (tenant: string) => ({ spec: { tenant, name: 'web', image: 'x', replicas: 1, networks: [] } });

/** One payload per kind, on tenant `t` where the kind has a tenant. */
function payload(kind: string, t: string): Record<string, unknown> {
  switch (kind) {
    case 'createNetworks':
      return { tenantNetworks: [{ tenant: t, name: 'n', cidr: '10.0.0.0/24' }] };
    case 'updateNetwork':
      return { tenantNetwork: { tenant: t, name: 'n', cidr: '10.0.0.0/24' } };
    case 'deleteNetwork':
      return { id: `${t}/n` };
    case 'deployService':
    case 'updateService':
      return spec(t);
    case 'removeService':
    case 'scaleService':
    case 'rolloutUndo':
    case 'deleteAutoscalePolicy':
    case 'deleteThreshold':
      return { service: `${t}/web`, replicas: 2, name: 'x' };
    case 'setAutoscalePolicy':
      return { policy: { service: `${t}/web` } };
    case 'setThreshold':
      return { threshold: { service: `${t}/web` } };
    case 'execInReplica':
      return { replicaId: `${t}/web-1-r1`, argv: ['true'] };
    case 'putRecords':
    case 'deleteRecords':
      return { zone: `${t}.sdmi.example.`, name: 'www', type: 'A' };
    default:
      return { tenant: t, name: 'x' };
  }
}

describe('the catalogue', () => {
  it('describes every command kind the services take (a missing one is refused as unknown)', () => {
    const kinds = [
      ...Object.values(NetworkCommandKinds),
      ...Object.values(ServiceCommandKinds),
      'addNode',
      'removeNode',
      'startReplica',
      'stopReplica',
      ...Object.values(NodeAgentCommandKinds),
      ...Object.values(DnsCommandKinds),
      ...Object.values(MetricsCommandKinds),
    ];
    expect(kinds.filter((k) => !Object.hasOwn(CATALOGUE, k))).toEqual([]);
    expect(authorize('user:root', bindings, 'formatDisks', {})).toMatchObject({ allowed: false, code: 'UNKNOWN_COMMAND_KIND' });
  });

  it('reads the tenant from each payload shape', () => {
    expect(targetsOf('scaleService', { service: 'acme/web' })).toEqual([{ resource: 'service-scale', tenant: 'acme', name: 'service acme/web' }]);
    expect(targetsOf('deleteNetwork', { id: 'cluster/web' })).toEqual([{ resource: 'cluster-network', name: 'cluster network cluster/web' }]);
    expect(targetsOf('putRecords', { zone: 'sdmi.example.' }, ctx)).toEqual([{ resource: 'cluster-dns-records', name: 'zone sdmi.example' }]);
    expect(targetsOf('putRecords', { zone: 'a.b.sdmi.example' }, ctx)![0]!.resource).toBe('cluster-dns-records');
    expect(targetsOf('createNetworks', { clusterNetworks: [{ name: 'x' }], tenantNetworks: [{ tenant: 'beta', name: 'y' }] })!.map((t) => t.resource)).toEqual(['cluster-network', 'tenant-network']);
    expect(targetsOf('putRoleBinding', { binding: { name: 'alice-shop', principal: 'user:alice', role: 'viewer' } })).toEqual([{ resource: 'role-binding', name: 'role binding alice-shop' }]);
    expect(targetsOf('registerSwitch', { switch: { name: 'leaf-1', kind: 'netconf', trunks: [] } })).toEqual([{ resource: 'switch', name: 'switch leaf-1' }]);
  });
});

describe('authorize', () => {
  const tenantKinds = ['createNetworks', 'updateNetwork', 'deleteNetwork', 'deployService', 'updateService', 'removeService', 'scaleService', 'rolloutUndo', 'execInReplica', 'putRecords', 'deleteRecords', 'setAutoscalePolicy', 'deleteAutoscalePolicy', 'setThreshold', 'deleteThreshold'];

  it.each(tenantKinds)('%s: a tenant-admin of acme may on acme, never on beta; the refusal names who, what and which role would do', (kind) => {
    expect(authorize('user:alice', bindings, kind, payload(kind, 'acme'), ctx)).toMatchObject({ allowed: true });
    const d = authorize('user:alice', bindings, kind, payload(kind, 'beta'), ctx);
    expect(d).toMatchObject({ allowed: false, code: 'FORBIDDEN', target: { tenant: 'beta' } });
    expect(d.allowed === false && d.message).toMatch(new RegExp(`^user:alice \\(tenant-admin of acme\\) may not ${kind} .*beta.*: that needs .*cluster-admin`));
    expect(authorize('user:root', bindings, kind, payload(kind, 'beta'), ctx)).toMatchObject({ allowed: true });
  });

  it('a viewer can change nothing; a tenant-user only scales and rolls back its own services', () => {
    for (const kind of tenantKinds) {
      expect(authorize('user:vera', bindings, kind, payload(kind, 'acme'), ctx).allowed).toBe(false);
      expect(authorize('user:auditor', bindings, kind, payload(kind, 'acme'), ctx).allowed).toBe(false);
      expect(authorize('user:bob', bindings, kind, payload(kind, 'acme'), ctx).allowed).toBe(kind === 'scaleService' || kind === 'rolloutUndo');
    }
    expect(authorize('user:bob', bindings, 'scaleService', payload('scaleService', 'beta')).allowed).toBe(false);
  });

  it('a network-admin manages tenant configs, cluster networks, hosts and switches, not services; a tenant-admin none of those', () => {
    for (const [kind, p] of [
      ['putTenantConfig', { tenant: 'acme', hostDevices: [] }],
      ['createNetworks', { clusterNetworks: [{ name: 'web', cidr: '10.1.0.0/24' }] }],
      ['registerHost', { name: 'h', dpid: '1' }],
      ['registerSwitch', { switch: { name: 'leaf-1', kind: 'netconf', trunks: [] } }],
      ['syncSwitch', { name: 'leaf-1' }],
      ['removeSwitch', { name: 'leaf-1' }],
    ] as const) {
      expect(authorize('user:net', bindings, kind, p).allowed).toBe(true);
      expect(authorize('user:alice', bindings, kind, p).allowed).toBe(false);
    }
    expect(authorize('user:net', bindings, 'deployService', spec('acme')).allowed).toBe(false);
    // One forbidden target refuses the whole command.
    expect(authorize('user:alice', bindings, 'createNetworks', { clusterNetworks: [{ name: 'x' }], tenantNetworks: [{ tenant: 'acme', name: 'y' }] })).toMatchObject({ allowed: false, target: { resource: 'cluster-network' } });
  });

  it('internal steps are the services\' alone: not even a cluster-admin sends them', () => {
    for (const kind of ['startReplica', 'runReplica', 'attachInterface', 'registerReplica']) {
      expect(authorize('user:root', bindings, kind, { replicaId: 'acme/web-1-r1' })).toMatchObject({ allowed: false, message: expect.stringContaining('only the services themselves') });
      expect(authorize('service:scheduler', bindings, kind, { replicaId: 'acme/web-1-r1' }).allowed).toBe(true);
    }
  });

  it('someone else\'s bindings give nothing, and none at all says so', () => {
    const d = authorize('user:mallory', bindings, 'scaleService', payload('scaleService', 'acme'));
    expect(d).toMatchObject({ allowed: false, message: expect.stringMatching(/^user:mallory \(no role bindings\) may not scaleService/) });
  });
});

describe('reading', () => {
  it('a tenant-scoped binding reads its tenant only; an unscoped one everything', () => {
    expect(readableTenants('user:auditor', bindings)).toBe('all');
    expect([...(readableTenants('user:vera', bindings) as Set<string>)]).toEqual(['acme']);
    expect(canRead('user:vera', bindings, 'acme')).toBe(true);
    expect(canRead('user:vera', bindings, 'beta')).toBe(false);
    expect(canRead('user:vera', bindings, undefined)).toBe(false);
    expect(canRead('user:mallory', bindings, 'acme')).toBe(false);
    expect(canRead('user:net', bindings, 'beta')).toBe(true);
  });
});

describe('checkBinding', () => {
  it('refuses the combinations the schema cannot, with the path', () => {
    expect(() => checkBinding(bind('user:x', 'tenant-user'))).toThrow(expect.objectContaining({ path: '/tenant', rule: 'tenant-required' }));
    expect(() => checkBinding(bind('user:x', 'cluster-admin', 'acme'))).toThrow(InvalidRoleBinding);
    expect(() => checkBinding(bind('user:x', 'system'))).toThrow(expect.objectContaining({ path: '/principal' }));
    expect(() => checkBinding(bind('user:x', 'viewer', 'acme'))).not.toThrow();
    expect(() => checkBinding(bind('service:scheduler', 'system'))).not.toThrow();
  });
});
