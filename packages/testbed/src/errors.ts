// One class per failure mode of the test bed. All carry `name` and, where there is one, `cause`.

const SETUP_HINT = 'run `bash deploy/setup.sh` as root';

/** An external command (ip, ovs-vsctl, docker …) exited non-zero, was killed, or timed out. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with ${exitCode}`;
    const detail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : '';
    super(`${[command, ...args].join(' ')} ${how}${detail}`, options);
  }
}

/** An external command is not installed on this machine. */
export class CommandNotFound extends Error {
  override readonly name = 'CommandNotFound';
  constructor(
    readonly command: string,
    options?: { cause?: unknown },
  ) {
    super(`command not found: ${command} (${SETUP_HINT})`, options);
  }
}

/** A real component the tests need (NATS, PostgreSQL, dockerd, Open vSwitch) does not answer. */
export class ComponentUnavailable extends Error {
  override readonly name = 'ComponentUnavailable';
  constructor(
    readonly components: readonly { component: string; detail: string }[],
    options?: { cause?: unknown },
  ) {
    const lines = components.map((c) => `  - ${c.component}: ${c.detail}`).join('\n');
    super(`test components unavailable:\n${lines}\nTo install and start them, ${SETUP_HINT}.`, options);
  }
}

/** A daemon the test bed started (an extra dockerd) did not become ready, or exited early. */
export class DaemonNotReady extends Error {
  override readonly name = 'DaemonNotReady';
  constructor(
    readonly daemon: string,
    readonly reason: string,
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super(`${daemon} not ready: ${reason}${logTail ? `\n--- last log lines ---\n${logTail}` : ''}`, options);
  }
}

/** A resource name that the kernel or a component would refuse (e.g. an interface name > 15 chars). */
export class InvalidName extends Error {
  override readonly name = 'InvalidName';
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid name ${JSON.stringify(value)}: ${reason}`);
  }
}

/**
 * Disposing one or more resources failed. Every resource was still tried; `errors` holds each
 * failure and `cause` the first.
 */
export class TeardownFailed extends Error {
  override readonly name = 'TeardownFailed';
  constructor(readonly errors: readonly unknown[]) {
    const list = errors.map((e) => `  - ${e instanceof Error ? e.message : String(e)}`).join('\n');
    super(`${errors.length} resource(s) failed to dispose:\n${list}`, { cause: errors[0] });
  }
}

/** A Testbed was asked to create or track something after it was disposed. */
export class AlreadyDisposed extends Error {
  override readonly name = 'AlreadyDisposed';
  constructor(readonly what: string) {
    super(`${what} is already disposed`);
  }
}
