import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { Svcm, type ServiceInfo } from '@nats-io/services';
import { BadMessage, BusNames, connectNats, jetstreamManager, RdmpClient, removeStreams, UnknownKind, type ApplyHandler } from '@sdmi/bus';
import { attachRdmp, requestJson, SdmiService, type HealthReply } from '@sdmi/service';
import { createDatabase, type TestDatabase } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A service made an RDMP endpoint: commands go through the services framework's endpoints.
const prefix = `t${randomBytes(4).toString('hex')}`;
const names = new BusNames(prefix);
const NAME = 'sdmi-rdmp-svc-test';

let db: TestDatabase;
let nc: NatsConnection;
let svc: SdmiService;
let client: RdmpClient;

const greet: ApplyHandler<{ name: string }> = {
  kind: 'greet',
  payloadSchema: { $id: 'https://sdmi.invalid/schemas/test/greet.schema.json', type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
  async apply({ task }) {
    return { greeting: `hello ${task.payload.name}` };
  },
};

beforeAll(async () => {
  db = await createDatabase();
  nc = await connectNats(`rdmp-svc-test-${prefix}`);
  svc = new SdmiService({ name: NAME, version: '0.0.1', description: 'rdmp endpoint under test', env: { SDMI_INSTANCE_ID: `${prefix}-1`, SDMI_LOG_LEVEL: 'silent' } });
  attachRdmp(svc, { handlers: [greet], dbUrl: db.url, prefix });
  await svc.start();
  client = new RdmpClient(nc, { names });
});

afterAll(async () => {
  await svc?.stop();
  await removeStreams(await jetstreamManager(nc), names);
  await nc?.close();
  await db?.dispose();
});

describe('attachRdmp', () => {
  it('runs a command submitted through the service endpoint', async () => {
    const out = await client.run(NAME, { kind: 'greet', key: 'greeter/1', payload: { name: 'odyssey' } });
    expect(out).toMatchObject({ status: 'completed', result: { greeting: 'hello odyssey' }, revision: 1 });
  });

  it('answers bad input in the SubmitReply contract, through the framework endpoint', async () => {
    const notJson = await client.submitRaw(NAME, 'nope{').catch((e: unknown) => e);
    expect(notJson).toBeInstanceOf(BadMessage);
    expect((notJson as BadMessage).info).toMatchObject({ code: 'NOT_JSON' });
    const unknown = await client.submit(NAME, { kind: 'wave', key: 'greeter/1', payload: {} }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnknownKind);
    expect((unknown as UnknownKind).message).toBe(`service "${NAME}" has no command kind "wave"; it knows: greet`);
  });

  it('shows submit and task-status in discovery, and reports the worker in health', async () => {
    const infos: ServiceInfo[] = [];
    for await (const i of await new Svcm(nc).client().info(NAME)) infos.push(i);
    const mine = infos.find((i) => i.id === svc.frameworkId);
    expect(mine?.endpoints.map((e) => [e.name, e.subject]).sort()).toEqual(
      expect.arrayContaining([['submit', names.submit(NAME)], ['task-status', names.taskStatus(NAME)]]),
    );
    const health = await requestJson<HealthReply>(nc, svc.healthSubject, {});
    expect(health.ready).toBe(true);
    expect(health.checks.find((c) => c.name === 'rdmp')).toMatchObject({ ok: true, detail: expect.stringMatching(/^leader;/) });
  });
});
