// The NETCONF client against a real netconfd (yuma123) behind an sshd of its own, with our
// sdmi-vlan YANG module as its datastore. One server for the file; every test leaves the
// candidate clean (discard-changes) and running at the base configuration, or says what it left.
import { Duplex } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Testbed, runId } from '@sdmi/testbed';
import type { Netconfd } from '@sdmi/testbed';
import {
  BASE_1_0,
  BASE_1_1,
  CAP_CANDIDATE,
  CAP_CONFIRMED_COMMIT_1_1,
  CAP_VALIDATE_1_1,
  type Datastore,
  NetconfSession,
  RpcError,
  RpcTimeout,
  SDMI_VLAN_MODULE,
  SDMI_VLAN_NS as NS,
  SDMI_VLAN_YANG,
  SessionClosed,
  type SshOptions,
  asArray,
  connectNetconf,
  operation,
  textOf,
} from '@sdmi/netconf';

const tb = new Testbed();
let server: Netconfd;
let main: NetconfSession;
const opened: NetconfSession[] = [];

async function open(options: Partial<SshOptions> = {}): Promise<NetconfSession> {
  const s = await connectNetconf({ ...server.endpoint, ...options });
  opened.push(s);
  return s;
}

/**
 * The netconf subsystem of a fresh SSH connection, holding the client's first message (its hello)
 * until it has written its second, then sending both in one write: what a loaded machine can make
 * of two writes a moment apart.
 */
async function heldChannel(): Promise<{ stream: Duplex }> {
  const conn = new Client();
  const channel = await new Promise<ClientChannel>((resolve, reject) => {
    conn.once('error', reject);
    conn.once('ready', () => conn.subsys('netconf', (e, ch) => (e ? reject(e) : resolve(ch))));
    const { host, port, username, privateKey } = server.endpoint;
    conn.connect({ host, port, username, privateKey });
  });
  conn.on('error', () => {});
  let held: Buffer[] | undefined = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      if (!held) channel.write(chunk);
      else if (held.push(chunk) === 2) {
        channel.write(Buffer.concat(held));
        held = undefined;
      }
      done();
    },
    destroy(err, done) {
      conn.end();
      done(err);
    },
  });
  channel.on('data', (d: Buffer) => stream.push(d));
  channel.on('close', () => stream.push(null));
  return { stream };
}

/** A datastore's VLAN configuration, as plain values: vlans id → name, trunks port → allowed VLANs. */
interface VlanConfig {
  interfaces: string[];
  vlans: Record<string, string>;
  trunks: Record<string, string[]>;
}

async function vlanConfig(source: Datastore, s: NetconfSession = main): Promise<VlanConfig> {
  const { data } = await s.getConfig(source, { filter: { vlans: { '@_xmlns': NS }, interfaces: { '@_xmlns': NS } } });
  const vlans = (data.vlans ?? {}) as Record<string, unknown>;
  const ifs = (data.interfaces ?? {}) as Record<string, unknown>;
  const out: VlanConfig = { interfaces: [], vlans: {}, trunks: {} };
  for (const v of asArray<Record<string, unknown>>(vlans.vlan)) out.vlans[textOf(v.id)!] = textOf(v.name) ?? '';
  for (const i of asArray<Record<string, unknown>>(ifs.interface)) out.interfaces.push(textOf(i.name)!);
  for (const t of asArray<Record<string, unknown>>(ifs.trunk)) {
    out.trunks[textOf(t.port)!] = asArray(t['allowed-vlan']).map((v) => textOf(v)!);
  }
  return out;
}

const BASE: VlanConfig = { interfaces: ['eth1', 'eth2'], vlans: { '10': 'mgmt' }, trunks: { eth2: ['10'] } };

beforeAll(async () => {
  server = await tb.netconfd({ yang: [SDMI_VLAN_YANG] });
  main = await open();
  await main.editConfig('candidate', {
    vlans: { '@_xmlns': NS, vlan: { id: 10, name: 'mgmt' } },
    interfaces: { '@_xmlns': NS, interface: [{ name: 'eth1' }, { name: 'eth2' }], trunk: { port: 'eth2', 'allowed-vlan': 10 } },
  });
  await main.commit();
});

afterEach(async () => {
  if (!main.closed) await main.discardChanges();
});

afterAll(async () => {
  for (const s of opened) s.destroy();
  await tb.dispose();
  expect((await tb.inventory()).processes).toEqual([]);
  expect((await tb.inventory()).directories).toEqual([]);
});

describe('hello and framing', () => {
  it('exchanges hellos: session-id, the server capabilities, base:1.1 chunked framing when both offer it', async () => {
    expect(main.sessionId).toBeGreaterThan(0);
    expect(main.framing).toBe('chunked');
    for (const cap of [BASE_1_0, BASE_1_1, CAP_CANDIDATE, CAP_CONFIRMED_COMMIT_1_1, CAP_VALIDATE_1_1]) {
      expect(main.hasCapability(cap), cap).toBe(true);
    }
    expect(main.serverCapabilities.some((c) => c.startsWith(`${NS}?module=${SDMI_VLAN_MODULE}&`))).toBe(true);
    expect(await vlanConfig('running')).toEqual(BASE);
  });

  it('refuses a server whose host key is not the one expected', async () => {
    const otherKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKBLfuHvTrMF3DeC1wkmXjXxnpRplFCzGimqbHgLBDas';
    const e = await connectNetconf({ ...server.endpoint, hostKey: otherKey }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SessionClosed);
    expect((e as Error).message).toMatch(/Host denied \(verification failed\)/);
    await expect(connectNetconf({ ...server.endpoint, hostKey: undefined })).rejects.toThrow(/needs the server's hostKey/);
  });

  it('a second netconfd runs beside the first: its own port, socket and datastore', async () => {
    const second = await tb.netconfd({ yang: [SDMI_VLAN_YANG] });
    expect(second.port).not.toBe(server.port);
    expect(second.socket).not.toBe(server.socket);
    const s = await open({ ...second.endpoint });
    expect(await vlanConfig('running', s)).toEqual({ interfaces: [], vlans: {}, trunks: {} });
    await s.closeSession();
    await second.dispose();
    expect(await vlanConfig('running')).toEqual(BASE);
  });

  it('falls back to base:1.0 end-of-message framing when the client offers only 1.0', async () => {
    const s = await open({ capabilities: [BASE_1_0] });
    expect(s.framing).toBe('eom');
    expect(s.sessionId).not.toBe(main.sessionId);
    expect(await vlanConfig('running', s)).toEqual(BASE);
    const { data } = await s.get({ filter: { vlans: { '@_xmlns': NS } } });
    expect(textOf((data.vlans as { vlan: { name: unknown } }).vlan.name)).toBe('mgmt');
    await s.closeSession();
  });

  it('netconfd quirk: a request that reaches it together with the hello is left unread; the probe of every session gets it read (docs/netconf.md)', async () => {
    for (const framing of [[BASE_1_0, BASE_1_1], [BASE_1_0]]) {
      // Without the probe, the first request sits unanswered (as it did on a loaded CI machine).
      const bare = await heldChannel();
      const stuck = await NetconfSession.open(bare.stream, { capabilities: framing, probe: false, timeoutMs: 3_000 });
      await expect(stuck.getConfig('running', { filter: { vlans: { '@_xmlns': NS } } })).rejects.toBeInstanceOf(RpcTimeout);
      stuck.destroy();
      // With it (the default), the session opens and answers.
      const probed = await heldChannel();
      const s = await NetconfSession.open(probed.stream, { capabilities: framing, timeoutMs: 10_000 });
      expect(s.framing).toBe(framing.includes(BASE_1_1) ? 'chunked' : 'eom');
      expect(await vlanConfig('running', s)).toEqual(BASE);
      await s.closeSession();
    }
  });

  it('speaks base:1.1 chunked framing when the client offers only 1.1', async () => {
    const s = await open({ capabilities: [BASE_1_1] });
    expect(s.framing).toBe('chunked');
    expect(await vlanConfig('candidate', s)).toEqual(BASE);
    await s.closeSession();
  });
});

describe('editing the candidate and committing', () => {
  it('merge creates VLAN 100 on a trunk in the candidate only; commit puts it in running', async () => {
    await main.editConfig(
      'candidate',
      {
        vlans: { '@_xmlns': NS, vlan: { id: 100, name: `net-${runId()}` } },
        interfaces: { '@_xmlns': NS, trunk: { port: 'eth1', 'allowed-vlan': [10, 100] } },
      },
      { defaultOperation: 'merge', errorOption: 'rollback-on-error' },
    );
    const want: VlanConfig = { ...BASE, vlans: { '10': 'mgmt', '100': `net-${runId()}` }, trunks: { eth1: ['10', '100'], eth2: ['10'] } };
    expect(await vlanConfig('candidate')).toEqual(want);
    expect(await vlanConfig('running')).toEqual(BASE);
    await main.commit();
    expect(await vlanConfig('running')).toEqual(want);
  });

  it('replace sets a trunk to exactly the VLANs given; delete removes the VLAN', async () => {
    await main.editConfig('candidate', {
      interfaces: { '@_xmlns': NS, trunk: { ...operation('replace'), port: 'eth1', 'allowed-vlan': 10 } },
    });
    expect((await vlanConfig('candidate')).trunks).toEqual({ eth1: ['10'], eth2: ['10'] });
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { ...operation('delete'), id: 100 } } }, { defaultOperation: 'none' });
    await main.editConfig('candidate', { interfaces: { '@_xmlns': NS, trunk: { ...operation('delete'), port: 'eth1' } } });
    expect(await vlanConfig('candidate')).toEqual(BASE);
    await main.commit();
    expect(await vlanConfig('running')).toEqual(BASE);
  });

  it('validate checks the candidate, or a configuration given inline, against the YANG module', async () => {
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 201, name: 'checked' } } });
    await main.validate('candidate');
    await main.validate({ vlans: { '@_xmlns': NS, vlan: { id: 7 } } });
    const e = await main.validate({ interfaces: { '@_xmlns': NS, trunk: { port: 'eth9' } } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ operation: 'validate', type: 'application', tag: 'data-missing', appTag: 'instance-required' });
    expect((e as RpcError).path).toContain("sv:trunk[sv:port='eth9']/sv:port");
  });

  it('netconfd 2.13 quirk: a commit right after validating the candidate commits nothing (docs/netconf.md)', async () => {
    // Pinned so that a netconfd that fixes it is noticed: the switch-agent commits without validating first.
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 202, name: 'lost' } } });
    await main.validate('candidate');
    await main.commit();
    expect(await vlanConfig('running')).toEqual(BASE);
    expect(await vlanConfig('candidate')).toEqual(BASE);
  });

  it('discard-changes puts the candidate back to running', async () => {
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 200, name: 'scratch' } } });
    expect((await vlanConfig('candidate')).vlans['200']).toBe('scratch');
    await main.discardChanges();
    expect(await vlanConfig('candidate')).toEqual(BASE);
    expect(await vlanConfig('running')).toEqual(BASE);
  });

  it("lock: a second session's lock is refused with lock-denied until the holder unlocks", async () => {
    const other = await open();
    await main.lock('candidate');
    const denied = await other.lock('candidate').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(RpcError);
    expect(denied).toMatchObject({ type: 'protocol', tag: 'lock-denied', severity: 'error' });
    expect(textOf((denied as RpcError).info?.['session-id'])).toBe(String(main.sessionId));
    await main.unlock('candidate');
    await other.lock('candidate');
    await other.unlock('candidate');
    await other.closeSession();
  });
});

describe('confirmed commit', () => {
  it('confirmed-commit then confirm keeps the change', async () => {
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 300, name: 'confirmed' } } });
    await main.commit({ confirmed: true, confirmTimeout: 60 });
    expect((await vlanConfig('running')).vlans['300']).toBe('confirmed');
    await main.commit(); // the confirming commit
    await expect(main.cancelCommit()).rejects.toMatchObject({ tag: 'operation-failed' }); // nothing pending
    expect((await vlanConfig('running')).vlans['300']).toBe('confirmed');
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { ...operation('delete'), id: 300 } } });
    await main.commit();
    expect(await vlanConfig('running')).toEqual(BASE);
  });

  it('confirmed-commit then cancel-commit rolls running back', async () => {
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 301, name: 'cancelled' } } });
    await main.commit({ confirmed: true, confirmTimeout: 60 });
    expect((await vlanConfig('running')).vlans['301']).toBe('cancelled');
    await main.cancelCommit();
    expect(await vlanConfig('running')).toEqual(BASE);
  });

  it('a persisted confirmed-commit left unconfirmed by a closed session is rolled back at its timeout', async () => {
    const s = await open();
    await s.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 302, name: 'unconfirmed' } } });
    const started = Date.now();
    await s.commit({ confirmed: true, confirmTimeout: 3, persist: `p-${runId()}` });
    await s.closeSession();
    expect(s.closed).toBe(true);
    // persisted: it outlives its session until the timeout
    expect((await vlanConfig('running')).vlans['302']).toBe('unconfirmed');
    // netconfd runs its timers when it is idle (a request every few hundred ms starves them): look
    // after the timeout, then every 1.5 s.
    let config: VlanConfig;
    do {
      await new Promise((r) => setTimeout(r, Math.max(1_500, started + 3_500 - Date.now())));
      config = await vlanConfig('running');
    } while (config.vlans['302'] !== undefined && Date.now() - started < 20_000);
    expect(config).toEqual(BASE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
  });
});

describe('errors', () => {
  it('VLAN 5000 is refused by the YANG range as a typed rpc-error; after discard-changes running is unchanged', async () => {
    await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 400, name: 'fine' } } });
    const e = await main.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 5000, name: 'too-big' } } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({
      operation: 'edit-config',
      type: 'protocol',
      tag: 'invalid-value',
      severity: 'error',
      appTag: 'not-in-range',
      path: "/nc:rpc/nc:edit-config/nc:config/sv:vlans/sv:vlan[sv:id='5000']/sv:id",
      errorMessage: 'value not in range',
    });
    expect(textOf((e as RpcError).info?.['bad-value'])).toBe('5000');
    expect((e as RpcError).errors).toHaveLength(1);
    await main.discardChanges();
    expect(await vlanConfig('candidate')).toEqual(BASE);
    expect(await vlanConfig('running')).toEqual(BASE);
  });

  it('a trunk on an interface that does not exist is refused through the leafref', async () => {
    const e = await main.editConfig('candidate', { interfaces: { '@_xmlns': NS, trunk: { port: 'eth9', 'allowed-vlan': 10 } } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({
      type: 'application',
      tag: 'data-missing',
      severity: 'error',
      appTag: 'instance-required',
      path: "/sv:interfaces/sv:trunk[sv:port='eth9']/sv:port",
      errorMessage: 'required value instance not found',
    });
    // the other leafrefs: an unknown VLAN on a trunk, a VLAN or an interface still used by a trunk
    for (const [config, path] of [
      [{ interfaces: { '@_xmlns': NS, trunk: { port: 'eth1', 'allowed-vlan': 999 } } }, "/sv:interfaces/sv:trunk[sv:port='eth1']/sv:allowed-vlan[.='999']"],
      [{ vlans: { '@_xmlns': NS, vlan: { ...operation('delete'), id: 10 } } }, "/sv:interfaces/sv:trunk[sv:port='eth2']/sv:allowed-vlan[.='10']"],
      [{ interfaces: { '@_xmlns': NS, interface: { ...operation('delete'), name: 'eth2' } } }, "/sv:interfaces/sv:trunk[sv:port='eth2']/sv:port"],
    ] as const) {
      await expect(main.editConfig('candidate', config)).rejects.toMatchObject({ tag: 'data-missing', appTag: 'instance-required', path });
    }
    await main.discardChanges();
    await main.commit(); // nothing to commit: running stays as it was
    expect(await vlanConfig('running')).toEqual(BASE);
  });
});

describe('ending sessions', () => {
  it("kill-session ends another session: its lock is released and its unconfirmed commit rolled back", async () => {
    const victim = await open();
    await victim.lock('candidate');
    await victim.editConfig('candidate', { vlans: { '@_xmlns': NS, vlan: { id: 303, name: 'victim' } } });
    await victim.commit({ confirmed: true, confirmTimeout: 60 });
    expect((await vlanConfig('running')).vlans['303']).toBe('victim');
    await expect(main.lock('candidate')).rejects.toMatchObject({ tag: 'lock-denied' });
    const ended = new Promise<Error>((resolve) => victim.onClose(resolve));
    await main.killSession(victim.sessionId);
    expect(await ended).toBeInstanceOf(SessionClosed);
    await expect(victim.get()).rejects.toBeInstanceOf(SessionClosed);
    expect(await vlanConfig('running')).toEqual(BASE);
    await main.lock('candidate');
    await main.unlock('candidate');
  });

  it('close-session ends the session; later operations fail with SessionClosed', async () => {
    const s = await open({ capabilities: [BASE_1_0] });
    await s.closeSession();
    expect(s.closed).toBe(true);
    await expect(s.getConfig('running')).rejects.toBeInstanceOf(SessionClosed);
    await main.closeSession();
    expect(main.closed).toBe(true);
  });
});
