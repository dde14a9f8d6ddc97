// The network-controller's queries as contracts: it serves them, clients (the scheduler's
// transactions, the CLI) ask them, both from this one definition.
import { SchemaIds, queryContract, type InterfaceFlowsQuery, type InterfaceFlowsReply } from '@sdmi/contracts';

export const NetworkQueries = {
  /** Whether interfaces' flows are on their bridges (a replica's "flows installed" step waits on it). */
  interfaceFlows: queryContract<InterfaceFlowsQuery, InterfaceFlowsReply>('interfaceFlows', SchemaIds.InterfaceFlowsQuery, SchemaIds.InterfaceFlowsReply),
} as const;
