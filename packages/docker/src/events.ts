import type { Readable } from 'node:stream';
import type { EngineContext } from './context';
import { DockerError, EventStreamLost, EventStreamMalformed, InvalidArgument, Misuse, isSocketFailure } from './errors';
import { EventFramer, FrameError } from './framer';
import { MANAGED_LABEL, MANAGED_VALUE, checkLabelFilter, labelFilters } from './labels';
import { toDockerError } from './translate';

/** The container actions Docker reports (the part of `Action` before any ": detail"). */
export const ContainerActions = {
  Create: 'create',
  Start: 'start',
  Restart: 'restart',
  Stop: 'stop',
  Kill: 'kill',
  Die: 'die',
  Oom: 'oom',
  Destroy: 'destroy',
  Pause: 'pause',
  Unpause: 'unpause',
  Rename: 'rename',
  Update: 'update',
  HealthStatus: 'health_status',
  ExecCreate: 'exec_create',
  ExecStart: 'exec_start',
  ExecDie: 'exec_die',
  Attach: 'attach',
  Detach: 'detach',
  Resize: 'resize',
  Top: 'top',
  Commit: 'commit',
  Copy: 'copy',
  Export: 'export',
  ArchivePath: 'archive-path',
  ExtractToDir: 'extract-to-dir',
} as const;
/** A known action, or another one a newer Docker reports (passed through, never dropped). */
export type ContainerAction = (typeof ContainerActions)[keyof typeof ContainerActions] | (string & {});

/** Health as Docker reports it in `health_status` events and in inspect. */
export const HealthStates = {
  None: 'none',
  Starting: 'starting',
  Healthy: 'healthy',
  Unhealthy: 'unhealthy',
} as const;
export type HealthState = (typeof HealthStates)[keyof typeof HealthStates];

/** One container event, typed. */
export interface ContainerEvent {
  action: ContainerAction;
  /** Full container id. */
  id: string;
  /** Container name (without Docker's leading "/"). */
  name: string;
  image: string;
  /** The container's labels (Docker copies them into every event of the container). */
  labels: Record<string, string>;
  /** Whether the container carries sdmi.managed=true. */
  managed: boolean;
  /** `die`, `exec_die`: the exit code. */
  exitCode?: number;
  /** `kill`: the signal number Docker sent. */
  signal?: number;
  /** `health_status`: the new health. */
  health?: Exclude<HealthState, 'none'>;
  /** `exec_create`, `exec_start`: the command line Docker appended to the action. */
  command?: string;
  time: Date;
  /** Nanoseconds since the epoch: pass `since: event.time` (or this) to resume after a loss. */
  timeNano: bigint;
}

/** Attributes Docker puts into a container event that are not the container's labels. */
const NON_LABEL_ATTRIBUTES = new Set(['name', 'image', 'exitCode', 'signal', 'execID', 'execDuration']);

const HEALTH_VALUES = new Set<string>([HealthStates.Starting, HealthStates.Healthy, HealthStates.Unhealthy]);

/**
 * Turns one object of Docker's event stream into a ContainerEvent: undefined for events of other
 * types (images, networks, volumes …), an error message string when a container event lacks what
 * every container event has.
 */
export function parseEvent(raw: Record<string, unknown>): ContainerEvent | undefined | string {
  const type = raw.Type ?? raw.type;
  if (type !== 'container') return undefined;
  const actor = raw.Actor as { ID?: unknown; Attributes?: unknown } | undefined;
  const fullAction = raw.Action;
  if (typeof fullAction !== 'string' || fullAction === '') return `container event without an Action: ${JSON.stringify(raw)}`;
  if (!actor || typeof actor.ID !== 'string' || actor.ID === '') return `container event without Actor.ID: ${JSON.stringify(raw)}`;
  const attrs: Record<string, string> = {};
  if (actor.Attributes && typeof actor.Attributes === 'object') {
    for (const [k, v] of Object.entries(actor.Attributes as Record<string, unknown>)) if (typeof v === 'string') attrs[k] = v;
  }
  const colon = fullAction.indexOf(': ');
  const action = colon === -1 ? fullAction : fullAction.slice(0, colon);
  const detail = colon === -1 ? undefined : fullAction.slice(colon + 2);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (!NON_LABEL_ATTRIBUTES.has(k)) labels[k] = v;
  let timeNano: bigint;
  if (typeof raw.timeNano === 'number' || typeof raw.timeNano === 'string') timeNano = BigInt(raw.timeNano);
  else if (typeof raw.time === 'number') timeNano = BigInt(raw.time) * 1_000_000_000n;
  else return `container event without time: ${JSON.stringify(raw)}`;
  const ev: ContainerEvent = {
    action,
    id: actor.ID,
    name: attrs.name ?? '',
    image: attrs.image ?? '',
    labels,
    managed: labels[MANAGED_LABEL] === MANAGED_VALUE,
    time: new Date(Number(timeNano / 1_000_000n)),
    timeNano,
  };
  if (attrs.exitCode !== undefined && /^-?\d+$/.test(attrs.exitCode)) ev.exitCode = Number(attrs.exitCode);
  if (attrs.signal !== undefined && /^\d+$/.test(attrs.signal)) ev.signal = Number(attrs.signal);
  if (action === ContainerActions.HealthStatus && detail !== undefined && HEALTH_VALUES.has(detail)) {
    ev.health = detail as ContainerEvent['health'];
  }
  if ((action === ContainerActions.ExecCreate || action === ContainerActions.ExecStart) && detail !== undefined) ev.command = detail;
  return ev;
}

export interface EventFilters {
  /** Only events of containers with all these labels (value `true`: the key with any value). */
  labels?: Record<string, string | true>;
  /** Only these actions (`health_status` matches every health change). */
  actions?: readonly string[];
  /** Only these containers (ids or names). */
  containers?: readonly string[];
}

export interface EventsOptions {
  /**
   * Replay from this time (Docker keeps the last events in memory). Pass a time just before you
   * act: Docker answers the request before it subscribes, so without `since` an event right after
   * the call can be missed.
   */
  since?: Date | bigint;
  filters?: EventFilters;
  /** Events of every container, not only SDMI's (sdmi.managed=true); default false. */
  all?: boolean;
}

/** Docker's `since`: seconds since the epoch with a nanosecond fraction. */
export function sinceParam(since: Date | bigint): string {
  const ns = typeof since === 'bigint' ? since : BigInt(since.getTime()) * 1_000_000n;
  const s = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  return `${s}.${frac.toString().padStart(9, '0')}`;
}

/** Validates the options and builds the query of `GET /events`. */
export function eventsQuery(options: EventsOptions): { since?: string; filters: Record<string, string[]> } {
  const op = 'events';
  if (options.since !== undefined) {
    const ok = typeof options.since === 'bigint' ? options.since >= 0n : options.since instanceof Date && !Number.isNaN(options.since.getTime());
    if (!ok) throw new InvalidArgument(op, '/since', 'time', options.since, 'is not a valid Date (or nanoseconds since the epoch as a bigint)');
  }
  const f = options.filters ?? {};
  const filters: Record<string, string[]> = { type: ['container'] };
  const labels = checkLabelFilter(op, '/filters/labels', f.labels);
  filters.label = labelFilters(options.all ? labels : { ...labels, [MANAGED_LABEL]: MANAGED_VALUE });
  if (filters.label.length === 0) delete filters.label;
  for (const [key, param, list] of [
    ['actions', 'event', f.actions],
    ['containers', 'container', f.containers],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0 || list.some((a) => typeof a !== 'string' || a === '')) {
      throw new InvalidArgument(op, `/filters/${key}`, 'non-empty-strings', list, 'must be a non-empty array of non-empty strings');
    }
    filters[param] = [...list];
  }
  return { ...(options.since === undefined ? {} : { since: sinceParam(options.since) }), filters };
}

/**
 * A live stream of container events from one Docker Engine. Iterate it once; leaving the loop
 * (break, return, throw), `close()` or `await using` closes the HTTP stream. If the stream ends or
 * breaks without us closing it, the iteration throws EventStreamLost (never ends silently), and a
 * stream that is not JSON throws EventStreamMalformed.
 */
export class EventStream implements AsyncIterable<ContainerEvent>, AsyncDisposable {
  #iterated = false;
  #closed = false;
  readonly #onClose: () => void;

  /** @internal Use DockerEngine.events(). */
  constructor(
    private readonly stream: Readable,
    readonly socketPath: string,
    onClose: () => void = () => {},
  ) {
    this.#onClose = onClose;
    // Until someone iterates, an error must not go unhandled; the iterator sees it anyway.
    stream.on('error', () => {});
  }

  get closed(): boolean {
    return this.#closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<ContainerEvent> {
    if (this.#closed) throw new Misuse(`the event stream from ${this.socketPath} is closed: open a new one with events()`);
    if (this.#iterated) throw new Misuse(`the event stream from ${this.socketPath} is already being iterated: iterate a stream once`);
    this.#iterated = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<ContainerEvent> {
    const framer = new EventFramer();
    try {
      try {
        for await (const chunk of this.stream) {
          for (const item of framer.push(chunk as Buffer)) {
            if (item instanceof FrameError) throw new EventStreamMalformed(this.socketPath, `${item.reason} at offset ${item.offset}`);
            const ev = parseEvent(item);
            if (typeof ev === 'string') throw new EventStreamMalformed(this.socketPath, ev);
            if (ev) yield ev;
          }
        }
      } catch (e) {
        if (this.#closed) return;
        if (e instanceof DockerError) throw e;
        const reason = isSocketFailure(e) || (e as Error).message === 'aborted' ? 'the connection was reset' : (e as Error).message;
        throw new EventStreamLost(this.socketPath, reason, { cause: e });
      }
      if (this.#closed) return;
      const cut = framer.end();
      throw new EventStreamLost(this.socketPath, cut ? `the daemon ended the stream; ${cut.reason}` : 'the daemon ended the stream');
    } finally {
      this.#close();
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stream.destroy();
    this.#onClose();
  }

  /** Closes the HTTP stream; a pending iteration ends normally. Idempotent. */
  async close(): Promise<void> {
    this.#close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Opens `GET /events` on the engine and wraps it. */
export async function openEvents(ctx: EngineContext, options: EventsOptions, onClose: (s: EventStream) => void): Promise<EventStream> {
  ctx.assertOpen('events');
  const query = eventsQuery(options);
  let stream: Readable;
  try {
    stream = (await ctx.docker.getEvents(query as never)) as unknown as Readable;
  } catch (e) {
    throw toDockerError(ctx, 'events', e);
  }
  const es: EventStream = new EventStream(stream, ctx.socketPath, () => onClose(es));
  ctx.log.debug({ socketPath: ctx.socketPath, filters: query.filters, since: query.since }, 'docker event stream opened');
  return es;
}
