// The SDK's DNS helpers that need no cluster: which zone a name goes in by default, and a
// service's names as dns-manager's naming functions make them.
import { describe, expect, it } from 'vitest';
import { defaultZone, serviceDnsNames, type ReplicaStatus } from '../src/index';

const domain = 'sdmi.internal.';

describe('defaultZone', () => {
  it('a name below a tenant zone goes there, case and final dot aside', () => {
    expect(defaultZone('www.shop.sdmi.internal', domain)).toBe('shop.sdmi.internal.');
    expect(defaultZone('WWW.Shop.SDMI.internal.', domain)).toBe('shop.sdmi.internal.');
    expect(defaultZone('a.b.shop.sdmi.internal', domain)).toBe('shop.sdmi.internal.');
  });

  it('a name one label below the domain, the apex, and _-labels are the cluster zone', () => {
    expect(defaultZone('www.sdmi.internal', domain)).toBe(domain);
    expect(defaultZone('sdmi.internal', domain)).toBe(domain);
    expect(defaultZone('_acme-challenge._tcp.sdmi.internal', domain)).toBe(domain);
  });

  it('a name outside the domain gets the cluster zone, for dns-manager to refuse it with its reason', () => {
    expect(defaultZone('www.example.com', domain)).toBe(domain);
    expect(defaultZone('xsdmi.internal', domain)).toBe(domain);
  });

  it('does not judge labels: a bad one reaches dns-manager, which says which and why', () => {
    expect(defaultZone('bad_label.shop.sdmi.internal', domain)).toBe('shop.sdmi.internal.');
  });
});

const replica = (id: string, state: ReplicaStatus['state'], serving: boolean, interfaces: { network: string; ip: string | null }[]): ReplicaStatus =>
  ({ id, service: 'shop/web', slot: 1, revision: 1, node: 'host-a', state, serving, since: new Date(0).toISOString(), createdAt: new Date(0).toISOString(), reason: null, interfaces });

describe('serviceDnsNames', () => {
  const spec = {
    tenant: 'shop',
    name: 'web',
    networks: [
      { network: 'front', ip: { mode: 'dynamic' as const } },
      { network: 'cluster/shared', ip: { mode: 'dynamic' as const } },
      { network: 'mgmt', ip: { mode: 'none' as const } },
    ],
  };

  it('the service name per addressed network, and the names of its running replicas', () => {
    const names = serviceDnsNames(domain, spec, [
      replica('shop/web-1@rev1', 'healthy', true, [
        { network: 'shop/front', ip: '10.0.0.2' },
        { network: 'cluster/shared', ip: '10.9.0.2' },
        { network: 'shop/mgmt', ip: null },
      ]),
      replica('shop/web-2@rev2#1', 'unhealthy', false, [{ network: 'shop/front', ip: '10.0.0.3' }]),
      replica('shop/web-3@rev1', 'stopped', false, [{ network: 'shop/front', ip: '10.0.0.4' }]),
      replica('shop/web-4@rev1', 'starting', false, [{ network: 'shop/front', ip: '10.0.0.5' }]),
    ]);
    expect(names).toEqual({
      domain,
      networks: [
        {
          network: 'shop/front',
          service: 'web.front.shop.sdmi.internal.',
          replicas: [
            { replica: 'shop/web-1@rev1', name: 'web-1-r1.front.shop.sdmi.internal.', serving: true },
            { replica: 'shop/web-2@rev2#1', name: 'web-2-r2-1.front.shop.sdmi.internal.', serving: false },
          ],
        },
        // A ClusterNetwork's names are in the service's tenant zone too.
        { network: 'cluster/shared', service: 'web.shared.shop.sdmi.internal.', replicas: [{ replica: 'shop/web-1@rev1', name: 'web-1-r1.shared.shop.sdmi.internal.', serving: true }] },
      ],
    });
  });

  it('a service name that is no DNS label says why instead of a name', () => {
    const names = serviceDnsNames(domain, { ...spec, name: 'web-' }, []);
    expect(names.networks[0]).toMatchObject({ network: 'shop/front', service: null, replicas: [], problem: expect.stringContaining('hyphen') });
  });
});
