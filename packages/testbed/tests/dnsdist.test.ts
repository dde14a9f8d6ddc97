import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeInventory, inventory, kdig, ownerAlive, spkiPin, startDnsdist, startPowerDns, sweepLeftovers } from '../src/index';
import { crashedRunTag } from './crashed-run';
import { expectNothingLeft } from './leak-check';

const fixture = fileURLToPath(new URL('./fixtures/crashing-dnsdist.ts', import.meta.url));

afterAll(expectNothingLeft);

describe('Dnsdist', () => {
  it('answers DNS over TLS on its own loopback port with its own certificate, forwards to the backend, and goes away on dispose', async () => {
    const pdns = await startPowerDns();
    const d = await startDnsdist({ backend: { port: pdns.dnsPort } });
    try {
      expect(d.tlsPort).not.toBe(pdns.dnsPort);
      expect(d.plainPort).toBeUndefined();
      expect(d.pin).toBe(spkiPin(readFileSync(d.certFile, 'utf8')));
      expect(statSync(d.keyFile).mode & 0o077).toBe(0);
      // PowerDNS has no zone for it: REFUSED, passed on over TLS.
      const r = await d.kdig('+norecurse', 'nothing-here.sdmi.test.', 'A');
      expect(r.tlsSession, r.stdout + r.stderr).toMatch(/^\(TLS1\.[23]\)/);
      expect(r.status).toBe('REFUSED');
      expect((await kdig({ port: d.tlsPort }, '+norecurse', 'nothing-here.sdmi.test.', 'A')).status).toBe('REFUSED');
      const mine = (await inventory()).processes.filter((p) => p.argv.some((arg) => arg.includes(d.dir)));
      expect(mine.map((p) => [p.pid, p.argv[0]])).toEqual([[d.pid, 'dnsdist']]);
    } finally {
      await d.dispose();
      await pdns.dispose();
    }
    expect(existsSync(d.dir)).toBe(false);
  });

  it('is swept with its directory when the run that started it is SIGKILLed', async () => {
    const tag = await crashedRunTag(fixture);
    expect(ownerAlive(tag)).toBe(false);
    const left = await inventory({ tag, databases: false, streams: false });
    expect(left.processes.map((p) => p.argv[0]).sort()).toEqual(['dnsdist', 'pdns_server']);
    expect(left.directories).toHaveLength(2);

    const { errors } = await sweepLeftovers({ tag, databases: false, streams: false });
    expect(errors).toEqual([]);
    expect(describeInventory(await inventory({ tag }))).toBe('');
  });
});
