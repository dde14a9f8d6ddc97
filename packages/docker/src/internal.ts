// Internal entry for tests: the pure pieces behind the public API.
export { buildCreateBody, toContainerInfo } from './containers';
export { checkSocketPath } from './engine';
export { eventsQuery, parseEvent, sinceParam } from './events';
export { DEFAULT_MAX_EVENT_CHARS, EventFramer, FrameError } from './framer';
export { checkLabelFilter, checkSpecLabels, labelFilters } from './labels';
export { FrameDecoder, FrameStreams, LineAssembler, MAX_FRAME_BYTES } from './logs';
export type { Frame } from './logs';
