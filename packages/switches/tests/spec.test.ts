import { describe, expect, it } from 'vitest';
import type { ListNetworksReply, Switch } from '@sdmi/contracts';
import { InvalidSwitch, checkSwitch, desiredFor, fingerprint, networkVlans, switchProblems } from '../src';

const ovs: Switch = { name: 'host-a', kind: 'ovs', ovs: { ovsdb: 'unix:/var/run/openvswitch/db.sock', bridge: 'br0' }, trunks: [{ port: 'p1', carries: 'all-networks' }] };
const netconf = { host: '127.0.0.1', port: 830, username: 'u', privateKeyFile: '/k', hostKey: 'ssh-ed25519 AAAA' };

describe('checkSwitch', () => {
  it('takes a switch whose access matches its kind and lists each port once', () => {
    expect(() => checkSwitch(ovs)).not.toThrow();
    expect(switchProblems(ovs)).toEqual([]);
  });

  it('refuses access of the other kind, or none, with the path and rule', () => {
    expect(switchProblems({ ...ovs, kind: 'netconf' })).toEqual([
      { code: 'INVALID_SWITCH', message: '/netconf: a kind netconf switch needs netconf (host, port, username, privateKeyFile, hostKey)', path: '/netconf', rule: 'access-matches-kind' },
    ]);
    expect(switchProblems({ ...ovs, netconf })[0]).toMatchObject({ path: '/netconf', rule: 'access-matches-kind' });
    const e = (() => {
      try {
        checkSwitch({ name: 'x', kind: 'ovs', trunks: [] });
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(InvalidSwitch);
    expect(e).toMatchObject({ path: '/switch/ovs', message: '/switch/ovs: a kind ovs switch needs ovs (ovsdb, bridge)' });
  });

  it('refuses a port listed twice, pointing at the second', () => {
    expect(switchProblems({ ...ovs, trunks: [{ port: 'p1', carries: [] }, { port: 'p2', carries: [] }, { port: 'p1', carries: 'all-networks' }] })).toEqual([
      { code: 'INVALID_SWITCH', message: '/trunks/2/port: port p1 is already trunk 0; list each port once', path: '/trunks/2/port', rule: 'port-listed-once' },
    ]);
  });
});

describe('desired VLANs from the networks', () => {
  const reply: ListNetworksReply = {
    clusterNetworks: [
      { id: 'cluster/blue', spec: { name: 'blue', cidr: '10.0.0.0/24', vlan: 100 }, interfaces: 0, addresses: 0 },
      { id: 'cluster/novlan', spec: { name: 'novlan', cidr: '10.0.1.0/24' }, interfaces: 0, addresses: 0 },
    ],
    tenantNetworks: [{ id: 'acme/web', spec: { tenant: 'acme', name: 'web', cidr: '10.0.2.0/24' }, assigned: { vlan: 700 }, interfaces: 0, addresses: 0 }],
    tenantConfigs: [],
  };

  it("takes cluster networks' own VLAN and tenant networks' assigned one, and skips networks without", () => {
    expect(networkVlans(reply)).toEqual([
      { network: 'cluster/blue', vlan: 100 },
      { network: 'acme/web', vlan: 700 },
    ]);
  });

  it('fingerprints spec and desired: the same for the same, different when either changes', () => {
    const d = desiredFor(ovs, networkVlans(reply));
    expect(fingerprint(ovs, d)).toBe(fingerprint(ovs, desiredFor(ovs, networkVlans(reply))));
    expect(fingerprint(ovs, d)).not.toBe(fingerprint(ovs, desiredFor(ovs, networkVlans({ ...reply, tenantNetworks: [] }))));
    expect(fingerprint(ovs, d)).not.toBe(fingerprint({ ...ovs, drift: 'repair' }, d));
  });
});
