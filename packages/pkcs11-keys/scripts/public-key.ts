// Prints the nkey user public key (`U...`) of the token key the SDMI_NATS_PKCS11_* settings name,
// for principals.json and nats-server.conf. It opens the key as a service would (PIN file, checks,
// a test signature), so a key it prints is one a service can use. Errors name the setting, never
// the PIN; exit code 2.
//
//   SOFTHSM2_CONF=... SDMI_NATS_PKCS11_MODULE=... SDMI_NATS_PKCS11_TOKEN=... \
//   SDMI_NATS_PKCS11_KEY=... SDMI_NATS_PKCS11_PIN_FILE=... \
//     node --import tsx packages/pkcs11-keys/scripts/public-key.ts
import { Pkcs11Env, TokenKeyError, tokenKeyFromEnv } from '../src/index';

try {
  const key = tokenKeyFromEnv(process.env);
  if (!key) {
    process.stderr.write(`public-key: set ${Object.values(Pkcs11Env).join(', ')}\n`);
    process.exit(2);
  }
  process.stdout.write(`${key.publicKey}\n`);
  key.close();
} catch (err) {
  if (!(err instanceof TokenKeyError)) throw err;
  process.stderr.write(`public-key: ${err.message}\n`);
  process.exit(2);
}
