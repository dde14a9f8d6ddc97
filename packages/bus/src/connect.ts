import { connect as natsConnect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import pg from 'pg';

export const defaultNatsUrl = (): string => process.env.SDMI_NATS_URL ?? 'nats://127.0.0.1:4222';
export const defaultPgUrl = (): string => process.env.SDMI_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/sdmi';

export async function connectNats(name: string, url: string = defaultNatsUrl()): Promise<NatsConnection> {
  return natsConnect({ servers: url, name, maxReconnectAttempts: -1 });
}

export function createPool(url: string = defaultPgUrl(), max = 10): pg.Pool {
  return new pg.Pool({ connectionString: url, max });
}
