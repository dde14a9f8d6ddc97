import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ServiceErrorCodeHeader, ServiceErrorHeader, Svcm, type ServiceInfo, type ServiceStats } from '@nats-io/services';
import {
  DuplicateInstanceError,
  EndpointError,
  ErrorCode,
  InvalidConfigError,
  RemoteEndpointError,
  SdmiService,
  ServiceState,
  ServiceStateError,
  findUnknownEnv,
  isNoResponders,
  loadServiceConfig,
  requestJson,
  type HealthReply,
  type SdmiServiceOptions,
} from '@sdmi/service';

const NAME = 'sdmi-runtime-test';
// Unique per run: other test runs may register the same service name on the same NATS.
const RUN = `r${process.pid}-${Date.now().toString(36)}`;
let seq = 0;

let client: NatsConnection;
const started: SdmiService[] = [];

function newService(overrides: Partial<SdmiServiceOptions> = {}): SdmiService {
  const svc = new SdmiService({
    name: NAME,
    version: '1.2.3',
    description: 'runtime under test',
    env: { SDMI_INSTANCE_ID: `${RUN}-${++seq}`, SDMI_LOG_LEVEL: 'silent', SDMI_CHECK_TIMEOUT_MS: '500' },
    ...overrides,
  });
  started.push(svc);
  return svc;
}

async function collect<T>(it: Promise<AsyncIterable<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of await it) out.push(x);
  return out;
}

beforeAll(async () => {
  client = await connect({ servers: 'nats://127.0.0.1:4222', name: `service-test/${RUN}` });
});

afterEach(async () => {
  await Promise.allSettled(started.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await client.close();
});

describe('SdmiService', () => {
  it('answers $SRV ping, info and stats, found through the services client', async () => {
    const svc = newService({ metadata: { role: 'test' } });
    svc.addEndpoint('echo', { handler: (req: unknown) => req });
    await svc.start();

    const sc = new Svcm(client).client({ strategy: 'stall', maxWait: 2000, stall: 300 });
    const mine = (x: { metadata?: Record<string, string> }) => x.metadata?.instance === svc.instanceId;

    const pings = (await collect(sc.ping(NAME))).filter(mine);
    expect(pings).toHaveLength(1);
    expect(pings[0]).toMatchObject({ name: NAME, version: '1.2.3', id: svc.frameworkId });
    expect(pings[0]!.metadata).toMatchObject({ role: 'test', instance: svc.instanceId, pid: String(process.pid) });

    const infos = (await collect<ServiceInfo>(sc.info(NAME))).filter(mine);
    expect(infos).toHaveLength(1);
    expect(infos[0]!.description).toBe('runtime under test');
    expect(infos[0]!.endpoints.map((e) => [e.name, e.subject]).sort()).toEqual([
      ['echo', `sdmi.svc.${NAME}.echo`],
      ['health', `sdmi.svc.${NAME}.${svc.instanceId}.health`],
    ]);

    await expect(requestJson(client, `sdmi.svc.${NAME}.echo`, { n: 1 })).resolves.toEqual({ n: 1 });
    await expect(requestJson(client, `sdmi.svc.${NAME}.echo`, 'x')).resolves.toBe('x');
    await expect(requestJson(client, `sdmi.svc.${NAME}.echo`)).resolves.toBeUndefined();
    const stats = (await collect<ServiceStats>(sc.stats(NAME, svc.frameworkId))).filter(mine);
    expect(stats).toHaveLength(1);
    const echo = stats[0]!.endpoints?.find((e) => e.name === 'echo');
    expect(echo).toMatchObject({ num_requests: 3, num_errors: 0 });
  });

  it('reports ready=false and names the failing readiness check', async () => {
    const svc = newService();
    svc.addReadinessCheck('postgres', async () => ({ ok: false, detail: 'connection refused' }));
    svc.addReadinessCheck('disk', () => true);
    svc.addReadinessCheck('throws', () => {
      throw new Error('kaput');
    });
    svc.addReadinessCheck('hangs', () => new Promise<void>(() => undefined));
    await svc.start();

    const health = await requestJson<HealthReply>(client, svc.healthSubject);
    expect(health).toMatchObject({ status: 'degraded', ready: false, instance: svc.instanceId });
    expect(health.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(health.checks).toEqual([
      { name: 'postgres', ok: false, detail: 'connection refused' },
      { name: 'disk', ok: true },
      { name: 'throws', ok: false, detail: 'kaput' },
      { name: 'hangs', ok: false, detail: 'no answer within 500 ms' },
    ]);
  });

  it('stays ready but degraded when only an optional check fails', async () => {
    const svc = newService();
    svc.addReadinessCheck('nats', () => undefined);
    svc.addReadinessCheck('metrics-push', () => false, { required: false });
    await svc.start();

    const health = await requestJson<HealthReply>(client, svc.healthSubject);
    expect(health).toMatchObject({ status: 'degraded', ready: true });
    expect(health.checks).toEqual([
      { name: 'nats', ok: true },
      { name: 'metrics-push', ok: false },
    ]);
  });

  it('round-trips JSON on a custom endpoint and replies errors as { error } with framework headers', async () => {
    const svc = newService();
    const sum = svc.addEndpoint<{ a: number; b: number }, { sum: number }>('sum', {
      scope: 'instance',
      decode: (body) => {
        const b = body as { a?: unknown; b?: unknown } | undefined;
        if (typeof b?.a !== 'number' || typeof b.b !== 'number') {
          throw new EndpointError({ code: 'SCHEMA_VIOLATION', message: 'a and b must be numbers', path: '/a' });
        }
        return { a: b.a, b: b.b };
      },
      handler: ({ a, b }) => ({ sum: a + b }),
    });
    svc.addEndpoint('fail', {
      handler: () => {
        throw new Error('disk on fire');
      },
    });
    await svc.start();
    expect(sum.subject).toBe(`sdmi.svc.${NAME}.${svc.instanceId}.sum`);

    await expect(requestJson(client, sum.subject, { a: 2, b: 40 })).resolves.toEqual({ sum: 42 });

    const refused = await requestJson(client, sum.subject, { a: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteEndpointError);
    expect(refused).toMatchObject({ status: 400, code: 'SCHEMA_VIOLATION', info: { message: 'a and b must be numbers', path: '/a' } });

    const raw = await client.request(sum.subject, '{not json', { timeout: 5000 });
    expect(raw.headers?.get(ServiceErrorCodeHeader)).toBe('400');
    expect(raw.headers?.get(ServiceErrorHeader)).toMatch(/not JSON/);
    expect(raw.json()).toMatchObject({ error: { code: ErrorCode.NOT_JSON } });

    const internal = await requestJson(client, `sdmi.svc.${NAME}.fail`).catch((e: unknown) => e);
    expect(internal).toMatchObject({ status: 500, code: ErrorCode.INTERNAL, message: expect.stringContaining('disk on fire') });

    const stats = (await collect<ServiceStats>(new Svcm(client).client().stats(NAME, svc.frameworkId)))[0]!;
    expect(stats.endpoints?.find((e) => e.name === 'sum')).toMatchObject({ num_requests: 3, num_errors: 2 });
    expect(stats.endpoints?.find((e) => e.name === 'fail')).toMatchObject({ num_requests: 1, num_errors: 1, last_error: 'disk on fire' });
  });

  it('stops idempotently: hooks once in reverse order, subscriptions gone, connection closed', async () => {
    const svc = newService();
    const order: string[] = [];
    svc.onStop('first', () => void order.push('first'));
    svc.onStart('consumer', () => {
      order.push('consumer started');
      return () => void order.push('consumer stopped');
    });
    svc.onStop('last', () => void order.push('last'));
    await svc.start();
    const nc = svc.nc;
    expect(nc.isClosed()).toBe(false);

    const [a, b] = [svc.stop(), svc.stop()];
    expect(a).toBe(b);
    await Promise.all([a, b]);
    await svc.stop();

    expect(svc.state).toBe(ServiceState.stopped);
    expect(nc.isClosed()).toBe(true);
    // Last in, first out: the consumer came into being at start(), after both hooks were registered.
    expect(order).toEqual(['consumer started', 'consumer stopped', 'last', 'first']);
    const after = await client.request(svc.healthSubject, '', { timeout: 2000 }).catch((e: unknown) => e);
    expect(isNoResponders(after)).toBe(true);
    expect(() => svc.addEndpoint('late', { handler: () => 1 })).toThrow(ServiceStateError);
    await expect(svc.start()).rejects.toBeInstanceOf(ServiceStateError);
  });

  it('stops cleanly when never started', async () => {
    const svc = newService();
    await svc.stop();
    expect(svc.state).toBe(ServiceState.stopped);
  });

  it('refuses a second process with the same instance id and leaves the first serving', async () => {
    const first = newService();
    await first.start();
    const second = newService({ env: { SDMI_INSTANCE_ID: first.instanceId, SDMI_LOG_LEVEL: 'silent' } });
    await expect(second.start()).rejects.toBeInstanceOf(DuplicateInstanceError);
    expect(second.state).toBe(ServiceState.stopped);
    await expect(requestJson<HealthReply>(client, first.healthSubject)).resolves.toMatchObject({ ready: true });
  });
});

describe('service configuration', () => {
  it('names every invalid value at once', () => {
    let caught: unknown;
    try {
      loadServiceConfig({ SDMI_NATS_URL: 'http://x:1', SDMI_LOG_LEVEL: 'loud', SDMI_INSTANCE_ID: 'a.b', SDMI_STOP_TIMEOUT_MS: '-5' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidConfigError);
    const problems = (caught as InvalidConfigError).problems;
    expect(problems.map((p) => p.key).sort()).toEqual(['SDMI_INSTANCE_ID', 'SDMI_LOG_LEVEL', 'SDMI_NATS_URL', 'SDMI_STOP_TIMEOUT_MS']);
    expect((caught as Error).message).toContain('SDMI_LOG_LEVEL="loud"');
  });

  it('takes the environment over defaults over built-in values', () => {
    const config = loadServiceConfig({ SDMI_LOG_LEVEL: 'debug' }, { instanceId: 'host-a', logLevel: 'warn' });
    expect(config).toMatchObject({ natsUrl: 'nats://127.0.0.1:4222', instanceId: 'host-a', logLevel: 'debug', stopTimeoutMs: 10_000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('refuses unknown settings in defaults and points out misspelt SDMI_ variables', () => {
    expect(() => loadServiceConfig({}, { natsURL: 'x' } as never)).toThrow(/natsURL.*unknown setting/);
    expect(findUnknownEnv({ SDMI_LOG_LEVLE: 'debug', SDMI_PG_URL: 'x', HOME: '/' }, ['SDMI_PG_URL'])).toEqual([
      { key: 'SDMI_LOG_LEVLE', suggestion: 'SDMI_LOG_LEVEL' },
    ]);
  });

  it('refuses a service name or version the services framework would reject', () => {
    expect(() => new SdmiService({ name: 'Bad Name', version: 'one', description: '', env: {} })).toThrow(InvalidConfigError);
  });
});
