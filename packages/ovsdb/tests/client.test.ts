import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CommitFailed,
  OperationFailed,
  Op,
  OvsSwitch,
  type OvsdbClient,
  RequestCanceled,
  RpcError,
  connectOvsdb,
  namedUuid,
  ovsSet,
} from '@sdmi/ovsdb';
import { describeInventory, inventory, runId } from '@sdmi/testbed';
import { bridgeName, dropBridges, vsctl, within } from './fixture';

let client: OvsdbClient;
let sw: OvsSwitch;
const created: string[] = [];

beforeAll(async () => {
  client = await connectOvsdb();
  sw = new OvsSwitch(client);
});
afterEach(() => dropBridges(sw, created));
afterAll(async () => {
  await client?.close();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('OvsdbClient against the local ovsdb-server', () => {
  it('list_dbs contains Open_vSwitch', async () => {
    expect(await client.listDbs()).toContain('Open_vSwitch');
  });

  it('get_schema returns the Open_vSwitch schema, normalised', async () => {
    const schema = await client.getSchema('Open_vSwitch');
    expect(schema.name).toBe('Open_vSwitch');
    expect(schema.version).toMatch(/^\d+\.\d+\.\d+$/);
    const bridges = schema.tables.Open_vSwitch?.columns.bridges?.type;
    expect(bridges).toMatchObject({ key: { type: 'uuid', refTable: 'Bridge' }, min: 0, max: 'unlimited' });
    expect(schema.tables.Bridge?.indexes).toEqual([['name']]);
    expect(schema.tables.Interface?.columns.ofport?.type).toEqual({ key: { type: 'integer' }, min: 0, max: 1 });
  });

  it('get_schema of an unknown database rejects with RpcError', async () => {
    const e = await client.getSchema('No_Such_Db').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect((e as RpcError).message).toMatch(/unknown database/);
  });

  it('echo round-trips', async () => {
    await client.echo();
  });

  it('insert with uuid-name, named-uuid reference and select in one transaction', async () => {
    const name = bridgeName();
    created.push(name);
    const results = await client.transact('Open_vSwitch', [
      Op.insert('Interface', { name, type: 'internal' }, 'i'),
      Op.insert('Port', { name, interfaces: namedUuid('i') }, 'p'),
      Op.insert('Bridge', { name, datapath_type: 'netdev', ports: ovsSet([namedUuid('p')]) }, 'b'),
      Op.mutate('Open_vSwitch', [], [['bridges', 'insert', ovsSet([namedUuid('b')])]]),
      Op.select('Bridge', [['name', '==', name]], ['name', 'datapath_type']),
      Op.comment('sdmi test'),
    ]);
    expect(results[2]?.uuid?.[0]).toBe('uuid');
    expect(results[3]?.count).toBe(1);
    expect(results[4]?.rows).toEqual([{ name, datapath_type: 'netdev' }]);
    expect((await vsctl('list-br')).split('\n')).toContain(name);
    expect(await vsctl('get', 'Bridge', name, '_uuid')).toBe(results[2]?.uuid?.[1]);
  });

  it('a failing wait makes the whole transaction a no-op and reports its index', async () => {
    const name = bridgeName();
    const ops = [
      Op.insert('Interface', { name, type: 'internal' }, 'i'),
      Op.insert('Port', { name, interfaces: namedUuid('i') }, 'p'),
      Op.insert('Bridge', { name, datapath_type: 'netdev', ports: ovsSet([namedUuid('p')]) }, 'b'),
      Op.mutate('Open_vSwitch', [], [['bridges', 'insert', ovsSet([namedUuid('b')])]]),
      // Never true: there is no bridge of that name before the transaction.
      Op.wait('Bridge', [['name', '==', `${name}x`]], ['name'], '!=', [], 0),
    ];
    const e = await client.transact('Open_vSwitch', ops).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OperationFailed);
    expect(e).toMatchObject({ name: 'OperationFailed', index: 4, error: 'timed out' });
    expect((e as OperationFailed).operation).toBe(ops[4]);
    expect((await vsctl('list-br')).split('\n')).not.toContain(name);
    expect(await vsctl('--columns=name', 'find', 'Port', `name=${name}`)).toBe('');
  });

  it('an explicit abort operation fails the transaction with error "aborted"', async () => {
    const name = bridgeName();
    const e = await client
      .transact('Open_vSwitch', [Op.insert('Bridge', { name }, 'b'), Op.abort()])
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'OperationFailed', index: 1, error: 'aborted' });
    expect((await vsctl('list-br')).split('\n')).not.toContain(name);
  });

  it('a duplicate index value fails at commit with CommitFailed carrying the extra result', async () => {
    const name = bridgeName();
    created.push(name);
    await sw.createBridge(name);
    // No guard: the Bridge name index is only checked at commit.
    const ops = [
      Op.insert('Bridge', { name }, 'b'),
      Op.mutate('Open_vSwitch', [], [['bridges', 'insert', ovsSet([namedUuid('b')])]]),
    ];
    const e = await client.transact('Open_vSwitch', ops).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommitFailed);
    expect(e).toMatchObject({ index: 2, error: 'constraint violation' });
    expect((e as CommitFailed).details).toMatch(/Bridge/);
    expect(await vsctl('--columns=_uuid', '--bare', 'find', 'Bridge', `name=${name}`)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a referential integrity error (dangling strong reference) fails at commit', async () => {
    const name = bridgeName();
    // A Port whose interface set is empty violates min 1; inserting a Port without adding it to a
    // bridge is fine for RFC 7047 but gets garbage-collected, so use a bad reference instead.
    const e = await client
      .transact('Open_vSwitch', [
        Op.insert('Port', { name, interfaces: ['uuid', '00000000-0000-4000-8000-000000000000'] }, 'p'),
      ])
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CommitFailed);
    expect((e as CommitFailed).error).toBe('referential integrity violation');
  });

  it('cancel: aborting a blocked transact rejects it, the server forgets it, the connection stays usable', async () => {
    const [cfg] = await client.transact('Open_vSwitch', [Op.select('Open_vSwitch', [], ['next_cfg'])]);
    const next = Number(cfg?.rows?.[0]?.next_cfg) + 1;
    const ac = new AbortController();
    // Blocks until next_cfg reaches `next`.
    const blocked = client.transact(
      'Open_vSwitch',
      [Op.wait('Open_vSwitch', [['next_cfg', '>=', next]], ['next_cfg'], '!=', [], 60_000)],
      { signal: ac.signal },
    );
    await client.echo(); // the transact is waiting in the server
    ac.abort();
    const e = await blocked.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RequestCanceled);
    expect(client.rpc.inFlight).toBe(0);
    // Make the wait condition true: had the server kept the request, it would answer it now.
    await client.transact('Open_vSwitch', [Op.mutate('Open_vSwitch', [], [['next_cfg', '+=', 1]])]);
    await client.echo();
    expect(client.rpc.unmatchedReplies).toBe(0);
    expect(await client.listDbs()).toContain('Open_vSwitch');
  });

  it('lock / steal / assert: the loser of a stolen lock cannot commit under it', async () => {
    // Lock names are RFC 7047 <id>s: letters, digits and underscores only (ovsdb-server refuses "-").
    const lockId = `sdmi_${runId()}_lock`;
    await using other = await connectOvsdb();
    expect(await client.lock(lockId)).toBe(true);
    const events: string[] = [];
    const stolen = new Promise<void>((resolve) =>
      client.onLockEvent((ev, id) => {
        if (id !== lockId) return;
        events.push(ev);
        if (ev === 'stolen') resolve();
      }),
    );
    expect(await other.lock(lockId)).toBe(false); // queued behind us
    await other.unlock(lockId); // ovsdb-server refuses "steal" while a "lock" is pending
    expect(await other.steal(lockId)).toBe(true);
    await within(stolen, 10_000, 'the "stolen" notification');
    expect(events.at(-1)).toBe('stolen');
    await expect(client.transact('Open_vSwitch', [Op.assert(lockId)])).rejects.toMatchObject({
      name: 'OperationFailed',
      index: 0,
      error: 'not owner',
    });
    expect(await other.transact('Open_vSwitch', [Op.assert(lockId), Op.comment('holder')])).toHaveLength(2);
    await other.unlock(lockId);
    await client.unlock(lockId);
  });
});
