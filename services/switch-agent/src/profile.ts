// A YANG profile: how a VLAN plan becomes an edit-config tree and how get-config reads back, for
// one data model. `sdmi-vlan` is ours; a vendor model (Cisco NX-OS, ...) is another class.
import { SDMI_VLAN_NS, asArray, operation, textOf, type XmlTree } from '@sdmi/netconf';
import type { VlanPlan, VlanState } from '@sdmi/switches';

export interface VlanProfile {
  readonly name: string;
  /** The subtree filter of a get-config that reads everything `parse` needs. */
  filter(): XmlTree;
  /** The VLAN state in a get-config's `data`. */
  parse(data: Record<string, unknown>): VlanState;
  /** The `<config>` content of the edit-config that carries out the plan (merge by default). */
  edit(plan: VlanPlan): XmlTree;
}

type Obj = Record<string, unknown>;

export class SdmiVlanProfile implements VlanProfile {
  readonly name = 'sdmi-vlan';

  filter(): XmlTree {
    return { vlans: { '@_xmlns': SDMI_VLAN_NS }, interfaces: { '@_xmlns': SDMI_VLAN_NS } };
  }

  parse(data: Obj): VlanState {
    const out: VlanState = { vlans: new Map(), trunks: new Map() };
    const vlans = (data.vlans ?? {}) as Obj;
    const ifs = (data.interfaces ?? {}) as Obj;
    for (const v of asArray<Obj>(vlans.vlan)) out.vlans.set(Number(textOf(v.id)), textOf(v.name) ?? '');
    for (const t of asArray<Obj>(ifs.trunk)) {
      out.trunks.set(textOf(t.port) ?? '', new Set(asArray(t['allowed-vlan']).map((v) => Number(textOf(v)))));
    }
    return out;
  }

  edit(plan: VlanPlan): XmlTree {
    const vlan: XmlTree[] = [
      ...plan.addVlans.map((v) => ({ id: v.id, name: v.name })),
      ...plan.removeVlans.map((id) => ({ ...operation('delete'), id })),
    ];
    const byPort = new Map<string, XmlTree[]>();
    const entries = (port: string): XmlTree[] => byPort.get(port) ?? (byPort.set(port, []).get(port) as XmlTree[]);
    for (const t of plan.allow) entries(t.port).push(...t.vlans.map((v) => ({ '#text': v })));
    for (const t of plan.disallow) entries(t.port).push(...t.vlans.map((v) => ({ ...operation('delete'), '#text': v })));
    const trunk = [...byPort].map(([port, allowed]) => ({ port, 'allowed-vlan': allowed }));
    const config: XmlTree = {};
    if (vlan.length) config.vlans = { '@_xmlns': SDMI_VLAN_NS, vlan };
    if (trunk.length) config.interfaces = { '@_xmlns': SDMI_VLAN_NS, trunk };
    return config;
  }
}

/** The profiles a Switch may name. */
export const VlanProfiles: Record<string, () => VlanProfile> = {
  'sdmi-vlan': () => new SdmiVlanProfile(),
};
