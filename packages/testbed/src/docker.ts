import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonNotReady } from './errors';
import { run, tryRun } from './exec';
import type { RunOptions } from './exec';
import { testName } from './names';
import { findProcesses, removeTree, terminate } from './procs';
import { Resource, allSteps } from './resource';

/** Where a Docker daemon listens: a `docker -H` value such as `unix:///var/run/docker.sock`. */
export interface DockerEndpoint {
  readonly host: string;
}

/** The machine's main dockerd (`SDMI_DOCKER_HOST` overrides). */
export const mainDocker: DockerEndpoint = {
  host: process.env.SDMI_DOCKER_HOST ?? 'unix:///var/run/docker.sock',
};

/** Runs the docker CLI against an endpoint and resolves with its stdout. */
export function docker(endpoint: DockerEndpoint, args: readonly string[], options?: RunOptions): Promise<string> {
  return run('docker', ['-H', endpoint.host, ...args], options);
}

/** Whether the daemon behind a unix socket answers `GET /_ping` with OK. */
export function dockerPing(socketPath: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'OK'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface DockerHostOptions {
  /** How long to wait for the daemon to answer; default 60 s. */
  readyTimeoutMs?: number;
  /** More dockerd flags, e.g. `['--debug']`. */
  args?: readonly string[];
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * An extra Docker daemon, as one more "Docker host" on this machine: its own data root, exec root
 * (with its own containerd), pidfile and socket under `/tmp/sdmi-<tag>-d<n>/`, no default bridge
 * and no iptables. Dispose removes its containers, stops it (SIGTERM, then SIGKILL), kills anything
 * still running from its directory (containerd, shims), unmounts and deletes the directory.
 */
export class DockerHost extends Resource implements DockerEndpoint {
  readonly host: string;
  readonly socketPath: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly pidFile: string;
  readonly logFile: string;
  #pid: number | undefined;

  private constructor(
    readonly name: string,
    readonly dir: string,
  ) {
    super();
    this.socketPath = join(dir, 'docker.sock');
    this.host = `unix://${this.socketPath}`;
    this.dataRoot = join(dir, 'data');
    this.execRoot = join(dir, 'exec');
    this.pidFile = join(dir, 'dockerd.pid');
    this.logFile = join(dir, 'dockerd.log');
  }

  /** Pid of the dockerd process. */
  get pid(): number | undefined {
    return this.#pid;
  }

  static async start(options: DockerHostOptions = {}): Promise<DockerHost> {
    const name = testName('d');
    const dir = join(tmpdir(), name);
    mkdirSync(dir, { mode: 0o700 });
    const host = new DockerHost(name, dir);
    try {
      await host.#launch(options);
      return host;
    } catch (e) {
      await host.dispose().catch(() => {});
      throw e;
    }
  }

  async #launch(options: DockerHostOptions): Promise<void> {
    const args = [
      '--data-root', this.dataRoot,
      '--exec-root', this.execRoot,
      '--pidfile', this.pidFile,
      '-H', this.host,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      ...(options.args ?? []),
    ];
    const log = openSync(this.logFile, 'a');
    let exited: string | undefined;
    try {
      const child = spawn('dockerd', args, { detached: true, stdio: ['ignore', log, log] });
      child.on('error', (e) => (exited = e.message));
      child.on('exit', (code, sig) => (exited = `dockerd exited (${sig ?? code})`));
      child.unref();
      this.#pid = child.pid;
    } finally {
      closeSync(log);
    }
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (exited) throw new DaemonNotReady(`dockerd ${this.name}`, exited, tail(this.logFile));
      if (await dockerPing(this.socketPath)) return;
      if (Date.now() >= deadline) throw new DaemonNotReady(`dockerd ${this.name}`, 'no answer on its socket in time', tail(this.logFile));
      await sleep(200);
    }
  }

  /** Runs the docker CLI against this daemon. */
  docker(...args: string[]): Promise<string> {
    return docker(this, args);
  }

  /** The last lines of the daemon's log. */
  logTail(lines = 20): string {
    return tail(this.logFile, lines);
  }

  protected async teardown(): Promise<void> {
    await allSteps([
      async () => {
        if (!(await dockerPing(this.socketPath))) return;
        const ids = (await this.docker('ps', '-aq')).split('\n').filter(Boolean);
        if (ids.length) await tryRun('docker', ['-H', this.host, 'rm', '-f', '-v', ...ids]);
      },
      async () => {
        if (this.#pid !== undefined) await terminate(this.#pid);
      },
      async () => {
        const inDir = (arg: string) => arg.includes(`${this.dir}/`);
        for (const p of findProcesses(inDir)) await terminate(p.pid, 2_000);
      },
      () => removeTree(this.dir),
    ]);
  }
}

/** Starts a {@link DockerHost}. */
export function startDockerHost(options?: DockerHostOptions): Promise<DockerHost> {
  return DockerHost.start(options);
}
