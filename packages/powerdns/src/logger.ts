/** The subset of a pino logger this package uses; pass a pino logger (or a child) to get logs. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug() {},
  warn() {},
};
