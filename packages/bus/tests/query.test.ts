// Queries on the real NATS: a request/reply checked at both ends, refusals that say what, where
// and why, and nothing recorded.
import { Contracts, queryContract } from '@sdmi/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadMessage, QueryFailed, QueryServer, RdmpClient, Timeout, UnknownQuery, serveQuery } from '../src/index';
import { busFixture, type BusFixture } from './fixture';

const base = 'https://sdmi.invalid/schemas/test/';
const contracts = new Contracts();
contracts.addSchema({ $id: `${base}count-query.schema.json`, type: 'object', additionalProperties: false, required: ['word'], properties: { word: { type: 'string', minLength: 1, maxLength: 20 } } });
contracts.addSchema({ $id: `${base}count-reply.schema.json`, type: 'object', additionalProperties: false, required: ['letters'], properties: { letters: { type: 'integer', minimum: 0 } } });
contracts.addSchema({ $id: `${base}empty-query.schema.json`, type: 'object', additionalProperties: false, properties: {} });

interface CountQuery {
  word: string;
}
interface CountReply {
  letters: number;
}
const count = queryContract<CountQuery, CountReply>('count', `${base}count-query.schema.json`, `${base}count-reply.schema.json`);
const broken = queryContract<CountQuery, CountReply>('broken', `${base}count-query.schema.json`, `${base}count-reply.schema.json`);
const refusing = queryContract<CountQuery, CountReply>('refusing', `${base}count-query.schema.json`, `${base}count-reply.schema.json`);
const hello = queryContract<Record<string, never>, CountReply>('hello', `${base}empty-query.schema.json`, `${base}count-reply.schema.json`);

let f: BusFixture;
let client: RdmpClient;
const servers: QueryServer[] = [];
const answeredBy: string[] = [];
let handled = 0;

function server(instance: string): QueryServer {
  return new QueryServer({
    nc: f.nc,
    service: 'words',
    names: f.names,
    contracts,
    handlers: [
      serveQuery(count, ({ word }) => {
        handled++;
        answeredBy.push(instance);
        return { letters: word.length };
      }),
      // Returns what its reply schema refuses: the server must not send it.
      serveQuery(broken, ({ word }) => ({ letters: -word.length })),
      serveQuery(refusing, ({ word }) => {
        throw Object.assign(new Error('no'), { info: { code: 'WORD_NOT_FOUND', message: `/word: ${word} is not in the dictionary`, path: '/word', rule: 'word-known' } });
      }),
      serveQuery(hello, () => ({ letters: 5 })),
    ],
  }).start();
}

beforeAll(async () => {
  f = await busFixture();
  client = new RdmpClient(f.nc, { names: f.names, contracts, retries: 0, requestTimeoutMs: 2_000 });
  servers.push(server('a'), server('b'));
  await f.nc.flush();
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  await f?.dispose();
});

describe('queries', () => {
  it('answers a query on <prefix>.query.<service>.<name>, typed and checked at both ends, once per request across instances', async () => {
    expect(client.names.query('words', 'count')).toBe(`${f.tag}.query.words.count`);
    const before = answeredBy.length;
    for (const word of ['a', 'abc', 'hello', 'sdmi']) expect(await client.query('words', count, { word })).toEqual({ letters: word.length });
    // One queue group: each request answered by exactly one instance.
    expect(answeredBy.length - before).toBe(4);
  });

  it('an empty body is the empty request', async () => {
    expect(await client.queryRaw('words', 'hello', '')).toEqual({ ok: true, result: { letters: 5 } });
    expect(await client.query('words', hello, {})).toEqual({ letters: 5 });
  });

  it('refuses an unknown query by name, listing those it knows', async () => {
    const r = await client.queryRaw('words', 'cuont', '{}');
    expect(r).toMatchObject({ ok: false, error: { code: 'UNKNOWN_QUERY', rule: 'knownQuery', details: { known: ['count', 'broken', 'refusing', 'hello'] } } });
    const typo = queryContract<CountQuery, CountReply>('cuont', count.request, count.reply);
    await expect(client.query('words', typo, { word: 'x' })).rejects.toBeInstanceOf(UnknownQuery);
  });

  it('refuses bytes that are not JSON, and a request off its schema with the field and the rule, before any handler runs', async () => {
    const seen = handled;
    expect(await client.queryRaw('words', 'count', '{word:')).toMatchObject({ ok: false, error: { code: 'NOT_JSON', path: '/' } });
    expect(await client.queryRaw('words', 'count', JSON.stringify({ word: 'x', colour: 'red' }))).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path: '/colour', rule: 'additionalProperties' } });
    const r = await client.queryRaw('words', 'count', JSON.stringify({ word: '' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path: '/word', rule: 'minLength' } });
    if (!r.ok) expect(r.error.message).toMatch(/^query count: \/word /);
    expect(await client.queryRaw('words', 'count', 'x'.repeat(70_000))).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(handled).toBe(seen);
  });

  it('the client refuses a bad request itself, without sending it', async () => {
    const seen = handled;
    await expect(client.query('words', count, { word: 'x'.repeat(21) })).rejects.toMatchObject({ name: 'BadMessage', info: { path: '/word', rule: 'maxLength' } });
    expect(handled).toBe(seen);
  });

  it("a handler's refusal keeps its code, path and rule; the client throws it as QueryFailed", async () => {
    const err = await client.query('words', refusing, { word: 'zzyzx' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryFailed);
    expect(err).toMatchObject({ info: { code: 'WORD_NOT_FOUND', path: '/word', rule: 'word-known', message: '/word: zzyzx is not in the dictionary' } });
  });

  it('a reply that breaks its own contract is not sent: the asker hears why instead', async () => {
    const r = await client.queryRaw('words', 'broken', JSON.stringify({ word: 'abc' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'HANDLER_FAILED', path: '/letters', rule: 'minimum' } });
    if (!r.ok) expect(r.error.message).toContain('breaks its contract');
  });

  it('a client checks the reply against the reply schema too', async () => {
    // A server that knows the query under a looser reply schema: the client, holding the real one, refuses its answer.
    const loose = new Contracts();
    loose.addSchema({ $id: `${base}count-query.schema.json`, type: 'object' });
    loose.addSchema({ $id: `${base}count-reply.schema.json`, type: 'object' });
    const rogue = new QueryServer({ nc: f.nc, service: 'rogue', names: f.names, contracts: loose, handlers: [serveQuery(count, () => ({ letters: 'many' }) as unknown as CountReply)] }).start();
    try {
      await f.nc.flush();
      await expect(client.query('rogue', count, { word: 'abc' })).rejects.toSatisfy((e: unknown) => e instanceof BadMessage && /invalid reply to query count: \/letters/.test(e.message));
    } finally {
      await rogue.stop();
    }
  });

  it('nobody answering is a Timeout naming the service and the query', async () => {
    await expect(client.query('nobody', count, { word: 'x' })).rejects.toSatisfy((e: unknown) => e instanceof Timeout && /service "nobody" answered query count/.test(e.message));
  });
});
