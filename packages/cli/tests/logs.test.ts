// sdmi logs, the real binary (bin/sdmi, as a user runs it) against a real cluster of two Docker
// hosts with the scheduler: a service whose replicas print known lines on stdout and stderr and
// one more every second, read by replica and by service, with --tail, followed with -f until
// Ctrl-C, and refused for an unknown replica and an id that is none.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeInventory, inventory, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const bin = fileURLToPath(new URL('../bin/sdmi', import.meta.url));
const cluster = new LocalCluster('lgs');
const tenant = cluster.tag;
const dir = mkdtempSync(path.join(tmpdir(), `sdmi-${runId()}-logs-`));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function sdmi(args: readonly string[], opts: { until?: (out: string) => boolean } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], { env: { ...process.env, SDMI_BUS_PREFIX: cluster.names.prefix }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!interrupted && opts.until?.(stdout)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 130), stdout, stderr });
    });
  });
}

// Two known lines, one on each stream, then tick-1, tick-2, ... one a second.
const SCRIPT = 'echo hello-out; echo hello-err >&2; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done';

const app = `apiVersion: sdmi/v1
kind: TenantConfig
spec:
  tenant: ${tenant}
  hostDevices: [{ name: fabric0, vniType: vlan, vniRange: "810-819" }]
---
apiVersion: sdmi/v1
kind: TenantNetwork
spec: { tenant: ${tenant}, name: talk, cidr: 10.72.1.0/24 }
---
apiVersion: sdmi/v1
kind: Service
spec:
  tenant: ${tenant}
  name: talker
  image: sdmi/base:busybox
  command: [sh, -c, ${JSON.stringify(SCRIPT)}]
  replicas: 2
  networks:
    - { network: talk, ip: { mode: dynamic } }
`;

let replicas: string[] = [];
const ticks = (out: string): number[] => [...out.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));

beforeAll(async () => {
  await cluster.start({ scheduler: true });
  // A node is admitted once the scheduler has heard its agent's first announcement.
  for (const h of cluster.hosts.keys()) await cluster.until(async () => (await sdmi(['nodes', 'add', h])).code === 0, `${h} admitted`);
  const f = path.join(dir, 'talker.yaml');
  writeFileSync(f, app);
  const r = await sdmi(['apply', '-f', f]);
  expect(r.code, r.stderr).toBe(0);
  const listed = await sdmi(['get', 'replicas', '-s', `${tenant}/talker`, '-o', 'json']);
  replicas = (JSON.parse(listed.stdout) as { id: string }[]).map((x) => x.id).sort();
  expect(replicas).toHaveLength(2);
  // Until each has ticked at least twice, so that --tail 1 has something to leave out.
  await cluster.until(async () => (await Promise.all(replicas.map(async (id) => Math.max(0, ...ticks((await sdmi(['logs', id])).stdout))))).every((n) => n >= 2), 'both replicas ticked twice');
}, 240_000);

afterAll(async () => {
  await cluster.dispose();
  rmSync(dir, { recursive: true, force: true });
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('sdmi logs', () => {
  it('prints a replica’s stdout lines on stdout and its stderr lines on stderr, oldest first', async () => {
    const r = await sdmi(['logs', replicas[0]!]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.split('\n').filter(Boolean);
    expect(out.slice(0, 3)).toEqual(['hello-out', 'tick-1', 'tick-2']);
    expect(ticks(r.stdout)).toEqual(out.slice(1).map((_l, i) => i + 1));
    expect(r.stderr).toBe('hello-err\n');
  });

  it('prints every live replica of a service, each line prefixed with its replica id', async () => {
    const r = await sdmi(['logs', `${tenant}/talker`]);
    expect(r.code, r.stderr).toBe(0);
    for (const id of replicas) {
      expect(r.stdout).toContain(`${id} | hello-out\n${id} | tick-1\n`);
      expect(r.stderr).toContain(`${id} | hello-err\n`);
    }
    expect(r.stdout.split('\n').filter(Boolean).every((l) => replicas.some((id) => l.startsWith(`${id} | `)))).toBe(true);
  });

  it('--tail 1 prints only the last line; --timestamps puts its time in front', async () => {
    const r = await sdmi(['logs', replicas[1]!, '--tail', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tick-\d+\n$/);
    expect(Number(/tick-(\d+)/.exec(r.stdout)![1])).toBeGreaterThanOrEqual(2);
    expect(r.stderr).toBe('');
    const t = await sdmi(['logs', replicas[1]!, '--tail', '1', '--timestamps']);
    expect(t.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick-\d+\n$/);
  });

  it('-f prints the last lines, then each new one as it is written, until Ctrl-C', async () => {
    let first: number | undefined;
    const r = await sdmi(['logs', '-f', '--tail', '1', replicas[0]!], {
      until: (out) => {
        const seen = ticks(out);
        first ??= seen[0];
        return first !== undefined && seen.some((n) => n >= first! + 2);
      },
    });
    expect(r.code, r.stderr).toBe(0);
    const seen = ticks(r.stdout);
    // Every tick once, in order, none skipped, the first being the last one written before -f began.
    expect(seen).toEqual(seen.map((_n, i) => seen[0]! + i));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(r.stdout).not.toContain('hello-out');
  }, 60_000);

  it('-f on a service follows each live replica at once, prefixed', async () => {
    // The last line written before -f began, and at least one after it.
    const newTick = (out: string, id: string): boolean => out.split('\n').filter((l) => l.startsWith(`${id} | tick-`)).length >= 2;
    const r = await sdmi(['logs', '-f', '--tail', '1', `${tenant}/talker`], { until: (out) => replicas.every((id) => newTick(out, id)) });
    expect(r.code, r.stderr).toBe(0);
    for (const id of replicas) expect(newTick(r.stdout, id), r.stdout).toBe(true);
  }, 60_000);

  it('an unknown replica exits 1 with REPLICA_NOT_FOUND; an id that is none exits 65', async () => {
    const ghost = `${tenant}/talker-9@rev1`;
    const r = await sdmi(['logs', ghost]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`REPLICA_NOT_FOUND: the scheduler has no replica ${ghost}`);
    expect(r.stdout).toBe('');
    const bad = await sdmi(['logs', 'Not_An-Id']);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain('"Not_An-Id" is neither a replica id');
    expect((await sdmi(['logs', replicas[0]!, '--tail', '0'])).code).toBe(65);
    expect((await sdmi(['logs'])).code).toBe(64);
  });
});
