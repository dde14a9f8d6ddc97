import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeInventory, inventory, ownerAlive, PowerDns, startPowerDns, sweepLeftovers } from '../src/index';
import { crashedRunTag } from './crashed-run';
import { expectNothingLeft } from './leak-check';

const fixture = fileURLToPath(new URL('./fixtures/crashing-pdns.ts', import.meta.url));

afterAll(expectNothingLeft);

function api(pdns: PowerDns, key: string): Promise<Response> {
  return fetch(`${pdns.apiUrl}/api/v1/servers/localhost`, { headers: { 'X-API-Key': key } });
}

describe('PowerDns', () => {
  it('answers DNS and its API (with the key only) on its own loopback ports, and goes away on dispose', async () => {
    const a = await startPowerDns();
    const b = await startPowerDns();
    try {
      expect(new Set([a.dnsPort, a.apiPort, b.dnsPort, b.apiPort]).size).toBe(4);
      const ok = await api(a, a.apiKey);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ daemon_type: 'authoritative', id: 'localhost' });
      expect((await api(a, b.apiKey)).status).toBe(401);
      const answer = await a.dig('+norecurse', 'nothing-here.sdmi.test.', 'A');
      expect(answer.stdout).toContain('status: REFUSED');
      const tcp = await a.dig('+tcp', '+norecurse', 'nothing-here.sdmi.test.', 'A');
      expect(tcp.stdout).toContain('status: REFUSED');

      // The key is in the 0600 config file only: not on a command line, not in the log.
      expect(statSync(a.configFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(a.configFile, 'utf8')).toContain(`api-key=${a.apiKey}`);
      const mine = (await inventory()).processes.filter((p) => p.argv.some((arg) => arg.includes(a.dir)));
      expect(mine.map((p) => p.pid)).toEqual([a.pid]);
      expect(mine[0]!.argv.join(' ')).not.toContain(a.apiKey);
      expect(readFileSync(a.logFile, 'utf8')).not.toContain(a.apiKey);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
    expect(existsSync(a.dir)).toBe(false);
    await expect(api(a, a.apiKey)).rejects.toThrow();
  });

  it('is swept with its directory when the run that started it is SIGKILLed', async () => {
    const tag = await crashedRunTag(fixture);
    expect(ownerAlive(tag)).toBe(false);
    const left = await inventory({ tag, databases: false, streams: false });
    expect(left.processes.map((p) => p.argv[0])).toEqual(['pdns_server']);
    expect(left.directories).toHaveLength(1);

    const { errors } = await sweepLeftovers({ tag, databases: false, streams: false });
    expect(errors).toEqual([]);
    expect(describeInventory(await inventory({ tag }))).toBe('');
  });
});
