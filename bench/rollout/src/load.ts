// The load both sides get: one client container requesting the service without pause, each
// request a new TCP connection (busybox wget), so every request goes through the balancer's choice
// of backend. busybox-static's own `wget -T` crashes, so timeout(1) bounds each request at 2 s.
// Every answer line is stamped when it reaches us, so a window of the run can be counted afterwards.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { run } from '@sdmi/testbed';

export const FAIL = 'FAIL';

export interface Line {
  at: number;
  body: string;
}

export interface Counts {
  requests: number;
  failed: number;
  /** The distinct bodies seen (versions), FAIL excluded. */
  bodies: string[];
}

export function count(lines: readonly Line[], from: number, to: number): Counts {
  const inside = lines.filter((l) => l.at >= from && l.at < to);
  return {
    requests: inside.length,
    failed: inside.filter((l) => l.body === FAIL).length,
    bodies: [...new Set(inside.filter((l) => l.body !== FAIL).map((l) => l.body))].sort(),
  };
}

export class Load {
  readonly lines: Line[] = [];
  readonly #done: Promise<void>;
  #stderr = '';

  /** `host` is the docker CLI's -H of the daemon holding the client container; `target` an address or a name. */
  constructor(
    private readonly host: string,
    private readonly containerId: string,
    target: string,
  ) {
    const loop = `rm -f /tmp/stop; while [ ! -e /tmp/stop ]; do timeout 2 wget -q -O - http://${target}:8080/ 2>/dev/null || echo ${FAIL}; done`;
    const p = spawn('docker', ['-H', host, 'exec', containerId, 'sh', '-c', loop], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    p.stdout.on('data', (d: Buffer) => {
      const at = performance.now();
      const parts = (rest + d.toString()).split('\n');
      rest = parts.pop() ?? '';
      for (const body of parts) if (body.trim()) this.lines.push({ at, body: body.trim() });
    });
    p.stderr.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-2000)));
    this.#done = new Promise((resolve) => p.on('close', () => resolve()));
  }

  /** Resolves once `n` answers of `body` came in a row (the service is up and the load flows), or rejects after `timeoutMs`. */
  async warm(body: string, n: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const tail = this.lines.slice(-n);
      if (tail.length === n && tail.every((l) => l.body === body)) return;
      if (signal.aborted) throw new Error('interrupted');
      if (performance.now() > end) throw new Error(`load: not ${n} answers of ${body} in a row within ${timeoutMs} ms; last: ${this.lines.slice(-5).map((l) => l.body).join(' ')}; stderr: ${this.#stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await run('docker', ['-H', this.host, 'exec', this.containerId, 'touch', '/tmp/stop'], { timeoutMs: 30_000 }).catch(() => undefined);
    await Promise.race([this.#done, new Promise((r) => setTimeout(r, 10_000))]);
  }
}
