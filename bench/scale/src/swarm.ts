// A single-node Docker Swarm of our own, for the peer measurement: a testbed dockerd (its own data
// root, exec root, containerd and socket), started inside a network namespace of our own, and
// `docker swarm init` on it with loopback as its address.
//
// Why the namespace: Swarm accepts 127.0.0.1 as advertise and listen address (Docker 20.10 here),
// but `swarm init` also creates the `docker_gwbridge` bridge (an address in 172.16/12) and an
// ingress sandbox, and listens on 7946 (gossip) and 4789 (VXLAN), all in the daemon's network
// namespace. In the machine's namespace that would leave a bridge with a fixed, non-unique name
// behind and take ports other work may use. Inside our namespace all of it, and all of Swarm's
// traffic, stays on that namespace's loopback and goes with the namespace.
//
// The testbed's DockerHost has no option for a namespace, so the bench hands it a `dockerd` of
// its own on PATH for the moment of the start: a script that enters the namespace with nsenter
// (network namespace only: the daemon's mounts stay in the machine's mount namespace, where the
// DockerHost's teardown unmounts them) and execs the real dockerd, so the pid the DockerHost
// watches and stops is the daemon's own.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DockerHost, type NetNamespace, type Testbed, buildBaseImage, docker, run, testName, tryRun } from '@sdmi/testbed';
import { allContainers, serviceTasks } from './engine';

export class SwarmHost {
  private constructor(
    readonly daemon: DockerHost,
    readonly ns: NetNamespace,
  ) {}

  /** Everything is tracked by `tb`: disposing it leaves the swarm, stops the daemon and removes the namespace. */
  static async start(tb: Testbed, image: string): Promise<SwarmHost> {
    const ns = await tb.namespace();
    const bin = join(tmpdir(), testName('w'));
    mkdirSync(bin, { mode: 0o700 });
    tb.defer(`dockerd wrapper ${bin}`, () => rmSync(bin, { recursive: true, force: true }));
    const dockerd = (await run('sh', ['-c', 'command -v dockerd'])).trim();
    // DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 (as Docker's own integration tests run their daemons):
    // the service's image is a local one, and the daemon must not go to a registry to pin its digest.
    writeFileSync(
      join(bin, 'dockerd'),
      `#!/bin/sh\nexport DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1\nexec nsenter --net=/run/netns/${ns.name} -- ${dockerd} "$@"\n`,
    );
    chmodSync(join(bin, 'dockerd'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ''}`;
    let daemon: DockerHost;
    try {
      daemon = await tb.dockerHost();
    } finally {
      process.env.PATH = path;
    }
    // Leave the swarm before the daemon is stopped (the DockerHost was tracked first, so this runs first).
    tb.defer('swarm leave', () => tryRun('docker', ['-H', daemon.host, 'swarm', 'leave', '--force'], { timeoutMs: 30_000 }));
    const inNs = (await run('readlink', [`/proc/${daemon.pid}/ns/net`])).trim();
    const mine = (await run('readlink', ['/proc/self/ns/net'])).trim();
    if (inNs === mine) throw new Error(`the Swarm dockerd (pid ${daemon.pid}) is not in namespace ${ns.name}`);
    await buildBaseImage(daemon, { tag: image });
    await docker(daemon, ['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377'], { timeoutMs: 60_000 });
    return new SwarmHost(daemon, ns);
  }

  /**
   * `docker service create --replicas n` of `sleep 3600`, detached, without networks: Swarm refuses
   * `--network none` ("network none not found"), and a task with no network and no published port
   * gets no interface but lo on a daemon started with --bridge=none (the testbed's), which is the
   * closest to `--network none` Swarm takes. --no-resolve-image: no registry look-up either.
   */
  async createService(name: string, image: string, replicas: number): Promise<void> {
    await docker(this.daemon, ['service', 'create', '--detach', '--no-resolve-image', '--name', name, '--replicas', String(replicas), image, 'sleep', '3600'], { timeoutMs: 120_000 });
  }

  /** Tasks of the service whose container runs. */
  async running(name: string): Promise<number> {
    return (await serviceTasks(this.daemon.socketPath, name)).filter((t) => t.Status.State === 'running').length;
  }

  /** Containers that run on the Swarm's daemon. */
  async runningContainers(): Promise<number> {
    return (await allContainers(this.daemon.socketPath)).filter((c) => c.State === 'running').length;
  }

  /** Removes the service and waits until the daemon holds no container. */
  async removeService(name: string, timeoutMs = 180_000): Promise<void> {
    await tryRun('docker', ['-H', this.daemon.host, 'service', 'rm', name], { timeoutMs: 60_000 });
    const end = Date.now() + timeoutMs;
    while ((await allContainers(this.daemon.socketPath)).length > 0) {
      if (Date.now() > end) throw new Error(`Swarm service ${name}: containers still there ${timeoutMs} ms after service rm`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The daemon's own interfaces and sockets, to show that Swarm stays inside the namespace. */
  async describeNamespace(): Promise<string> {
    const links = (await this.ns.exec(['ip', '-o', 'link'])).split('\n').filter(Boolean).map((l) => l.split(': ')[1]?.split('@')[0]).join(' ');
    const listen = (await this.ns.exec(['ss', '-Hlntu'])).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[4]).join(' ');
    return `links: ${links}; listening: ${listen}`;
  }
}
