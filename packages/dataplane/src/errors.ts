// One error class per failure mode of the data plane.

/** A snapshot that cannot describe a real network (dangling reference, an address held twice). */
export class InvalidTopology extends Error {
  override readonly name = 'InvalidTopology';
  readonly code = 'INVALID_TOPOLOGY';
}

/** A frame too short or malformed to be the header it claims to be. */
export class MalformedPacket extends Error {
  override readonly name = 'MalformedPacket';
  readonly code = 'MALFORMED_PACKET';
}
