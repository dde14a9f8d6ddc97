// The connection-tracker actions and matches the balancer uses, in one place (Open vSwitch's
// ct() and nat() Nicira extensions, built with @sdmi/openflow's nicira.ts).
import { ctStateMatch, nxCt, nxNat, type Action, type OxmBasic } from '@sdmi/openflow';

/** ct(zone=Z,nat,table=T): look the packet up, apply its connection's translation, continue in T. */
export function ctRecirculate(zone: number, table: number): Action {
  return nxCt({ zone, table, actions: [nxNat()] });
}

/** ct(commit,zone=Z,nat(dst=IP),table=T): commit a new connection translated to one backend. */
export function ctCommitDnat(zone: number, ip: string, table: number): Action {
  return nxCt({ commit: true, zone, table, actions: [nxNat({ direction: 'dst', range: { ipv4Min: ip } })] });
}

/** Not yet through the tracker. */
export const UNTRACKED: OxmBasic = ctStateMatch('-trk');
/** Tracked, the first packet of a connection. */
export const NEW_CONNECTION: OxmBasic = ctStateMatch('+new+trk');
