// A throw-away database (through the test bed) with the IPAM tables migrated.
import { createDatabase } from '@sdmi/testbed';
import pg from 'pg';
import { Ipam, type IpamError, type Queryable } from '../src/index';

export interface IpamFixture {
  pool: pg.Pool;
  ipam: Ipam;
  dispose(): Promise<void>;
}

export async function ipamFixture(max = 10): Promise<IpamFixture> {
  const db = await createDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max });
  // pool.end() resolves before the sockets are closed; dropping the database then terminates the
  // stragglers and their FATAL arrives as an unhandled error. Wait for every client's end.
  const closed: Promise<unknown>[] = [];
  pool.on('connect', (client) => closed.push(new Promise((resolve) => client.once('end', resolve))));
  const ipam = new Ipam();
  await ipam.migrate(pool);
  return {
    pool,
    ipam,
    async dispose() {
      await pool.end();
      await Promise.all(closed);
      await db.dispose();
    },
  };
}

/** Every row of the IPAM tables, for "nothing changed" assertions. */
export async function tables(q: Queryable, schema = 'ipam'): Promise<Record<string, unknown[]>> {
  const read = async (sql: string) => (await q.query(sql)).rows;
  return {
    network: await read(`SELECT id, cidr::text, host(gateway) AS gateway, updated_at FROM ${schema}.network ORDER BY id`),
    pool: await read(`SELECT * FROM ${schema}.pool ORDER BY network_id, ord`),
    allocation: await read(`SELECT network_id, address, interface_id, mode, allocated_at FROM ${schema}.allocation ORDER BY network_id, address`),
  };
}

/** Awaits a promise expected to reject with an IpamError and returns the error. */
export async function rejection(p: Promise<unknown>): Promise<IpamError> {
  try {
    await p;
  } catch (err) {
    return err as IpamError;
  }
  throw new Error('expected the call to fail, it succeeded');
}
