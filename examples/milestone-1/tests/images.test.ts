// The example's images on the machine's real dockerd. Production wires containers with no Docker
// networking (the node-agent adds interfaces from OVS); here, at image level only, the containers
// share one run-unique user-defined bridge network, removed afterwards.
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, mainDocker, testName, tryRun } from '@sdmi/testbed';
import type { RunResult } from '@sdmi/testbed';
import { MESH_COMMAND, addNodePlan, buildExampleImages, createMeshPlan, meshNodeName, removeNodePlan } from '../src/index';
import type { ExampleImages, MeshNode, MeshStep } from '../src/index';

let images: ExampleImages;
let network: string | undefined;
const containers: string[] = [];

interface Db {
  readonly container: string;
  readonly node: MeshNode;
}

async function start(image: string, env: Record<string, string> = {}, kind = 'c'): Promise<string> {
  const name = testName(kind);
  containers.push(name);
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  await docker(mainDocker, ['run', '--detach', '--name', name, '--hostname', name, '--network', network ?? 'none', ...envArgs, image]);
  return name;
}

async function ipOf(container: string): Promise<string> {
  const out = await docker(mainDocker, ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container]);
  return out.trim();
}

function exec(container: string, argv: readonly string[]): Promise<RunResult> {
  return tryRun('docker', ['-H', mainDocker.host, 'exec', container, ...argv], { timeoutMs: 60_000 });
}

async function mustExec(container: string, argv: readonly string[]): Promise<string> {
  const r = await exec(container, argv);
  if (r.exitCode !== 0) throw new Error(`${container}: ${argv.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The steps of a plan, run in order as the orchestrator will: each in the container of its node. */
async function runPlan(dbs: readonly Db[], steps: readonly MeshStep[]): Promise<string[]> {
  const out: string[] = [];
  for (const step of steps) {
    const db = dbs.find((d) => d.node.name === step.node);
    if (!db) throw new Error(`plan names unknown node ${step.node}`);
    out.push((await mustExec(db.container, step.argv)).trim());
  }
  return out;
}

async function sql(db: Db, query: string): Promise<string[]> {
  const out = await mustExec(db.container, ['psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'postgres', '-d', 'm1', '-c', query]);
  return out.split('\n').filter(Boolean);
}

async function bodies(db: Db): Promise<string[]> {
  return sql(db, 'SELECT body FROM items ORDER BY body');
}

/** Polls until check passes or the bound is reached; replication is asynchronous. */
async function eventually(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(250);
    }
  }
}

async function startDb(): Promise<Db> {
  const container = await start(images.db, {}, 'db');
  await eventually(async () => void (await mustExec(container, [MESH_COMMAND, 'health'])), 20_000);
  return { container, node: { name: meshNodeName(container), address: await ipOf(container) } };
}

interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  certificateName: string | undefined;
}

function https(address: string, path: string, method = 'GET', body?: unknown): Promise<HttpsReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port: 443,
        path,
        method,
        // The lb's certificate is self-signed, made when its container started.
        rejectUnauthorized: false,
        timeout: 5_000,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const cn = (res.socket as TLSSocket).getPeerCertificate().subject?.CN;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as unknown, certificateName: typeof cn === 'string' ? cn : undefined });
          } catch (e) {
            reject(new Error(`not JSON from https://${address}${path}: ${text}`, { cause: e }));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`https://${address}${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function httpGet(address: string, port: number, path: string): Promise<{ status: number; body: unknown; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`http://${address}:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as unknown, ms: Date.now() - t0 };
}

beforeAll(async () => {
  // The first build on a machine debootstraps (minutes); afterwards it is about a second.
  images = await buildExampleImages(mainDocker);
  network = testName('n');
  await docker(mainDocker, ['network', 'create', '--label', 'sdmi.test=milestone-1', network]);
}, 1_800_000);

afterAll(async () => {
  const errors: string[] = [];
  if (containers.length) {
    const r = await tryRun('docker', ['-H', mainDocker.host, 'rm', '--force', '--volumes', ...containers]);
    if (r.exitCode !== 0 && !/No such container/.test(r.stderr)) errors.push(r.stderr.trim());
  }
  if (network) {
    const r = await tryRun('docker', ['-H', mainDocker.host, 'network', 'rm', network]);
    if (r.exitCode !== 0) errors.push(r.stderr.trim());
  }
  if (errors.length) throw new Error(`clean-up failed:\n${errors.join('\n')}`);
});

describe('Milestone-1 images', () => {
  it('are built once: a second build finds them', async () => {
    const t0 = Date.now();
    expect(await buildExampleImages(mainDocker)).toEqual(images);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(images).toEqual({ db: 'sdmi/m1-db:1', app: 'sdmi/m1-app:1', lb: 'sdmi/m1-lb:1' });
  });

  describe('db: a PostgreSQL 15 multi-master mesh', () => {
    const dbs: Db[] = [];
    let fourth: Db | undefined;

    beforeAll(async () => {
      for (let i = 0; i < 3; i++) dbs.push(await startDb());
    }, 120_000);

    it('runs PostgreSQL 15 with wal_level logical, listening on every address', async () => {
      const db = dbs[0]!;
      expect((await sql(db, 'SHOW server_version'))[0]).toMatch(/^15\./);
      expect(await sql(db, "SELECT current_setting('wal_level'), current_setting('listen_addresses')")).toEqual(['logical|*']);
      expect(await sql(db, "SELECT datname FROM pg_database WHERE datname = 'm1'")).toEqual(['m1']);
    });

    it('derives node names as meshNodeName does', async () => {
      for (const raw of ['db-1', 'Sdmi_t1234_DB-2.rev1', '4cf5f08cf76a', 'héllo wörld', 'a-very-long-hostname-for-a-database-node-01', '---']) {
        expect((await mustExec(dbs[0]!.container, [MESH_COMMAND, 'name', raw])).trim()).toBe(meshNodeName(raw));
      }
    });

    it('meshes three nodes: a row written on any node appears on all', async () => {
      const out = await runPlan(dbs, createMeshPlan(dbs.map((d) => d.node)));
      expect(out.join('\n')).toContain('subscribed to');
      // Idempotent: the same plan again changes nothing and succeeds.
      const again = await runPlan(dbs, createMeshPlan(dbs.map((d) => d.node)));
      expect(again.filter((l) => l.includes('initialised') || l.includes('already subscribed'))).toHaveLength(again.length);

      for (const [i, db] of dbs.entries()) await sql(db, `INSERT INTO items (body) VALUES ('row ${i} on ${db.node.name}')`);
      const expected = dbs.map((db, i) => `row ${i} on ${db.node.name}`).sort();
      await eventually(async () => {
        for (const db of dbs) expect(await bodies(db)).toEqual(expected);
      });
      // Each row lives in the table of the node it was written on.
      for (const db of dbs) {
        expect(await sql(db, `SELECT node FROM items WHERE body LIKE '% on ${db.node.name}'`)).toEqual([db.node.name]);
      }
      const peers = await mustExec(dbs[0]!.container, [MESH_COMMAND, 'peers']);
      expect(peers.trim().split('\n').map((l) => l.split('\t').slice(0, 4).join(' '))).toEqual(
        dbs.slice(1).map((d) => `${d.node.name} ${d.node.address} peer enabled`).sort(),
      );
    });

    it('refuses what it cannot do, with a message and a non-zero exit', async () => {
      const [a, b] = [dbs[0]!, dbs[1]!];
      const reinit = await exec(a.container, [MESH_COMMAND, 'init', 'other']);
      expect(reinit.exitCode).not.toBe(0);
      expect(reinit.stderr).toContain(`already mesh node "${a.node.name}"`);
      const wrongName = await exec(a.container, [MESH_COMMAND, 'add-peer', 'nobody', b.node.address]);
      expect(wrongName.exitCode).not.toBe(0);
      expect(wrongName.stderr).toContain(`is node '${b.node.name}', not 'nobody'`);
      const badName = await exec(a.container, [MESH_COMMAND, 'add-peer', 'Bad-Name', b.node.address]);
      expect(badName.exitCode).not.toBe(0);
      expect(badName.stderr).toContain('invalid peer name');
      const badAddress = await exec(a.container, [MESH_COMMAND, 'add-peer', b.node.name, 'x;y']);
      expect(badAddress.exitCode).not.toBe(0);
      expect(badAddress.stderr).toContain('invalid peer address');
    });

    it('adds a fourth node with addNodePlan: it gets the history, and its rows reach everyone', async () => {
      fourth = await startDb();
      const all = [...dbs, fourth];
      await runPlan(all, addNodePlan(fourth.node, dbs.map((d) => d.node)));
      await sql(fourth, `INSERT INTO items (body) VALUES ('row 3 on ${fourth.node.name}')`);
      await sql(dbs[0]!, `INSERT INTO items (body) VALUES ('row 4 on ${dbs[0]!.node.name}')`);
      const expected = [
        ...dbs.map((db, i) => `row ${i} on ${db.node.name}`),
        `row 3 on ${fourth.node.name}`,
        `row 4 on ${dbs[0]!.node.name}`,
      ].sort();
      await eventually(async () => {
        for (const db of all) expect(await bodies(db)).toEqual(expected);
      });
    });

    it('removes it with removeNodePlan: no subscription or slot of it is left, and the three still replicate', async () => {
      const leaving = fourth!;
      await runPlan([...dbs, leaving], removeNodePlan(leaving.node.name, dbs.map((d) => d.node.name)));
      // Its container goes; a stop is quick (SIGINT is PostgreSQL's fast shutdown).
      const t0 = Date.now();
      await docker(mainDocker, ['stop', leaving.container]);
      expect(Date.now() - t0).toBeLessThan(8_000);

      for (const db of dbs) {
        const others = dbs.filter((o) => o !== db).map((o) => o.node.name).sort();
        expect(await sql(db, 'SELECT subname FROM pg_subscription ORDER BY subname')).toEqual(others.map((o) => `m1_sub_${o}`));
        expect(await sql(db, 'SELECT slot_name FROM pg_replication_slots ORDER BY slot_name')).toEqual(others.map((o) => `m1_${db.node.name}__${o}`));
        // Idempotent: removing it again is fine, also now that it is gone.
        await mustExec(db.container, [MESH_COMMAND, 'remove-peer', leaving.node.name]);
      }
      for (const [i, db] of dbs.entries()) await sql(db, `INSERT INTO items (body) VALUES ('after ${i} on ${db.node.name}')`);
      await eventually(async () => {
        for (const db of dbs) expect(await sql(db, "SELECT count(*) FROM items WHERE body LIKE 'after %'")).toEqual(['3']);
      });
      // Rows the leaving node wrote stay readable where they were.
      for (const db of dbs) expect(await sql(db, `SELECT count(*) FROM items WHERE node = '${leaving.node.name}'`)).toEqual(['1']);
    });

    describe('behind app and lb', () => {
      let app: string;
      let lb: string;
      let lbAddress: string;

      beforeAll(async () => {
        app = await start(images.app, { APP_DB_HOSTS: dbs.map((d) => d.node.address).join(',') }, 'app');
        const appAddress = await ipOf(app);
        lb = await start(images.lb, { LB_UPSTREAM: `${appAddress}:8080` }, 'lb');
        lbAddress = await ipOf(lb);
        await eventually(async () => expect((await httpGet(appAddress, 8080, '/healthz')).status).toBe(200), 15_000);
      }, 60_000);

      it('serves LB (TLS) -> App -> DB, naming the lb and app replicas and the db node', async () => {
        let written: HttpsReply | undefined;
        await eventually(async () => {
          written = await https(lbAddress, '/items', 'POST', { body: 'through the lb' });
          expect(written.status).toBe(201);
        }, 15_000);
        expect(written!.body).toMatchObject({ app, lb, item: { body: 'through the lb' } });
        expect(written!.headers['x-m1-lb']).toBe(lb);
        expect(written!.certificateName).toBe(lb);
        const names = dbs.map((d) => d.node.name);
        const writer = (written!.body as { item: { node: string } }).item.node;
        expect(names).toContain(writer);

        const read = await https(lbAddress, '/');
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({ app, lb, row: { body: expect.any(String) as unknown } });
        expect(names).toContain((read.body as { db: { node: string } }).db.node);

        // The row written through the lb reached every node of the mesh.
        await eventually(async () => {
          for (const db of dbs) expect(await sql(db, "SELECT node FROM items WHERE body = 'through the lb'")).toEqual([writer]);
        });
        const listed = await https(lbAddress, '/items?limit=1000');
        expect((listed.body as { items: { body: string }[] }).items.map((r) => r.body)).toContain('through the lb');
      });

      it('answers 503 within about a second when its database does not answer', async () => {
        // The top of the network's range: Docker hands addresses out from the bottom, so nothing answers there.
        const subnet = (await docker(mainDocker, ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', network!])).trim();
        const [base, bits] = subnet.split('/');
        const n = (base ?? '').split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + 2 ** (32 - Number(bits)) - 2;
        const silent = [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
        const lonely = await start(images.app, { APP_DB_HOST: silent }, 'app');
        const address = await ipOf(lonely);
        await eventually(async () => expect((await httpGet(address, 8080, '/healthz')).status).toBe(200), 15_000);
        const r = await httpGet(address, 8080, '/');
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ app: lonely, error: expect.stringContaining('database unavailable') as unknown });
        expect(r.ms).toBeLessThan(1_500);
        // SIGTERM is handled (as PID 1 it would otherwise be ignored until docker's timeout).
        const t0 = Date.now();
        await docker(mainDocker, ['stop', lonely]);
        expect(Date.now() - t0).toBeLessThan(5_000);
      });
    });
  });
});
