import { ErrorCodes, RdmpError } from '@sdmi/bus';
import { DnsErrorCodes, MetricsErrorCodes, SwitchErrorCodes } from '@sdmi/contracts';
import { ManifestInvalid } from '@sdmi/manifest';
import { AccessErrorCodes, PlanFailed, ServiceNotConverged, ServiceNotFound } from '@sdmi/sdk';

/** Exit codes (sysexits where one fits), the same for every command. */
export const ExitCodes = {
  Ok: 0,
  /** The cluster refused or failed the change (the message says which service and why). */
  Failed: 1,
  /** `plan --exit-code` only: the plan has changes. */
  Changes: 2,
  /** Bad command line. */
  Usage: 64,
  /** A manifest, or an argument's value, is invalid. */
  DataErr: 65,
  /** The bus or the service that would answer is not there. */
  Unavailable: 69,
  /** The change was made but did not converge in time (rollout rolled back, paused, timed out). */
  NotConverged: 75,
} as const;

/** A message for the user and the exit code it ends with. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCodes.Usage);
  }
}

/**
 * Refusals of an argument's value by the service that checks it (the CLI cannot tell a bad DNS
 * label or zone itself without repeating dns-manager's rules), exit 65 like a local check would,
 * with what to do next where the service's message does not say it.
 */
const DATA_ERRORS: ReadonlyMap<string, string> = new Map([
  [DnsErrorCodes.InvalidDnsName, ''],
  [DnsErrorCodes.InvalidRecord, ''],
  [DnsErrorCodes.ZoneOutsideDomain, 'see the zones there are with: sdmi dns zones'],
  [DnsErrorCodes.NameOutsideZone, 'a name must end in its zone, and only names under the cluster domain can be set (see: sdmi dns zones)'],
  [MetricsErrorCodes.InvalidAutoscalePolicy, 'see: sdmi autoscale help'],
  [MetricsErrorCodes.InvalidThreshold, 'see: sdmi threshold help'],
  [AccessErrorCodes.InvalidRoleBinding, 'see: sdmi rolebinding help'],
  [SwitchErrorCodes.InvalidSwitch, 'see: sdmi switch help'],
]);

/** Refusals by access control: exit 1 like any refusal, with what to check. */
const ACCESS_HINTS: ReadonlyMap<string, string> = new Map([
  [ErrorCodes.Unauthenticated, 'the cluster does not know who sent it: set SDMI_NATS_NKEY_SEED_FILE to your seed file'],
]);

/** Codes that mean the service is there but what would answer is not (the cluster has no DNS). */
const UNAVAILABLE: ReadonlyMap<string, string> = new Map([
  [DnsErrorCodes.DnsOff, 'DNS comes with a control plane started by sdmi up (SDMI_DNS_DOMAIN, default sdmi.internal)'],
  [MetricsErrorCodes.SchedulerUnavailable, 'is the scheduler running? (sdmi up starts it)'],
]);

/** Turns what a command threw into the lines to print and the exit code, saying what to do where we can. */
export function describeFailure(err: unknown): { text: string; code: number } {
  if (err instanceof CliError) return { text: err.message, code: err.exitCode };
  if (err instanceof ManifestInvalid) return { text: err.message, code: ExitCodes.DataErr };
  if (err instanceof PlanFailed) {
    const inner = describeFailure(err.cause);
    const lines = [`${err.change} failed: ${inner.text}`];
    if (err.done.length > 0) lines.push(`done before it: ${err.done.join('; ')}`);
    if (err.notDone.length > 0) lines.push(`not done: ${err.notDone.join('; ')}`);
    lines.push('fix the cause and run apply again: it continues from what the cluster holds');
    return { text: lines.join('\n'), code: inner.code };
  }
  if (err instanceof ServiceNotFound) return { text: `${err.message} (see: sdmi get services)`, code: ExitCodes.Failed };
  if (err instanceof ServiceNotConverged) return { text: `${err.message}\nsee: sdmi rollout status ${err.service}`, code: ExitCodes.NotConverged };
  if (err instanceof RdmpError) {
    const i = err.info;
    const where = i.path ? ` (at ${i.path}${i.rule ? `, rule ${i.rule}` : ''})` : '';
    const code = i.code === 'TIMEOUT' || UNAVAILABLE.has(i.code) ? ExitCodes.Unavailable : i.code === 'SCHEMA_VIOLATION' || DATA_ERRORS.has(i.code) ? ExitCodes.DataErr : ExitCodes.Failed;
    const next = i.code === 'TIMEOUT' ? 'is the control plane up? start it with: sdmi up' : (DATA_ERRORS.get(i.code) ?? UNAVAILABLE.get(i.code) ?? ACCESS_HINTS.get(i.code) ?? '');
    const hint = next ? `\n${next}` : '';
    return { text: `${i.code}: ${i.message}${where}${hint}`, code };
  }
  // nats.js's refusal of the connection by a server with auth: no credentials, or ones it does not know.
  if (err instanceof Error && err.name === 'AuthorizationError') {
    return { text: `the bus refused the connection (${err.message}): it takes only credentials it knows\nset SDMI_NATS_NKEY_SEED_FILE to your nkey seed file`, code: ExitCodes.Failed };
  }
  const e = err as NodeJS.ErrnoException & { code?: unknown };
  // nats.js reports an unreachable server as a ConnectionError ("connection refused").
  if (e?.code === 'ECONNREFUSED' || (err instanceof Error && (err.name === 'ConnectionError' || /connection refused|ECONNREFUSED/i.test(err.message)))) {
    return { text: `cannot reach the bus (${err instanceof Error ? err.message : String(err)})\nis NATS running and the control plane up? start it with: sdmi up`, code: ExitCodes.Unavailable };
  }
  return { text: err instanceof Error ? `${err.name}: ${err.message}` : String(err), code: ExitCodes.Failed };
}
