// How the switch-agent's commands and queries are named and addressed: the SDK, the CLI and the
// access catalogue share them without depending on the service.
import type { ListSwitchesQuery, ListSwitchesReply } from './generated/types';
import { SchemaIds } from './ids';
import { queryContract } from './queries';

export const SWITCH_AGENT = 'switch-agent';

export const SwitchCommandKinds = {
  RegisterSwitch: 'registerSwitch',
  RemoveSwitch: 'removeSwitch',
  SyncSwitch: 'syncSwitch',
} as const;
export type SwitchCommandKind = (typeof SwitchCommandKinds)[keyof typeof SwitchCommandKinds];

export const SwitchQueries = {
  /** Every switch the agent keeps, with its managed VLANs, last sync and last drift check. */
  listSwitches: queryContract<ListSwitchesQuery, ListSwitchesReply>('listSwitches', SchemaIds.ListSwitchesQuery, SchemaIds.ListSwitchesReply),
} as const;

/** Codes the switch-agent's commands fail with, besides the bus's own. */
export const SwitchErrorCodes = {
  /** The switch's spec breaks a rule beyond its schema, or names a key file the agent cannot read. */
  InvalidSwitch: 'INVALID_SWITCH',
  /** The switch answered the change with an rpc-error (or an OVSDB error); nothing of it stayed. */
  SwitchRefused: 'SWITCH_REFUSED',
  /** Another transaction held the switch's candidate lock for longer than the agent waits. */
  SwitchBusy: 'SWITCH_BUSY',
  /** The switch could not be reached or its credentials could not be used. */
  SwitchUnreachable: 'SWITCH_UNREACHABLE',
  UnknownSwitch: 'UNKNOWN_SWITCH',
} as const;

/** The RDMP key of a switch's commands: in order per switch. */
export function switchKey(name: string): string {
  return `switch/${name}`;
}
