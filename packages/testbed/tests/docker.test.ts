import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE, buildBaseImage, findProcesses, startDockerHost } from '../src/index';
import { expectNothingLeft } from './leak-check';

describe('extra Docker host', () => {
  afterAll(expectNothingLeft);

  it('starts an own dockerd that runs a busybox container with --network none, and cleans up after itself', async () => {
    const host = await startDockerHost();
    let pid: number | undefined;
    try {
      pid = host.pid;
      expect(pid).toBeGreaterThan(0);
      expect(await host.docker('info', '--format', '{{.DockerRootDir}}')).toContain(host.dataRoot);

      const tag = await buildBaseImage(host);
      expect(tag).toBe(BASE_IMAGE);
      const id = (await host.docker('image', 'inspect', '--format', '{{.Id}}', tag)).trim();
      expect(await buildBaseImage(host)).toBe(tag); // already there: not built again
      expect((await host.docker('image', 'inspect', '--format', '{{.Id}}', tag)).trim()).toBe(id);

      const out = await host.docker('run', '--rm', '--network', 'none', tag, 'sh', '-c', 'echo hello from $(uname -s); ls /sys/class/net');
      expect(out.trim().split('\n')).toEqual(['hello from Linux', 'lo']);

      // a container still running at dispose time is removed with the host
      await host.docker('run', '-d', '--network', 'none', '--name', 'sleeper', tag, 'sleep', '600');
      expect((await host.docker('ps', '-q')).trim()).not.toBe('');
    } finally {
      await host.dispose();
    }
    expect(existsSync(host.dir)).toBe(false);
    expect(findProcesses((arg) => arg.includes(`${host.dir}/`))).toEqual([]);
  });
});
