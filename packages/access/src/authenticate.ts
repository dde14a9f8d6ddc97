// The gateway's and query server's Authenticate: a request is from the principal whose key signed
// it, if the cluster knows that key; anything else is refused with what was wrong.
import { DEFAULT_MAX_SKEW_MS, ErrorCodes, verifyRequest, type Authenticate } from '@sdmi/bus';
import type { PrincipalDirectory } from './directory';

export function authenticator(directory: PrincipalDirectory, opts: { maxSkewMs?: number; now?: () => Date } = {}): Authenticate {
  return ({ subject, data, headers }) => {
    const v = verifyRequest(subject, data, headers, opts.now?.() ?? new Date(), opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);
    if (!v.ok) {
      return { ok: false, error: { code: ErrorCodes.Unauthenticated, message: `${subject}: ${v.message}`, rule: v.reason }, ...(v.publicKey ? { claimed: `key:${v.publicKey}` } : {}) };
    }
    const principal = directory.principalOf(v.publicKey);
    if (!principal) {
      return { ok: false, error: { code: ErrorCodes.Unauthenticated, message: `${subject}: key ${v.publicKey} signed the request but belongs to no principal of this cluster (principals.json)`, rule: 'unknown-key' }, claimed: `key:${v.publicKey}` };
    }
    return { ok: true, principal, publicKey: v.publicKey };
  };
}
