// sdmi auth init, as a user runs it: the bus's credentials written to a directory, the seeds
// secret (0600, never printed), the nats-server configuration accepted by the real nats-server,
// and running it again keeps every key.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordSeedsIn, runId } from '@sdmi/testbed';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/sdmi', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `sdmi-${runId()}-auth-`));
const sdmi = (...args: string[]) => spawnSync(bin, args, { encoding: 'utf8', timeout: 60_000 });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sdmi auth init', () => {
  it('writes a 0600 seed per principal, nats-server.conf and principals.json; prints public keys and paths, never a seed', () => {
    const out = join(dir, 'creds');
    const r = sdmi('auth', 'init', '--dir', out, '--nodes', 'host-a,host-b', '--users', 'alice', '--port', '4299');
    expect(r.status, r.stderr).toBe(0);
    recordSeedsIn(out);
    const seeds = readdirSync(out).filter((f) => f.endsWith('.nk')).sort();
    expect(seeds).toEqual(['admin.nk', 'alice.nk', 'dns-manager.nk', 'metrics-collector.nk', 'network-controller.nk', 'node-agent-host-a.nk', 'node-agent-host-b.nk', 'scheduler.nk', 'switch-agent.nk', 'viewer.nk']);
    for (const f of seeds) {
      expect(statSync(join(out, f)).mode & 0o777, f).toBe(0o600);
      expect(r.stdout).not.toContain(readFileSync(join(out, f), 'utf8').trim());
    }
    expect(r.stdout).toMatch(/^switch-agent\s+U[A-Z2-7]{55}\s+SDMI_NATS_NKEY_SEED_FILE=.*\/switch-agent\.nk$/m);
    const principals = JSON.parse(readFileSync(join(out, 'principals.json'), 'utf8')) as { principals: { name: string }[] } | { name: string }[];
    expect(JSON.stringify(principals)).toContain('alice');
    // The real nats-server checks the configuration it would run with (-t: test and exit).
    const check = spawnSync('nats-server', ['-t', '-c', join(out, 'nats-server.conf')], { encoding: 'utf8' });
    expect(check.status, check.stderr + check.stdout).toBe(0);
    expect(readFileSync(join(out, 'nats-server.conf'), 'utf8')).toMatch(/^listen: "127\.0\.0\.1:4299"$/m);
    const again = sdmi('auth', 'init', '--dir', out, '--nodes', 'host-a,host-b', '--users', 'alice', '--port', '4299');
    expect(again.status, again.stderr).toBe(0);
    const keys = (s: string) => s.split('\n').filter((l) => /\sU[A-Z2-7]{55}\s/.test(l)).sort();
    expect(keys(again.stdout)).toEqual(keys(r.stdout));
  });

  it('bad command lines exit 64 with the usage; a bad value exits 65', () => {
    const noDir = sdmi('auth', 'init');
    expect(noDir.status).toBe(64);
    expect(noDir.stderr).toMatch(/--dir is required\nusage: sdmi auth init --dir DIR/);
    expect(sdmi('auth').status).toBe(64);
    expect(sdmi('auth', 'rotate').stderr).toMatch(/usage: sdmi auth init/);
    const port = sdmi('auth', 'init', '--dir', join(dir, 'x'), '--port', '99999');
    expect(port.status).toBe(65);
    expect(port.stderr).toMatch(/--port 99999: not a TCP port/);
    const node = sdmi('auth', 'init', '--dir', join(dir, 'y'), '--nodes', 'bad node');
    expect(node.status).toBe(1);
    expect(node.stderr).toMatch(/node name "bad node"/);
  });
});
