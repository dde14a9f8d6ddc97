// The control plane with a credentials directory: on a nats-server with auth, every service runs
// as its own principal with access control on, and the control plane itself connects as admin.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusNames, ErrorCodes, RdmpClient, connectNats } from '@sdmi/bus';
import { ensureIdentities, writeServerConfig } from '@sdmi/bus-auth';
import { ACCESS_SERVICE, AccessQueries } from '@sdmi/contracts';
import { createLogger } from '@sdmi/service';
import { Testbed, keepLogFile, recordSeedsIn, runId, type NatsServer, type TestDatabase } from '@sdmi/testbed';
import { ControlPlane, CredentialsMissingError, SERVICE_CONTAINER_USER, SERVICE_NAMES, containerSeedCopy, serviceContainerSpec } from '@sdmi/controlplane';

const tb = new Testbed();
const silent = createLogger('controlplane-credentials-test', runId(), { level: 'silent' });
const names = new BusNames(`cpa_${runId()}`);
const NODE = 'host-a';
let dir: string;
let server: NatsServer;
let db: TestDatabase;
let serviceEnv: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sdmi-cp-credentials-'));
  tb.defer(dir, () => rmSync(dir, { recursive: true, force: true }));
  const identities = ensureIdentities({ dir, names, nodes: [NODE] });
  recordSeedsIn(dir);
  server = await tb.natsServer({ config: (at) => readFileSync(writeServerConfig({ dir, identities, host: at.host, port: at.port, storeDir: at.storeDir }).configFile, 'utf8') });
  db = await tb.database();
  const bridge = await tb.bridge();
  serviceEnv = { SDMI_PG_URL: db.url, SDMI_BUS_PREFIX: names.prefix, SDMI_OPENFLOW_LISTEN: '127.0.0.1:0', SDMI_NODE_BRIDGE: bridge.name, SDMI_NODE_NAME: NODE };
}, 60_000);

afterAll(async () => {
  await tb.dispose();
});

describe('sdmi up with a credentials directory', () => {
  it('starts the six services each as its own principal with access control on; signed commands work, unsigned ones are refused and audited', async () => {
    const runDir = path.join(dir, 'run');
    const cp = new ControlPlane({ runDir, natsUrl: server.url, env: serviceEnv, credentialsDir: dir, instanceId: (s) => `${s}-${runId()}`, logger: silent, readyTimeoutMs: 120_000, stopTimeoutMs: 20_000 });
    tb.defer('control plane', () => cp.stop().then(() => undefined));
    const rows = await cp.start();
    expect(rows.map((r) => r.service).sort()).toEqual([...SERVICE_NAMES].sort());
    const admin = await connectNats('test-admin', server.url, { SDMI_NATS_NKEY_SEED_FILE: path.join(dir, 'admin.nk') });
    tb.defer('admin connection', () => admin.close());
    const client = new RdmpClient(admin, { names });
    const done = await client.run('network-controller', { kind: 'putTenantConfig', key: 'networks', payload: { tenant: 'acme', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '700-709' }] } }, { timeoutMs: 30_000 });
    expect(done.status).toBe('completed');
    const unsigned = new RdmpClient(admin, { names, signer: null });
    const refused = await unsigned.submit('scheduler', { kind: 'scaleService', key: 'service/acme/web', payload: { service: 'acme/web', replicas: 1 } }).then(() => undefined, (e: { info?: { code?: string } }) => e.info);
    expect(refused?.code).toBe(ErrorCodes.Unauthenticated);
    const audit = await client.query(ACCESS_SERVICE, AccessQueries.audit, {});
    expect(audit.records.map((r) => [r.service, r.kind, r.principal, r.outcome])).toEqual(
      expect.arrayContaining([
        ['network-controller', 'putTenantConfig', 'user:admin', 'accepted'],
        ['scheduler', 'scaleService', 'unauthenticated', 'refused'],
      ]),
    );
    // Each service says so in its own log, and no log holds a seed.
    for (const p of cp.processes) {
      const log = readFileSync(p.logFile, 'utf8');
      if (p.service !== 'switch-agent') expect(log, p.service).toMatch(/access control on/);
      for (const id of ['admin', 'scheduler', 'network-controller', `node-agent-${NODE}`]) expect(log.includes(readFileSync(path.join(dir, `${id}.nk`), 'utf8').trim()), `${id}'s seed in ${p.service}'s log`).toBe(false);
    }
    const stopped = await cp.stop();
    for (const p of cp.processes) keepLogFile(`controlplane ${p.service}`, p.logFile);
    expect(stopped.map((r) => [r.service, r.clean])).toEqual(SERVICE_NAMES.map((s) => [s, true]));
  }, 240_000);

  it('refuses a directory without a seed a service needs, before anything starts', async () => {
    const cp = new ControlPlane({ runDir: path.join(dir, 'run2'), natsUrl: server.url, env: { ...serviceEnv, SDMI_NODE_NAME: 'host-z' }, credentialsDir: dir, logger: silent });
    await expect(cp.start()).rejects.toThrow(CredentialsMissingError);
    await expect(new ControlPlane({ runDir: path.join(dir, 'run3'), natsUrl: server.url, env: { ...serviceEnv, SDMI_NODE_NAME: 'host-z' }, credentialsDir: dir, logger: silent }).start()).rejects.toThrow(
      /the seed of node-agent-host-z .*node-agent-host-z\.nk is missing \(generate it with sdmi auth init --dir .* --nodes <this node>\)/,
    );
    expect(cp.processes).toEqual([]);
  });

  it('containers get a copy of their seed readable by their user, and both files read-only', () => {
    const copy = containerSeedCopy(path.join(dir, 'run4'), path.join(dir, 'scheduler.nk'), SERVICE_CONTAINER_USER);
    const st = statSync(copy);
    expect(st.mode & 0o777).toBe(0o600);
    if (process.getuid?.() === 0) expect([st.uid, st.gid]).toEqual([SERVICE_CONTAINER_USER.uid, SERVICE_CONTAINER_USER.gid]);
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(path.join(dir, 'scheduler.nk'), 'utf8'));
    const principals = path.join(dir, 'principals.json');
    expect(serviceContainerSpec('scheduler', { SDMI_NATS_NKEY_SEED_FILE: copy, SDMI_PRINCIPALS_FILE: principals }).readOnlyBinds).toEqual([copy, principals]);
    expect(serviceContainerSpec('node-agent', { SDMI_NATS_NKEY_SEED_FILE: copy, SDMI_PRINCIPALS_FILE: principals }).readOnlyBinds).toEqual([copy, principals]);
  });
});
