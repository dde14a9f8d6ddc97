// Every validation rule, with its exact code, path, rule and message, driven through a real engine
// on the machine's dockerd, and the proof that bad input changed nothing there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseImage, docker, mainDocker, runId } from '@sdmi/testbed';
import { DockerEngine, DockerErrorCode } from '@sdmi/docker';
import type { ContainerSpec } from '@sdmi/docker';
import { buildCreateBody } from '@sdmi/docker/internal';

const SOCKET = mainDocker.host.replace(/^unix:\/\//, '');
const prefix = `sdmi-${runId()}-v`;
const name = `${prefix}1`;
let image: string;
let engine: DockerEngine;

beforeAll(async () => {
  image = await buildBaseImage(mainDocker);
  engine = await DockerEngine.connect({ socketPath: SOCKET });
});
afterAll(async () => {
  await engine?.close();
});

async function caught(p: Promise<unknown>): Promise<{ code?: string; message?: string; info?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a rejection');
}

const ok = (): ContainerSpec => ({ name, image });

describe('container spec', () => {
  const cases: Array<[string, () => unknown, string, string, string]> = [
    ['not an object', () => 'web', '/', 'spec-object', 'container spec /: "web" must be an object with at least name and image'],
    ['unknown field', () => ({ ...ok(), network: 'bridge' }), '/network', 'unknown-field', 'container spec /network: "bridge" is not a field of the spec (known: name, image, command, env, labels, limits, healthCheck, stopTimeoutSec)'],
    ['name missing', () => ({ image }), '/name', 'container-name', 'container spec /name: undefined is not a valid container name (2 to 128 characters: letters, digits, "_", "." and "-", starting with a letter or digit)'],
    ['name with a slash', () => ({ ...ok(), name: 'a/b' }), '/name', 'container-name', 'container spec /name: "a/b" is not a valid container name (2 to 128 characters: letters, digits, "_", "." and "-", starting with a letter or digit)'],
    ['name starting with a dash', () => ({ ...ok(), name: '-web' }), '/name', 'container-name', 'container spec /name: "-web" is not a valid container name (2 to 128 characters: letters, digits, "_", "." and "-", starting with a letter or digit)'],
    ['image empty', () => ({ ...ok(), image: '' }), '/image', 'image-ref', 'container spec /image: "" is not an image reference (a non-empty string without whitespace, e.g. "sdmi/base:busybox")'],
    ['image with a space', () => ({ ...ok(), image: 'sdmi/base busybox' }), '/image', 'image-ref', 'container spec /image: "sdmi/base busybox" is not an image reference (a non-empty string without whitespace, e.g. "sdmi/base:busybox")'],
    ['command a string', () => ({ ...ok(), command: 'sleep 1' }), '/command', 'argv', 'container spec /command: "sleep 1" must be a non-empty array of strings (the program and its arguments)'],
    ['command empty', () => ({ ...ok(), command: [] }), '/command', 'argv', 'container spec /command: [] must be a non-empty array of strings (the program and its arguments)'],
    ['env a list', () => ({ ...ok(), env: ['A=1'] }), '/env', 'env-object', 'container spec /env: ["A=1"] must be an object of variable names to string values'],
    ['env name with =', () => ({ ...ok(), env: { 'A=B': '1' } }), '/env/A=B', 'env-name', 'container spec /env/A=B: "A=B" is not a valid environment variable name (non-empty, no "=" or NUL)'],
    ['env value a number', () => ({ ...ok(), env: { PORT: 80 } }), '/env/PORT', 'env-value', 'container spec /env/PORT: 80 must be a string without NUL'],
    ['labels a list', () => ({ ...ok(), labels: ['a'] }), '/labels', 'labels-object', 'container spec /labels: ["a"] must be an object of label names to string values'],
    ['label key with a space', () => ({ ...ok(), labels: { 'my label': 'x' } }), '/labels/my label', 'label-key', 'container spec /labels/my label: "my label" is not a valid label name (1 to 255 characters, no whitespace, "=" or control characters)'],
    ['label sdmi.managed', () => ({ ...ok(), labels: { 'sdmi.managed': 'false' } }), '/labels/sdmi.managed', 'label-reserved', 'container spec /labels/sdmi.managed: "false" sets the reserved label sdmi.managed: SDMI sets it on every container it creates, callers may not'],
    ['label value a number', () => ({ ...ok(), labels: { 'sdmi.replica': 3 } }), '/labels/sdmi.replica', 'label-value', 'container spec /labels/sdmi.replica: 3 must be a string'],
    ['limits a number', () => ({ ...ok(), limits: 2 }), '/limits', 'limits-object', 'container spec /limits: 2 must be an object with cpus and/or memoryBytes'],
    ['limits unknown field', () => ({ ...ok(), limits: { pids: 10 } }), '/limits/pids', 'unknown-field', 'container spec /limits/pids: 10 is not a field of /limits (known: cpus, memoryBytes)'],
    ['cpus zero', () => ({ ...ok(), limits: { cpus: 0 } }), '/limits/cpus', 'cpus-minimum', 'container spec /limits/cpus: 0 must be a number of CPUs, at least 0.01'],
    ['cpus a string', () => ({ ...ok(), limits: { cpus: '1' } }), '/limits/cpus', 'cpus-minimum', 'container spec /limits/cpus: "1" must be a number of CPUs, at least 0.01'],
    ['cpus more than the host has', () => ({ ...ok(), limits: { cpus: 4096 } }), '/limits/cpus', 'cpus-available', 'container spec /limits/cpus: 4096 is more than the CPUS CPUs of this Docker host'],
    ['memory below 6 MiB', () => ({ ...ok(), limits: { memoryBytes: 1024 } }), '/limits/memoryBytes', 'memory-minimum', "container spec /limits/memoryBytes: 1024 must be a whole number of bytes, at least 6291456 (6 MiB, Docker's minimum)"],
    ['memory fractional', () => ({ ...ok(), limits: { memoryBytes: 7e6 + 0.5 } }), '/limits/memoryBytes', 'memory-minimum', "container spec /limits/memoryBytes: 7000000.5 must be a whole number of bytes, at least 6291456 (6 MiB, Docker's minimum)"],
    ['health check a string', () => ({ ...ok(), healthCheck: 'true' }), '/healthCheck', 'health-object', 'container spec /healthCheck: "true" must be an object with test, intervalMs, timeoutMs and retries'],
    ['health check unknown field', () => ({ ...ok(), healthCheck: { test: ['CMD', 'true'], intervalMs: 1, timeoutMs: 1, retries: 1, interval: 5 } }), '/healthCheck/interval', 'unknown-field', 'container spec /healthCheck/interval: 5 is not a field of /healthCheck (known: test, intervalMs, timeoutMs, retries, startPeriodMs)'],
    ['health test without CMD', () => ({ ...ok(), healthCheck: { test: ['true'], intervalMs: 1, timeoutMs: 1, retries: 1 } }), '/healthCheck/test', 'health-test', 'container spec /healthCheck/test: ["true"] must be ["CMD", program, args…] or ["CMD-SHELL", "shell command"]'],
    ['health CMD-SHELL with two strings', () => ({ ...ok(), healthCheck: { test: ['CMD-SHELL', 'test', '-f'], intervalMs: 1, timeoutMs: 1, retries: 1 } }), '/healthCheck/test', 'health-test', 'container spec /healthCheck/test: ["CMD-SHELL","test","-f"] must be ["CMD", program, args…] or ["CMD-SHELL", "shell command"]'],
    ['health interval zero', () => ({ ...ok(), healthCheck: { test: ['CMD', 'true'], intervalMs: 0, timeoutMs: 1, retries: 1 } }), '/healthCheck/intervalMs', 'duration-positive', 'container spec /healthCheck/intervalMs: 0 must be a whole number of milliseconds, at least 1'],
    ['health timeout missing', () => ({ ...ok(), healthCheck: { test: ['CMD', 'true'], intervalMs: 1, retries: 1 } }), '/healthCheck/timeoutMs', 'duration-positive', 'container spec /healthCheck/timeoutMs: undefined must be a whole number of milliseconds, at least 1'],
    ['health retries zero', () => ({ ...ok(), healthCheck: { test: ['CMD', 'true'], intervalMs: 1, timeoutMs: 1, retries: 0 } }), '/healthCheck/retries', 'retries-positive', 'container spec /healthCheck/retries: 0 must be a whole number, at least 1'],
    ['health start period negative', () => ({ ...ok(), healthCheck: { test: ['CMD', 'true'], intervalMs: 1, timeoutMs: 1, retries: 1, startPeriodMs: -1 } }), '/healthCheck/startPeriodMs', 'duration-non-negative', 'container spec /healthCheck/startPeriodMs: -1 must be a whole number of milliseconds, at least 0'],
    ['stop timeout fractional', () => ({ ...ok(), stopTimeoutSec: 1.5 }), '/stopTimeoutSec', 'seconds-non-negative', 'container spec /stopTimeoutSec: 1.5 must be a whole number of seconds, at least 0'],
  ];

  it.each(cases)('refuses %s', async (_what, spec, path, rule, message) => {
    const cpus = (await engine.info()).cpus;
    const err = await caught(engine.createContainer(spec() as ContainerSpec));
    expect(err).toMatchObject({ name: 'InvalidContainerSpec', code: DockerErrorCode.INVALID_CONTAINER_SPEC, message: message.replace('CPUS', String(cpus)) });
    expect(err.info).toMatchObject({ code: 'INVALID_CONTAINER_SPEC', path, rule, message: message.replace('CPUS', String(cpus)) });
  });

  it('bad specs left nothing on the host', async () => {
    const names = await docker(mainDocker, ['ps', '-a', '--filter', `name=${prefix}`, '--format', '{{.Names}}']);
    expect(names.trim()).toBe('');
  });

  it('builds a create body with Docker networking off and sdmi.managed set', () => {
    const body = buildCreateBody({
      name: 'web-1',
      image: 'sdmi/base:busybox',
      command: ['sleep', '60'],
      env: { A: '1', B: 'x=y' },
      labels: { 'sdmi.service': 'web', 'sdmi.replica': '1' },
      limits: { cpus: 0.5, memoryBytes: 64 * 1024 * 1024 },
      healthCheck: { test: ['CMD', 'true'], intervalMs: 500, timeoutMs: 2000, retries: 2, startPeriodMs: 100 },
      stopTimeoutSec: 3,
    });
    expect(body).toEqual({
      name: 'web-1',
      Image: 'sdmi/base:busybox',
      Cmd: ['sleep', '60'],
      Env: ['A=1', 'B=x=y'],
      Labels: { 'sdmi.service': 'web', 'sdmi.replica': '1', 'sdmi.managed': 'true' },
      Healthcheck: { Test: ['CMD', 'true'], Interval: 500_000_000, Timeout: 2_000_000_000, Retries: 2, StartPeriod: 100_000_000 },
      StopTimeout: 3,
      HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'no' }, NanoCpus: 500_000_000, Memory: 67_108_864, MemorySwap: 67_108_864 },
    });
  });
});

describe('other arguments', () => {
  const cases: Array<[string, () => Promise<unknown>, string, string, string]> = [
    ['start of an id with a slash', () => engine.start('a/b'), '/id', 'container-ref', 'start: id "a/b" is not a container id or name'],
    ['inspect of an empty id', () => engine.inspect(''), '/id', 'container-ref', 'inspect: id "" is not a container id or name'],
    ['remove of a number', () => engine.remove(42 as never), '/id', 'container-ref', 'remove: id 42 is not a container id or name'],
    ['stop with a negative timeout', () => engine.stop('abc', -1), '/timeoutSec', 'seconds-non-negative', 'stop: timeoutSec -1 must be a whole number of seconds, at least 0'],
    ['kill with a lower-case signal', () => engine.kill('abc', 'term'), '/signal', 'signal', 'kill: signal "term" is not a signal (a name such as "SIGTERM" or a number from 1 to 64)'],
    ['kill with signal 65', () => engine.kill('abc', 65), '/signal', 'signal', 'kill: signal 65 is not a signal (a name such as "SIGTERM" or a number from 1 to 64)'],
    ['remove with force "yes"', () => engine.remove('abc', { force: 'yes' as never }), '/options/force', 'boolean', 'remove: options/force "yes" must be true or false'],
    ['list with labels a string', () => engine.list({ labels: 'sdmi.service=web' as never }), '/labels', 'labels-object', 'list: labels "sdmi.service=web" must be an object of label names to string values (or true)'],
    ['exec of a string', () => engine.exec('abc', 'ls' as never), '/argv', 'argv', 'exec: argv "ls" must be a non-empty array of strings (the program and its arguments)'],
    ['exec of nothing', () => engine.exec('abc', []), '/argv', 'argv', 'exec: argv [] must be a non-empty array of strings (the program and its arguments)'],
    ['exec with a zero timeout', () => engine.exec('abc', ['ls'], { timeoutMs: 0 }), '/options/timeoutMs', 'duration-positive', 'exec: options/timeoutMs 0 must be a whole number of milliseconds, at least 1'],
    ['exec with negative output cap', () => engine.exec('abc', ['ls'], { maxOutputBytes: -1 }), '/options/maxOutputBytes', 'bytes-non-negative', 'exec: options/maxOutputBytes -1 must be a whole number of bytes, at least 0'],
    ['imageExists of an empty ref', () => engine.imageExists(''), '/ref', 'image-ref', 'imageExists: ref "" is not an image reference (a non-empty string without whitespace, e.g. "sdmi/base:busybox")'],
    ['events with an invalid since', () => engine.events({ since: new Date('x') }), '/since', 'time', 'events: since null is not a valid Date (or nanoseconds since the epoch as a bigint)'],
  ];

  it.each(cases)('refuses %s', async (_what, call, path, rule, message) => {
    const err = await caught(call());
    expect(err).toMatchObject({ name: 'InvalidArgument', code: DockerErrorCode.INVALID_ARGUMENT, message });
    expect(err.info).toMatchObject({ code: 'INVALID_ARGUMENT', path, rule, message });
  });
});

describe('socket path', () => {
  const long = `/tmp/${'x'.repeat(103)}`;
  const cases: Array<[string, unknown, string]> = [
    ['missing', undefined, 'socketPath undefined is not a path'],
    ['a TCP URL', 'tcp://127.0.0.1:2375', 'socketPath "tcp://127.0.0.1:2375" is a network address'],
    ['an http URL', 'http://localhost:2375', 'socketPath "http://localhost:2375" is a network address'],
    ['a unix:// URL', 'unix:///var/run/docker.sock', 'socketPath "unix:///var/run/docker.sock" is a URL, not a path (give "/var/run/docker.sock")'],
    ['relative', 'docker.sock', 'socketPath "docker.sock" is not an absolute path'],
    ['with NUL', '/run/docker\0.sock', 'socketPath "/run/docker\\u0000.sock" contains a NUL character'],
    ['too long', long, `socketPath "${long}" is longer than the 107 bytes a unix socket address can hold`],
  ];
  it.each(cases)('refuses %s', async (_what, socketPath, start) => {
    const message = `${start}: SDMI talks to a Docker Engine only through its unix socket (e.g. "/var/run/docker.sock"), never over TCP`;
    const err = await caught(DockerEngine.connect({ socketPath: socketPath as string }));
    expect(err).toMatchObject({ name: 'InvalidSocketPath', code: 'INVALID_SOCKET_PATH', message, info: { path: '/socketPath', rule: 'unix-socket-path' } });
  });
});
