// execInReplica, the control channel into a replica's container, on the real cluster of
// node-agent.test.ts (real Docker, NATS, PostgreSQL, the agents as processes of their own): the
// replica is run with runReplica as the scheduler would, then commands are sent to its node's
// agent over the bus only, as an SDK user's workflow would send them.
import { type Outcome } from '@sdmi/bus';
import { NodeAgentCommandKinds, contracts, execInReplica, execInReplicaWaitMs, nodeService, replicaKey, type ExecInReplicaPayload, type ExecInReplicaResult } from '@sdmi/contracts';
import { describeInventory, docker, inventory, mainDocker, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';
import { capJsonText } from '../src/exec';

const cluster = new LocalCluster('ex');
// Replica ids carry the run tag, so a concurrent run's containers on the shared dockerd are never ours.
const replicaId = `${cluster.tag}/exec-1@rev1`;
let containerId: string;

const exec = (host: string, payload: ExecInReplicaPayload): Promise<Outcome> =>
  cluster.client.run(nodeService(host), execInReplica(payload), { timeoutMs: execInReplicaWaitMs(payload) });
const result = (o: Outcome): ExecInReplicaResult => contracts().assert('ExecInReplicaResult', o.result);
const failure = (p: Promise<unknown>): Promise<{ name?: string; info?: { code?: string; message?: string; path?: string; rule?: string; details?: Record<string, unknown> } }> =>
  p.then(
    () => {
      throw new Error('expected the task to fail');
    },
    (e: unknown) => e as never,
  );

beforeAll(async () => {
  await cluster.start();
  // A replica without interfaces: the control channel does not need the network.
  const out = await cluster.client.run(
    nodeService('host-a'),
    {
      kind: NodeAgentCommandKinds.RunReplica,
      key: replicaKey(replicaId),
      payload: { replicaId, service: `${cluster.tag}/exec`, revision: 1, container: { image: 'sdmi/base:busybox', command: ['sleep', '3600'] }, interfaces: [] },
    },
    { timeoutMs: 90_000 },
  );
  containerId = (out.result as { containerId: string }).containerId;
});

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('capJsonText', () => {
  it('keeps the longest prefix whose JSON text fits, measuring escapes, never splitting a surrogate pair', () => {
    expect(capJsonText('abc', 5)).toEqual({ text: 'abc', cut: false });
    expect(capJsonText('abcd', 5)).toEqual({ text: 'abc', cut: true });
    // \u0001 is six bytes as JSON.
    expect(capJsonText('\x01\x01\x01', 14)).toEqual({ text: '\x01\x01', cut: true });
    // 🙂 is two UTF-16 units and four bytes: half of it is never kept.
    expect(capJsonText('a🙂', 6)).toEqual({ text: 'a', cut: true });
    expect(capJsonText('a🙂', 7)).toEqual({ text: 'a🙂', cut: false });
  });
});

describe('execInReplica on a node-agent', () => {
  it('runs argv in the replica container and completes with its exit code and output apart, also when the exit code is not 0', async () => {
    const out = await exec('host-a', { replicaId, argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    expect(out.status).toBe('completed');
    expect(result(out)).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', truncated: false, durationMs: expect.any(Number) });
  });

  it('pipes stdin to the process and closes it, so cat gives it back and ends', async () => {
    const stdin = 'line 1\nzwei — 🙂\n'.repeat(1000);
    expect(result(await exec('host-a', { replicaId, argv: ['cat'], stdin }))).toMatchObject({ exitCode: 0, stdout: stdin, stderr: '' });
  });

  it('fails a process that outlives timeoutMs with EXEC_TIMEOUT naming argv and the time, without waiting for it, and kills it', async () => {
    const t0 = Date.now();
    const err = await failure(exec('host-a', { replicaId, argv: ['sleep', '5'], timeoutMs: 500 }));
    expect(err).toMatchObject({ name: 'TaskFailed', info: { code: 'EXEC_TIMEOUT', details: { replicaId, node: 'host-a', timeoutMs: 500, killed: true } } });
    expect(err.info?.message).toBe(`exec ["sleep","5"] in replica ${replicaId} on node host-a did not finish within 500 ms; it was killed`);
    expect(Date.now() - t0).toBeLessThan(4_500);
    // The next command of the replica runs at once, and the sleep is no longer among its processes.
    const ps = result(await exec('host-a', { replicaId, argv: ['ps', '-o', 'args'] }));
    expect(ps.stdout).toContain('sleep 3600');
    expect(ps.stdout).not.toMatch(/^sleep 5$/m);
  });

  it('cuts output where its JSON text would pass 256 KiB per stream, so the outcome still fits a NATS message', async () => {
    // NUL, which the task's jsonb record cannot hold, comes back as U+FFFD: three bytes each.
    const out = result(await exec('host-a', { replicaId, argv: ['sh', '-c', 'head -c 300000 /dev/zero; head -c 300000 /dev/zero | tr "\\0" e >&2'] }));
    expect(out).toMatchObject({ exitCode: 0, truncated: true });
    expect(out.stdout).toBe('\uFFFD'.repeat(Math.floor((256 * 1024 - 2) / 3)));
    expect(out.stderr).toBe('e'.repeat(256 * 1024 - 2));
  });

  it('fails with REPLICA_NOT_FOUND, naming replica and node, for a replica the node does not run', async () => {
    const ghost = `${cluster.tag}/ghost-1@rev1`;
    const err = await failure(exec('host-a', { replicaId: ghost, argv: ['true'] }));
    expect(err).toMatchObject({ name: 'TaskFailed', info: { code: 'REPLICA_NOT_FOUND', message: `node host-a runs no replica ${ghost}`, details: { replicaId: ghost, node: 'host-a' } } });
    // Running on another node is not running here.
    expect(await failure(exec('host-b', { replicaId, argv: ['true'] }))).toMatchObject({ info: { code: 'REPLICA_NOT_FOUND', message: `node host-b runs no replica ${replicaId}` } });
  });

  it('refuses a payload off its schema at the gateway, naming the field and the rule', async () => {
    const err = await failure(cluster.client.run(nodeService('host-a'), { kind: NodeAgentCommandKinds.ExecInReplica, key: replicaKey(replicaId), payload: { replicaId, argv: [] } }));
    expect(err).toMatchObject({ name: 'BadMessage', info: { code: 'SCHEMA_VIOLATION', path: '/payload/argv', rule: 'minItems' } });
  });

  it('fails with REPLICA_NOT_RUNNING once the container is stopped', async () => {
    await docker(mainDocker, ['stop', '-t', '0', containerId]);
    const err = await failure(exec('host-a', { replicaId, argv: ['true'] }));
    expect(err).toMatchObject({ name: 'TaskFailed', info: { code: 'REPLICA_NOT_RUNNING', details: { replicaId, node: 'host-a', state: 'exited', containerId } } });
  });
});
