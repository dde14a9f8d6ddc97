import pg from 'pg';
import { testDatabaseName } from './names';
import { Resource } from './resource';

/** Admin connection string: `SDMI_PG_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`. */
export function pgAdminUrl(): string {
  return process.env.SDMI_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** Runs `fn` on a short-lived admin connection. */
export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>, adminUrl = pgAdminUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Terminates every session on a database and drops it; a missing database is fine. */
export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
    name,
  ]);
  await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

export interface DatabaseOptions {
  /** Overrides {@link pgAdminUrl}. */
  adminUrl?: string;
}

/**
 * A fresh, empty PostgreSQL database `sdmi_test_<tag>_<n>`. `url` connects to it as the admin
 * user. Dispose terminates its sessions (clients a test forgot to close included) and drops it.
 */
export class TestDatabase extends Resource {
  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly adminUrl: string,
  ) {
    super();
  }

  static async create(options: DatabaseOptions = {}): Promise<TestDatabase> {
    const adminUrl = options.adminUrl ?? pgAdminUrl();
    const name = testDatabaseName();
    await withAdminClient((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`), adminUrl);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return new TestDatabase(name, url.toString(), adminUrl);
  }

  protected async teardown(): Promise<void> {
    await withAdminClient((c) => dropDatabase(c, this.name), this.adminUrl);
  }
}

/** Creates a {@link TestDatabase}; its connection string is `.url`. */
export function createDatabase(options?: DatabaseOptions): Promise<TestDatabase> {
  return TestDatabase.create(options);
}
