import { execFileSync } from 'node:child_process';
import { Testbed } from '@sdmi/testbed';
import { afterAll, describe, expect, it } from 'vitest';
import { Controller, LearningSwitch, OpenFlowListener } from '../src/index';

const tb = new Testbed();
afterAll(() => tb.dispose());

describe('LearningSwitch on a real Open vSwitch', () => {
  it('lets two namespaces talk through reactive flows it learned', async () => {
    const app = new LearningSwitch({ idleTimeout: 30, cookie: 0x1ea7n });
    const controller = new Controller({ apps: [app] });
    const listener = new OpenFlowListener(controller);
    try {
      const { port } = await listener.listen({ port: 0 });
      const br = await tb.bridge({ controller: `tcp:127.0.0.1:${port}`, otherConfig: { 'datapath-id': '00000000000000b2' } });
      const a = await tb.namespace({ address: '10.78.0.1/24', bridge: br, ofport: 1 });
      const b = await tb.namespace({ address: '10.78.0.2/24', bridge: br, ofport: 2 });
      const sw = await controller.waitForSwitch('00000000000000b2');
      expect(await a.ping('10.78.0.2', { count: 3, deadlineSec: 5 })).toBe(true);
      expect(app.portOf(sw.dpid, a.mac)).toBe(1);
      expect(app.portOf(sw.dpid, b.mac)).toBe(2);
      const flows = execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', br.name], { encoding: 'utf8' });
      expect(flows).toContain(`dl_src=${a.mac},dl_dst=${b.mac}`);
      expect(flows).toContain(`dl_src=${b.mac},dl_dst=${a.mac}`);
    } finally {
      await listener.close();
    }
  });
});
