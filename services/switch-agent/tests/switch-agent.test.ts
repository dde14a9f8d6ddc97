// The switch-agent's VLAN transaction against a real netconfd (yuma123) with sdmi-vlan, one server
// for the file. Base config: interfaces eth1, eth2; VLAN 10 (not ours) on eth2.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testbed } from '@sdmi/testbed';
import type { Netconfd } from '@sdmi/testbed';
import { SDMI_VLAN_NS as NS, SDMI_VLAN_YANG, connectNetconf, type NetconfSession } from '@sdmi/netconf';
import { desiredState, type NetworkVlan, type TrunkSpec } from '@sdmi/switches';
import { SdmiVlanProfile } from '../src/profile';
import { SwitchRefused, applyVlans, readVlans } from '../src/transaction';

const tb = new Testbed();
const profile = new SdmiVlanProfile();
let server: Netconfd;
let main: NetconfSession;
let keyDir: string;
const trunks: TrunkSpec[] = [{ port: 'eth1', carries: 'all-networks' }, { port: 'eth2', carries: 'all-networks' }];

function plain(s: Awaited<ReturnType<typeof readVlans>>) {
  return { vlans: Object.fromEntries(s.vlans), trunks: Object.fromEntries([...s.trunks].map(([p, v]) => [p, [...v].sort((a, b) => a - b)])) };
}
async function running() {
  return plain(await readVlans(main, profile));
}
function apply(networks: NetworkVlan[], managed: number[], extra: Partial<Parameters<typeof applyVlans>[1]> = {}, s = main) {
  return applyVlans(s, { profile, desired: desiredState(extra.desired ? [] : trunks, networks), managed: new Set(managed), confirmTimeoutSec: 30, ...extra });
}

beforeAll(async () => {
  server = await tb.netconfd({ yang: [SDMI_VLAN_YANG] });
  main = await connectNetconf(server.endpoint);
  await main.editConfig('candidate', {
    vlans: { '@_xmlns': NS, vlan: { id: 10, name: 'mgmt' } },
    interfaces: { '@_xmlns': NS, interface: [{ name: 'eth1' }, { name: 'eth2' }], trunk: [{ port: 'eth1', 'allowed-vlan': [] }, { port: 'eth2', 'allowed-vlan': 10 }] },
  });
  await main.commit();
  keyDir = mkdtempSync(join(tmpdir(), 'sdmi-switch-agent-'));
  writeFileSync(join(keyDir, 'key'), server.endpoint.privateKey, { mode: 0o600 });
});

afterAll(async () => {
  main?.destroy();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  await tb.dispose();
  const left = await tb.inventory();
  expect(left.processes).toEqual([]);
  expect(left.directories).toEqual([]);
});

describe('VLAN transaction', () => {
  it('a network with VLAN 100 appears on the declared trunks; removing it takes it away; VLAN 10 stays', async () => {
    const r = await apply([{ network: 'cluster/blue', vlan: 100 }], [100]);
    expect(r.changed).toBe(true);
    expect(await running()).toEqual({ vlans: { 10: 'mgmt', 100: 'cluster.blue' }, trunks: { eth1: [100], eth2: [10, 100] } });
    const again = await apply([{ network: 'cluster/blue', vlan: 100 }], [100]);
    expect(again.changed).toBe(false);
    await apply([], [100]);
    expect(await running()).toEqual({ vlans: { 10: 'mgmt' }, trunks: { eth1: [], eth2: [10] } }); // the trunk entry itself is not ours to delete
  });

  it('VLAN 5000 is refused with the server rpc-error as SwitchRefused; running unchanged, candidate clean', async () => {
    const before = await running();
    const e = await apply([{ network: 'cluster/bad', vlan: 5000 }], [5000]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SwitchRefused);
    expect((e as SwitchRefused).details.tag).toBe('invalid-value');
    expect(await running()).toEqual(before);
    expect(plain(await readVlans(main, profile, 'candidate'))).toEqual(before);
  });

  it('a trunk on a port that does not exist is refused (data-missing); running unchanged', async () => {
    const before = await running();
    const e = await applyVlans(main, { profile, desired: desiredState([{ port: 'eth9', carries: 'all-networks' }], [{ network: 'cluster/x', vlan: 200 }]), managed: new Set([200]), confirmTimeoutSec: 30 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SwitchRefused);
    expect((e as SwitchRefused).details.tag).toBe('data-missing');
    expect((e as SwitchRefused).details.path).toContain('eth9');
    expect(await running()).toEqual(before);
  });

  it('two agents racing on one switch: the lock serialises them and both changes land', async () => {
    const other = await connectNetconf(server.endpoint);
    try {
      // each knows only its own network: the other's VLAN is not in its managed set, so it stays
      await Promise.all([
        apply([{ network: 'cluster/a', vlan: 301 }], [301], {}, main),
        apply([{ network: 'cluster/b', vlan: 302 }], [302], { lockPollMs: 500 }, other),
      ]);
      const r = await running();
      expect(r.vlans).toMatchObject({ 301: 'cluster.a', 302: 'cluster.b' });
      expect(r.trunks.eth1).toEqual([301, 302]);
      await apply([], [301, 302]);
    } finally {
      other.destroy();
    }
  });

  it('killed between the confirmed commit and the confirm: running returns to its earlier state at the timeout', async () => {
    const before = await running();
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'apply-child.ts')], {
      cwd: join(__dirname, '..'),
      env: {
        ...process.env,
        SDMI_TEST_CONFIRM_DELAY_MS: '60000',
        SDMI_TEST_APPLY: JSON.stringify({ ...server.endpoint, privateKey: undefined, keyFile: join(keyDir, 'key'), trunks, networks: [{ network: 'cluster/k', vlan: 400 }], confirmTimeoutSec: 4 }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => b.toString().includes('committed') && resolve());
      child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
    });
    child.kill('SIGKILL');
    expect((await running()).vlans['400']).toBe('cluster.k');
    // poll slowly: netconfd serves confirm timeouts only while idle
    let now = await running();
    for (let i = 0; i < 15 && now.vlans['400']; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      now = await running();
    }
    expect(now).toEqual(before);
  });
});
