import { describe, expect, it } from 'vitest';
import { desiredState, isEmptyPlan, planVlans, type VlanState } from '@sdmi/switches';
import { SdmiVlanProfile } from '../src/profile';

const state = (vlans: [number, string][], trunks: [string, number[]][]): VlanState => ({ vlans: new Map(vlans), trunks: new Map(trunks.map(([p, v]) => [p, new Set(v)])) });

describe('desiredState', () => {
  it('puts each network on the trunks that carry it', () => {
    const d = desiredState([{ port: 'eth1', carries: 'all-networks' }, { port: 'eth2', carries: ['acme/app'] }], [{ network: 'acme/app', vlan: 100 }, { network: 'cluster/s', vlan: 200 }]);
    expect(d.vlans).toEqual(new Map([[100, 'acme.app'], [200, 'cluster.s']]));
    expect(d.trunks).toEqual(new Map([['eth1', new Set([100, 200])], ['eth2', new Set([100])]]));
  });
});

describe('planVlans', () => {
  it('adds what is missing and removes only managed VLANs, from trunks too', () => {
    const running = state([[10, 'mgmt'], [100, 'acme.app']], [['eth1', [10, 100]], ['eth3', [100]]]);
    const p = planVlans(state([[200, 'x']], [['eth1', [200]]]), running, new Set([100, 200]));
    expect(p).toEqual({ addVlans: [{ id: 200, name: 'x' }], removeVlans: [100], allow: [{ port: 'eth1', vlans: [200] }], disallow: [{ port: 'eth1', vlans: [100] }, { port: 'eth3', vlans: [100] }] });
  });
  it('is empty when running already is desired', () => {
    const s = state([[100, 'a']], [['eth1', [100]]]);
    expect(isEmptyPlan(planVlans(s, s, new Set([100])))).toBe(true);
  });
});

describe('SdmiVlanProfile', () => {
  it('marks removals with nc:operation delete', () => {
    const t = new SdmiVlanProfile().edit({ addVlans: [], removeVlans: [100], allow: [], disallow: [{ port: 'eth1', vlans: [100] }] });
    expect(JSON.stringify(t)).toContain('"@_nc:operation":"delete","id":100');
    expect(JSON.stringify(t)).toContain('"@_nc:operation":"delete","#text":100');
  });
});
