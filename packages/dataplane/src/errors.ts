// One error class per failure mode of the data plane; `info` can travel on the bus as it is.

export interface DataplaneErrorInfo {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

abstract class DataplaneError extends Error {
  abstract readonly code: string;
  get info(): DataplaneErrorInfo {
    return { code: this.code, message: this.message };
  }
}

/** A snapshot that cannot describe a real network (dangling reference, an address held twice). */
export class InvalidTopology extends DataplaneError {
  override readonly name = 'InvalidTopology';
  readonly code = 'INVALID_TOPOLOGY';
}

/** A frame too short or malformed to be the header it claims to be. */
export class MalformedPacket extends DataplaneError {
  override readonly name = 'MalformedPacket';
  readonly code = 'MALFORMED_PACKET';
}
