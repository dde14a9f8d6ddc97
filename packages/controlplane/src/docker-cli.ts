// The control plane drives Docker through its CLI: `docker build` has no other client here, and
// one way of talking to the daemon for building, running and removing keeps errors alike.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { DockerCommandError } from './errors';

export interface DockerRunOptions {
  /** The daemon (`-H`); default the CLI's own (DOCKER_HOST, else the local socket). */
  host?: string | undefined;
  /** Kill the command after this long. Default 60 s. */
  timeoutMs?: number;
  /** Environment of the CLI (over this process's): what `-e NAME` without a value passes on. */
  env?: Readonly<Record<string, string>>;
  /** A file to feed the command's stdin, e.g. a build context as a tar. */
  stdinFile?: string;
  /** Each line of output (stdout and stderr) as it comes, e.g. for build progress. */
  onLine?: (line: string) => void;
}

export interface DockerResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs `docker <args>` and resolves with its outcome whatever the exit code. */
export function tryDocker(args: readonly string[], options: DockerRunOptions = {}): Promise<DockerResult> {
  const argv = options.host !== undefined ? ['-H', options.host, ...args] : [...args];
  return new Promise((resolve, reject) => {
    const child = spawn('docker', argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    child.stdin.on('error', () => undefined); // it may exit without reading all of it; its exit code says why
    if (options.stdinFile === undefined) child.stdin.end();
    else {
      const input = createReadStream(options.stdinFile);
      input.on('error', (e) => {
        child.kill('SIGKILL');
        reject(new DockerCommandError(argv, null, e.message, { cause: e }));
      });
      input.pipe(child.stdin);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let partial = '';
    const lines = (b: Buffer) => {
      if (options.onLine === undefined) return;
      const text = partial + b.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) if (l.trim() !== '') options.onLine(l);
    };
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      lines(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      lines(b);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new DockerCommandError(argv, null, e.message, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (partial.trim() !== '') options.onLine?.(partial);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code });
    });
  });
}

/** Runs `docker <args>` and resolves with its trimmed stdout; rejects with DockerCommandError unless it exits 0. */
export async function docker(args: readonly string[], options: DockerRunOptions = {}): Promise<string> {
  const r = await tryDocker(args, options);
  if (r.code !== 0) {
    throw new DockerCommandError(options.host !== undefined ? ['-H', options.host, ...args] : args, r.code, r.stderr.trim() || r.stdout.trim());
  }
  return r.stdout.trim();
}

/** Whether the daemon has an image by this name. */
export async function imageExists(tag: string, host?: string): Promise<boolean> {
  return (await tryDocker(['image', 'inspect', '--format', '{{.Id}}', tag], { host })).code === 0;
}
