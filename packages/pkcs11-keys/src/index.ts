export { Pkcs11Env, pkcs11SettingsPresent, tokenKeyFromEnv, tokenKeySettingsFromEnv } from './env';
export {
  TokenKeyError,
  TokenKeyNotFound,
  TokenKeyUnsuitable,
  TokenModuleUnavailable,
  TokenNotFound,
  TokenPinFileUnusable,
  TokenPinRefused,
  TokenSettingMissing,
  TokenSigningFailed,
} from './errors';
export { ed25519FromEcPoint, isEd25519Params, nkeyUserPublicKey } from './nkey';
export { Pkcs11Ed25519, TokenKey, readPinFile } from './token';
export type { PrivateKeyFlags, TokenKeySettingNames, TokenKeySettings } from './token';
