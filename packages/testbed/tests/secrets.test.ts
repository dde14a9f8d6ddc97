// The suite's secret check, on files of its own: a planted secret is found and named by its label.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLedger, recordSecret, scanForSecrets, SecretLedgerEnv } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'sdmi-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('secret ledger and scan', () => {
  it('finds a recorded secret in a log by its label, and passes a clean log', () => {
    const ledger = join(dir, 'ledger');
    const before = process.env[SecretLedgerEnv.ledger];
    process.env[SecretLedgerEnv.ledger] = ledger;
    try {
      recordSecret('SUAM7X4ZQ2LJ5D3VHRKPWN6YEGTBCF0123456789ABCDEFGHIJKLMNOP', 'seed of x');
      recordSecret('short', 'too short to mean anything');
    } finally {
      if (before === undefined) delete process.env[SecretLedgerEnv.ledger];
      else process.env[SecretLedgerEnv.ledger] = before;
    }
    // The ledger holds the value encoded, not as it would show in a log.
    expect(readFileSync(ledger, 'utf8')).not.toContain('SUAM7X4Z');
    const secrets = readLedger(ledger);
    expect([...secrets.values()]).toEqual(['seed of x']);
    const clean = join(dir, 'clean.log');
    const leaky = join(dir, 'leaky.log');
    writeFileSync(clean, 'line one\nline two\n');
    writeFileSync(leaky, 'ok\n{"msg":"seed SUAM7X4ZQ2LJ5D3VHRKPWN6YEGTBCF0123456789ABCDEFGHIJKLMNOP"}\n');
    expect(scanForSecrets(secrets, [clean]).hits).toEqual([]);
    const scan = scanForSecrets(secrets, [clean, leaky]);
    expect(scan).toMatchObject({ secrets: 1, files: 2, hits: [{ file: leaky, line: 2, label: 'seed of x' }] });
    expect(JSON.stringify(scan)).not.toContain('SUAM7X4Z');
  });
});
