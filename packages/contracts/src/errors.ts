import type { ErrorInfo } from './generated/types';

/** A message did not satisfy its contract. Carries the first violation as a bus-ready ErrorInfo. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  constructor(readonly info: ErrorInfo, options?: { cause?: unknown }) {
    super(info.message, options);
  }
}

/** A schema id that no loaded or added schema declares. */
export class UnknownSchema extends Error {
  override readonly name = 'UnknownSchema';
  constructor(readonly schemaId: string) {
    super(`no schema with $id ${schemaId} is loaded`);
  }
}
