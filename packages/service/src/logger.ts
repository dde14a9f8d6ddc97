import pino, { type DestinationStream, type Logger } from 'pino';
import { InvalidConfigError } from './errors';
import { LogLevel, ServiceEnv } from './config';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Defaults to SDMI_LOG_LEVEL, then info. */
  level?: LogLevel;
  /** Defaults to stdout. Tests pass a stream to read the lines back. */
  destination?: DestinationStream;
}

/**
 * The one logger shape for every SDMI process: JSON lines on stdout, each carrying service,
 * instance and pid so that lines from six services in one file can be told apart, ISO timestamps
 * and level names (not numbers) so a person can read them with jq.
 */
export function createLogger(service: string, instance: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? levelFromEnv();
  return pino(
    {
      level,
      base: { service, instance, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination(1),
  );
}

function levelFromEnv(): LogLevel {
  const raw = process.env[ServiceEnv.logLevel];
  if (raw === undefined || raw === '') return LogLevel.info;
  if (Object.hasOwn(LogLevel, raw)) return raw as LogLevel;
  throw new InvalidConfigError([
    { key: ServiceEnv.logLevel, value: raw, reason: `must be one of ${Object.values(LogLevel).join(', ')}`, source: 'env' },
  ]);
}
