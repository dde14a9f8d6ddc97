// The pure conversion of Docker's stats answer to ContainerMetrics fields (the docker CLI's rules).
import { describe, expect, it } from 'vitest';
import { parseStats, statsUsage } from '@sdmi/docker';

const answer = (over: Record<string, unknown> = {}) => ({
  read: '2026-12-02T06:00:01.000Z',
  cpu_stats: { cpu_usage: { total_usage: 3_000_000_000 }, system_cpu_usage: 104_000_000_000, online_cpus: 4 },
  precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 100_000_000_000, online_cpus: 4 },
  memory_stats: { usage: 300 * 2 ** 20, limit: 2 ** 30, stats: { total_inactive_file: 100 * 2 ** 20 } },
  networks: { eth0: { rx_bytes: 1000, tx_bytes: 2000 }, eth1: { rx_bytes: 5, tx_bytes: 7 } },
  ...over,
});

describe('statsUsage', () => {
  it('cores = Δcontainer / Δsystem × online cpus; memory = usage − inactive_file; network summed', () => {
    // 1 s of container CPU over 4 s of system CPU on 4 cores: one core busy.
    expect(statsUsage(parseStats(answer()))).toEqual({ usedCores: 1, onlineCpus: 4, memoryUsedBytes: 200 * 2 ** 20, memoryLimitBytes: 2 ** 30, rxBytes: 1005, txBytes: 2007 });
  });
  it('cgroup v2 names the cache inactive_file', () => {
    const u = statsUsage(parseStats(answer({ memory_stats: { usage: 1000, limit: 5000, stats: { inactive_file: 400 } } })));
    expect([u.memoryUsedBytes, u.memoryLimitBytes]).toEqual([600, 5000]);
  });
  it('no earlier sample gives 0 cores, not a rate over the container’s whole life', () => {
    expect(statsUsage(parseStats(answer({ precpu_stats: {} }))).usedCores).toBe(0);
  });
  it('a stopped container (empty answer) reads as zeros, never negative', () => {
    expect(statsUsage(parseStats({}))).toEqual({ usedCores: 0, onlineCpus: 1, memoryUsedBytes: 0, memoryLimitBytes: 0, rxBytes: 0, txBytes: 0 });
  });
});
