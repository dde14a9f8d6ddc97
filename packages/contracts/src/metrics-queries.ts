// How the metrics-collector's queries are named and addressed. They live beside their contracts
// because their callers (the SDK, the CLI) share no other package with the metrics-collector.
import type { AutoscaleStatusQuery, AutoscaleStatusReply, HistoryQuery, HistoryReply, TopQuery, TopReply } from './generated/types';
import { SchemaIds } from './ids';
import { queryContract } from './queries';

/** The RDMP service name of the collector (its queries are `<prefix>.query.metrics-collector.*`). */
export const METRICS_COLLECTOR = 'metrics-collector';

export const MetricsQueries = {
  /** The latest sample per node and per replica within a staleness window, and the refused samples. */
  top: queryContract<TopQuery, TopReply>('top', SchemaIds.TopQuery, SchemaIds.TopReply),
  /** Per node or replica, its samples per bucket between two instants: rollups, and raw samples bucketed alike. */
  history: queryContract<HistoryQuery, HistoryReply>('history', SchemaIds.HistoryQuery, SchemaIds.HistoryReply),
  /** The autoscale policies (with each one's last decision) and thresholds (with their phase). */
  autoscaleStatus: queryContract<AutoscaleStatusQuery, AutoscaleStatusReply>('autoscaleStatus', SchemaIds.AutoscaleStatusQuery, SchemaIds.AutoscaleStatusReply),
} as const;

/** The metrics-collector's commands: the autoscale policies and thresholds it evaluates. */
export const MetricsCommandKinds = {
  SetAutoscalePolicy: 'setAutoscalePolicy',
  DeleteAutoscalePolicy: 'deleteAutoscalePolicy',
  SetThreshold: 'setThreshold',
  DeleteThreshold: 'deleteThreshold',
} as const;
export type MetricsCommandKind = (typeof MetricsCommandKinds)[keyof typeof MetricsCommandKinds];

/** Codes the metrics-collector's commands fail with, besides the bus's own. */
export const MetricsErrorCodes = {
  InvalidAutoscalePolicy: 'INVALID_AUTOSCALE_POLICY',
  InvalidThreshold: 'INVALID_THRESHOLD',
  ServiceNotFound: 'SERVICE_NOT_FOUND',
  /** The scheduler could not be asked whether the service exists; nothing was changed. */
  SchedulerUnavailable: 'SCHEDULER_UNAVAILABLE',
} as const;

/**
 * The RDMP key of a service's autoscale policy and thresholds: their commands run in order per
 * service, in parallel across services.
 */
export function autoscaleKey(service: string): string {
  return `autoscale/${service}`;
}
