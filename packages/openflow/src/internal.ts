// Internal entry for tests: the reader/writer and the TLV codecs beneath encode()/decode().
export { ReadFault, Reader, Writer } from './buffer';
export { readMessage, writeMessage } from './codec';
export { readMatch, readOxm, writeMatch, writeOxm } from './oxm';
export {
  readAction,
  readActions,
  readBuckets,
  readInstruction,
  readInstructions,
  readMeterBands,
  writeAction,
  writeActions,
  writeBuckets,
  writeInstruction,
  writeInstructions,
  writeMeterBands,
} from './actions';
