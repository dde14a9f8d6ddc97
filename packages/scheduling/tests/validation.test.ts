// Every semantic rule of a Service, with its exact code, path and message; and the Service's
// revision-changing methods with theirs.
import { describe, expect, it } from 'vitest';
import { contracts } from '@sdmi/contracts';
import { Node, Service, place, validateServiceSpec, type SchedulingError } from '../src/index';
import { node, spec } from './helpers';

const info = (errors: readonly SchedulingError[]) => errors.map((e) => ({ code: e.info.code, path: e.info.path, message: e.message }));
const one = (errors: readonly SchedulingError[]) => {
  expect(errors).toHaveLength(1);
  return info(errors)[0];
};
const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    const err = e as SchedulingError;
    expect(err.info.message).toBe(err.message);
    expect(err.info.rule).toBeTruthy();
    return { name: err.name, code: err.info.code, path: err.info.path, message: err.message };
  }
  throw new Error('did not throw');
};

describe('ServiceSpec semantic rules', () => {
  it('accepts the full example, which passes the schema too', () => {
    const s = spec({
      replicas: 2,
      networks: [
        { network: 'app', ip: { mode: 'static', addresses: ['10.20.0.10', '10.20.0.11'] }, ifname: 'app0' },
        { network: 'cluster/mgmt', ip: { mode: 'none' } },
      ],
      healthCheck: { exec: ['/app', 'health'], intervalMs: 2000, timeoutMs: 2000, retries: 3 },
      placement: { constraints: [{ label: 'zone', op: '==', value: 'eu' }, { label: 'zone', op: '!=', value: 'us' }, { label: 'disk', op: '!=', value: 'hdd' }] },
      update: { order: 'stop-first' },
    });
    expect(contracts().check('ServiceSpec', s).ok).toBe(true);
    expect(validateServiceSpec(s)).toEqual([]);
  });

  it('refuses "cluster" as a tenant', () => {
    expect(one(validateServiceSpec(spec({ tenant: 'cluster' })))).toEqual({
      code: 'RESERVED_TENANT_NAME',
      path: '/tenant',
      message: '/tenant: "cluster" is reserved for cluster networks (ids cluster/<name>) and cannot name a tenant',
    });
  });

  it('refuses tenant and service names that end with a hyphen: they become DNS labels', () => {
    const s = spec({ tenant: 'acme-', name: 'web-' });
    expect(contracts().check('ServiceSpec', s).ok).toBe(true);
    expect(validateServiceSpec(s).map((e) => [e.code, e.info.path])).toEqual([
      ['NAME_NOT_DNS_LABEL', '/tenant'],
      ['NAME_NOT_DNS_LABEL', '/name'],
    ]);
    expect(validateServiceSpec(s)[1]!.message).toBe('/name: "web-" ends with a hyphen, so it cannot be a DNS label (its replicas\' names would be refused); end it with a letter or digit');
  });

  it("refuses another tenant's network, accepts its own and cluster ones", () => {
    expect(one(validateServiceSpec(spec({ networks: [{ network: 'acme/web', ip: { mode: 'dynamic' } }, { network: 'cluster/lb', ip: { mode: 'dynamic' } }, { network: 'other/db', ip: { mode: 'dynamic' } }] })))).toEqual({
      code: 'CROSS_TENANT_NETWORK',
      path: '/networks/2/network',
      message: "/networks/2/network: service acme/app may not attach to network other/db: a service may only use its own tenant's networks and cluster networks",
    });
  });

  it('refuses a network attached twice, also when one reference is bare and the other full', () => {
    expect(one(validateServiceSpec(spec({ networks: [{ network: 'web', ip: { mode: 'dynamic' } }, { network: 'acme/web', ip: { mode: 'none' } }] })))).toEqual({
      code: 'DUPLICATE_NETWORK_ATTACHMENT',
      path: '/networks/1/network',
      message: '/networks/1/network: network acme/web is attached twice (also at /networks/0/network); a replica has one interface per network',
    });
  });

  it('refuses an interface name used twice, counting the eth<index> defaults', () => {
    expect(one(validateServiceSpec(spec({ networks: [{ network: 'web', ip: { mode: 'dynamic' }, ifname: 'eth1' }, { network: 'db', ip: { mode: 'dynamic' } }] })))).toEqual({
      code: 'DUPLICATE_IFNAME',
      path: '/networks/1/ifname',
      message: '/networks/1/ifname: interface name eth1 is used twice (also by /networks/0, default names are eth<index>)',
    });
  });

  it('refuses lo as an interface name', () => {
    expect(one(validateServiceSpec(spec({ networks: [{ network: 'web', ip: { mode: 'dynamic' }, ifname: 'lo' }] })))).toEqual({
      code: 'IFNAME_RESERVED',
      path: '/networks/0/ifname',
      message: "/networks/0/ifname: lo is the container's loopback interface and cannot name a network interface",
    });
  });

  it('refuses addresses with mode dynamic or none', () => {
    for (const mode of ['dynamic', 'none'] as const) {
      expect(one(validateServiceSpec(spec({ networks: [{ network: 'web', ip: { mode, addresses: ['10.0.0.1'] } }] })))).toEqual({
        code: 'ADDRESSES_NEED_STATIC',
        path: '/networks/0/ip/addresses',
        message: `/networks/0/ip/addresses: addresses are only taken with mode static; this network's mode is ${mode}`,
      });
    }
  });

  it('refuses static addresses whose count is not the replica count, missing ones included', () => {
    expect(one(validateServiceSpec(spec({ replicas: 3, networks: [{ network: 'web', ip: { mode: 'static', addresses: ['10.0.0.1', '10.0.0.2'] } }] })))).toEqual({
      code: 'STATIC_ADDRESS_COUNT',
      path: '/networks/0/ip/addresses',
      message: '/networks/0/ip/addresses: mode static needs one address per replica: 3 replica(s) but 2 address(es)',
    });
    expect(one(validateServiceSpec(spec({ replicas: 1, networks: [{ network: 'web', ip: { mode: 'static' } }] })))?.message).toBe(
      '/networks/0/ip/addresses: mode static needs one address per replica: 1 replica(s) but 0 address(es)',
    );
  });

  it('refuses a static address given twice', () => {
    expect(one(validateServiceSpec(spec({ replicas: 3, networks: [{ network: 'web', ip: { mode: 'static', addresses: ['10.0.0.5', '10.0.0.6', '10.0.0.5'] } }] })))).toEqual({
      code: 'DUPLICATE_STATIC_ADDRESS',
      path: '/networks/0/ip/addresses/2',
      message: '/networks/0/ip/addresses/2: 10.0.0.5 is given twice (also at /networks/0/ip/addresses/0)',
    });
  });

  it('refuses a health check timeout longer than its interval', () => {
    expect(one(validateServiceSpec(spec({ healthCheck: { exec: ['true'], intervalMs: 2000, timeoutMs: 5000, retries: 3 } })))).toEqual({
      code: 'HEALTH_TIMEOUT_EXCEEDS_INTERVAL',
      path: '/healthCheck/timeoutMs',
      message: '/healthCheck/timeoutMs: a check may take 5000 ms but runs every 2000 ms; timeoutMs must not exceed intervalMs',
    });
  });

  it('refuses constraints that contradict each other (== two values, or == and != one value)', () => {
    expect(one(validateServiceSpec(spec({ placement: { constraints: [{ label: 'zone', op: '==', value: 'eu' }, { label: 'zone', op: '==', value: 'us' }] } })))).toEqual({
      code: 'CONTRADICTORY_CONSTRAINTS',
      path: '/placement/constraints/1',
      message: '/placement/constraints/1: zone==us contradicts zone==eu at /placement/constraints/0: no node can satisfy both',
    });
    expect(one(validateServiceSpec(spec({ placement: { constraints: [{ label: 'zone', op: '!=', value: 'eu' }, { label: 'zone', op: '==', value: 'eu' }] } })))?.message).toBe(
      '/placement/constraints/1: zone==eu contradicts zone!=eu at /placement/constraints/0: no node can satisfy both',
    );
    expect(one(validateServiceSpec(spec({ placement: { constraints: [{ label: 'zone', op: '==', value: 'eu' }, { label: 'zone', op: '!=', value: 'eu' }] } })))?.message).toBe(
      '/placement/constraints/1: zone!=eu contradicts zone==eu at /placement/constraints/0: no node can satisfy both',
    );
  });

  it('leaves constraints that no node satisfies today to the planner', () => {
    expect(validateServiceSpec(spec({ placement: { constraints: [{ label: 'zone', op: '==', value: 'mars' }] } }))).toEqual([]);
  });

  it('refuses start-first with static addresses, and defaults such a service to stop-first', () => {
    const staticNets = [{ network: 'web', ip: { mode: 'dynamic' as const } }, { network: 'db', ip: { mode: 'static' as const, addresses: ['10.0.0.1'] } }];
    expect(one(validateServiceSpec(spec({ replicas: 1, networks: staticNets as never, update: { order: 'start-first' } })))).toEqual({
      code: 'START_FIRST_WITH_STATIC_ADDRESSES',
      path: '/update/order',
      message: '/update/order: start-first runs a replica\'s successor while the replica still holds its address, but /networks/1 gives each replica one static address; use stop-first',
    });
    expect(Service.create(spec({ replicas: 1, networks: staticNets as never }), 0).updatePolicy.order).toBe('stop-first');
    expect(Service.create(spec(), 0).updatePolicy).toEqual({ parallelism: 1, delayMs: 0, order: 'start-first', failureAction: 'rollback', monitorMs: 5000 });
  });

  it('reports every problem at once, in field order', () => {
    const errors = validateServiceSpec(spec({ tenant: 'cluster', networks: [{ network: 'web', ip: { mode: 'none', addresses: [] } }], healthCheck: { exec: ['x'], intervalMs: 100, timeoutMs: 200, retries: 1 } }));
    expect(errors.map((e) => e.code)).toEqual(['RESERVED_TENANT_NAME', 'ADDRESSES_NEED_STATIC', 'HEALTH_TIMEOUT_EXCEEDS_INTERVAL']);
  });
});

describe('Service', () => {
  it('applies defaults and resolves network references', () => {
    const s = Service.create(spec({ networks: [{ network: 'web', ip: { mode: 'dynamic' } }, { network: 'cluster/mgmt', ip: { mode: 'none' }, ifname: 'mgmt' }] }), 1000);
    expect(s.id).toBe('acme/app');
    expect(s.revision).toBe(1);
    expect(s.strategy).toBe('spread');
    expect(s.resources).toEqual({ cpus: 0, memoryBytes: 0 });
    expect(s.networks).toEqual([
      { network: 'acme/web', ip: { mode: 'dynamic', addresses: [] }, ifname: 'eth0' },
      { network: 'cluster/mgmt', ip: { mode: 'none', addresses: [] }, ifname: 'mgmt' },
    ]);
    expect(s.history).toEqual([{ revision: 1, spec: s.spec, createdAt: 1000 }]);
  });

  it('create throws the first semantic error as its own class', () => {
    expect(thrown(() => Service.create(spec({ tenant: 'cluster' }), 0))).toMatchObject({ name: 'ReservedTenantName', code: 'RESERVED_TENANT_NAME' });
  });

  it('scaling keeps the revision; a changed template is a new revision; a changed update policy is not', () => {
    const s1 = Service.create(spec(), 0);
    expect(s1.scale(7)).toMatchObject({ revision: 1, replicas: 7 });
    const s2 = s1.update(spec({ image: 'app:2' }), 10);
    expect(s2.revision).toBe(2);
    expect(s2.rollout).toEqual({ from: 1, to: 2, state: 'progressing', startedAt: 10, reason: null, rollbackOf: null });
    expect(s2.update(spec({ image: 'app:2', replicas: 9, update: { parallelism: 3 } }), 20)).toMatchObject({ revision: 2, replicas: 9 });
    // Key order does not make a new revision.
    expect(s2.update({ networks: [{ network: 'web', ip: { mode: 'dynamic' } }], replicas: 3, image: 'app:2', name: 'app', tenant: 'acme' }, 30).revision).toBe(2);
  });

  it('refuses scaling a service with static addresses', () => {
    const s = Service.create(spec({ replicas: 2, networks: [{ network: 'web', ip: { mode: 'static', addresses: ['10.0.0.1', '10.0.0.2'] } }] }), 0);
    expect(thrown(() => s.scale(3))).toEqual({
      name: 'ScaleWithStaticAddresses',
      code: 'SCALE_WITH_STATIC_ADDRESSES',
      path: '/replicas',
      message: '/replicas: acme/app gives each replica a static address on /networks/0 (2 listed), so scaling it to 3 needs a new address list: use updateService',
    });
  });

  it('refuses an update that changes the tenant or the name', () => {
    const s = Service.create(spec(), 0);
    expect(thrown(() => s.update(spec({ name: 'api' }), 1))).toEqual({
      name: 'ServiceIdentityChanged',
      code: 'SERVICE_IDENTITY_CHANGED',
      path: '/name',
      message: '/name: an update of acme/app cannot change its name to api; deploy a new service instead',
    });
    expect(thrown(() => s.update(spec({ tenant: 'beta' }), 1)).message).toBe('/tenant: an update of acme/app cannot change its tenant to beta; deploy a new service instead');
  });

  it('undo goes to any earlier revision, keeping the replica count; undo twice goes back and forth', () => {
    let s = Service.create(spec(), 0);
    for (let v = 2; v <= 5; v++) s = s.update(spec({ image: `app:${v}` }), v).completeRollout();
    s = s.scale(6);
    const u = s.undo(2, 100);
    expect(u).toMatchObject({ revision: 2, replicas: 6, previousRevision: 5 });
    expect(u.spec.image).toBe('app:2');
    expect(u.rollout).toMatchObject({ from: 5, to: 2, state: 'progressing' });
    expect(u.history.map((h) => h.revision)).toEqual([1, 2, 3, 4, 5]);
    expect(u.completeRollout().undo(undefined, 200)).toMatchObject({ revision: 5, previousRevision: 2 });
    // A new update after an undo gets a fresh number.
    expect(u.completeRollout().update(spec({ image: 'app:6', replicas: 6 }), 300).revision).toBe(6);
  });

  it('undo refuses an unknown revision, the current one, and a service with no earlier one', () => {
    const s1 = Service.create(spec(), 0);
    const s3 = s1.update(spec({ image: 'app:2' }), 1).update(spec({ image: 'app:3' }), 2);
    expect(thrown(() => s3.undo(7, 3))).toEqual({ name: 'RevisionNotFound', code: 'REVISION_NOT_FOUND', path: '/toRevision', message: '/toRevision: acme/app has no revision 7; its history holds revisions 1, 2, 3' });
    expect(thrown(() => s3.undo(3, 3))).toEqual({ name: 'AlreadyAtRevision', code: 'ALREADY_AT_REVISION', path: '/toRevision', message: '/toRevision: acme/app is already at revision 3' });
    expect(thrown(() => s1.undo(undefined, 3))).toEqual({ name: 'NoEarlierRevision', code: 'NO_EARLIER_REVISION', path: '/toRevision', message: '/toRevision: acme/app has had no revision before 1 to go back to' });
  });

  it('a rollout started while another is unfinished rolls back to the last finished one', () => {
    const s2 = Service.create(spec(), 0).update(spec({ image: 'app:2' }), 1); // never completes
    expect(s2.update(spec({ image: 'app:3' }), 2).rollout).toMatchObject({ from: 1, to: 3 });
  });

  it('survives a round trip through its record', () => {
    const s = Service.create(spec(), 0).update(spec({ image: 'app:2' }), 5);
    expect(Service.restore(JSON.parse(JSON.stringify(s.toRecord()))).toRecord()).toEqual(s.toRecord());
  });
});

describe('Node', () => {
  it('refuses a capacity that is not positive', () => {
    expect(thrown(() => new Node({ name: 'host-a', capacity: { cpus: 0, memoryBytes: 1 } }))).toEqual({
      name: 'NodeCapacityInvalid',
      code: 'NODE_CAPACITY_INVALID',
      path: '/capacity/cpus',
      message: "/capacity/cpus: node host-a reports 0 cpus; a node's capacity must be a positive finite number",
    });
    expect(thrown(() => new Node({ name: 'host-a', capacity: { cpus: 1, memoryBytes: Number.NaN } })).path).toBe('/capacity/memoryBytes');
  });
});

describe('errors travel on the bus', () => {
  it('every error info and every unplaceable reason is a valid ErrorInfo', () => {
    const errors = [
      ...validateServiceSpec(spec({ tenant: 'cluster', networks: [{ network: 'other/x', ip: { mode: 'none', addresses: ['10.0.0.1'] }, ifname: 'lo' }], healthCheck: { exec: ['x'], intervalMs: 100, timeoutMs: 200, retries: 1 } })),
      ...validateServiceSpec(spec({ replicas: 2, networks: [{ network: 'web', ip: { mode: 'static', addresses: ['10.0.0.1', '10.0.0.1', '10.0.0.2'] } }], placement: { constraints: [{ label: 'a', op: '==', value: 'x' }, { label: 'a', op: '==', value: 'y' }] }, update: { order: 'start-first' } })),
    ];
    expect(errors.length).toBeGreaterThanOrEqual(8);
    for (const e of errors) expect(contracts().check('ErrorInfo', e.info)).toMatchObject({ ok: true });
    const unplaceable = place([{ key: 'k', service: 's/a' }], [node('a', 1)], [], 'spread', [], { cpus: 2, memoryBytes: 0 })[0]!.unplaceable!;
    expect(contracts().check('ErrorInfo', unplaceable)).toMatchObject({ ok: true });
  });
});

describe('fixed service addresses', () => {
  it('a service address needs replicas with addresses on that network', () => {
    expect(one(validateServiceSpec(spec({ networks: [{ network: 'app', ip: { mode: 'none' }, serviceAddress: '10.20.0.5' }] })))).toEqual({
      code: 'SERVICE_ADDRESS_WITHOUT_IP',
      path: '/networks/0/serviceAddress',
      message: '/networks/0/serviceAddress: a service address needs replicas with addresses on the network; its ip mode is none',
    });
    expect(validateServiceSpec(spec({ networks: [{ network: 'app', ip: { mode: 'dynamic' }, serviceAddress: '10.20.0.5' }] }))).toEqual([]);
  });

  it('an update cannot move, add or drop the service address of a network the service stays on; a new network may have one', () => {
    const svc = Service.create(spec({ networks: [{ network: 'app', ip: { mode: 'dynamic' }, serviceAddress: '10.20.0.5' }] }), 0);
    expect(thrown(() => svc.update(spec({ networks: [{ network: 'app', ip: { mode: 'dynamic' }, serviceAddress: '10.20.0.6' }] }), 1))).toMatchObject({
      code: 'SERVICE_ADDRESS_CHANGED',
      path: '/networks/0/serviceAddress',
      message: expect.stringContaining('(10.20.0.5 -> 10.20.0.6)'),
    });
    expect(thrown(() => svc.update(spec({ networks: [{ network: 'app', ip: { mode: 'dynamic' } }] }), 1))).toMatchObject({ code: 'SERVICE_ADDRESS_CHANGED', message: expect.stringContaining('(10.20.0.5 -> picked by IPAM)') });
    const moved = svc.update(spec({ networks: [{ network: 'db', ip: { mode: 'dynamic' }, serviceAddress: '10.30.0.5' }, { network: 'app', ip: { mode: 'dynamic' }, serviceAddress: '10.20.0.5' }] }), 1);
    expect(moved.revision).toBe(2);
  });
});
