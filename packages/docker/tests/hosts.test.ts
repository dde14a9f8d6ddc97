// Two Docker hosts on one machine: the main dockerd and one of the test bed's own. The engine
// talks to the host it was given and only that one; event streams are closed on the daemon's side
// when the loop ends; a daemon that goes away ends its stream with EventStreamLost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Testbed, buildBaseImage, describeInventory, docker, inventory, mainDocker, runId, tryRun } from '@sdmi/testbed';
import type { DockerHost } from '@sdmi/testbed';
import { DockerEngine, EventStreamLost } from '@sdmi/docker';
import type { ContainerEvent } from '@sdmi/docker';

const MAIN_SOCKET = mainDocker.host.replace(/^unix:\/\//, '');
const tag = runId();
const tb = new Testbed();
let host: DockerHost;
let main: DockerEngine;
let other: DockerEngine;
let image: string;
const mainMade: string[] = [];

/** How many event subscribers the daemon has: observable proof that a stream was closed. */
async function listeners(h: { host: string }): Promise<number> {
  return Number((await docker(h, ['info', '--format', '{{.NEventsListener}}'])).trim());
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

beforeAll(async () => {
  host = await tb.dockerHost({ args: ['--label', 'sdmi.zone=z1', '--label', 'sdmi.rack=r9'] });
  [image] = await Promise.all([buildBaseImage(host), buildBaseImage(mainDocker)]);
  main = await DockerEngine.connect({ socketPath: MAIN_SOCKET });
  other = await DockerEngine.connect({ socketPath: host.socketPath });
});

afterAll(async () => {
  for (const id of mainMade) await tryRun('docker', ['-H', mainDocker.host, 'rm', '-f', '-v', id]);
  await main?.close();
  await other?.close();
  await tb.dispose();
  expect((await docker(mainDocker, ['ps', '-a', '--filter', `name=sdmi-${tag}-`, '--format', '{{.Names}}'])).trim()).toBe('');
  expect(describeInventory(await inventory({ tag }))).toBe('');
});

describe('two Docker hosts', () => {
  it('each engine reports its own daemon: identity and labels', async () => {
    const [a, b] = await Promise.all([main.info(), other.info()]);
    expect(b.id).toBe((await host.docker('info', '--format', '{{.ID}}')).trim());
    expect(a.id).toBe((await docker(mainDocker, ['info', '--format', '{{.ID}}'])).trim());
    // Docker 20.10 takes the ID from /etc/docker/key.json, shared by both daemons here: the data
    // root is what tells them apart.
    expect(b.dockerRootDir).toBe(host.dataRoot);
    expect(a.dockerRootDir).not.toBe(b.dockerRootDir);
    expect(b.labels).toEqual({ 'sdmi.zone': 'z1', 'sdmi.rack': 'r9' });
    expect(a.labels['sdmi.zone']).toBeUndefined();
    // Same machine, so the same capacity.
    expect(b.cpus).toBe(a.cpus);
    expect(b.memoryBytes).toBe(a.memoryBytes);
  });

  it('a container made through one engine exists on that host only', async () => {
    const name = `sdmi-${tag}-h1`;
    const c = await other.createContainer({ name, image, command: ['sleep', '600'], labels: { 'sdmi.service': 'h' } });
    await other.start(c.id);
    expect((await host.docker('ps', '--format', '{{.ID}} {{.Names}}', '--no-trunc')).trim()).toBe(`${c.id} ${name}`);
    expect((await other.list()).map((x) => x.id)).toEqual([c.id]);
    expect((await main.list({ all: true })).map((x) => x.id)).not.toContain(c.id);
    expect((await main.list({ all: true })).map((x) => x.name)).not.toContain(name);
    await expect(main.inspect(c.id)).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    expect(await other.exec(c.id, ['ls', '/sys/class/net'])).toMatchObject({ exitCode: 0, stdout: 'lo\n' });

    // The same name is free on the main host: names are per host.
    const twin = await main.createContainer({ name, image });
    mainMade.push(twin.id);
    expect(twin.id).not.toBe(c.id);
    expect((await other.list()).map((x) => x.id)).toEqual([c.id]);
    await main.remove(twin.id);
    await other.remove(c.id, { force: true });
    expect(await other.list({ all: true })).toEqual([]);
  });

  it('leaving the loop closes the stream on the daemon too; so does await using', async () => {
    const before = await listeners(host);
    const since = new Date(Date.now() - 1000);
    const es = await other.events({ since });
    expect(await listeners(host)).toBe(before + 1);
    const c = await other.createContainer({ name: `sdmi-${tag}-h2`, image, command: ['true'] });
    for await (const ev of es) {
      if (ev.id === c.id && ev.action === 'create') break;
    }
    expect(es.closed).toBe(true);
    expect(await eventually(async () => (await listeners(host)) === before)).toBe(true);
    {
      await using es2 = await other.events();
      expect(es2.closed).toBe(false);
      expect(await listeners(host)).toBe(before + 1);
    }
    expect(await eventually(async () => (await listeners(host)) === before)).toBe(true);
    // close() of the engine closes what is still open.
    const es3 = await other.events();
    expect(await listeners(host)).toBe(before + 1);
    const third = await DockerEngine.connect({ socketPath: host.socketPath });
    const es4 = await third.events();
    await third.close();
    expect(es4.closed).toBe(true);
    await es3.close();
    expect(await eventually(async () => (await listeners(host)) === before)).toBe(true);
    await other.remove(c.id);
  });

  // Last: it stops the extra daemon.
  it('a daemon that goes away ends its event stream with EventStreamLost', async () => {
    const es = await other.events({ all: true });
    const seen: ContainerEvent[] = [];
    const outcome = (async () => {
      try {
        for await (const ev of es) seen.push(ev);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    // The process the test bed started for this host (never anything found by name).
    process.kill(host.pid!, 'SIGTERM');
    const err = await outcome;
    expect(err).toBeInstanceOf(EventStreamLost);
    expect((err as EventStreamLost).code).toBe('EVENT_STREAM_LOST');
    expect((err as Error).message).toMatch(
      new RegExp(`^event stream from the Docker Engine at ${host.socketPath.replaceAll('.', '\\.')} was lost \\((the daemon ended the stream|the connection was reset)\\)`),
    );
    expect(es.closed).toBe(true);
    await expect(other.ping()).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE' });
  });
});
