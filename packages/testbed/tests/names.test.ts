import { describe, expect, it } from 'vitest';
import { InvalidName, MAX_IFNAME, checkIfName, ownerAlive, runId, tagOf, testDatabaseName, testName } from '../src/index';

describe('run-unique names', () => {
  it('runId is a short tag, the same for the whole process, owned by this process', () => {
    const tag = runId();
    expect(tag).toMatch(/^t[0-9a-z]{4}$/);
    expect(runId()).toBe(tag);
    expect(ownerAlive(tag)).toBe(true);
  });

  it('names carry the tag, never repeat, and fit Linux interface names', () => {
    const names = Array.from({ length: 500 }, () => testName('v'));
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(n.startsWith(`sdmi-${runId()}-v`)).toBe(true);
      expect(`${n}p`.length).toBeLessThanOrEqual(MAX_IFNAME);
      expect(tagOf(n)).toBe(runId());
    }
  });

  it('finds the tag in database names and paths, and nothing in other names', () => {
    expect(tagOf(testDatabaseName())).toBe(runId());
    expect(tagOf(`/tmp/sdmi-${runId()}-d1/exec/containerd/containerd.sock`)).toBe(runId());
    expect(tagOf('sdmi-br0')).toBeUndefined();
    expect(tagOf('sdmi-tenant-a')).toBeUndefined();
    expect(tagOf('eth0')).toBeUndefined();
  });

  it('refuses interface names the kernel would refuse', () => {
    expect(() => checkIfName('a'.repeat(16))).toThrow(InvalidName);
    expect(() => checkIfName('bad name')).toThrow(InvalidName);
    expect(checkIfName('eth0')).toBe('eth0');
  });
});
