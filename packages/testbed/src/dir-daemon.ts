import { tail } from './ports';
import { findProcesses, removeTree, terminate } from './procs';
import { Resource, allSteps } from './resource';
import { keepLogFile } from './secrets';

/**
 * A daemon of the test bed's own that lives in a directory of its own (config, database, log):
 * it is stopped by its pid, then anything else still running from its directory is killed, then
 * the directory goes. PowerDns and Dnsdist are two of them.
 */
export abstract class DirDaemon extends Resource {
  protected daemonPid: number | undefined;

  protected constructor(
    readonly name: string,
    readonly dir: string,
    readonly logFile: string,
  ) {
    super();
  }

  /** Pid of the daemon's process. */
  get pid(): number | undefined {
    return this.daemonPid;
  }

  /** The last lines of its log. */
  logTail(lines = 20): string {
    return tail(this.logFile, lines);
  }

  protected async stopDaemon(): Promise<void> {
    if (this.daemonPid !== undefined) await terminate(this.daemonPid, 10_000);
    this.daemonPid = undefined;
  }

  protected async teardown(): Promise<void> {
    await allSteps([
      () => this.stopDaemon(),
      async () => {
        const inDir = (arg: string) => arg.endsWith(this.dir) || arg.includes(`${this.dir}/`);
        for (const p of findProcesses(inDir)) await terminate(p.pid, 2_000);
      },
      // The suite's secret check reads it later (deploy/test.sh); the directory goes now.
      async () => keepLogFile(this.name, this.logFile),
      () => removeTree(this.dir),
    ]);
  }
}
