// The host sample from this machine's real /proc, and the parsers' arithmetic.
import { describe, expect, it } from 'vitest';
import { contracts } from '@sdmi/contracts';
import { MetricsSampler, parseMeminfo, parseNetDev, parseProcStat } from '../src/metrics';

describe('host metrics from /proc', () => {
  it('busy = total − idle − iowait; used memory = MemTotal − MemAvailable; net/dev leaves lo out', () => {
    expect(parseProcStat('cpu  10 0 5 80 5 0 0 0 0 0\ncpu0 10 0 5 80 5 0 0 0 0 0\n')).toEqual({ busy: 15, total: 100 });
    expect(parseMeminfo('MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n')).toEqual({ usedBytes: 600 * 1024, totalBytes: 1000 * 1024 });
    const dev = 'Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n    lo: 99 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n';
    expect(parseNetDev(dev)).toEqual({ rxBytes: 1000, txBytes: 2000 });
  });

  it('two samples of the real host give a NodeMetrics its schema accepts', async () => {
    // nodeSample reads only /proc and the node name.
    const s = new MetricsSampler({ node: 'host-a' } as ConstructorParameters<typeof MetricsSampler>[0]);
    expect(await s.nodeSample()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300));
    const m = await s.nodeSample();
    expect(contracts().check('NodeMetrics', m).ok).toBe(true);
    expect(m!.memory.usedBytes).toBeGreaterThan(0);
  });
});
