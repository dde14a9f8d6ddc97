import { messageOf } from './text';

/** Thrown for bad command-line input; the script prints it with the usage and exits 64. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function positiveInt(option: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new UsageError(`--${option} must be a positive whole number of milliseconds, got "${raw}"`);
  return Number(raw);
}

/** Runs a script's main and exits with its code; errors are printed as one line, not a stack. */
export function runScript(name: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError || (err as { code?: unknown })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
        console.error(`${name}: ${messageOf(err)}\n${usage}`);
        process.exit(64);
      }
      console.error(`${name}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      process.exit(1);
    },
  );
}
