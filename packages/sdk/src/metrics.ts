// The cluster's metric samples: the collector's latest per node and replica (top), and the live
// samples the node-agents publish on core NATS, each checked against its contract.
import type { NatsConnection } from '@nats-io/nats-core';
import type { BusNames } from '@sdmi/bus';
import { contracts, type ContainerMetrics, type NodeMetrics } from '@sdmi/contracts';
import { jsonIterator } from './messages';

export type MetricSample = { kind: 'node'; sample: NodeMetrics } | { kind: 'container'; sample: ContainerMetrics };

export interface MetricsFilter {
  /** Only node or only container samples; default both. */
  kind?: 'node' | 'container';
  /** Only this service's container samples (node samples are then left out). */
  service?: string;
}

/**
 * Live samples until the iterator is returned (at once, even while it waits); a sample that breaks
 * its contract is skipped (the collector reports it). Subscribed at the call.
 */
export function liveMetrics(nc: NatsConnection, names: BusNames, filter: MetricsFilter = {}): AsyncGenerator<MetricSample> {
  const c = contracts();
  const kind = filter.service !== undefined ? 'container' : filter.kind;
  const sub = nc.subscribe(kind === 'node' ? names.metrics('node') : kind === 'container' ? names.metrics('container') : `${names.prefix}.metrics.*.*`);
  const head = `${names.prefix}.metrics.`;
  return jsonIterator<MetricSample>(sub, (subject, data) => {
    const k = subject.slice(head.length).split('.')[0];
    if (k === 'node') {
      const v = c.check('NodeMetrics', data);
      return v.ok ? { kind: 'node', sample: v.value } : null;
    }
    if (k === 'container') {
      const v = c.check('ContainerMetrics', data);
      return v.ok && (filter.service === undefined || v.value.service === filter.service) ? { kind: 'container', sample: v.value } : null;
    }
    return null;
  });
}
