import { describe, expect, it } from 'vitest';
import { ManifestInvalid, parseManifest, type ManifestError } from '@sdmi/manifest';

function errorsOf(text: string, file = 'app.yaml'): ManifestError[] {
  try {
    parseManifest(text, file);
  } catch (e) {
    if (e instanceof ManifestInvalid) return [...e.errors];
    throw e;
  }
  throw new Error('expected the manifest to be refused');
}

const service = `apiVersion: sdmi/v1
kind: Service
spec:
  tenant: shop
  name: app
  image: sdmi/base:busybox
  replicas: 2
  networks:
    - network: front
      ip: { mode: dynamic }
`;

describe('parseManifest', () => {
  it('reads YAML documents and a JSON array as the same resources, each with where it starts', () => {
    const yaml = `${service}---\napiVersion: sdmi/v1\nkind: TenantNetwork\nspec: { tenant: shop, name: front, cidr: 10.20.1.0/24 }\n`;
    const fromYaml = parseManifest(yaml, 'app.yaml');
    expect(fromYaml.map((r) => [r.kind, r.source?.line])).toEqual([['Service', 1], ['TenantNetwork', 12]]);
    const json = JSON.stringify(fromYaml.map(({ kind, spec }) => ({ apiVersion: 'sdmi/v1', kind, spec })), null, 2);
    expect(parseManifest(json, 'app.json').map(({ kind, spec }) => ({ kind, spec }))).toEqual(fromYaml.map(({ kind, spec }) => ({ kind, spec })));
  });

  it('points a broken rule at the line and column of the value, with its path and rule', () => {
    const [e] = errorsOf(service.replace('replicas: 2', 'replicas: -1'));
    expect(e!.location).toEqual({ file: 'app.yaml', line: 7, col: 13 });
    expect(e!.path).toBe('/spec/replicas');
    expect(e!.rule).toBe('minimum');
    expect(e!.message).toMatch(/^app\.yaml:7:13: .*must be >= 0/);
  });

  it('points an unknown property at its key, a missing one at its parent', () => {
    const [unknown] = errorsOf(service.replace('  replicas: 2', '  replica: 2\n  replicas: 2'));
    expect([unknown!.location.line, unknown!.location.col, unknown!.path, unknown!.rule]).toEqual([7, 3, '/spec/replica', 'additionalProperties']);
    const [missing] = errorsOf(service.replace('  image: sdmi/base:busybox\n', ''));
    expect([missing!.location.line, missing!.path, missing!.rule]).toEqual([4, '/spec/image', 'required']);
  });

  it('names the allowed kinds and the format version', () => {
    const [kind] = errorsOf(service.replace('kind: Service', 'kind: Deployment'));
    expect(kind!.rule).toBe('enum');
    expect(kind!.message).toContain('"TenantConfig", "ClusterNetwork", "TenantNetwork", "Service"');
    const [version] = errorsOf(service.replace('sdmi/v1', 'sdmi/v2'));
    expect([version!.location.line, version!.path, version!.rule]).toEqual([1, '/apiVersion', 'const']);
  });

  it('reports every bad resource of a file at once, in a JSON array with the item index', () => {
    const json = `[\n  {"apiVersion": "sdmi/v1", "kind": "TenantNetwork", "spec": {"tenant": "shop", "name": "Front", "cidr": "10.0.0.0/24"}},\n  {"apiVersion": "sdmi/v1", "kind": "TenantNetwork", "spec": {"tenant": "shop", "name": "back", "cidr": "ten"}}\n]\n`;
    const errs = errorsOf(json, 'nets.json');
    expect(errs.map((e) => [e.location.line, e.path, e.rule])).toEqual([
      [2, '/0/spec/name', 'pattern'],
      [3, '/1/spec/cidr', 'pattern'],
    ]);
  });

  it('refuses a resource declared twice, naming the first place', () => {
    const [e] = errorsOf(`${service}---\n${service}`);
    expect(e!.rule).toBe('unique');
    expect(e!.message).toContain('Service shop/app is declared twice (first at app.yaml:1:1)');
  });

  it('reports YAML syntax errors with their position', () => {
    const [e] = errorsOf('apiVersion: sdmi/v1\nkind: [Service\n');
    expect(e!.rule).toBe('syntax');
    expect(e!.location.line).toBeGreaterThanOrEqual(2);
  });

  it('an empty file declares nothing', () => {
    expect(parseManifest('', 'empty.yaml')).toEqual([]);
    expect(parseManifest('---\n', 'empty.yaml')).toEqual([]);
  });
});

describe('semantic rules', () => {
  it('runs the given rules on resources that pass the schema and points their paths into the file', () => {
    try {
      parseManifest(service, 'app.yaml', { semantic: (r) => (r.kind === 'Service' ? [{ code: 'NO_TWO', message: 'two replicas are not allowed here', path: '/replicas', rule: 'no-two' }] : []) });
      throw new Error('expected a refusal');
    } catch (e) {
      const [err] = (e as ManifestInvalid).errors;
      expect(err!.message).toBe('app.yaml:7:13: two replicas are not allowed here (rule no-two, at /spec/replicas)');
    }
  });
});

describe('autoscale kinds', () => {
  it('reads an AutoscalePolicy and a Threshold, checked by the metrics-collector\'s contracts with file, line and column', () => {
    const policy = 'apiVersion: sdmi/v1\nkind: AutoscalePolicy\nspec: { version: 1, service: shop/app, minReplicas: 2, maxReplicas: 6, metric: cpu.utilization, target: 0.6 }\n';
    const threshold = 'apiVersion: sdmi/v1\nkind: Threshold\nspec:\n  version: 1\n  name: hot\n  service: shop/app\n  metric: cpu.utilization\n  aggregation: median\n  comparator: ">"\n  value: 0.9\n  durationMs: 60000\n';
    expect(parseManifest(policy, 'as.yaml').map((r) => [r.kind, r.source?.line])).toEqual([['AutoscalePolicy', 1]]);
    const [e] = errorsOf(`${policy}---\n${threshold}`, 'as.yaml');
    expect(e!.location).toEqual({ file: 'as.yaml', line: 12, col: 16 });
    expect(e!.path).toBe('/spec/aggregation');
    expect(e!.rule).toBe('enum');
  });
});

describe('role bindings', () => {
  const binding = 'apiVersion: sdmi/v1\nkind: RoleBinding\nspec:\n  version: 1\n  name: shop-admins\n  principal: user:alice\n  role: tenant-admin\n  tenant: shop\n';

  it('reads a RoleBinding, known by its name', () => {
    expect(parseManifest(binding, 'rb.yaml').map((r) => [r.kind, r.spec, r.source?.line])).toEqual([['RoleBinding', { version: 1, name: 'shop-admins', principal: 'user:alice', role: 'tenant-admin', tenant: 'shop' }, 1]]);
    const [twice] = errorsOf(`${binding}---\n${binding.replace('user:alice', 'user:bob')}`, 'rb.yaml');
    expect(twice!.message).toContain('RoleBinding shop-admins is declared twice (first at rb.yaml:1:1)');
  });

  it('checks it by the put-role-binding contract, with the allowed roles at the line of the role', () => {
    const [e] = errorsOf(binding.replace('role: tenant-admin', 'role: owner'), 'rb.yaml');
    expect([e!.location.line, e!.location.col, e!.path, e!.rule]).toEqual([7, 9, '/spec/role', 'enum']);
    expect(e!.message).toContain('"cluster-admin", "network-admin", "tenant-admin", "tenant-user", "viewer", "system"');
    const [p] = errorsOf(binding.replace('user:alice', 'alice'), 'rb.yaml');
    expect([p!.location.line, p!.path, p!.rule]).toEqual([6, '/spec/principal', 'pattern']);
  });
});

describe('switches', () => {
  const sw = 'apiVersion: sdmi/v1\nkind: Switch\nspec:\n  name: leaf-1\n  kind: netconf\n  netconf: { host: 192.0.2.10, port: 830, username: sdmi, privateKeyFile: /etc/sdmi/leaf-1.key, hostKey: ssh-ed25519 AAAA }\n  trunks:\n    - port: eth1\n      carries: all-networks\n';

  it('reads a Switch, known by its name', () => {
    expect(parseManifest(sw, 'sw.yaml').map((r) => [r.kind, r.spec, r.source?.line])).toEqual([
      ['Switch', { name: 'leaf-1', kind: 'netconf', netconf: { host: '192.0.2.10', port: 830, username: 'sdmi', privateKeyFile: '/etc/sdmi/leaf-1.key', hostKey: 'ssh-ed25519 AAAA' }, trunks: [{ port: 'eth1', carries: 'all-networks' }] }, 1],
    ]);
    const [twice] = errorsOf(`${sw}---\n${sw.replace('eth1', 'eth2')}`, 'sw.yaml');
    expect(twice!.message).toContain('Switch leaf-1 is declared twice (first at sw.yaml:1:1)');
  });

  it('checks it by the Switch contract, at the line of the offending value', () => {
    const [carries] = errorsOf(sw.replace('carries: all-networks', 'carries: some'), 'sw.yaml');
    expect([carries!.location.line, carries!.location.col, carries!.path]).toEqual([9, 16, '/spec/trunks/0/carries']);
    const [kind] = errorsOf(sw.replace('kind: netconf', 'kind: cisco'), 'sw.yaml');
    expect([kind!.location.line, kind!.path, kind!.rule]).toEqual([5, '/spec/kind', 'enum']);
    expect(kind!.message).toContain('"netconf", "ovs"');
    const [extra] = errorsOf(sw.replace('  trunks:', '  password: hunter2\n  trunks:'), 'sw.yaml');
    expect([extra!.location.line, extra!.path, extra!.rule]).toEqual([7, '/spec/password', 'additionalProperties']);
  });
});
