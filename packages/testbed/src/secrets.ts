// Secrets the test suite used, and the logs it produced, for one check at the end of a suite run:
// no log holds any of the secrets (docs/security.md, "Secrets in logs"). deploy/test.sh sets the
// two variables; without them (a single test file run by hand) recording does nothing.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const SecretLedgerEnv = {
  /** File (0600) the secrets are appended to: one `<label>\t<base64 of the value>` per line. */
  ledger: 'SDMI_TEST_SECRET_LEDGER',
  /** Directory the logs are kept in until the check. */
  logs: 'SDMI_TEST_LOG_DIR',
} as const;

// Shorter values would match by chance (and nothing the suite calls a secret is that short).
const MIN_SECRET = 12;
let kept = 0;

/** Notes a secret the suite uses (an nkey seed, an API key, a line of a private key). */
export function recordSecret(value: string, label: string): void {
  const ledger = process.env[SecretLedgerEnv.ledger];
  const v = value.trim();
  if (!ledger || v.length < MIN_SECRET) return;
  appendFileSync(ledger, `${label.replace(/[\t\n]/g, ' ')}\t${Buffer.from(v).toString('base64')}\n`, { mode: 0o600 });
}

/** Notes every nkey seed (`*.nk`) in a directory; returns how many. */
export function recordSeedsIn(dir: string, label = 'nkey seed'): number {
  let n = 0;
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    if (!f.endsWith('.nk')) continue;
    recordSecret(readFileSync(join(dir, f), 'utf8'), `${label} ${f}`);
    n++;
  }
  return n;
}

function logDir(): string | undefined {
  const dir = process.env[SecretLedgerEnv.logs];
  if (!dir) return undefined;
  mkdirSync(dir, { recursive: true });
  return dir;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);

/** Keeps what a test captured of a process's output. */
export function keepLog(label: string, text: string): void {
  const dir = logDir();
  if (!dir || text === '') return;
  writeFileSync(join(dir, `${safe(label)}-${process.pid}-${++kept}.log`), text);
}

/** Keeps a copy of a log file (a daemon's, a service's) before its directory goes. */
export function keepLogFile(label: string, file: string): void {
  const dir = logDir();
  if (!dir || !existsSync(file) || !statSync(file).isFile()) return;
  copyFileSync(file, join(dir, `${safe(label)}-${safe(basename(file))}-${process.pid}-${++kept}.log`));
}

export interface SecretScan {
  readonly secrets: number;
  readonly files: number;
  readonly bytes: number;
  /** Where a secret was found: the file, the line, and the secret's label (never its value). */
  readonly hits: readonly { file: string; line: number; label: string }[];
}

/** Reads a ledger: label → value, one entry per distinct value. */
export function readLedger(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const tab = line.lastIndexOf('\t');
    if (tab < 0) continue;
    out.set(Buffer.from(line.slice(tab + 1), 'base64').toString('utf8'), line.slice(0, tab));
  }
  return out;
}

/** Looks for every secret in every file, line by line. */
export function scanForSecrets(secrets: ReadonlyMap<string, string>, files: readonly string[]): SecretScan {
  const hits: { file: string; line: number; label: string }[] = [];
  let bytes = 0;
  const values = [...secrets.keys()];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    bytes += Buffer.byteLength(text);
    // A cheap pass first: most files hold none of them.
    const present = values.filter((v) => text.includes(v));
    if (present.length === 0) continue;
    text.split('\n').forEach((l, i) => {
      for (const v of present) if (l.includes(v)) hits.push({ file, line: i + 1, label: secrets.get(v)! });
    });
  }
  return { secrets: values.length, files: files.length, bytes, hits };
}

/**
 * What a control plane's run dir holds for the check: its DNS API key (a secret) and every log
 * (services' in logs/, PowerDNS's and dnsdist's in dns/), found down to two levels below `root`.
 */
export function keepRunDirs(label: string, root: string): void {
  const visit = (dir: string, depth: number): void => {
    if (!existsSync(dir) || depth > 3) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = join(dir, e.name);
      if (e.isDirectory()) visit(f, depth + 1);
      else if (e.name === 'api-key') recordSecret(readFileSync(f, 'utf8'), `DNS API key ${f}`);
      else if (e.name.endsWith('.nk')) recordSecret(readFileSync(f, 'utf8'), `nkey seed ${f}`);
      else if (e.name.endsWith('.log')) keepLogFile(label, f);
    }
  };
  visit(root, 0);
}
