// What each service gets when the cluster's bus has credentials: its own seed file and the
// cluster's principals.json, from a directory `sdmi auth init` (or bus-auth's generate) wrote. The
// control plane itself connects as admin from the same directory. Seeds are secrets: only their
// paths are handled here, and container mode hands each container a copy readable by its user.
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NatsCredentialsEnv } from '@sdmi/bus';
import { principalName, seedFileOf } from '@sdmi/bus-auth';

export const CredentialsEnv = { seedFile: NatsCredentialsEnv.nkeySeedFile, principalsFile: 'SDMI_PRINCIPALS_FILE' } as const;

/** A credentials directory that lacks what a service needs; names the file, never a seed. */
export class CredentialsMissingError extends Error {
  override readonly name = 'CredentialsMissingError';
  constructor(
    readonly dir: string,
    readonly file: string,
    what: string,
  ) {
    super(`credentials directory ${dir}: ${what} ${file} is missing (generate it with sdmi auth init --dir ${dir}${what.includes('node-agent') ? ' --nodes <this node>' : ''})`);
  }
}

/** The node a node-agent will run as: SDMI_NODE_NAME, else this host's name (as the node-agent decides). */
export function nodeNameOf(env: Readonly<Record<string, string | undefined>>): string {
  return env.SDMI_NODE_NAME || os.hostname().toLowerCase();
}

/** The principal `service` runs as, its seed file and the principals file, checked to exist. */
export function serviceCredentials(dir: string, service: string, env: Readonly<Record<string, string | undefined>>): { principal: string; seedFile: string; principalsFile: string } {
  const principal = principalName(service, service === 'node-agent' ? nodeNameOf(env) : undefined);
  const seedFile = seedFileOf(dir, principal);
  const principalsFile = path.join(dir, 'principals.json');
  if (!existsSync(principalsFile)) throw new CredentialsMissingError(dir, principalsFile, 'the principals file');
  if (!existsSync(seedFile)) throw new CredentialsMissingError(dir, seedFile, `the seed of ${principal}`);
  return { principal, seedFile, principalsFile };
}

/** The control plane's own credential (health and instance checks): admin's seed. */
export function adminSeedFile(dir: string): string {
  const f = seedFileOf(dir, 'admin');
  if (!existsSync(f)) throw new CredentialsMissingError(dir, f, 'the seed of admin');
  return f;
}

/**
 * For a container whose user is `owner`: a copy of the seed under `<runDir>/credentials`, owned by
 * that user and readable by it alone (the original stays root's, 0600). Returns the copy's path,
 * which is bind-mounted read-only at the same path.
 */
export function containerSeedCopy(runDir: string, seedFile: string, owner: { uid: number; gid: number } | undefined): string {
  const dir = path.join(runDir, 'credentials');
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const copy = path.join(dir, path.basename(seedFile));
  copyFileSync(seedFile, copy);
  chmodSync(copy, 0o600);
  if (owner && process.getuid?.() === 0) chownSync(copy, owner.uid, owner.gid);
  return copy;
}

/** Removes the containers' seed copies (`down`, and stop of a container control plane). */
export function removeContainerSeedCopies(runDir: string): void {
  rmSync(path.join(runDir, 'credentials'), { recursive: true, force: true });
}
