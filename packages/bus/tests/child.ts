import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./workers/worker.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** A worker process started by a test, with what it printed. */
export class WorkerProcess {
  readonly child: ChildProcess;
  role = '';
  stats: Record<string, number> = {};
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(config: Record<string, unknown>) {
    // node itself (not the tsx wrapper, which would stand between us and the signal) runs it.
    this.child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, SDMI_TEST_WORKER: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('ROLE ')) this.role = line.slice(5);
        else if (line.startsWith('STATS ')) this.stats = JSON.parse(line.slice(6)) as Record<string, number>;
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  async until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`worker exited while waiting for ${what}: ${this.stderr}`);
      if (Date.now() > end) throw new Error(`worker: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
