// The network-controller's queries as contracts: it serves them, clients (the scheduler's
// transactions, the CLI) ask them, both from this one definition.
import { SchemaIds, queryContract, type InterfaceFlowsQuery, type InterfaceFlowsReply, type ListNetworksQuery, type ListNetworksReply } from '@sdmi/contracts';

export const NetworkQueries = {
  /** Whether interfaces' flows are on their bridges (a replica's "flows installed" step waits on it). */
  interfaceFlows: queryContract<InterfaceFlowsQuery, InterfaceFlowsReply>('interfaceFlows', SchemaIds.InterfaceFlowsQuery, SchemaIds.InterfaceFlowsReply),
  /** The networks and TenantConfigs as submitted (every one, or one tenant's plus the cluster networks), with interface and address counts. */
  listNetworks: queryContract<ListNetworksQuery, ListNetworksReply>('listNetworks', SchemaIds.ListNetworksQuery, SchemaIds.ListNetworksReply),
} as const;
