import type Docker from 'dockerode';
import type { Logger } from './logger';

/** What the operations of one engine share: its client, its socket (for messages) and its log. */
export interface EngineContext {
  readonly docker: Docker;
  readonly socketPath: string;
  readonly log: Logger;
  /** Throws EngineClosed when the engine was closed. */
  assertOpen(operation: string): void;
}
