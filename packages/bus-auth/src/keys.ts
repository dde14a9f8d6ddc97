// Nkeys of the cluster's principals, kept one seed per 0600 file. Seeds are secrets: nothing here
// logs them or puts them in an error message; only public keys leave this module.
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { inboxPrefixFor, readNkeySeedFile, type BusNames } from '@sdmi/bus';
import { narrowInbox, principalsFor, type Permissions, type Principal } from './principals';
import { renderServerConfig, type ServerTls } from './render';

/** A principal with its public key; the seed is in {@link Identity.seedFile}. */
export interface Identity {
  readonly principal: Principal;
  readonly publicKey: string;
  readonly seedFile: string;
  /** The principal's permissions with its inbox narrowed to its own key: what the server gets. */
  readonly permissions: Permissions;
}

export function seedFileOf(dir: string, principal: string): string {
  return join(dir, `${principal}.nk`);
}

function writeSecret(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export interface GenerateOptions {
  /** Where seeds (`<principal>.nk`, 0600) and the server config go; created 0700 if missing. */
  dir: string;
  names: BusNames;
  nodes: readonly string[];
  /** People besides admin and viewer (tenant admins, tenant users...): their rights come from role bindings. */
  users?: readonly string[];
  /** Make new seeds even where a principal has one (key rotation); default keep existing ones. */
  rotate?: boolean;
}

/**
 * Makes sure every principal of the cluster has a seed file in `dir` and returns the identities.
 * Existing seeds are kept unless `rotate`, so running it again after adding a node changes only
 * the new node's entry.
 */
export function ensureIdentities(o: GenerateOptions): Identity[] {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  return principalsFor(o.names, o.nodes, o.users ?? []).map((principal) => {
    const seedFile = seedFileOf(o.dir, principal.name);
    if (o.rotate || !existsSync(seedFile)) {
      const kp = createUser();
      writeSecret(seedFile, `${new TextDecoder().decode(kp.getSeed())}\n`);
      kp.clear();
    }
    const publicKey = readNkeySeedFile(seedFile, `seed of ${principal.name}`).publicKey;
    return { principal, publicKey, seedFile, permissions: narrowInbox(principal.permissions, inboxPrefixFor(publicKey)) };
  });
}

export interface ServerFiles {
  /** The nats-server config: `nats-server -c <configFile>`. */
  configFile: string;
  /** Principal → public key and seed file, no secrets (`principals.json`). */
  manifestFile: string;
}

export interface WriteServerConfigOptions {
  dir: string;
  identities: readonly Identity[];
  host?: string;
  port?: number;
  storeDir?: string;
  serverName?: string;
  tls?: ServerTls;
}

/** Writes `nats-server.conf` and `principals.json` next to the seeds. */
export function writeServerConfig(o: WriteServerConfigOptions): ServerFiles {
  const configFile = join(o.dir, 'nats-server.conf');
  const manifestFile = join(o.dir, 'principals.json');
  const text = renderServerConfig({
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 4222,
    ...(o.storeDir !== undefined ? { storeDir: o.storeDir } : {}),
    ...(o.serverName !== undefined ? { serverName: o.serverName } : {}),
    ...(o.tls ? { tls: o.tls } : {}),
    users: o.identities.map((i) => ({ name: i.principal.name, nkey: i.publicKey, permissions: i.permissions })),
  });
  writeFileSync(configFile, text, { mode: 0o600 });
  const manifest = o.identities.map((i) => ({
    name: i.principal.name,
    kind: i.principal.kind,
    ...(i.principal.node ? { node: i.principal.node } : {}),
    ...(i.principal.role ? { role: i.principal.role } : {}),
    publicKey: i.publicKey,
    seedFile: i.seedFile,
  }));
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
  return { configFile, manifestFile };
}
