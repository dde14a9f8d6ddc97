import { describe, expect, it } from 'vitest';
import type { AutoscalePolicy, RoleBinding, ServiceSpec, Switch, Threshold } from '@sdmi/contracts';
import { planApply, planDelete, planIsEmpty, type ClusterState, type Resource } from '@sdmi/manifest';

const app: ServiceSpec = { tenant: 'shop', name: 'app', image: 'img:1', replicas: 2, networks: [{ network: 'front', ip: { mode: 'dynamic' } }] };
const empty: ClusterState = { tenantConfigs: [], clusterNetworks: [], tenantNetworks: [], services: [] };
const declared: Resource[] = [
  { kind: 'Service', spec: app },
  { kind: 'TenantNetwork', spec: { tenant: 'shop', name: 'back', cidr: '10.0.2.0/24' } },
  { kind: 'TenantNetwork', spec: { tenant: 'shop', name: 'front', cidr: '10.0.1.0/24', dependsOn: ['back'] } },
  { kind: 'ClusterNetwork', spec: { name: 'fabric', cidr: '10.9.0.0/16' } },
  { kind: 'TenantConfig', spec: { tenant: 'shop', hostDevices: [{ name: 'eth0', vniType: 'vlan', vniRange: '100-200' }] } },
];

describe('planApply', () => {
  it('creates what is missing, configs then networks then services', () => {
    const plan = planApply(declared, empty);
    expect(plan.changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual([
      'create TenantConfig shop',
      'create ClusterNetwork cluster/fabric',
      'create TenantNetwork shop/back',
      'create TenantNetwork shop/front',
      'create Service shop/app',
    ]);
  });

  it('is empty when the cluster holds the same specs, whatever the key order', () => {
    const state: ClusterState = {
      tenantConfigs: [declared[4]!.spec as ClusterState['tenantConfigs'][number]],
      clusterNetworks: [{ cidr: '10.9.0.0/16', name: 'fabric' }],
      tenantNetworks: declared.flatMap((r) => (r.kind === 'TenantNetwork' ? [r.spec] : [])),
      services: [{ ...app, networks: [{ ip: { mode: 'dynamic' }, network: 'front' }] }],
    };
    expect(planIsEmpty(planApply(declared, state))).toBe(true);
  });

  it('a changed replica count alone is a scale; anything else an update with the fields', () => {
    const state: ClusterState = { ...empty, services: [{ ...app, replicas: 5 }] };
    const [scale] = planApply([declared[0]!], state).changes;
    expect(scale).toMatchObject({ action: 'scale', fields: [{ path: '/replicas', from: 5, to: 2 }] });
    const [update] = planApply([declared[0]!], { ...empty, services: [{ ...app, image: 'img:0', env: { A: '1' } }] }).changes;
    expect(update).toMatchObject({ action: 'update', fields: [{ path: '/env', from: { A: '1' } }, { path: '/image', from: 'img:0', to: 'img:1' }] });
  });
});

describe('planDelete', () => {
  it('removes services first, then each network before the ones it refers to; keeps tenant configs', () => {
    const state = planApply(declared, empty).changes.reduce<ClusterState>((s, c) => {
      const r = c.resource!;
      if (r.kind === 'Service') return { ...s, services: [...(s.services ?? []), r.spec] };
      if (r.kind === 'TenantNetwork') return { ...s, tenantNetworks: [...s.tenantNetworks, r.spec] };
      if (r.kind === 'ClusterNetwork') return { ...s, clusterNetworks: [...s.clusterNetworks, r.spec] };
      if (r.kind === 'TenantConfig') return { ...s, tenantConfigs: [...s.tenantConfigs, r.spec] };
      return s;
    }, empty);
    expect(planDelete(declared, state).changes.map((c) => `${c.action} ${c.id}`)).toEqual(['delete shop/app', 'delete cluster/fabric', 'delete shop/front', 'delete shop/back', 'keep shop']);
    expect(planDelete(declared, empty).changes).toEqual([]);
  });
});

describe('autoscale policies and thresholds', () => {
  const policy: AutoscalePolicy = { version: 1, service: 'shop/app', minReplicas: 2, maxReplicas: 6, metric: 'cpu.utilization', target: 0.6 };
  const hot: Threshold = { version: 1, name: 'hot', service: 'shop/app', metric: 'cpu.utilization', aggregation: 'avg', comparator: '>', value: 0.9, durationMs: 60_000 };
  const withAutoscale: Resource[] = [{ kind: 'Threshold', spec: hot }, { kind: 'AutoscalePolicy', spec: policy }, declared[0]!];

  it('are created after the service they belong to, and diffed by field against what the collector holds', () => {
    expect(planApply(withAutoscale, empty).changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual(['create Service shop/app', 'create Threshold shop/app/hot', 'create AutoscalePolicy shop/app']);
    const held: ClusterState = { ...empty, services: [app], autoscalePolicies: [{ ...policy, maxReplicas: 4 }], thresholds: [hot] };
    const changes = planApply(withAutoscale, held).changes;
    expect(changes.find((c) => c.kind === 'AutoscalePolicy')).toMatchObject({ action: 'update', fields: [{ path: '/maxReplicas', from: 4, to: 6 }] });
    expect(changes.find((c) => c.kind === 'Threshold')).toMatchObject({ action: 'unchanged', fields: [] });
  });

  it('are deleted before the service, so that nothing scales a service being removed', () => {
    const held: ClusterState = { ...empty, services: [app], autoscalePolicies: [policy], thresholds: [hot] };
    expect(planDelete(withAutoscale, held).changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual(['delete Threshold shop/app/hot', 'delete AutoscalePolicy shop/app', 'delete Service shop/app']);
  });
});

describe('role bindings', () => {
  const admins: RoleBinding = { version: 1, name: 'shop-admins', principal: 'user:alice', role: 'tenant-admin', tenant: 'shop' };
  const withBinding: Resource[] = [...declared, { kind: 'RoleBinding', spec: admins }];

  it('are put before anything else, and diffed by field against the stored ones', () => {
    expect(planApply(withBinding, empty).changes.map((c) => `${c.action} ${c.kind} ${c.id}`)[0]).toBe('create RoleBinding shop-admins');
    const held = (b: RoleBinding): ClusterState => ({ ...empty, roleBindings: [b] });
    expect(planApply([withBinding[5]!], held(admins)).changes).toMatchObject([{ action: 'unchanged', fields: [] }]);
    expect(planApply([withBinding[5]!], held({ ...admins, role: 'tenant-user' })).changes).toMatchObject([{ action: 'update', fields: [{ path: '/role', from: 'tenant-user', to: 'tenant-admin' }] }]);
    const { tenant: _t, ...unscoped } = admins;
    expect(planApply([withBinding[5]!], held({ ...unscoped, role: 'viewer' })).changes[0]!.fields).toEqual([
      { path: '/role', from: 'viewer', to: 'tenant-admin' },
      { path: '/tenant', to: 'shop' },
    ]);
  });

  it('are deleted last, after the resources they give rights on', () => {
    const held: ClusterState = { ...empty, services: [app], tenantNetworks: declared.flatMap((r) => (r.kind === 'TenantNetwork' ? [r.spec] : [])), roleBindings: [admins] };
    expect(planDelete(withBinding, held).changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual(['delete Service shop/app', 'delete TenantNetwork shop/front', 'delete TenantNetwork shop/back', 'delete RoleBinding shop-admins']);
    expect(planDelete([withBinding[5]!], empty).changes).toEqual([]);
  });
});

describe('switches', () => {
  const leaf: Switch = {
    name: 'leaf-1',
    kind: 'netconf',
    netconf: { host: '192.0.2.10', port: 830, username: 'sdmi', privateKeyFile: '/etc/sdmi/switches/leaf-1.key', hostKey: 'ssh-ed25519 AAAA' },
    trunks: [{ port: 'eth1', carries: 'all-networks' }],
  };
  const withSwitch: Resource[] = [...declared, { kind: 'Switch', spec: leaf }];
  const held = (s: Switch): ClusterState => ({ ...empty, switches: [s] });

  it('are registered after the networks they carry and before the services, and diffed by field against the registered specs', () => {
    expect(planApply(withSwitch, empty).changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual([
      'create TenantConfig shop',
      'create ClusterNetwork cluster/fabric',
      'create TenantNetwork shop/back',
      'create TenantNetwork shop/front',
      'create Switch leaf-1',
      'create Service shop/app',
    ]);
    // None registered: every declared switch is a create.
    expect(planApply([withSwitch[5]!], { ...empty, switches: [] }).changes).toMatchObject([{ action: 'create', kind: 'Switch', id: 'leaf-1' }]);
    expect(planApply([withSwitch[5]!], held({ ...leaf, trunks: [{ carries: 'all-networks', port: 'eth1' }] })).changes).toMatchObject([{ action: 'unchanged', fields: [] }]);
    const changed = planApply([withSwitch[5]!], held({ ...leaf, trunks: [{ port: 'eth1', carries: ['cluster/fabric'] }], drift: 'repair' })).changes;
    expect(changed).toMatchObject([{ action: 'update', kind: 'Switch' }]);
    // Arrays compare as wholes: the trunks are one field.
    expect(changed[0]!.fields).toEqual([
      { path: '/drift', from: 'repair' },
      { path: '/trunks', from: [{ port: 'eth1', carries: ['cluster/fabric'] }], to: leaf.trunks },
    ]);
  });

  it('are removed after the services and before the networks; one the agent does not keep is not deleted', () => {
    const state: ClusterState = { ...empty, services: [app], tenantNetworks: declared.flatMap((r) => (r.kind === 'TenantNetwork' ? [r.spec] : [])), switches: [leaf] };
    expect(planDelete(withSwitch, state).changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual(['delete Service shop/app', 'delete Switch leaf-1', 'delete TenantNetwork shop/front', 'delete TenantNetwork shop/back']);
    expect(planDelete([withSwitch[5]!], held({ ...leaf, name: 'leaf-2' })).changes).toEqual([]);
  });
});
