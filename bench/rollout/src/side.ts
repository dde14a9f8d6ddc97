// What both sides share: the service they roll (the one of services/scheduler/tests/http-rollout.test.ts)
// and what one measured update reports.
import type { Load } from './load';

export const REPLICAS = 3;
export const HTTP_COMMAND = ['sh', '-c', 'mkdir -p /www && echo "$VERSION" > /www/index.html && exec httpd -f -p 8080 -h /www'];
/** busybox-static's own `wget -T` crashes: timeout(1) bounds the check. */
export const HEALTH_CMD = ['timeout', '1', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/'];

export interface RolloutMeasure {
  /** performance.now() just before the update command was sent. */
  t0: number;
  /** Until the update command returned (the new desired state stored), ms. */
  commandMs: number;
  /** Until the system itself said the rollout is complete, ms (the compared time). */
  completeMs: number;
  /** Until only new replicas run (the last old one stopped), ms. */
  oldGoneMs: number;
  /** The rollout's duration by the system's own clock, when it records one, ms. */
  ownMs?: number;
  polls: number;
  /** What the poll saw, each time it changed: running replicas per version, and the system's own word. */
  timeline: { ms: number; state: string }[];
}

export interface RolloutSide {
  readonly name: string;
  start(version: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  startLoad(): Load;
  update(to: string, timeoutMs: number, signal: AbortSignal): Promise<RolloutMeasure>;
  describe(): Promise<string>;
  dispose(): Promise<void>;
}
