// How the metrics-collector's queries are named and addressed. They live beside their contracts
// because their callers (the SDK, the CLI) share no other package with the metrics-collector.
import type { HistoryQuery, HistoryReply, TopQuery, TopReply } from './generated/types';
import { SchemaIds } from './ids';
import { queryContract } from './queries';

/** The RDMP service name of the collector (its queries are `<prefix>.query.metrics-collector.*`). */
export const METRICS_COLLECTOR = 'metrics-collector';

export const MetricsQueries = {
  /** The latest sample per node and per replica within a staleness window, and the refused samples. */
  top: queryContract<TopQuery, TopReply>('top', SchemaIds.TopQuery, SchemaIds.TopReply),
  /** Per node or replica, its samples per bucket between two instants: rollups, and raw samples bucketed alike. */
  history: queryContract<HistoryQuery, HistoryReply>('history', SchemaIds.HistoryQuery, SchemaIds.HistoryReply),
} as const;
