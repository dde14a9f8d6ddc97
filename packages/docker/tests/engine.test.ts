// DockerEngine against the machine's real dockerd: capacity, containers without Docker networking,
// labels, list, health, kill/die, exec, every error path, and nothing left behind.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseImage, describeInventory, docker, inventory, mainDocker, run, runId, tryRun } from '@sdmi/testbed';
import { DockerEngine, DockerErrorCode, statsUsage } from '@sdmi/docker';
import type { ContainerEvent, ContainerSpec, EventStream } from '@sdmi/docker';

const SOCKET = mainDocker.host.replace(/^unix:\/\//, '');
const tag = runId();
let seq = 0;
const nextName = () => `sdmi-${tag}-c${(seq++).toString(36)}`;

let engine: DockerEngine;
let image: string;
/** Every container this file made (ours and the CLI one), removed in afterAll. */
const made: string[] = [];

async function create(spec: Omit<ContainerSpec, 'name' | 'image'> & { name?: string }): Promise<{ id: string; name: string }> {
  const c = await engine.createContainer({ image, name: spec.name ?? nextName(), ...spec } as ContainerSpec);
  made.push(c.id);
  return c;
}

async function caught(p: Promise<unknown>): Promise<{ name?: string; code?: string; message?: string; info?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a rejection');
}

/**
 * Reads events from the stream's single iterator until `until` says enough (the stream stays open
 * for more); fails, closing the stream, after `timeoutMs`.
 */
const iterators = new WeakMap<EventStream, AsyncIterator<ContainerEvent>>();
async function collect(es: EventStream, until: (seen: ContainerEvent[]) => boolean, timeoutMs = 60_000): Promise<ContainerEvent[]> {
  let it = iterators.get(es);
  if (!it) iterators.set(es, (it = es[Symbol.asyncIterator]()));
  const seen: ContainerEvent[] = [];
  const timer = setTimeout(() => void es.close(), timeoutMs);
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      seen.push(r.value);
      if (until(seen)) return seen;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`event stream ended before the expected events; saw ${JSON.stringify(seen.map((e) => [e.name, e.action, e.health ?? e.exitCode]))}`);
}

const cli = (...args: string[]) => docker(mainDocker, args);

beforeAll(async () => {
  image = await buildBaseImage(mainDocker);
  engine = await DockerEngine.connect({ socketPath: SOCKET });
});

afterAll(async () => {
  for (const id of made) await tryRun('docker', ['-H', mainDocker.host, 'rm', '-f', '-v', id]);
  await engine?.close();
  // Nothing of this run is left: no container named after the tag, no test-bed resource.
  expect((await cli('ps', '-a', '--filter', `name=sdmi-${tag}-`, '--format', '{{.Names}}')).trim()).toBe('');
  expect(describeInventory(await inventory({ tag }))).toBe('');
});

describe('info', () => {
  it('reports the real capacity and identity of the host', async () => {
    const info = await engine.info();
    expect(info.cpus).toBe(Number((await run('nproc', [])).trim()));
    const memTotalKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
    // Docker reads sysinfo(2); /proc/meminfo rounds to KiB.
    expect(Math.abs(info.memoryBytes - memTotalKiB * 1024)).toBeLessThan(1024 * 1024);
    expect(info.id).toBe((await cli('info', '--format', '{{.ID}}')).trim());
    expect(info.name).toBe((await cli('info', '--format', '{{.Name}}')).trim());
    expect(info.serverVersion).toBe((await cli('version', '--format', '{{.Server.Version}}')).trim());
    expect(Number.isInteger(info.containersRunning) && info.containersRunning >= 0).toBe(true);
    expect(info.architecture).toBe((await run('uname', ['-m'])).trim());
  });

  it('ping answers', async () => {
    await expect(engine.ping()).resolves.toBeUndefined();
  });

  it('speaks only to its socket, even when DOCKER_HOST points elsewhere', async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
    try {
      const e = await DockerEngine.connect({ socketPath: SOCKET });
      expect((await e.info()).id).toBe((await engine.info()).id);
      await e.close();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});

describe('containers', () => {
  it('a created container has NetworkMode none and only lo inside', async () => {
    const c = await create({ command: ['sleep', '600'] });
    const before = await engine.inspect(c.id);
    expect(before).toMatchObject({ id: c.id, name: c.name, image, state: 'created', pid: 0, health: 'none', networkMode: 'none', managed: true, exitCode: undefined, startedAt: undefined });
    // Docker itself says so, independently of our parsing.
    expect((await cli('inspect', '--format', '{{.HostConfig.NetworkMode}}', c.id)).trim()).toBe('none');
    await engine.start(c.id);
    const info = await engine.inspect(c.id);
    expect(info.state).toBe('running');
    expect(info.pid).toBeGreaterThan(0);
    expect(info.startedAt).toBeInstanceOf(Date);
    expect(await engine.exec(c.id, ['ls', '/sys/class/net'])).toEqual({ exitCode: 0, stdout: 'lo\n', stderr: '', truncated: false });
    const links = await engine.exec(c.id, ['ip', '-o', 'link']);
    expect(links.exitCode).toBe(0);
    expect(links.stdout.trim().split('\n').map((l) => l.split(': ')[1])).toEqual(['lo']);
    // The container's pid is a real process on this host, in its own network namespace.
    expect(readFileSync(`/proc/${info.pid}/cmdline`, 'utf8').split('\0')[0]).toBe('sleep');
    await engine.remove(c.id, { force: true });
  });

  it('labels round-trip, with sdmi.managed added', async () => {
    const labels = { 'sdmi.service': `svc-${tag}`, 'sdmi.replica': '3', 'sdmi.revision': 'r7', 'x.note': 'a "quoted", = value' };
    const c = await create({ labels });
    const want = { ...labels, 'sdmi.managed': 'true' };
    expect((await engine.inspect(c.id)).labels).toEqual(want);
    expect(JSON.parse(await cli('inspect', '--format', '{{json .Config.Labels}}', c.id))).toEqual(want);
    const listed = await engine.list({ labels: { 'sdmi.service': `svc-${tag}` } });
    expect(listed).toEqual([expect.objectContaining({ id: c.id, name: c.name, image, state: 'created', labels: want, managed: true })]);
  });

  it('env, command, limits and stop timeout reach the container', async () => {
    const c = await create({
      command: ['sleep', '600'],
      env: { GREETING: 'hello world' },
      limits: { cpus: 0.5, memoryBytes: 64 * 1024 * 1024 },
      stopTimeoutSec: 2,
    });
    await engine.start(c.id);
    // An exec inherits the container's environment.
    expect((await engine.exec(c.id, ['sh', '-c', 'echo "$GREETING"'])).stdout).toBe('hello world\n');
    expect((await engine.inspect(c.id)).limits).toEqual({ cpus: 0.5, memoryBytes: 67_108_864 });
    expect((await cli('inspect', '--format', '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.Config.StopTimeout}}', c.id)).trim()).toBe(
      '500000000 67108864 67108864 2',
    );
    // The kernel enforces them: the container's own cgroup (v1 on these machines) holds the limits.
    const mem = await engine.exec(c.id, ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
    const quota = await engine.exec(c.id, ['cat', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us']);
    if (mem.exitCode === 0) expect(mem.stdout.trim()).toBe('67108864');
    else expect((await engine.exec(c.id, ['cat', '/sys/fs/cgroup/memory.max'])).stdout.trim()).toBe('67108864');
    if (quota.exitCode === 0) {
      const [q, p] = quota.stdout.trim().split('\n').map(Number);
      expect(q! / p!).toBe(0.5);
    } else expect((await engine.exec(c.id, ['cat', '/sys/fs/cgroup/cpu.max'])).stdout.trim()).toBe('50000 100000');
    await engine.remove(c.id, { force: true });
  });

  it('list shows ours and not a container made with the docker CLI, which SDMI leaves alone', async () => {
    const ours = await create({ command: ['sleep', '600'] });
    const theirsName = nextName();
    const theirs = (await cli('create', '--name', theirsName, '--network', 'none', '--label', 'sdmi.service=web', image, 'sleep', '600')).trim();
    made.push(theirs);
    await cli('start', theirs);

    const mine = await engine.list();
    expect(mine.map((c) => c.id)).toContain(ours.id);
    expect(mine.map((c) => c.id)).not.toContain(theirs);
    expect(mine.every((c) => c.managed && c.labels['sdmi.managed'] === 'true')).toBe(true);
    const all = await engine.list({ all: true });
    expect(all.find((c) => c.id === theirs)).toMatchObject({ name: theirsName, managed: false, state: 'running' });
    expect(all.find((c) => c.id === ours.id)).toMatchObject({ name: ours.name, managed: true, state: 'created' });

    // Reading it is fine; changing it is refused, and it stays as it was.
    expect(await engine.inspect(theirs)).toMatchObject({ managed: false, state: 'running' });
    for (const [op, call] of [
      ['stop', () => engine.stop(theirs, 0)],
      ['kill', () => engine.kill(theirs)],
      ['remove', () => engine.remove(theirs, { force: true })],
      ['exec', () => engine.exec(theirs, ['true'])],
      ['start', () => engine.start(theirs)],
    ] as const) {
      const err = await caught(call());
      expect(err).toMatchObject({
        name: 'ContainerNotManaged',
        code: DockerErrorCode.CONTAINER_NOT_MANAGED,
        message: `${op} refused: container "${theirs}" on the Docker host at ${SOCKET} is not managed by SDMI (no label sdmi.managed=true), so SDMI leaves it alone`,
      });
    }
    expect((await cli('inspect', '--format', '{{.State.Status}}', theirs)).trim()).toBe('running');
  });

  it('stats: a busy container uses CPU (clearly more than an idle one), and some memory', async () => {
    const busy = await create({ command: ['sh', '-c', 'while :; do :; done'] });
    const idle = await create({ command: ['sleep', '600'] });
    await engine.start(busy.id);
    await engine.start(idle.id);
    await new Promise((r) => setTimeout(r, 1_500));
    const u = statsUsage(await engine.stats(busy.id));
    const quiet = statsUsage(await engine.stats(idle.id));
    // Not "more than half a core": on a loaded 2-core CI machine a busy loop gets what is left.
    expect(u.usedCores).toBeGreaterThan(0.05);
    expect(u.usedCores).toBeGreaterThan(quiet.usedCores * 5);
    expect(u.memoryUsedBytes).toBeGreaterThan(0);
    expect(u.memoryLimitBytes).toBeGreaterThan(u.memoryUsedBytes);
    await engine.remove(busy.id, { force: true });
    await engine.remove(idle.id, { force: true });
  });

  it('exec returns exit code, stdout and stderr apart', async () => {
    const c = await create({ command: ['sleep', '600'] });
    await engine.start(c.id);
    expect(await engine.exec(c.id, ['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', truncated: false });
    expect(await engine.exec(c.id, ['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" a'], { maxOutputBytes: 10 })).toEqual({
      exitCode: 0,
      stdout: 'aaaaaaaaaa',
      stderr: '',
      truncated: true,
    });
    const err = await caught(engine.exec(c.id, ['sleep', '5'], { timeoutMs: 300 }));
    expect(err).toMatchObject({
      name: 'ExecTimeout',
      code: 'EXEC_TIMEOUT',
      message: `exec ["sleep","5"] in container "${c.id}" on the Docker host at ${SOCKET} did not finish within 300 ms`,
    });
    // stdin is written, then closed: cat ends.
    expect(await engine.exec(c.id, ['cat'], { stdin: 'in\n' })).toEqual({ exitCode: 0, stdout: 'in\n', stderr: '', truncated: false });
    // killOnTimeout takes the shell and the sleep it started.
    const killed = await caught(engine.exec(c.id, ['sh', '-c', 'sleep 7; echo late'], { timeoutMs: 300, killOnTimeout: true }));
    expect(killed).toMatchObject({ code: 'EXEC_TIMEOUT', message: expect.stringMatching(/within 300 ms; it was killed$/), info: { details: { killed: true } } });
    expect((await engine.exec(c.id, ['ps', '-o', 'args'])).stdout).not.toMatch(/sleep 7/);
    await engine.remove(c.id, { force: true });
  });

  it('stop and start are idempotent; stop kills after its timeout', async () => {
    // sleep as pid 1 ignores SIGTERM: stop must fall back to SIGKILL after 1 s.
    const c = await create({ command: ['sleep', '600'] });
    await engine.start(c.id);
    await engine.start(c.id);
    await engine.stop(c.id, 1);
    expect(await engine.inspect(c.id)).toMatchObject({ state: 'exited', exitCode: 137, pid: 0 });
    await engine.stop(c.id, 1);
    await engine.start(c.id);
    expect((await engine.inspect(c.id)).state).toBe('running');
    await engine.remove(c.id, { force: true });
  });
});

describe('events', () => {
  it('health goes starting → healthy → unhealthy, and a failing check to unhealthy, as health_status events in order', async () => {
    const since = new Date(Date.now() - 1000);
    const health = { intervalMs: 1000, timeoutMs: 3000, retries: 2 };
    const good = await create({ command: ['sh', '-c', 'touch /tmp/healthy; exec sleep 600'], healthCheck: { test: ['CMD-SHELL', 'test -f /tmp/healthy'], ...health } });
    const bad = await create({ command: ['sleep', '600'], healthCheck: { test: ['CMD', 'false'], ...health } });
    await using es = await engine.events({ since, filters: { containers: [good.id, bad.id] } });
    await engine.start(good.id);
    await engine.start(bad.id);
    expect((await engine.inspect(good.id)).health).toBe('starting');
    expect((await engine.inspect(bad.id)).health).toBe('starting');

    const isHealth = (e: ContainerEvent) => e.action === 'health_status';
    let seen = await collect(es, (s) => s.some((e) => isHealth(e) && e.id === good.id) && s.some((e) => isHealth(e) && e.id === bad.id));
    expect((await engine.inspect(good.id)).health).toBe('healthy');
    // Make the good one fail its check.
    await engine.exec(good.id, ['rm', '/tmp/healthy']);
    seen = seen.concat(await collect(es, (s) => s.some((e) => isHealth(e) && e.id === good.id && e.health === 'unhealthy')));
    expect((await engine.inspect(good.id)).health).toBe('unhealthy');
    expect((await engine.inspect(bad.id)).health).toBe('unhealthy');

    const story = (id: string) => seen.filter((e) => e.id === id && ['create', 'start', 'health_status'].includes(e.action)).map((e) => e.health ?? e.action);
    expect(story(good.id)).toEqual(['create', 'start', 'healthy', 'unhealthy']);
    expect(story(bad.id)).toEqual(['create', 'start', 'unhealthy']);
    for (const e of seen) expect(e).toMatchObject({ managed: true, labels: { 'sdmi.managed': 'true' } });
  });

  it('kill is followed by die with the exit code; a trapped signal gives the program its own exit code', async () => {
    const since = new Date(Date.now() - 1000);
    const hard = await create({ command: ['sleep', '600'] });
    const soft = await create({ command: ['sh', '-c', 'trap "exit 7" USR1; while :; do sleep 1; done'] });
    await using es = await engine.events({ since, filters: { containers: [hard.id, soft.id], actions: ['kill', 'die'] } });
    await engine.start(hard.id);
    await engine.start(soft.id);
    await engine.kill(hard.id, 'SIGKILL');
    await engine.kill(soft.id, 'SIGUSR1');
    const seen = await collect(es, (s) => s.filter((e) => e.action === 'die').length === 2);
    const of = (id: string) => seen.filter((e) => e.id === id).map((e) => ({ action: e.action, signal: e.signal, exitCode: e.exitCode }));
    expect(of(hard.id)).toEqual([
      { action: 'kill', signal: 9, exitCode: undefined },
      { action: 'die', signal: undefined, exitCode: 137 },
    ]);
    expect(of(soft.id)).toEqual([
      { action: 'kill', signal: 10, exitCode: undefined },
      { action: 'die', signal: undefined, exitCode: 7 },
    ]);
    expect(await engine.inspect(hard.id)).toMatchObject({ state: 'exited', exitCode: 137, pid: 0 });
    expect(await engine.inspect(soft.id)).toMatchObject({ state: 'exited', exitCode: 7 });
  });

  it('does not report containers that are not SDMI’s unless asked', async () => {
    const since = new Date(Date.now() - 1000);
    const name = nextName();
    const theirs = (await cli('create', '--name', name, '--network', 'none', image, 'true')).trim();
    made.push(theirs);
    const ours = await create({ command: ['true'] });
    await using mine = await engine.events({ since, filters: { containers: [theirs, ours.id], actions: ['create'] } });
    await using every = await engine.events({ since, all: true, filters: { containers: [theirs, ours.id], actions: ['create'] } });
    const a = await collect(mine, (s) => s.some((e) => e.id === ours.id));
    expect(a.map((e) => e.id)).toEqual([ours.id]);
    const b = await collect(every, (s) => s.length === 2);
    expect(new Set(b.map((e) => e.id))).toEqual(new Set([theirs, ours.id]));
    expect(b.find((e) => e.id === theirs)).toMatchObject({ name, managed: false });
  });
});

describe('errors', () => {
  it('unknown image', async () => {
    const name = nextName();
    const err = await caught(engine.createContainer({ name, image: `sdmi/nope-${tag}:v1` }));
    expect(err).toMatchObject({
      name: 'ImageNotFound',
      code: DockerErrorCode.IMAGE_NOT_FOUND,
      message: `image "sdmi/nope-${tag}:v1" is not on the Docker host at ${SOCKET}: build or load it there first (SDMI never pulls from a registry)`,
      info: { path: '/image', details: { image: `sdmi/nope-${tag}:v1`, socketPath: SOCKET } },
    });
    expect((await cli('ps', '-a', '--filter', `name=${name}`, '--format', '{{.ID}}')).trim()).toBe('');
    expect(await engine.imageExists(`sdmi/nope-${tag}:v1`)).toBe(false);
    expect(await engine.imageExists(image)).toBe(true);
  });

  it('name taken', async () => {
    const first = await create({});
    const err = await caught(engine.createContainer({ name: first.name, image, labels: { 'sdmi.replica': '2' } }));
    expect(err).toMatchObject({
      name: 'ContainerNameTaken',
      code: DockerErrorCode.CONTAINER_NAME_TAKEN,
      message: `container name "${first.name}" is already in use on the Docker host at ${SOCKET} by container ${first.id.slice(0, 12)}: choose another name or remove that container first`,
      info: { path: '/name', details: { name: first.name, holder: first.id } },
    });
    // The holder is untouched.
    expect((await engine.inspect(first.name)).labels).toEqual({ 'sdmi.managed': 'true' });
  });

  it('unknown container, for every operation', async () => {
    const ghost = `sdmi-${tag}-ghost`;
    const message = `no container "${ghost}" on the Docker host at ${SOCKET}: it was removed or never existed (list() shows what is there)`;
    for (const call of [
      () => engine.inspect(ghost),
      () => engine.start(ghost),
      () => engine.stop(ghost, 1),
      () => engine.kill(ghost),
      () => engine.remove(ghost, { force: true }),
      () => engine.exec(ghost, ['true']),
    ]) {
      expect(await caught(call())).toMatchObject({ name: 'ContainerNotFound', code: DockerErrorCode.CONTAINER_NOT_FOUND, message });
    }
  });

  it('kill or exec of a container that is not running; remove of a running one without force', async () => {
    const c = await create({ command: ['sleep', '600'] });
    for (const [op, call] of [
      ['kill', () => engine.kill(c.id)],
      ['exec', () => engine.exec(c.id, ['true'])],
    ] as const) {
      expect(await caught(call())).toMatchObject({
        name: 'ContainerNotRunning',
        code: DockerErrorCode.CONTAINER_NOT_RUNNING,
        message: `${op} refused: container "${c.id}" on the Docker host at ${SOCKET} is not running: start it first`,
      });
    }
    await engine.start(c.id);
    expect(await caught(engine.remove(c.id))).toMatchObject({
      name: 'ContainerRunning',
      code: DockerErrorCode.CONTAINER_RUNNING,
      message: `remove refused: container "${c.id}" on the Docker host at ${SOCKET} is running: stop it first or remove it with { force: true }`,
    });
    expect((await engine.inspect(c.id)).state).toBe('running');
    await engine.remove(c.id, { force: true });
    expect((await caught(engine.inspect(c.id))).code).toBe('CONTAINER_NOT_FOUND');
  });

  it('anything else Docker refuses keeps its status and Docker\'s own words', async () => {
    const c = await create({ command: ['sleep', '600'] });
    await engine.start(c.id);
    // Well-formed, so it passes our check, but no such signal exists: only the daemon can tell.
    expect(await caught(engine.kill(c.id, 'SIGFOO'))).toMatchObject({
      name: 'DockerApiError',
      code: DockerErrorCode.DOCKER_API_ERROR,
      message: `kill failed on the Docker host at ${SOCKET} (HTTP 400): Invalid signal: SIGFOO`,
      info: { details: { operation: 'kill', statusCode: 400, dockerMessage: 'Invalid signal: SIGFOO' } },
    });
    expect((await engine.inspect(c.id)).state).toBe('running');
    await engine.remove(c.id, { force: true });
  });

  it('an engine nobody answers for, and one that was closed', async () => {
    const socketPath = `/tmp/sdmi-${tag}-nosuch.sock`;
    expect(await caught(DockerEngine.connect({ socketPath }))).toMatchObject({
      name: 'EngineUnreachable',
      code: DockerErrorCode.ENGINE_UNREACHABLE,
      message: `Docker Engine at ${socketPath} is unreachable (ENOENT): is dockerd running with -H unix://${socketPath}?`,
    });
    const e = await DockerEngine.connect({ socketPath: SOCKET });
    await e.close();
    await e.close();
    for (const [op, call] of [
      ['info', () => e.info()],
      ['createContainer', () => e.createContainer({ name: nextName(), image })],
      ['list', () => e.list()],
      ['events', () => e.events()],
    ] as const) {
      expect(await caught(call())).toMatchObject({
        name: 'EngineClosed',
        code: DockerErrorCode.ENGINE_CLOSED,
        message: `${op} on the Docker Engine at ${SOCKET} after close(): connect again to use it`,
      });
    }
  });
});
