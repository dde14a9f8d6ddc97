// The suite's last check (deploy/test.sh): none of the secrets the tests recorded is in any log the
// suite kept, the vitest output included. Prints where a secret was found by its label, never the
// secret. Usage: tsx test/secret-scan.ts <ledger> <log dir>
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readLedger, scanForSecrets } from '@sdmi/testbed';

const [ledger, dir] = process.argv.slice(2);
if (!ledger || !dir) {
  console.error('usage: secret-scan.ts <ledger> <log dir>');
  process.exit(64);
}
const secrets = existsSync(ledger) ? readLedger(ledger) : new Map<string, string>();
if (secrets.size === 0) {
  // The tests that make seeds and keys record them; none recorded means the wiring broke.
  console.error(`secrets in logs: the ledger ${ledger} is empty or missing: no test recorded a secret, so the check would prove nothing`);
  process.exit(1);
}
const files = existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [];
const scan = scanForSecrets(secrets, files);
for (const h of scan.hits) console.error(`secrets in logs: ${h.label} found in ${h.file} line ${h.line}`);
console.log(`secrets in logs: ${scan.secrets} secret(s) checked against ${scan.files} log file(s), ${(scan.bytes / 1e6).toFixed(1)} MB: ${scan.hits.length === 0 ? 'none found' : `${scan.hits.length} found`}`);
process.exit(scan.hits.length === 0 ? 0 : 1);
