import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RdmpClient } from '../src/index';
import { WorkerProcess } from './child';
import { busFixture, type BusFixture } from './fixture';

// A 4-step transaction (reserve, create, attach, announce) whose steps write files outside the
// database. The worker process SIGKILLs itself at each point below; the next worker process must
// finish or undo what it left, before it takes new work.
type Kill = { at: 'doing' | 'done' | 'undoing' | 'undone'; step: number };
interface Case { key: string; kill: Kill; failAt?: number; expect: 'completed' | 'failed' }

const cases: Case[] = [
  ...[0, 1, 2, 3].map((k): Case => ({ key: `done-${k + 1}`, kill: { at: 'done', step: k }, expect: 'completed' })),
  // Killed inside step k after its effect happened but before it was recorded: in doubt.
  ...[0, 1, 2, 3].map((k): Case => ({ key: `doing-${k + 1}`, kill: { at: 'doing', step: k }, expect: 'completed' })),
  // Step 4 fails; killed while undoing, after each undo was recorded.
  { key: 'undoing-4', kill: { at: 'undoing', step: 3 }, failAt: 3, expect: 'failed' },
  ...[3, 2, 1, 0].map((k): Case => ({ key: `undone-${k + 1}`, kill: { at: 'undone', step: k }, failAt: 3, expect: 'failed' })),
];

let f: BusFixture;
let dir: string;
let client: RdmpClient;
const service = 'provisioner';

beforeAll(async () => {
  f = await busFixture();
  dir = mkdtempSync(join(tmpdir(), 'sdmi-txn-'));
  client = new RdmpClient(f.nc, { names: f.names, retries: 10 });
});
afterAll(async () => {
  await f?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const config = (kill?: Case) => ({
  prefix: f.tag,
  dbUrl: f.dbUrl,
  service,
  endpoint: `w${kill?.key ?? 'final'}`,
  fileDir: dir,
  ackWaitMs: 1_000,
  ...(kill ? { kill: { key: kill.key, ...kill.kill } } : {}),
});

describe('transactions survive SIGKILL at every step', () => {
  it('each transaction ends fully committed or fully compensated', async () => {
    const ids = new Map<string, string>();
    for (const c of cases) {
      const w = new WorkerProcess(config(c));
      await w.until(() => w.role === 'leader', 'leadership');
      const receipt = await client.submit(service, { kind: 'provision', key: c.key, payload: c.failAt !== undefined ? { failAt: c.failAt } : {} });
      ids.set(c.key, receipt.taskId);
      const exit = await w.exited;
      expect(exit.signal, `case ${c.key}: ${w.stderr}`).toBe('SIGKILL');
    }
    // The last victim is recovered by a worker that is not killed.
    const final = new WorkerProcess(config());
    try {
      await final.until(() => final.role === 'leader', 'leadership');
      for (const c of cases) {
        const [outcome] = await client.wait(service, ids.get(c.key)!, { timeoutMs: 30_000 });
        const files = readdirSync(dir).filter((n) => n.startsWith(`${c.key}.`)).sort();
        const status = await client.status(service, ids.get(c.key)!);
        const states = status.records[0]!.steps!.map((s) => s.state);
        if (c.expect === 'completed') {
          expect(outcome!.status, c.key).toBe('completed');
          expect(files, c.key).toEqual([0, 1, 2, 3].map((i) => `${c.key}.${i}`));
          expect(states, c.key).toEqual(['done', 'done', 'done', 'done']);
        } else {
          expect(outcome!.status, c.key).toBe('failed');
          expect(outcome!.error, c.key).toMatchObject({ code: 'STEP_FAILED', message: 'step 4/4 "announce" failed: no room for announce' });
          expect(files, c.key).toEqual([]);
          expect(states, c.key).toEqual(['undone', 'undone', 'undone', 'undone']);
        }
      }
    } finally {
      final.kill('SIGTERM');
      await final.exited;
    }
  });

  it('without a crash, a failing step undoes the steps before it', async () => {
    const w = new WorkerProcess(config());
    try {
      await w.until(() => w.role === 'leader', 'leadership');
      const ok = await client.run(service, { kind: 'provision', key: 'plain-ok', payload: {} });
      expect(ok.status).toBe('completed');
      expect(existsSync(join(dir, 'plain-ok.3'))).toBe(true);
      const err = await client.run(service, { kind: 'provision', key: 'plain-fail', payload: { failAt: 2 } }).catch((e: unknown) => e);
      expect((err as { info: unknown }).info).toMatchObject({ code: 'STEP_FAILED', details: { step: 'attach', index: 2, cause: { code: 'DISK_FULL' } } });
      expect(readdirSync(dir).filter((n) => n.startsWith('plain-fail.'))).toEqual([]);
    } finally {
      w.kill('SIGTERM');
      await w.exited;
    }
  });
});
