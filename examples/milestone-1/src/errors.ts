// One class per failure mode of the example's TypeScript side (the in-container scripts report
// theirs on stderr with a non-zero exit).

/** A mesh node name that `m1-mesh` would refuse (see meshNodeName for making one from anything). */
export class InvalidNodeName extends Error {
  override readonly name = 'InvalidNodeName';
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid mesh node name ${JSON.stringify(value)}: ${reason}`);
  }
}

/** An address `m1-mesh add-peer` would refuse. */
export class InvalidNodeAddress extends Error {
  override readonly name = 'InvalidNodeAddress';
  constructor(
    readonly node: string,
    readonly value: string,
  ) {
    super(`invalid address ${JSON.stringify(value)} of mesh node ${node}: expected host, host:port or [ipv6]:port`);
  }
}

/** A plan asked for something the mesh cannot be: a node twice, a node joining itself, leaving a mesh it is not in. */
export class InvalidMeshChange extends Error {
  override readonly name = 'InvalidMeshChange';
  constructor(readonly detail: string) {
    super(`invalid mesh change: ${detail}`);
  }
}
