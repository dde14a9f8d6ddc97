// Internal entry for tests: pieces that are not part of the public API.
export { DEFAULT_MAX_MESSAGE_BYTES } from './framer';
export { parseTableUpdates } from './monitor';
export { silentLogger } from './logger';
