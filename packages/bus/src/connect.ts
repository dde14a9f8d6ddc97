import { connect as natsConnect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import { natsCredentials } from './credentials';
import { bindSigner } from './signature';

export const defaultNatsUrl = (): string => process.env.SDMI_NATS_URL ?? 'nats://127.0.0.1:4222';
export const defaultPgUrl = (): string => process.env.SDMI_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/sdmi';

/**
 * Connects as the principal SDMI_NATS_NKEY_SEED_FILE (or the SDMI_NATS_PKCS11_* token key) names
 * (and with TLS if SDMI_NATS_TLS_CA is set); with neither, without credentials. A credential
 * setting that cannot be used throws NatsCredentialsError before any connection is tried. Requests
 * sent on the connection by an RdmpClient are signed with the same key.
 */
export async function connectNats(name: string, url: string = defaultNatsUrl(), env: Readonly<Record<string, string | undefined>> = process.env): Promise<NatsConnection> {
  const { options, signer, release } = natsCredentials(env);
  let nc: NatsConnection;
  try {
    nc = await natsConnect({ servers: url, name, maxReconnectAttempts: -1, ...options });
  } catch (err) {
    release?.();
    throw err;
  }
  if (signer) bindSigner(nc, signer);
  // A token key's session lasts as long as the connection (reconnects sign new nonces with it).
  if (release) void nc.closed().finally(release);
  return nc;
}

/** How long a pool keeps a session nobody uses. */
export const IDLE_SESSION_MS = 1000;

/**
 * A pool that survives its sessions dying. pg reports a session that fails while idle in the pool
 * (PostgreSQL restarted, `pg_terminate_backend`, a dropped database, also a session still closing
 * after `end()`) as an 'error' event on the pool, having already discarded it; an EventEmitter
 * with no 'error' listener throws that as an uncaught exception and takes the process down.
 * Here it is logged, and the next query opens a new session.
 */
export function createPool(url: string = defaultPgUrl(), max = 10, log: Logger = fallbackLog()): pg.Pool {
  // Sessions a burst opened close a second after it (pg's default keeps them 10 s): a server's
  // max_connections is shared by every service and test on it, and bursts of several processes
  // at once, each holding its idle sessions, ran a 100-session server out ("too many clients").
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: IDLE_SESSION_MS });
  pool.on('error', (err) => {
    log.warn({ err }, 'an idle PostgreSQL session of the pool failed; it was discarded');
  });
  return pool;
}

let fallback: Logger | undefined;
/** For what happens to PostgreSQL sessions when the caller gave no logger (createPool, migrate). */
export function fallbackLog(): Logger {
  fallback ??= pino({ level: 'warn' }).child({ component: 'pg-pool' });
  return fallback;
}

/** The JetStream manager of a connection (re-exported so callers need not import JetStream). */
export { jetstreamManager } from '@nats-io/jetstream';

/**
 * Creates the database a connection string names, if it does not exist, through the same
 * server's `postgres` database. The main job uses it; tests bring their own databases.
 */
export async function ensureDatabase(url: string = defaultPgUrl()): Promise<'created' | 'exists'> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`database URL ${target.origin} names no database`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount) return 'exists';
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    return 'created';
  } catch (err) {
    // Two control planes starting at once: the loser finds it created.
    if ((err as { code?: string }).code === '42P04') return 'exists';
    throw err;
  } finally {
    await client.end();
  }
}
