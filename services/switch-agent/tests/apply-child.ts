// Test-only: applies one VLAN plan and sleeps SDMI_TEST_CONFIRM_DELAY_MS between the confirmed
// commit and the confirm, so a test can SIGKILL it there. Prints "committed <persistId>" when it is.
import { readFileSync } from 'node:fs';
import { connectNetconf } from '@sdmi/netconf';
import { desiredState } from '@sdmi/switches';
import { SdmiVlanProfile } from '../src/profile';
import { applyVlans } from '../src/transaction';

const arg = JSON.parse(process.env.SDMI_TEST_APPLY ?? '{}') as {
  host: string; port: number; username: string; keyFile: string; hostKey: string;
  trunks: { port: string; carries: 'all-networks' }[]; networks: { network: string; vlan: number }[]; confirmTimeoutSec: number;
};
const delay = Number(process.env.SDMI_TEST_CONFIRM_DELAY_MS ?? '0');
const s = await connectNetconf({ host: arg.host, port: arg.port, username: arg.username, hostKey: arg.hostKey, privateKey: readFileSync(arg.keyFile, 'utf8') });
await applyVlans(s, {
  profile: new SdmiVlanProfile(),
  desired: desiredState(arg.trunks, arg.networks),
  managed: new Set(arg.networks.map((n) => n.vlan)),
  confirmTimeoutSec: arg.confirmTimeoutSec,
  afterCommit: async (id) => {
    process.stdout.write(`committed ${id}\n`);
    await new Promise((r) => setTimeout(r, delay));
  },
});
await s.closeSession();
process.stdout.write('confirmed\n');
