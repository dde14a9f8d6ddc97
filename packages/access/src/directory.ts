// The principals a cluster knows: public keys and who they are, from the principals.json that
// @sdmi/bus-auth writes beside the nats-server config (public keys only; seeds stay in their files).
// A principal's builtin role comes with its credential (services: system; admin: cluster-admin;
// viewer: viewer), so a cluster works, and can be administered, before any binding is stored.
import { readFileSync } from 'node:fs';
import type { Principal, RoleBinding } from '@sdmi/contracts';

/** One entry of principals.json. */
export interface KnownPrincipal {
  /** `scheduler`, `node-agent-host-a`, `admin`, `alice`... */
  readonly name: string;
  readonly kind: 'service' | 'node-agent' | 'user';
  readonly publicKey: string;
  /** The role its credential gives it, without any stored binding. */
  readonly role?: RoleBinding['role'];
}

/** A principals file that cannot be used: names the file and the entry, never a key's owner's secret. */
export class PrincipalsFileError extends Error {
  override readonly name = 'PrincipalsFileError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`principals file ${file}: ${reason}`);
  }
}

const ROLES = new Set(['cluster-admin', 'network-admin', 'tenant-admin', 'tenant-user', 'viewer', 'system']);
// Node names may have capitals (a node-agent is `node-agent-<node>`); principal ids do not.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const USER_KEY = /^U[A-Z2-7]{55}$/;

/**
 * The RBAC id of a known principal: `user:<name>` for people, `service:<name>` for services and
 * node-agents, in lower case (two names differing only in case are refused as one listed twice).
 */
export function principalId(p: Pick<KnownPrincipal, 'name' | 'kind'>): string {
  return `${p.kind === 'user' ? 'user' : 'service'}:${p.name.toLowerCase()}`;
}

export class PrincipalDirectory {
  readonly #byKey = new Map<string, KnownPrincipal>();

  constructor(entries: readonly KnownPrincipal[]) {
    for (const e of entries) this.#byKey.set(e.publicKey, e);
  }

  /** Reads principals.json; refuses entries it cannot trust to mean one thing. */
  static load(file: string): PrincipalDirectory {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new PrincipalsFileError(file, code ? `cannot be read (${code})` : `is not JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(raw)) throw new PrincipalsFileError(file, 'must hold a JSON array of principals');
    const entries: KnownPrincipal[] = [];
    const ids = new Set<string>();
    raw.forEach((e: unknown, i) => {
      const o = (e ?? {}) as Record<string, unknown>;
      const where = `entry ${i}`;
      if (typeof o.name !== 'string' || !NAME.test(o.name)) throw new PrincipalsFileError(file, `${where}: name must match ${NAME.source}`);
      if (o.kind !== 'service' && o.kind !== 'node-agent' && o.kind !== 'user') throw new PrincipalsFileError(file, `${where} (${o.name}): kind must be service, node-agent or user`);
      if (typeof o.publicKey !== 'string' || !USER_KEY.test(o.publicKey)) throw new PrincipalsFileError(file, `${where} (${o.name}): publicKey is not an nkey user public key`);
      if (o.role !== undefined && (typeof o.role !== 'string' || !ROLES.has(o.role))) throw new PrincipalsFileError(file, `${where} (${o.name}): role ${String(o.role)} is not one of ${[...ROLES].join(', ')}`);
      if (o.role === 'system' && o.kind === 'user') throw new PrincipalsFileError(file, `${where} (${o.name}): role system is for services, not users`);
      const p: KnownPrincipal = { name: o.name, kind: o.kind, publicKey: o.publicKey, ...(o.role ? { role: o.role as KnownPrincipal['role'] } : {}) };
      if (ids.has(principalId(p))) throw new PrincipalsFileError(file, `${where}: ${principalId(p)} is listed twice`);
      ids.add(principalId(p));
      entries.push(p);
    });
    const keys = new Set(entries.map((e) => e.publicKey));
    if (keys.size !== entries.length) throw new PrincipalsFileError(file, 'two principals share one public key');
    return new PrincipalDirectory(entries);
  }

  /** Who holds this key, as the task's principal; undefined for a key the cluster does not know. */
  principalOf(publicKey: string): Principal | undefined {
    const p = this.#byKey.get(publicKey);
    return p ? { id: principalId(p) } : undefined;
  }

  /** The bindings the credentials give, named `builtin-<name>`. */
  builtinBindings(): RoleBinding[] {
    return [...this.#byKey.values()]
      .filter((p) => p.role !== undefined)
      .map((p) => ({ version: 1 as const, name: `builtin-${p.name.toLowerCase()}`.replace(/[^a-z0-9-]/g, '-').slice(0, 63), principal: principalId(p), role: p.role! }));
  }
}
