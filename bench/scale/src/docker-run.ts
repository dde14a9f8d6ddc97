// The plain-Docker peer: `docker run -d --network none` of N containers on the machine's dockerd,
// one after the other or all at once. `docker run -d` returns once the container has started, so
// the time until the last CLI returns is the time until N run; the bench checks that they do
// (outside the timed part) before it removes them.
import { performance } from 'node:perf_hooks';
import { type DockerEndpoint, docker, run, testName } from '@sdmi/testbed';
import { containersWithLabel } from './engine';

export const BENCH_LABEL = 'sdmi.bench';

export interface DockerRunResult {
  n: number;
  ms: number;
  removeMs: number;
}

export class DockerRunPeer {
  constructor(
    private readonly endpoint: DockerEndpoint & { socketPath: string },
    private readonly image: string,
    /** The label value that marks this run's containers, for the clean-up. */
    private readonly tag: string,
  ) {}

  private runOne(): Promise<string> {
    // Names carry the run tag, so a leftover is recognisable as ours.
    return docker(this.endpoint, ['run', '-d', '--network', 'none', '--label', `${BENCH_LABEL}=${this.tag}`, '--name', testName('c'), this.image, 'sleep', '3600'], { timeoutMs: 300_000 }).then((out) => out.trim());
  }

  async measure(n: number, parallel: boolean, signal: AbortSignal): Promise<DockerRunResult> {
    const t0 = performance.now();
    if (parallel) await Promise.all(Array.from({ length: n }, () => this.runOne()));
    else
      for (let i = 0; i < n; i++) {
        if (signal.aborted) throw new Error('docker run in sequence: interrupted');
        await this.runOne();
      }
    const ms = performance.now() - t0;
    const running = (await this.mine(true)).length;
    if (running !== n) throw new Error(`docker run ${parallel ? 'in parallel' : 'in sequence'}: ${running} of ${n} containers running after the last docker run returned`);
    const r0 = performance.now();
    await this.removeAll();
    return { n, ms, removeMs: performance.now() - r0 };
  }

  private async mine(running = false): Promise<string[]> {
    return (await containersWithLabel(this.endpoint.socketPath, `${BENCH_LABEL}=${this.tag}`, { all: !running, running })).map((c) => c.Id);
  }

  /** Removes every container of this run (also after a failure half way). */
  async removeAll(): Promise<void> {
    const ids = await this.mine();
    for (let i = 0; i < ids.length; i += 25) await run('docker', ['-H', this.endpoint.host, 'rm', '-f', ...ids.slice(i, i + 25)], { timeoutMs: 300_000 });
  }

  async leftovers(): Promise<string[]> {
    return this.mine();
  }
}
