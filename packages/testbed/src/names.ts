import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidName } from './errors';

/**
 * Every resource the test bed creates carries the run tag right after this prefix:
 * `sdmi-<tag>-…` for namespaces, bridges, interfaces, streams and temp dirs, and
 * `sdmi_test_<tag>_…` for databases. A tag is `t` plus four base-36 characters, e.g. `t3f9a`.
 * Product code must not name its own resources `sdmi-t????-…`.
 */
export const TEST_PREFIX = 'sdmi-';
export const TEST_DB_PREFIX = 'sdmi_test_';

const TAG = /t[0-9a-z]{4}/;
/** Matches any test-bed resource name (or path) and captures its run tag. */
export const TEST_NAME_PATTERN = new RegExp(`(?:^|/)(?:sdmi-|sdmi_test_)(${TAG.source})[-_]`);

/** Linux limit for interface names (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;

/** Where each run records its owner pid, so that a sweep only removes what dead runs left. */
export function ownerDir(): string {
  return process.env.SDMI_TESTBED_RUN_DIR ?? '/run/sdmi-testbed';
}

let tag: string | undefined;
let counter = 0;

function randomTag(): string {
  let t = 't';
  for (let i = 0; i < 4; i++) t += randomInt(36).toString(36);
  return t;
}

/**
 * The short tag unique to this process (one per test file under vitest's forks pool), e.g. `t3f9a`.
 * The first call records the process as the tag's owner in {@link ownerDir}; the record is removed
 * when the process exits.
 */
export function runId(): string {
  if (tag !== undefined) return tag;
  const dir = ownerDir();
  mkdirSync(dir, { recursive: true });
  for (;;) {
    const candidate = randomTag();
    const marker = join(dir, candidate);
    try {
      writeFileSync(marker, `${process.pid}\n`, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    tag = candidate;
    process.once('exit', () => rmSync(marker, { force: true }));
    return candidate;
  }
}

/** The run tag in a test-bed resource name or path, if it is one. */
export function tagOf(name: string): string | undefined {
  return TEST_NAME_PATTERN.exec(name)?.[1];
}

/** Whether the process that owns `tag` is still running (false when it left no record). */
export function ownerAlive(t: string): boolean {
  if (t === tag) return true;
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(ownerDir(), t), 'utf8'), 10);
  } catch {
    return false;
  }
  return processAlive(pid);
}

/** Whether a pid names a live process (a zombie counts as dead). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Removes owner records of runs whose process is gone. */
export function pruneOwnerRecords(): void {
  let entries: string[];
  try {
    entries = readdirSync(ownerDir());
  } catch {
    return;
  }
  for (const t of entries) if (/^t[0-9a-z]{4}$/.test(t) && !ownerAlive(t)) rmSync(join(ownerDir(), t), { force: true });
}

/**
 * A new run-unique name `sdmi-<tag>-<kind><n>` (n in base 36). Short enough for interface names
 * (`sdmi-t3f9a-b1z` is 14 characters).
 */
export function testName(kind = ''): string {
  counter += 1;
  return `${TEST_PREFIX}${runId()}-${kind}${counter.toString(36)}`;
}

/** A new run-unique database name `sdmi_test_<tag>_<n>`. */
export function testDatabaseName(): string {
  counter += 1;
  return `${TEST_DB_PREFIX}${runId()}_${counter.toString(36)}`;
}

/** Refuses names the kernel would reject as interface names. */
export function checkIfName(name: string): string {
  if (name.length === 0 || name.length > MAX_IFNAME) {
    throw new InvalidName(name, `interface names have 1 to ${MAX_IFNAME} characters`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new InvalidName(name, 'interface names may hold letters, digits and _ . - only');
  }
  return name;
}
