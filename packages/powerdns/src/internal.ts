// Internal entry for tests: pieces that are not part of the public API.
export { BadShape, decodeCryptoKey, decodeZone } from './decode';
export { labelProblem, nameInZone } from './names';
export { silentLogger } from './logger';
