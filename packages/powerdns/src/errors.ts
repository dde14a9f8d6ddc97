// One class per failure mode. Every class has a `name` and, where there is one, a `cause`. No
// message ever holds the API key: requests are described by method and path only.

/** Base class: `instanceof PowerDnsClientError` catches everything this package throws on purpose. */
export class PowerDnsClientError extends Error {
  override name = 'PowerDnsClientError';
}

/**
 * A name that is not a valid absolute DNS name (or not one we accept), refused before any request.
 * `where` says which argument or field held it, e.g. `replaceRRset: rrset.name`.
 */
export class InvalidDnsName extends PowerDnsClientError {
  override name = 'InvalidDnsName';
  constructor(
    readonly value: string,
    readonly where: string,
    readonly reason: string,
  ) {
    super(`invalid DNS name ${JSON.stringify(value)} in ${where}: ${reason}`);
  }
}

/** An RRset whose owner name is neither the zone's apex nor below it, refused before any request. */
export class NameOutsideZone extends PowerDnsClientError {
  override name = 'NameOutsideZone';
  constructor(
    readonly recordName: string,
    readonly zone: string,
    readonly where: string,
  ) {
    super(`${where}: ${JSON.stringify(recordName)} is outside zone ${JSON.stringify(zone)}: a zone holds its apex and the names below it only`);
  }
}

/** An RRset, record, TTL or other argument PowerDNS would refuse or that we do not send, refused before any request. */
export class InvalidRequest extends PowerDnsClientError {
  override name = 'InvalidRequest';
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(`invalid request in ${where}: ${reason}`);
  }
}

/** The client's own options are unusable (base URL, API key, server id, timeout). */
export class InvalidClientOptions extends PowerDnsClientError {
  override name = 'InvalidClientOptions';
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`invalid PowerDnsClient option ${option}: ${reason}`);
  }
}

/**
 * PowerDNS answered with an error status. `status` is the HTTP status, `pdnsError` PowerDNS's own
 * `error` text (or the body when it was not JSON, as for 404 "Not Found").
 */
export class PowerDnsError extends PowerDnsClientError {
  override name = 'PowerDnsError';
  constructor(
    readonly operation: string,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly pdnsError: string,
  ) {
    super(`${operation} failed: PowerDNS answered ${status} to ${method} ${path}${pdnsError ? `: ${pdnsError}` : ''}`);
  }
}

/** No HTTP answer at all: connection refused, reset, or no answer within the timeout. */
export class PowerDnsUnreachable extends PowerDnsClientError {
  override name = 'PowerDnsUnreachable';
  constructor(
    readonly operation: string,
    readonly baseUrl: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} failed: PowerDNS API at ${baseUrl} unreachable: ${reason}`, options);
  }
}

/** PowerDNS answered with success, but the body is not what its API documents for this call. */
export class UnexpectedResponse extends PowerDnsClientError {
  override name = 'UnexpectedResponse';
  constructor(
    readonly operation: string,
    readonly method: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${operation}: unexpected answer from PowerDNS to ${method} ${path}: ${reason}`);
  }
}
