// TLS as an option: a nats-server with the generated config's tls block and auth; a client with
// SDMI_NATS_TLS_CA and its seed connects, one that does not trust the CA does not.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusNames, connectNats } from '@sdmi/bus';
import { Testbed, recordSecret, recordSeedsIn, runId, testName, type NatsServer } from '@sdmi/testbed';
import { ensureIdentities, renderServerConfig, type Identity } from '../src/index';

const tb = new Testbed();
const dir = join(tmpdir(), testName('k'));
let admin: Identity;
let server: NatsServer;

beforeAll(async () => {
  mkdirSync(dir, { mode: 0o700 });
  tb.defer(dir, () => rmSync(dir, { recursive: true, force: true }));
  // A CA and a certificate for 127.0.0.1 signed by it (the SAN through an extension file).
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', `/CN=sdmi test CA ${runId()}`]);
  o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext']);
  const ids = ensureIdentities({ dir, names: new BusNames(`tls_${runId()}`), nodes: [] });
  recordSeedsIn(dir);
  // A private key's base64 lines: each is distinctive, and a log would break a PEM across lines anyway.
  for (const key of ['ca.key', 'server.key']) for (const line of readFileSync(join(dir, key), 'utf8').split('\n')) if (!line.startsWith('-----')) recordSecret(line, `TLS private key ${key}`);
  admin = ids.find((i) => i.principal.name === 'admin')!;
  server = await tb.natsServer({
    config: (at) =>
      renderServerConfig({
        host: at.host,
        port: at.port,
        storeDir: at.storeDir,
        tls: { certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') },
        users: ids.map((i) => ({ name: i.principal.name, nkey: i.publicKey, permissions: i.permissions })),
      }),
  });
});

afterAll(() => tb.dispose());

describe('TLS for NATS connections', () => {
  it('a client with SDMI_NATS_TLS_CA and its seed connects over TLS', async () => {
    const nc = await connectNats('test-tls', server.url, { SDMI_NATS_NKEY_SEED_FILE: admin.seedFile, SDMI_NATS_TLS_CA: join(dir, 'ca.pem') });
    try {
      expect(nc.info?.tls_required).toBe(true);
      await nc.flush();
    } finally {
      await nc.close();
    }
  });

  it('a client that does not trust the CA is refused, and no seed or key reaches the server log', async () => {
    await expect(connectNats('test-no-ca', server.url, { SDMI_NATS_NKEY_SEED_FILE: admin.seedFile })).rejects.toThrow();
    const log = server.logTail(10_000);
    expect(log).toMatch(/TLS/);
    expect(log.includes(readFileSync(admin.seedFile, 'utf8').trim())).toBe(false);
  });
});
