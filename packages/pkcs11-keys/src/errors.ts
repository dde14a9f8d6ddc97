// One error class per way a token key cannot be used. Each names the setting that is wrong and its
// value (a path or a label, never the PIN: the PIN file's content appears in no message, and
// neither does anything the token returned about it).

/** Base of the token key errors: `setting` and `value` say what to fix. */
export class TokenKeyError extends Error {
  override readonly name: string = 'TokenKeyError';
  constructor(
    readonly setting: string,
    readonly value: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}=${value}: ${reason}`, options);
  }
}

/** A setting is missing, or two settings contradict each other. */
export class TokenSettingMissing extends TokenKeyError {
  override readonly name = 'TokenSettingMissing';
}

/** The PKCS#11 module (or the pkcs11js addon that loads it) cannot be loaded or initialised. */
export class TokenModuleUnavailable extends TokenKeyError {
  override readonly name = 'TokenModuleUnavailable';
}

/** No token with the label is present, or several are. */
export class TokenNotFound extends TokenKeyError {
  override readonly name = 'TokenNotFound';
}

/** The PIN file cannot be used (missing, unreadable, open to others, empty). */
export class TokenPinFileUnusable extends TokenKeyError {
  override readonly name = 'TokenPinFileUnusable';
}

/** The token refused the PIN, or it is locked after too many wrong ones. */
export class TokenPinRefused extends TokenKeyError {
  override readonly name = 'TokenPinRefused';
}

/** No private key (or no public key beside it) has the label, or several do. */
export class TokenKeyNotFound extends TokenKeyError {
  override readonly name = 'TokenKeyNotFound';
}

/** The key is there but is not an Ed25519 signing key that stays in the token. */
export class TokenKeyUnsuitable extends TokenKeyError {
  override readonly name = 'TokenKeyUnsuitable';
}

/** The token failed to sign (removed, session lost, device error). */
export class TokenSigningFailed extends TokenKeyError {
  override readonly name = 'TokenSigningFailed';
}
