import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandFailed, DaemonNotReady } from './errors';
import { run, tryRun } from './exec';
import type { RunOptions, RunResult } from './exec';
import { checkIfName, testName } from './names';
import { removeNamespace } from './netns';
import type { NetNamespace } from './netns';
import { FailMode } from './ovs';
import type { PortOptions } from './ovs';
import { findProcesses, removeTree, terminate } from './procs';
import { Resource, allSteps } from './resource';

/** Where Debian's openvswitch-common puts the schema of the Open_vSwitch database. */
const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface OvsHostOptions {
  /**
   * OpenFlow controller target(s) for bridges created with `bridge()`, e.g. `unix:/tmp/x/of.sock`
   * (a unix socket in the ROOT namespace's file system is reachable from inside the netns: file
   * systems are shared, networks are not). ovs-vswitchd refuses `unix:` controllers outside its run
   * dir, so such a socket is reached through a symlink `<dir>/ctl<n>.sock` (see `controller`). A
   * `tcp:127.0.0.1:…` target would be the namespace's own loopback, not the machine's.
   */
  controller?: string | readonly string[];
  /** How long to wait for the two daemons to answer; default 30 s. */
  readyTimeoutMs?: number;
}

export interface HostBridgeOptions {
  /** Default `secure` (the SDMI data plane). */
  failMode?: FailMode;
  /** Controller target(s); default the host's `controller` option; `null` for none. */
  controller?: string | readonly string[] | null;
  /** Default `['OpenFlow13']`. */
  protocols?: readonly string[];
  /** Bridge `other_config` entries, e.g. `{ 'datapath-id': '0000000000000001' }`. */
  otherConfig?: Readonly<Record<string, string>>;
}

export interface LinkOptions {
  /** Add this instance's end as a port of this bridge (of this instance). */
  bridge?: string;
  /** Add the other instance's end as a port of this bridge (of the other instance). */
  otherBridge?: string;
}

/** A veth pair between two instances' namespaces: `local` lives in this one, `remote` in the other. */
export interface HostLink {
  readonly local: string;
  readonly remote: string;
}

/** The pid files, logs and sockets of one daemon, all in the instance's directory. */
interface Daemon {
  readonly program: 'ovsdb-server' | 'ovs-vswitchd';
  readonly pidFile: string;
  readonly logFile: string;
  readonly unixctl: string;
}

function daemon(dir: string, program: Daemon['program']): Daemon {
  return {
    program,
    pidFile: join(dir, `${program}.pid`),
    logFile: join(dir, `${program}.log`),
    unixctl: join(dir, `${program}.ctl`),
  };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * A complete Open vSwitch — its own ovsdb-server and ovs-vswitchd — inside a network namespace
 * `sdmi-<tag>-<n>`: one more "Docker host" that shares no L2 fabric with the others, so that
 * tunnels (userspace VXLAN on the netdev datapath) have VTEP addresses that exist only inside our
 * namespaces. Database, pid files, logs and control sockets live in `/tmp/sdmi-<tag>-o<n>/`, and
 * `OVS_RUNDIR`/`OVS_DBDIR`/`OVS_LOGDIR` point there for every daemon and CLI call, so nothing reaches
 * the machine's own OVS in /var/run/openvswitch. Dispose stops both daemons (SIGTERM, then
 * SIGKILL), removes the namespace (with every bridge tap and veth end in it) and the directory.
 */
export class OvsInNamespace extends Resource {
  /** Unix socket of this instance's ovsdb-server; product code connects to `unix:` + this. */
  readonly dbSocket: string;
  /** The Open_vSwitch database file. */
  readonly dbFile: string;
  /** ovs-vswitchd's control socket (for `ovs-appctl -t`). */
  readonly unixctl: string;
  readonly #controllerTargets: readonly string[];
  /** Symlinks made in the run dir for `unix:` controllers elsewhere: socket path → link. */
  readonly #controllerLinks = new Map<string, string>();
  readonly #env: string[];
  readonly #server: Daemon;
  readonly #switch: Daemon;

  private constructor(
    readonly name: string,
    readonly dir: string,
    controller: readonly string[],
  ) {
    super();
    this.dbSocket = join(dir, 'db.sock');
    this.dbFile = join(dir, 'conf.db');
    this.#server = daemon(dir, 'ovsdb-server');
    this.#switch = daemon(dir, 'ovs-vswitchd');
    this.unixctl = this.#switch.unixctl;
    this.#controllerTargets = controller;
    // The CLIs look in the run dir for sockets and pid files by default: point every default here.
    this.#env = [`OVS_RUNDIR=${dir}`, `OVS_DBDIR=${dir}`, `OVS_LOGDIR=${dir}`];
  }

  static async create(options: OvsHostOptions = {}): Promise<OvsInNamespace> {
    const name = testName();
    // Same counter as the namespace, so `sdmi-t3f9a-5` keeps its files in `/tmp/sdmi-t3f9a-o5/`.
    const dir = join(tmpdir(), name.replace(/-([0-9a-z]+)$/, '-o$1'));
    const controller = options.controller === undefined ? [] : [options.controller].flat();
    const host = new OvsInNamespace(name, dir, controller);
    // Outside the try: if the directory cannot be made, it is not ours to remove.
    mkdirSync(dir, { mode: 0o700 });
    try {
      await run('ip', ['netns', 'add', name]);
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
      await host.#ovs('ovsdb-tool', ['create', host.dbFile, VSWITCH_SCHEMA]);
      await host.#start(host.#server, [host.dbFile, `--remote=punix:${host.dbSocket}`]);
      await host.#ovs('ovs-vsctl', [`--db=unix:${host.dbSocket}`, '--timeout=10', '--no-wait', 'init']);
      await host.#start(host.#switch, [`unix:${host.dbSocket}`]);
      await host.#awaitSwitch(options.readyTimeoutMs ?? 30_000);
      for (const target of controller) host.#reachable(target);
      return host;
    } catch (e) {
      await host.dispose().catch(() => {});
      throw e;
    }
  }

  /** Runs an OVS program in the root namespace with this instance's OVS_* directories. */
  #ovs(program: string, args: readonly string[], options?: RunOptions): Promise<string> {
    return run('env', [...this.#env, program, ...args], options);
  }

  /**
   * Starts a daemon inside the namespace. `--detach` returns once it is initialised (the parent
   * waits for the child's signal), and the daemon closes the inherited pipes, so `run` resolves.
   */
  async #start(d: Daemon, args: readonly string[]): Promise<void> {
    const argv = [
      'netns', 'exec', this.name, 'env', ...this.#env, d.program, ...args,
      `--pidfile=${d.pidFile}`,
      `--unixctl=${d.unixctl}`,
      `--log-file=${d.logFile}`,
      '-vconsole:off',
      '-vsyslog:off',
      '--no-chdir',
      '--detach',
    ];
    try {
      await run('ip', argv);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new DaemonNotReady(`${d.program} ${this.name}`, reason, tail(d.logFile, 20), { cause: e });
    }
  }

  async #awaitSwitch(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await tryRun('env', [...this.#env, 'ovs-appctl', '-t', this.unixctl, 'version'], { timeoutMs: 5_000 });
      if (r.exitCode === 0) return;
      if (Date.now() >= deadline) {
        throw new DaemonNotReady(`ovs-vswitchd ${this.name}`, `no answer on ${this.unixctl} in time: ${r.stderr.trim()}`, tail(this.#switch.logFile, 20));
      }
      await sleep(200);
    }
  }

  /**
   * The controller targets bridges get by default, as ovs-vswitchd sees them: a `unix:` socket
   * outside {@link dir} appears as its symlink in {@link dir}.
   */
  get controller(): string[] {
    return this.#controllerTargets.map((t) => this.#reachable(t));
  }

  /**
   * ovs-vswitchd connects to `unix:` controllers only inside its run dir ("possibility for remote
   * exploit"), and checks the path by name, not by what it resolves to: a symlink in the run dir to
   * the controller's socket is accepted, and connect() follows it.
   */
  #reachable(target: string): string {
    if (!target.startsWith('unix:')) return target;
    const path = resolve(target.slice('unix:'.length));
    if (path.startsWith(`${this.dir}/`)) return target;
    let link = this.#controllerLinks.get(path);
    if (link === undefined) {
      link = join(this.dir, `ctl${this.#controllerLinks.size + 1}.sock`);
      symlinkSync(path, link);
      this.#controllerLinks.set(path, link);
    }
    return `unix:${link}`;
  }

  /** `ovs-vsctl --db=unix:<dbSocket> --timeout=10 …args` against this instance's database. */
  vsctl(...args: string[]): Promise<string> {
    return this.#ovs('ovs-vsctl', [`--db=unix:${this.dbSocket}`, '--timeout=10', ...args]);
  }

  /**
   * `ovs-ofctl -O OpenFlow13 <command> unix:<dir>/<bridge>.mgmt …args`: the bridge's management
   * socket in this instance's run dir, so the call can never reach a same-named bridge elsewhere.
   */
  ofctl(command: string, bridge: string, ...args: string[]): Promise<string> {
    const target = `unix:${join(this.dir, `${checkIfName(bridge)}.mgmt`)}`;
    return this.#ovs('ovs-ofctl', ['-O', 'OpenFlow13', command, target, ...args]);
  }

  /** The bridge's flows as `ovs-ofctl dump-flows` lines (header removed). */
  async dumpFlows(bridge: string): Promise<string[]> {
    const out = await this.ofctl('dump-flows', bridge);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('OFPST_FLOW') && !l.startsWith('NXST_FLOW'));
  }

  /** `ovs-appctl -t <this ovs-vswitchd's control socket> …args`, e.g. `dpctl/dump-flows`. */
  appctl(...args: string[]): Promise<string> {
    return this.#ovs('ovs-appctl', ['-t', this.unixctl, ...args]);
  }

  /** Runs a command inside the namespace: an argv array, or a string for `sh -c`. Resolves with stdout. */
  async exec(command: string | readonly string[], options?: RunOptions): Promise<string> {
    const r = await this.tryExec(command, options);
    if (r.exitCode !== 0) throw new CommandFailed('ip', this.#argv(command), r.exitCode, r.signal, r.stderr);
    return r.stdout;
  }

  /** Like {@link exec} but resolves with the outcome whatever the exit code. */
  tryExec(command: string | readonly string[], options?: RunOptions): Promise<RunResult> {
    return tryRun('ip', this.#argv(command), options);
  }

  #argv(command: string | readonly string[]): string[] {
    return ['netns', 'exec', this.name, ...(typeof command === 'string' ? ['sh', '-c', command] : command)];
  }

  /**
   * Creates a bridge in this instance on the userspace datapath (`datapath_type=netdev`), `secure`
   * and connected to the host's controller unless told otherwise; resolves with its name. Its
   * internal interface (a tap of the same name) appears inside the namespace, down.
   */
  async bridge(name: string, options: HostBridgeOptions = {}): Promise<string> {
    checkIfName(name);
    const protocols = options.protocols ?? ['OpenFlow13'];
    const requested = options.controller === null ? [] : options.controller === undefined ? this.#controllerTargets : [options.controller].flat();
    const controllers = requested.map((t) => this.#reachable(t));
    const settings = [
      'datapath_type=netdev',
      `fail_mode=${options.failMode ?? FailMode.Secure}`,
      `protocols=${protocols.join(',')}`,
      ...Object.entries(options.otherConfig ?? {}).map(([k, v]) => `other_config:${k}=${v}`),
    ];
    await this.vsctl(
      'add-br', name, '--', 'set', 'Bridge', name, ...settings,
      ...(controllers.length ? ['--', 'set-controller', name, ...controllers] : []),
    );
    return name;
  }

  /** Adds an interface of this namespace (a veth end) as a port of one of this instance's bridges. */
  async addPort(bridge: string, ifname: string, options: PortOptions = {}): Promise<void> {
    const ofport = options.ofport === undefined ? [] : ['--', 'set', 'Interface', ifname, `ofport_request=${options.ofport}`];
    await this.vsctl('add-port', checkIfName(bridge), checkIfName(ifname), ...ofport);
  }

  /**
   * Links this instance's namespace to another's with a veth pair `sdmi-<tag>-v<n>` (here) /
   * `…p` (there), both up, optionally each added to a bridge: the underlay wire between two hosts.
   */
  async linkTo(other: OvsInNamespace, options: LinkOptions = {}): Promise<HostLink> {
    const local = checkIfName(testName('v'));
    const remote = checkIfName(`${local}p`);
    // Created straight in the two namespaces: the names never exist in the root namespace.
    await run('ip', ['link', 'add', local, 'netns', this.name, 'type', 'veth', 'peer', 'name', remote, 'netns', other.name]);
    await this.#preparePort(local);
    await other.#preparePort(remote);
    if (options.bridge) await this.addPort(options.bridge, local);
    if (options.otherBridge) await other.addPort(options.otherBridge, remote);
    return { local, remote };
  }

  /**
   * Moves the host end of a {@link NetNamespace} (its `hostIf`) into this namespace and adds it as
   * a port of `bridge`: the namespace becomes a container-to-be on this host. Disposing the
   * NetNamespace still removes the pair (its netns takes the veth with it).
   */
  async attach(ns: NetNamespace, bridge: string, options: PortOptions = {}): Promise<void> {
    await run('ip', ['link', 'set', ns.hostIf, 'netns', this.name]);
    await this.#preparePort(ns.hostIf);
    await this.addPort(bridge, ns.hostIf, options);
  }

  /**
   * Brings a future OVS port up and keeps this namespace's kernel off it: on the netdev datapath the
   * kernel still sees every frame of the port, and with the default `arp_ignore=0` it would answer
   * ARP for the bridge's own (VTEP) address with the port's MAC, racing ovs-vswitchd's answer.
   */
  async #preparePort(ifname: string): Promise<void> {
    await this.exec(['sysctl', '-q', '-w', `net.ipv4.conf.${ifname}.arp_ignore=1`, `net.ipv6.conf.${ifname}.disable_ipv6=1`]);
    await run('ip', ['-n', this.name, 'link', 'set', ifname, 'up']);
  }

  /** Pids of this instance's daemons that are running now (found by their directory). */
  processes(): { pid: number; program: string }[] {
    return findProcesses((arg) => arg.includes(`${this.dir}/`)).map((p) => ({ pid: p.pid, program: p.argv[0] ?? '' }));
  }

  /** The last lines of both daemons' logs. */
  async logTail(lines = 20): Promise<string> {
    return [this.#server, this.#switch]
      .map((d) => `--- ${d.logFile} ---\n${tail(d.logFile, lines)}`)
      .join('\n');
  }

  protected async teardown(): Promise<void> {
    await allSteps([
      async () => {
        // By directory rather than pid file: also finds a daemon whose start failed half way, and
        // never signals an unrelated process that reused a recorded pid. ovs-vswitchd first: it is
        // the database's client, and stops more quietly while the server is still there.
        const procs = this.processes().sort((a, b) => Number(b.program.endsWith('ovs-vswitchd')) - Number(a.program.endsWith('ovs-vswitchd')));
        for (const p of procs) await terminate(p.pid, 3_000);
      },
      async () => {
        // Whatever a test started inside with exec() and left running would keep the namespace
        // (and its taps and veths) alive after `ip netns del`.
        const r = await tryRun('ip', ['netns', 'pids', this.name]);
        const pids = r.exitCode === 0 ? r.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim())).map(Number) : [];
        for (const pid of pids) if (pid !== process.pid) await terminate(pid, 3_000);
      },
      // Only once nothing runs inside it any more does deleting the namespace free its devices.
      () => removeNamespace(this.name),
      () => removeTree(this.dir),
    ]);
  }
}

/** Creates an {@link OvsInNamespace}. */
export function createOvsHost(options?: OvsHostOptions): Promise<OvsInNamespace> {
  return OvsInNamespace.create(options);
}
