import { nanos } from '@nats-io/nats-core';
import type { Service } from '@nats-io/services';

/**
 * The services framework (3.0.0-25) counts an error only when a handler throws synchronously and
 * times only the synchronous part of a handler. Our handlers are async and reply errors
 * themselves, so `$SRV.STATS` would show every endpoint error-free and instant. The framework keeps
 * per-endpoint stats on fields it does not export; this reaches them, and degrades to doing
 * nothing if a later version changes that shape.
 */
export interface FrameworkEndpointStats {
  countError(err: Error): void;
  addProcessingTime(ms: number): void;
}

interface StatsShape {
  num_requests: number;
  processing_time: number;
  average_processing_time: number;
  countError(err: Error): void;
}

export function frameworkEndpointStats(service: Service, endpoint: string): FrameworkEndpointStats | undefined {
  const handlers = (service as unknown as { handlers?: unknown }).handlers;
  if (!Array.isArray(handlers)) return undefined;
  const found = handlers.find(
    (h: { name?: unknown; stats?: Partial<StatsShape> }) =>
      h?.name === endpoint && typeof h.stats?.countError === 'function' && typeof h.stats.processing_time === 'number',
  ) as { stats: StatsShape } | undefined;
  if (found === undefined) return undefined;
  const stats = found.stats;
  return {
    countError: (err) => stats.countError(err),
    addProcessingTime: (ms) => {
      if (ms <= 0) return;
      stats.processing_time += nanos(ms);
      if (stats.num_requests > 0) stats.average_processing_time = Math.round(stats.processing_time / stats.num_requests);
    },
  };
}
