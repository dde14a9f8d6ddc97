import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirDaemon } from './dir-daemon';
import { DaemonNotReady } from './errors';
import { run } from './exec';
import { testName } from './names';
import { freePort, greetsWith, lostPortRace, tail } from './ports';
import { childrenOf, terminate } from './procs';
import { recordSecret } from './secrets';

export const NETCONFD = '/usr/sbin/netconfd';
export const NETCONF_SUBSYSTEM = '/usr/sbin/netconf-subsystem';
export const SSHD = '/usr/sbin/sshd';

export interface NetconfdOptions {
  /** YANG files to load (copied into the server's directory, loaded with `--module=<name>`). */
  yang: readonly string[];
  /** `--target`: candidate (default) or running. */
  target?: 'candidate' | 'running';
  /** How long to wait for netconfd and sshd; default 30 s. */
  readyTimeoutMs?: number;
  /** More netconfd arguments, e.g. `--log-level=debug`. */
  extraArgs?: readonly string[];
}

/**
 * A real NETCONF server of its own: yuma123's `netconfd` behind an `sshd` of its own, both in
 * `/tmp/sdmi-<tag>-n<n>/`. sshd (its own sshd_config, host key and pid file, `ListenAddress
 * 127.0.0.1`, a run-unique port, public-key login for root with a key made for this server only)
 * runs `/usr/sbin/netconf-subsystem --ncxserver-sockname=<port>@<dir>/ncxserver.sock` for the
 * `netconf` subsystem; netconfd (`--port=<that port>`, which it insists on: a session from another
 * SSH port is refused, `--ncxserver-sockname=<dir>/ncxserver.sock`, `--no-startup`,
 * `--superuser=root`, HOME in the directory) loads the given YANG modules as its datastore. Two
 * of them can run at once and never meet the system's /tmp/ncxserver.sock. Dispose stops both,
 * kills anything else still running from the directory, and deletes it.
 */
export class Netconfd extends DirDaemon {
  readonly modDir: string;
  readonly sshdConfig: string;
  readonly socket: string;
  readonly sshdLog: string;
  /** The client's private key (OpenSSH format) for root: pass it on, do not print it. */
  readonly privateKey: string;
  /** The server's host public key (`ssh-ed25519 AAAA...`), to check the server by. */
  readonly hostKey: string;
  readonly modules: string[];
  #port = 0;
  #sshdPid: number | undefined;

  private constructor(name: string, dir: string, keys: { privateKey: string; hostKey: string }, modules: string[]) {
    super(name, dir, join(dir, 'netconfd.log'));
    this.modDir = join(dir, 'modules');
    this.sshdConfig = join(dir, 'sshd_config');
    this.socket = join(dir, 'ncxserver.sock');
    this.sshdLog = join(dir, 'sshd.log');
    this.privateKey = keys.privateKey;
    this.hostKey = keys.hostKey;
    this.modules = modules;
  }

  /** 127.0.0.1. */
  get host(): string {
    return '127.0.0.1';
  }

  /** The SSH port of the NETCONF server (sshd's, and netconfd's `--port`). */
  get port(): number {
    return this.#port;
  }

  /** The user to log in as. */
  get username(): string {
    return 'root';
  }

  /** Pid of the sshd. */
  get sshdPid(): number | undefined {
    return this.#sshdPid;
  }

  /** Connection settings for a client: host, port, username, privateKey, hostKey. */
  get endpoint(): { host: string; port: number; username: string; privateKey: string; hostKey: string } {
    return { host: this.host, port: this.#port, username: this.username, privateKey: this.privateKey, hostKey: this.hostKey };
  }

  /** The last lines of sshd's log. */
  sshdLogTail(lines = 20): string {
    return tail(this.sshdLog, lines);
  }

  static async start(options: NetconfdOptions): Promise<Netconfd> {
    if (options.yang.length === 0) throw new Error('Netconfd needs at least one YANG module');
    const name = testName('n');
    const dir = join(tmpdir(), name);
    mkdirSync(dir, { mode: 0o700 });
    let nc: Netconfd | undefined;
    try {
      const modDir = join(dir, 'modules');
      mkdirSync(modDir);
      const modules = options.yang.map((file) => {
        copyFileSync(file, join(modDir, basename(file)));
        return basename(file).replace(/(@[^@]*)?\.yang$/, '');
      });
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}-host`, '-f', join(dir, 'host_key')]);
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}-client`, '-f', join(dir, 'client_key')]);
      copyFileSync(join(dir, 'client_key.pub'), join(dir, 'authorized_keys'));
      // The suite's last check greps every log for these (docs/security.md): the body lines of both keys.
      for (const key of ['client_key', 'host_key']) {
        for (const line of readFileSync(join(dir, key), 'utf8').split('\n')) if (!line.startsWith('-----')) recordSecret(line, `netconfd SSH private key ${key}`);
      }
      nc = new Netconfd(
        name,
        dir,
        {
          privateKey: readFileSync(join(dir, 'client_key'), 'utf8'),
          hostKey: readFileSync(join(dir, 'host_key.pub'), 'utf8').trim(),
        },
        modules,
      );
      for (let attempt = 1; ; attempt++) {
        try {
          await nc.#launch(options);
          return nc;
        } catch (e) {
          if (attempt >= 3 || !(e instanceof DaemonNotReady) || !lostPortRace(e.logTail)) throw e;
          await nc.stopDaemon();
        }
      }
    } catch (e) {
      if (nc) await nc.dispose().catch(() => {});
      else rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  #writeSshdConfig(): void {
    const d = this.dir;
    const lines = [
      'ListenAddress 127.0.0.1',
      `Port ${this.#port}`,
      `HostKey ${d}/host_key`,
      `PidFile ${d}/sshd.pid`,
      `AuthorizedKeysFile ${d}/authorized_keys`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The key files are in /tmp (world-writable), which StrictModes refuses.
      'StrictModes no',
      'AllowUsers root',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      `Subsystem netconf ${NETCONF_SUBSYSTEM} --ncxserver-sockname=${this.#port}@${this.socket}`,
    ];
    writeFileSync(this.sshdConfig, `${lines.join('\n')}\n`, { mode: 0o600 });
  }

  async #launch(options: NetconfdOptions): Promise<void> {
    this.#port = await freePort(false);
    this.#writeSshdConfig();
    // sshd's privilege-separation directory (Debian's init script makes it; there is none here).
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);

    // netconfd first: the socket must be there before a session comes.
    const args = [
      `--modpath=${this.modDir}`,
      ...this.modules.map((m) => `--module=${m}`),
      `--target=${options.target ?? 'candidate'}`,
      '--no-startup',
      `--port=${this.#port}`,
      `--ncxserver-sockname=${this.socket}`,
      '--superuser=root',
      `--log=${this.logFile}`,
      '--log-append',
      '--log-level=info',
      ...(options.extraArgs ?? []),
    ];
    // A second attempt (lost port race) must not take the first one's socket and log line for its own.
    rmSync(this.socket, { force: true });
    const logStart = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    let exited: string | undefined;
    const log = openSync(this.logFile, 'a');
    try {
      const child = spawn(NETCONFD, args, {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, HOME: this.dir, USER: 'root' },
        cwd: this.dir,
      });
      child.on('error', (e) => (exited = e.message));
      child.on('exit', (code, sig) => (exited = `netconfd exited (${sig ?? code})`));
      child.unref();
      this.daemonPid = child.pid;
    } finally {
      closeSync(log);
    }
    for (;;) {
      if (exited) throw new DaemonNotReady(`netconfd ${this.name}`, exited, tail(this.logFile));
      if (existsSync(this.socket) && logSince(this.logFile, logStart).includes('Running netconfd server')) break;
      if (Date.now() >= deadline) throw new DaemonNotReady(`netconfd ${this.name}`, 'no ncxserver socket in time', tail(this.logFile));
      await sleep(100);
    }

    let sshdExited: string | undefined;
    const slog = openSync(this.sshdLog, 'a');
    try {
      const child = spawn(SSHD, ['-D', '-e', '-f', this.sshdConfig], { detached: true, stdio: ['ignore', slog, slog] });
      child.on('error', (e) => (sshdExited = e.message));
      child.on('exit', (code, sig) => (sshdExited = `sshd exited (${sig ?? code})`));
      child.unref();
      this.#sshdPid = child.pid;
    } finally {
      closeSync(slog);
    }
    for (;;) {
      if (sshdExited) throw new DaemonNotReady(`sshd ${this.name}`, sshdExited, tail(this.sshdLog));
      if (await greetsWith(this.#port, 'SSH-')) return;
      if (Date.now() >= deadline) throw new DaemonNotReady(`sshd ${this.name}`, 'no SSH banner in time', tail(this.sshdLog));
      await sleep(100);
    }
  }

  protected override async stopDaemon(): Promise<void> {
    // sshd's per-connection children (retitled "sshd: root@notty", so not found by directory).
    const sshd = this.#sshdPid;
    const children = sshd === undefined ? [] : childrenOf(sshd);
    if (sshd !== undefined) await terminate(sshd, 5_000);
    this.#sshdPid = undefined;
    for (const pid of children) await terminate(pid, 2_000);
    await super.stopDaemon();
  }
}

/** What a log file got from byte `start` on. */
function logSince(file: string, start: number): string {
  try {
    return readFileSync(file).subarray(start).toString('utf8');
  } catch {
    return '';
  }
}


/** Starts a {@link Netconfd}. */
export function startNetconfd(options: NetconfdOptions): Promise<Netconfd> {
  return Netconfd.start(options);
}
