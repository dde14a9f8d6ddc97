import { fileURLToPath } from 'node:url';

/** Our VLAN YANG module (docs/netconf.md): its name, namespace and file. */
export const SDMI_VLAN_MODULE = 'sdmi-vlan';
export const SDMI_VLAN_NS = 'urn:sdmi:params:xml:ns:yang:sdmi-vlan';
export const SDMI_VLAN_YANG = fileURLToPath(new URL('../yang/sdmi-vlan.yang', import.meta.url));
