// The token key a process uses, from its environment. The PIN itself is never an environment
// value (those show in `ps e`, `docker inspect` and crash reports): the setting names a file.
import { TokenSettingMissing } from './errors';
import { TokenKey, type TokenKeySettings } from './token';

/** Environment variables naming a principal's key in a PKCS#11 token. */
export const Pkcs11Env = {
  /** The PKCS#11 module (a shared object), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  module: 'SDMI_NATS_PKCS11_MODULE',
  /** The token's label. */
  token: 'SDMI_NATS_PKCS11_TOKEN',
  /** The label (CKA_LABEL) of the key pair: a private and a public key object. */
  key: 'SDMI_NATS_PKCS11_KEY',
  /** A file, mode 0600, holding the token's user PIN on one line. */
  pinFile: 'SDMI_NATS_PKCS11_PIN_FILE',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Which of the settings are set (non-empty). */
export function pkcs11SettingsPresent(env: Env): string[] {
  return Object.values(Pkcs11Env).filter((name) => Boolean(env[name]));
}

/** The four settings, undefined when none is set; TokenSettingMissing naming the first one missing when only some are. */
export function tokenKeySettingsFromEnv(env: Env): TokenKeySettings | undefined {
  const present = pkcs11SettingsPresent(env);
  if (present.length === 0) return undefined;
  for (const name of Object.values(Pkcs11Env)) {
    if (!env[name]) throw new TokenSettingMissing(name, '', `not set, but ${present.join(', ')} ${present.length === 1 ? 'is' : 'are'}: a key in a PKCS#11 token needs all of ${Object.values(Pkcs11Env).join(', ')}`);
  }
  return { module: env[Pkcs11Env.module]!, token: env[Pkcs11Env.token]!, key: env[Pkcs11Env.key]!, pinFile: env[Pkcs11Env.pinFile]! };
}

/** Opens the token key the environment names; undefined when it names none. */
export function tokenKeyFromEnv(env: Env): TokenKey | undefined {
  const settings = tokenKeySettingsFromEnv(env);
  return settings ? TokenKey.open(settings, Pkcs11Env) : undefined;
}
