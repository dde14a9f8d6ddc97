// replicaLogs, a replica's container output through its node's agent, on the real cluster of
// node-agent.test.ts (real Docker, NATS, PostgreSQL, the agents as processes of their own): the
// replicas are run with runReplica as the scheduler would, then their output is asked for over the
// bus only, as `sdmi logs` asks, without the Docker socket.
import { NodeAgentCommandKinds, NodeAgentQueries, nodeService, replicaKey, type ReplicaLogsQuery, type ReplicaLogsReply } from '@sdmi/contracts';
import { describeInventory, docker, inventory, mainDocker, runId } from '@sdmi/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../../test/cluster';

const cluster = new LocalCluster('lg');
// Replica ids carry the run tag, so a concurrent run's containers on the shared dockerd are never ours.
const talk = `${cluster.tag}/talk-1@rev1`;
const big = `${cluster.tag}/big-1@rev1`;
const containers = new Map<string, string>();

// Known lines on both streams, NUL and a byte that is not UTF-8, then a few more. The pauses keep
// the order across streams: dockerd reads stdout and stderr apart and stamps a line when it reads it.
const TALK = [
  'echo hello-out',
  'sleep 0.1',
  'echo hello-err >&2',
  'sleep 0.1',
  "printf 'a\\000b\\n'",
  "printf 'bad \\377 byte\\n'",
  'for i in 1 2 3; do sleep 0.05; echo tick-$i; done',
  'sleep 3600',
].join('; ');
// A line Docker splits into 16 KiB parts, one over the 64 KiB a line may take, then 800 lines of
// about 1 KB: more than a reply's 512 KiB.
const BIG = [
  "head -c 40000 /dev/zero | tr '\\0' x; echo",
  "head -c 100000 /dev/zero | tr '\\0' y; echo",
  "i=0; while [ $i -lt 800 ]; do head -c 999 /dev/zero | tr '\\0' z; echo; i=$((i+1)); done",
  'echo last',
  'sleep 3600',
].join('; ');

const logs = (q: ReplicaLogsQuery, host = 'host-a'): Promise<ReplicaLogsReply> => cluster.client.query(nodeService(host), NodeAgentQueries.replicaLogs, q);
const failure = (p: Promise<unknown>): Promise<{ name?: string; info?: { code?: string; message?: string; path?: string; rule?: string; details?: Record<string, unknown> } }> =>
  p.then(
    () => {
      throw new Error('expected the query to be refused');
    },
    (e: unknown) => e as never,
  );
const texts = (r: ReplicaLogsReply): string[] => r.lines.map((l) => l.text);

async function runReplica(replicaId: string, script: string): Promise<void> {
  const out = await cluster.client.run(
    nodeService('host-a'),
    {
      kind: NodeAgentCommandKinds.RunReplica,
      key: replicaKey(replicaId),
      payload: { replicaId, service: replicaId.replace(/-\d+@rev\d+$/, ''), revision: 1, container: { image: 'sdmi/base:busybox', command: ['sh', '-c', script] }, interfaces: [] },
    },
    { timeoutMs: 90_000 },
  );
  containers.set(replicaId, (out.result as { containerId: string }).containerId);
}

beforeAll(async () => {
  await cluster.start();
  await runReplica(talk, TALK);
  await runReplica(big, BIG);
  await cluster.until(async () => texts(await logs({ replicaId: talk })).includes('tick-3'), 'the talk replica wrote its lines');
  await cluster.until(async () => texts(await logs({ replicaId: big, tail: 1 })).includes('last'), 'the big replica wrote its lines');
}, 180_000);

afterAll(async () => {
  await cluster.dispose();
  expect(describeInventory(await inventory({ tag: runId() }))).toBe('');
});

describe('replicaLogs on a node-agent', () => {
  it('gives stdout and stderr lines apart, oldest first, with their times, NUL and bytes that are not UTF-8 as U+FFFD', async () => {
    const r = await logs({ replicaId: talk });
    expect(r.truncated).toBe(false);
    expect(r.lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'hello-out'],
      ['stderr', 'hello-err'],
      ['stdout', 'a\uFFFDb'],
      ['stdout', 'bad \uFFFD byte'],
      ['stdout', 'tick-1'],
      ['stdout', 'tick-2'],
      ['stdout', 'tick-3'],
    ]);
    for (const l of r.lines) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const times = r.lines.map((l) => l.time);
    expect([...times].sort()).toEqual(times);
  });

  it('tail gives the last lines; since only those strictly after it, to the nanosecond; timestamps puts the time in front', async () => {
    expect(texts(await logs({ replicaId: talk, tail: 2 }))).toEqual(['tick-2', 'tick-3']);
    const all = (await logs({ replicaId: talk })).lines;
    const after = await logs({ replicaId: talk, since: all[3]!.time });
    expect(after).toEqual({ lines: all.slice(4), truncated: false });
    // With since, tail is the first lines after it, and truncated says there are more.
    expect(await logs({ replicaId: talk, since: all[3]!.time, tail: 1 })).toEqual({ lines: [all[4]], truncated: true });
    expect(await logs({ replicaId: talk, since: all.at(-1)!.time })).toEqual({ lines: [], truncated: false });
    const stamped = await logs({ replicaId: talk, tail: 1, timestamps: true });
    expect(stamped.lines).toEqual([{ ...all.at(-1)!, text: `${all.at(-1)!.time} tick-3` }]);
  });

  it('keeps a reply under 512 KiB of JSON: the last lines without since, the first after it, long lines whole up to 64 KiB', async () => {
    const last = await logs({ replicaId: big, tail: 10000 });
    expect(Buffer.byteLength(JSON.stringify(last))).toBeLessThanOrEqual(512 * 1024);
    expect(last.truncated).toBe(true);
    expect(last.lines.at(-1)!.text).toBe('last');
    expect(last.lines.length).toBeGreaterThan(400);
    expect(last.lines.slice(0, -1).every((l) => l.text === 'z'.repeat(999))).toBe(true);

    const first = await logs({ replicaId: big, since: '1970-01-01T00:00:00Z', tail: 10000 });
    expect(Buffer.byteLength(JSON.stringify(first))).toBeLessThanOrEqual(512 * 1024);
    expect(first.truncated).toBe(true);
    // Docker split it into 16 KiB parts; it comes back as the one line it was.
    expect(first.lines[0]!.text).toBe('x'.repeat(40000));
    expect(first.lines[1]!.text).toBe('y'.repeat(64 * 1024 - 2));
    expect(first.lines[2]!.text).toBe('z'.repeat(999));
    // A reader that asks on from the last line's time gets every line once.
    let since = first.lines.at(-1)!.time;
    let count = first.lines.length;
    for (let more = first.truncated; more; ) {
      const next = await logs({ replicaId: big, since, tail: 10000 });
      count += next.lines.length;
      since = next.lines.at(-1)?.time ?? since;
      more = next.truncated;
    }
    expect(count).toBe(2 + 800 + 1);
  });

  it('fails with REPLICA_NOT_FOUND, naming replica and node, for a replica the node does not run', async () => {
    const ghost = `${cluster.tag}/ghost-1@rev1`;
    expect(await failure(logs({ replicaId: ghost }))).toMatchObject({ name: 'QueryFailed', info: { code: 'REPLICA_NOT_FOUND', message: `node host-a runs no replica ${ghost}`, details: { replicaId: ghost, node: 'host-a' } } });
    // Running on another node is not running here.
    expect(await failure(logs({ replicaId: talk }, 'host-b'))).toMatchObject({ info: { code: 'REPLICA_NOT_FOUND', message: `node host-b runs no replica ${talk}` } });
  });

  it('refuses a query off its schema at the agent, naming the field and the rule', async () => {
    const reply = await cluster.client.queryRaw(nodeService('host-a'), NodeAgentQueries.replicaLogs.name, JSON.stringify({ replicaId: talk, tail: 0 }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'SCHEMA_VIOLATION', path: '/tail', rule: 'minimum' } });
    // The client refuses it before sending, with the same words.
    expect(await failure(logs({ replicaId: talk, tail: 0 }))).toMatchObject({ name: 'BadMessage', info: { code: 'SCHEMA_VIOLATION', path: '/tail', rule: 'minimum' } });
  });

  it('still reads a stopped container; a removed one is REPLICA_NOT_FOUND', async () => {
    const id = containers.get(talk)!;
    await docker(mainDocker, ['stop', '-t', '0', id]);
    expect(texts(await logs({ replicaId: talk, tail: 3 }))).toEqual(['tick-1', 'tick-2', 'tick-3']);
    await docker(mainDocker, ['rm', '-f', id]);
    expect(await failure(logs({ replicaId: talk }))).toMatchObject({ info: { code: 'REPLICA_NOT_FOUND', details: { replicaId: talk, node: 'host-a', state: 'missing' } } });
  });
});
