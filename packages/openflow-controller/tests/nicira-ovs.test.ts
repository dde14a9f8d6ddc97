// Connection tracking and NAT through our controller on a real Open vSwitch (userspace datapath):
// the Nicira ct/nat/resubmit actions and ct_state matches we encode are accepted, read back the
// same by ovs-ofctl and by our own multipart decode, and they really translate: a namespace pings
// a virtual IP that no interface holds and gets its answers from that virtual IP.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import {
  GroupModCommand,
  GroupType,
  Port,
  ctStateMatch,
  encode,
  nxCt,
  nxNat,
  nxResubmit,
  type Action,
  type Instruction,
  type Match,
} from '@sdmi/openflow';
import { Testbed } from '@sdmi/testbed';
import { afterAll, describe, expect, it } from 'vitest';
import { Controller, OpenFlowListener, type Outgoing } from '../src/index';

const tb = new Testbed();
afterAll(() => tb.dispose());

const VIP = '10.99.0.100';
const BACKEND = '10.99.0.5';
const ZONE = 7;
const COOKIE = 0x0c7n;
const IP = { field: 'ETH_TYPE' as const, value: 0x0800 };
const normal: Action[] = [{ type: 'OUTPUT', port: Port.NORMAL, maxLen: 0 }];

const toBackend = (ip: string, port?: number): Action =>
  nxCt({ commit: true, zone: ZONE, table: 1, actions: [nxNat({ direction: 'dst', range: port === undefined ? { ipv4Min: ip } : { ipv4Min: ip, protoMin: port } })] });

interface FlowSpec {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
}
const flows: FlowSpec[] = [
  { tableId: 0, priority: 200, match: [{ field: 'ETH_TYPE', value: 0x0806 }], instructions: [{ type: 'APPLY_ACTIONS', actions: normal }] },
  // (a) untracked IP goes through the tracker, un-NATting replies, and continues in table 1.
  { tableId: 0, priority: 100, match: [IP, ctStateMatch('-trk')], instructions: [{ type: 'APPLY_ACTIONS', actions: [nxCt({ zone: ZONE, table: 1, actions: [nxNat()] })] }] },
  // (b) a new connection to the virtual IP is load-balanced by the select group.
  {
    tableId: 1,
    priority: 100,
    match: [IP, ctStateMatch('+new+trk'), { field: 'IPV4_DST', value: VIP }],
    instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'GROUP', groupId: 1 }] }],
  },
  { tableId: 1, priority: 50, match: [IP], instructions: [{ type: 'APPLY_ACTIONS', actions: [nxResubmit(2)] }] },
  { tableId: 2, priority: 50, match: [IP], instructions: [{ type: 'APPLY_ACTIONS', actions: normal }] },
];
const flowMod = (f: FlowSpec): Outgoing => ({
  type: 'FLOW_MOD',
  cookie: COOKIE,
  cookieMask: 0n,
  tableId: f.tableId,
  command: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: f.priority,
  bufferId: 0xffffffff,
  outPort: Port.ANY,
  outGroup: 0xffffffff,
  flags: 0,
  match: f.match,
  instructions: f.instructions,
});
// (c) the select groups: 1 with the one real backend, 2 with two buckets for the read-back only.
const groups = [
  { groupId: 1, buckets: [{ weight: 1, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [toBackend(BACKEND)] }] },
  {
    groupId: 2,
    buckets: [
      { weight: 10, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [toBackend('10.99.0.5')] },
      { weight: 20, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [toBackend('10.99.0.6', 8080)] },
    ],
  },
];

const byField = (m: Match): Match => [...m].sort((x, y) => x.field.localeCompare(y.field));

/**
 * What `ovs-ofctl -O OpenFlow13 add-flow` puts on the wire for `flow`: it is pointed at a loopback
 * socket that answers HELLO and BARRIER and keeps the FLOW_MOD.
 */
function ovsOfctlFlowMod(flow: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got: Buffer | undefined;
    const server = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
          const m = buf.subarray(0, buf.readUInt16BE(2));
          buf = buf.subarray(m.length);
          const answer = (type: number) => {
            const h = Buffer.from([4, type, 0, 8, 0, 0, 0, 0]);
            m.copy(h, 4, 4, 8);
            s.write(h);
          };
          if (m[1] === 0) answer(0); // HELLO
          else if (m[1] === 14) got = Buffer.from(m); // FLOW_MOD
          else if (m[1] === 20) answer(21); // BARRIER_REQUEST
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      execFile('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', 'add-flow', `tcp:127.0.0.1:${port}`, flow], { timeout: 20_000 }, (err, _out, stderr) => {
        server.close();
        if (err) return reject(new Error(`ovs-ofctl add-flow failed: ${stderr}`, { cause: err }));
        if (!got) return reject(new Error('ovs-ofctl sent no FLOW_MOD'));
        resolve(got);
      });
    });
  });
}

describe('connection tracking and NAT on a real Open vSwitch', () => {
  it('ovs-ofctl encodes ct(commit,zone=7,nat(dst=10.99.0.5),table=1) to the very bytes we encode', async () => {
    const theirs = await ovsOfctlFlowMod(`ip,actions=ct(commit,zone=${ZONE},nat(dst=${BACKEND}),table=1)`);
    // As ovs-ofctl sends it: ADD to table 0 at priority 0x8000, cookie 0, nothing buffered.
    const ours = encode({
      type: 'FLOW_MOD',
      xid: theirs.readUInt32BE(4),
      cookie: 0n,
      cookieMask: 0n,
      tableId: 0,
      command: 0,
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 0x8000,
      bufferId: 0xffffffff,
      outPort: Port.ANY,
      outGroup: 0xffffffff,
      flags: 0,
      match: [IP],
      instructions: [{ type: 'APPLY_ACTIONS', actions: [toBackend(BACKEND)] }],
    });
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
  });

  it('installs ct/nat flows and a select group through our controller, reads them back both ways, and NATs a ping to a virtual IP', async () => {
    const dpid = randomBytes(8).toString('hex');
    const controller = new Controller({ apps: [] });
    const listener = new OpenFlowListener(controller);
    try {
      const { port } = await listener.listen({ port: 0 });
      const br = await tb.bridge({ controller: `tcp:127.0.0.1:${port}`, otherConfig: { 'datapath-id': dpid } });
      const client = await tb.namespace({ address: '10.99.0.4/24', bridge: br, ofport: 1 });
      const backend = await tb.namespace({ address: `${BACKEND}/24`, bridge: br, ofport: 2 });
      const sw = await controller.waitForSwitch(dpid);

      await sw.barrier(groups.map((g) => ({ type: 'GROUP_MOD', command: GroupModCommand.ADD, groupType: GroupType.SELECT, ...g })));
      await sw.barrier(flows.map(flowMod));

      // Open vSwitch's own reading.
      const dump = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', br.name], { encoding: 'utf8' });
      expect(dump).toMatch(/ct_state=-trk,ip actions=ct\(table=1,zone=7,nat\)/);
      expect(dump).toMatch(/ct_state=\+new\+trk,ip,nw_dst=10\.99\.0\.100 actions=group:1/);
      expect(dump).toMatch(/table=1,.* priority=50,ip actions=resubmit\(,2\)/);
      const groupDump = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-groups', br.name], { encoding: 'utf8' });
      expect(groupDump).toContain('group_id=1,type=select,bucket=actions=ct(commit,table=1,zone=7,nat(dst=10.99.0.5))');
      expect(groupDump).toContain(
        'group_id=2,type=select,bucket=weight:10,actions=ct(commit,table=1,zone=7,nat(dst=10.99.0.5)),' +
          'bucket=weight:20,actions=ct(commit,table=1,zone=7,nat(dst=10.99.0.6:8080))',
      );

      // Ours: FLOW and GROUP_DESC multiparts decode to the typed values we sent.
      const flowStats = (await sw.multipart({ kind: 'FLOW', tableId: 0xff, outPort: Port.ANY, outGroup: 0xffffffff, cookie: COOKIE, cookieMask: 0xffff_ffff_ffff_ffffn, match: [] }))
        .flatMap((b) => (b.kind === 'FLOW' ? b.stats : []));
      expect(flowStats).toHaveLength(flows.length);
      for (const f of flows) {
        const back = flowStats.find((s) => s.tableId === f.tableId && s.priority === f.priority);
        expect(back, `flow table ${f.tableId} priority ${f.priority}`).toBeDefined();
        // Open vSwitch returns match fields in its own order.
        expect(byField(back!.match)).toEqual(byField(f.match));
        expect(back!.instructions).toEqual(f.instructions);
      }
      const descs = (await sw.multipart({ kind: 'GROUP_DESC' })).flatMap((b) => (b.kind === 'GROUP_DESC' ? b.groups : []));
      for (const g of groups) {
        expect(descs.find((d) => d.groupId === g.groupId)).toEqual({ groupType: GroupType.SELECT, ...g });
      }

      // The data path: the client reaches the virtual IP (pointed at the backend's MAC, as a
      // gateway would be), the select group's ct(commit,nat(dst=backend)) rewrites it, and the
      // reply, un-NATted by ct(nat) in table 0, comes back from the virtual IP.
      await client.exec(['ip', 'neigh', 'replace', VIP, 'lladdr', backend.mac, 'dev', client.ifname]);
      const ping = await client.tryExec([...(existsSync('/usr/bin/ping') || existsSync('/bin/ping') ? ['ping'] : ['busybox', 'ping']), '-n', '-c', '3', '-w', '10', VIP]);
      expect(ping.stdout).toMatch(new RegExp(`bytes from ${VIP.replace(/\./g, '\\.')}: icmp_seq=`));
      expect(ping.stdout).not.toContain(`from ${BACKEND}`);
      expect(ping.exitCode).toBe(0);
      const conntrack = execFileSync('ovs-appctl', ['dpctl/dump-conntrack', `netdev@ovs-netdev`, `zone=${ZONE}`], { encoding: 'utf8' });
      expect(conntrack).toMatch(new RegExp(`icmp,orig=\\(src=10\\.99\\.0\\.4,dst=${VIP.replace(/\./g, '\\.')},.*reply=\\(src=${BACKEND.replace(/\./g, '\\.')},dst=10\\.99\\.0\\.4,.*zone=${ZONE}`));
    } finally {
      await listener.close();
    }
  }, 120_000);
});
