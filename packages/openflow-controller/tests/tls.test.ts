import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowModCommand } from '@sdmi/openflow';
import { OvsSwitch } from '@sdmi/ovsdb';
import { testName } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, OpenFlowListener } from '../src/index';

// OpenFlow over TLS with mutual authentication: a throwaway CA signs our controller's and the
// switch's certificates; ovs-vswitchd connects to an `ssl:` target.
const dir = mkdtempSync(join(tmpdir(), 'sdmi-oftls-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const vsctl = (...args: string[]) => execFileSync('ovs-vsctl', args, { encoding: 'utf8' }).trim();
let previousSsl = '';
let ovs: OvsSwitch;
const bridge = testName('b');
const controller = new Controller();
const listener = new OpenFlowListener(controller);

function issue(name: string): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=sdmi-test-${name}`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1');
}

beforeAll(async () => {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=sdmi-test-ca');
  issue('controller');
  issue('switch');
  // The SSL settings are global to ovs-vswitchd: remember them to put them back.
  previousSsl = vsctl('get-ssl');
  vsctl('set-ssl', join(dir, 'switch.key'), join(dir, 'switch.crt'), join(dir, 'ca.crt'));
  ovs = await OvsSwitch.connect();
});

afterAll(async () => {
  await listener.close();
  await ovs?.deleteBridge(bridge).catch(() => undefined);
  await ovs?.close();
  if (previousSsl === '') vsctl('del-ssl');
  rmSync(dir, { recursive: true, force: true });
});

describe('OpenFlow over TLS', () => {
  // The listener speaks only TLS here, so a session that installs a flow is a TLS session.
  it('a switch with a certificate from our CA connects over ssl: and takes flows', async () => {
    const read = (f: string) => readFileSync(join(dir, f));
    const { port } = await listener.listen({ port: 0, tls: { key: read('controller.key'), cert: read('controller.crt'), ca: read('ca.crt'), requestCert: true } });
    await ovs.createBridge(bridge, { datapathType: 'netdev', failMode: 'secure', controllers: [`ssl:127.0.0.1:${port}`], otherConfig: { 'datapath-id': '00000000000000c3' } });
    const sw = await controller.waitForSwitch('00000000000000c3');
    await sw.barrier([
      { type: 'FLOW_MOD', cookie: 0xe1n, cookieMask: 0n, tableId: 0, command: FlowModCommand.ADD, idleTimeout: 0, hardTimeout: 0, priority: 5, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: [], instructions: [] },
    ]);
    expect(execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', bridge], { encoding: 'utf8' })).toContain('cookie=0xe1');
  });
});
