// FlowSpecs and observed flows as the FLOW_MOD messages that install or remove them.
import { FlowModCommand, Group, Port, type FlowStats } from '@sdmi/openflow';
import type { Outgoing } from '@sdmi/openflow-controller';
import type { FlowSpec } from './pipeline';

const NO_BUFFER = 0xffffffff;

/** The FLOW_MOD ADD that installs a flow (replacing one with the same table, priority and match). */
export function addFlowMod(f: FlowSpec): Outgoing {
  return {
    type: 'FLOW_MOD', command: FlowModCommand.ADD, cookieMask: 0n, bufferId: NO_BUFFER, outPort: Port.ANY, outGroup: Group.ANY, flags: 0,
    tableId: f.tableId, priority: f.priority, cookie: f.cookie, idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, match: f.match, instructions: f.instructions,
  };
}

/** The FLOW_MOD DELETE_STRICT that removes exactly this observed flow (and only if its cookie is unchanged). */
export function deleteFlowMod(f: FlowStats): Outgoing {
  return {
    type: 'FLOW_MOD', command: FlowModCommand.DELETE_STRICT, cookie: f.cookie, cookieMask: 0xffff_ffff_ffff_ffffn, bufferId: NO_BUFFER,
    outPort: Port.ANY, outGroup: Group.ANY, flags: 0, tableId: f.tableId, priority: f.priority, idleTimeout: 0, hardTimeout: 0, match: f.match, instructions: [],
  };
}
