// A principal whose key lives in a real SoftHSM v2 token, on a real nats-server with nkey auth: the
// server knows only the public key SDMI derived from the token's; the connection is accepted (the
// nonce signed in the token), a request signed in the token verifies as that key on the receiving
// side, and the real scheduler runs as that principal from the SDMI_NATS_PKCS11_* settings alone.
// A wrong PIN stops the service at start with an error naming the PIN file, and the PIN shows in
// no output.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors, type NatsConnection } from '@nats-io/nats-core';
import { BusNames, RdmpClient, connectNats, inboxPrefixFor, natsCredentials, signRequest, signerOf, verifyRequest } from '@sdmi/bus';
import { SchedulerQueries } from '@sdmi/scheduling';
import { healthSubject, requestHealth } from '@sdmi/service';
import { Testbed, keepLog, recordSeedsIn, runId, testName, type NatsServer, type SoftHsmToken, type TestDatabase } from '@sdmi/testbed';
import { ensureIdentities, narrowInbox, principalsFor, renderServerConfig, type Identity } from '../src/index';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tb = new Testbed();
const names = new BusNames(`p11_${runId()}`);
const keyDir = join(tmpdir(), testName('k'));
let ids: Map<string, Identity>;
let token: SoftHsmToken;
let pin: string;
let tokenEnv: Record<string, string>;
let tokenPublicKey: string;
let server: NatsServer;
let db: TestDatabase;
let admin!: NatsConnection;
const conns: NatsConnection[] = [];
let procLog = '';

function spawnScheduler(env: Record<string, string>, instance: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services/scheduler/src/main.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      SDMI_BUS_PREFIX: names.prefix,
      SDMI_PG_URL: db.url,
      SDMI_NATS_URL: server.url,
      SDMI_INSTANCE_ID: instance,
      SDMI_LOG_LEVEL: 'debug',
      ...token.env,
      ...env,
    },
  });
  child.stdout!.on('data', (d: Buffer) => (procLog += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (procLog += d.toString()));
  tb.defer(`scheduler ${instance}`, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
  return child;
}

beforeAll(async () => {
  token = await tb.softHsmToken();
  process.env.SOFTHSM2_CONF = token.conf;
  pin = readFileSync(token.pinFile, 'utf8').trim();
  tokenEnv = {
    SDMI_NATS_PKCS11_MODULE: token.module,
    SDMI_NATS_PKCS11_TOKEN: token.tokenLabel,
    SDMI_NATS_PKCS11_KEY: token.keyLabel,
    SDMI_NATS_PKCS11_PIN_FILE: token.pinFile,
  };
  // The public key, derived from the token's: all the server is told.
  tokenPublicKey = natsCredentials(tokenEnv).signer!.publicKey;
  mkdirSync(keyDir, { mode: 0o700 });
  tb.defer(keyDir, () => rmSync(keyDir, { recursive: true, force: true }));
  ids = new Map(ensureIdentities({ dir: keyDir, names, nodes: [] }).map((i) => [i.principal.name, i]));
  recordSeedsIn(keyDir);
  const scheduler = principalsFor(names, []).find((p) => p.name === 'scheduler')!;
  const users = [...ids.values()]
    .filter((i) => i.principal.name !== 'scheduler')
    .map((i) => ({ name: i.principal.name, nkey: i.publicKey, permissions: i.permissions }));
  users.push({ name: 'scheduler', nkey: tokenPublicKey, permissions: narrowInbox(scheduler.permissions, inboxPrefixFor(tokenPublicKey)) });
  server = await tb.natsServer({ config: (at) => renderServerConfig({ host: at.host, port: at.port, storeDir: at.storeDir, users }) });
  db = await tb.database();
  admin = await connectNats('test-admin', server.url, { SDMI_NATS_NKEY_SEED_FILE: ids.get('admin')!.seedFile });
  conns.push(admin);
}, 120_000);

afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => undefined);
  await tb.dispose();
  // For the suite's secret scan (the token's PINs and the seeds are in its ledger).
  keepLog('nats-pkcs11 services', procLog);
});

describe('a principal whose key is in a PKCS#11 token, on a nats-server with nkey auth', () => {
  it('connects: the server accepts the nonce signed in the token, and the principal\'s permissions apply', async () => {
    const nc = await connectNats('test-token', server.url, tokenEnv);
    conns.push(nc);
    expect(signerOf(nc)?.publicKey).toBe(tokenPublicKey);
    // Its own inbox works: a request on a subject the scheduler may publish, answered by the
    // network-controller's credential (it serves those queries, so it may reply)...
    const responder = await connectNats('test-nc', server.url, { SDMI_NATS_NKEY_SEED_FILE: ids.get('network-controller')!.seedFile });
    conns.push(responder);
    const subject = `${names.prefix}.query.network-controller.ping`;
    const sub = responder.subscribe(subject, {
      callback: (_err, msg) => {
        const v = verifyRequest(msg.subject, msg.data, msg.headers);
        msg.respond(JSON.stringify(v));
      },
    });
    await responder.flush();
    try {
      const body = new TextEncoder().encode('{}');
      const reply = await nc.request(subject, body, { timeout: 5_000, headers: signRequest(signerOf(nc)!, subject, body) });
      // ...and the receiver verifies the token's signature as that public key.
      expect(reply.json()).toEqual({ ok: true, publicKey: tokenPublicKey });
    } finally {
      sub.unsubscribe();
    }
    // ...and what the scheduler may not do is refused by the server.
    const failed = new Promise<Error | undefined>((resolve) => {
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'error') return resolve(s.error);
      })();
      setTimeout(() => resolve(undefined), 3_000);
    });
    nc.publish(`${names.prefix}.metrics.node.host-a`, '{}');
    expect(await failed).toBeInstanceOf(errors.PermissionViolationError);
  });

  it('the real scheduler runs as that principal from the PKCS#11 settings alone, and answers a query', async () => {
    const instance = `sched-${runId()}`;
    const child = spawnScheduler(tokenEnv, instance);
    const end = Date.now() + 60_000;
    for (;;) {
      const h = await requestHealth(admin, healthSubject('scheduler', instance), { timeout: 1_000 }).catch(() => undefined);
      if (h?.ready) break;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`scheduler not ready:\n${procLog.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const client = new RdmpClient(admin, { names });
    expect((await client.query('scheduler', SchedulerQueries.listServices, {})).services).toEqual([]);
    // The server let the token's key in as the scheduler (its log names users by public key).
    expect(server.logTail(100_000).split('\n').filter((l) => /Violation/.test(l) && l.includes('scheduler'))).toEqual([]);
  });

  it('with a wrong PIN the scheduler does not start: the error names the PIN file, not the PIN', async () => {
    const wrong = join(token.dir, 'wrong-pin');
    writeFileSync(wrong, `${pin}-wrong\n`, { mode: 0o600 });
    const before = procLog.length;
    const child = spawnScheduler({ ...tokenEnv, SDMI_NATS_PKCS11_PIN_FILE: wrong }, `sched-bad-${runId()}`);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    const out = procLog.slice(before);
    expect(out).toContain(`SDMI_NATS_PKCS11_PIN_FILE=${wrong}: the token \\"${token.tokenLabel}\\" refused the PIN in this file (CKR_PIN_INCORRECT)`);
  });

  it('the PIN appears in no output: the services\' (at debug level) and the server\'s log', () => {
    expect(procLog.length).toBeGreaterThan(0);
    expect(procLog).not.toContain(pin);
    expect(server.logTail(100_000)).not.toContain(pin);
  });
});
