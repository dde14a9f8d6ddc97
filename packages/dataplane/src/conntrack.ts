// The connection-tracker actions and matches the balancer uses, in one place (Open vSwitch's
// ct() and nat() Nicira extensions; see @sdmi/openflow's nicira.ts for the encoding).
import { CtState, type Action, type OxmBasic } from '@sdmi/openflow';

export { CtState };

/** ct(zone=Z,nat,table=T): look the packet up, apply its connection's translation, continue in T. */
export function ctRecirculate(zone: number, table: number): Action {
  return { type: 'NX_CT', commit: false, force: false, zone, recircTable: table, alg: 0, actions: [{ type: 'NX_NAT', persistent: false, protoHash: false, protoRandom: false }] };
}

/** ct(commit,zone=Z,nat(dst=IP),table=T): commit a new connection translated to one backend. */
export function ctCommitDnat(zone: number, ip: string, table: number): Action {
  return {
    type: 'NX_CT', commit: true, force: false, zone, recircTable: table, alg: 0,
    actions: [{ type: 'NX_NAT', direction: 'dst', persistent: false, protoHash: false, protoRandom: false, range: { ipv4Min: ip } }],
  };
}

/** A ct_state match: the bits of `mask` must equal those of `value`. */
export function ctState(value: number, mask: number): OxmBasic {
  return { field: 'CT_STATE', value, mask } as OxmBasic;
}
