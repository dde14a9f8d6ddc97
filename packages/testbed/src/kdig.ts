import { tryRun, type RunResult } from './exec';

export interface KdigTarget {
  /** Default 127.0.0.1. */
  address?: string;
  /** The DNS-over-TLS port. */
  port: number;
  /**
   * The server certificate's SPKI pin (base64 SHA-256, as `spkiPin()` makes it): kdig then refuses
   * any other certificate. Without one kdig does opportunistic TLS (encrypted, certificate not checked),
   * which is all a self-signed certificate allows without a pin.
   */
  pin?: string;
  /** Default 15 s. */
  timeoutMs?: number;
}

/** One record of the answer section, as kdig prints it. */
export interface KdigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface KdigResult extends RunResult {
  /** The answer's RCODE (NOERROR, NXDOMAIN, REFUSED …); undefined when no answer came. */
  status: string | undefined;
  /** The answer section. */
  answers: KdigRecord[];
  /** The TLS session kdig reports, e.g. `(TLS1.3)-(ECDHE-X25519)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)`. */
  tlsSession: string | undefined;
}

/**
 * `kdig @<address> -p <port> +tls (or +tls-pin=<pin>) ...args` (knot-dnsutils): a DNS query over
 * TLS (RFC 7858). Resolves with its outcome whatever the exit code, the status, answer section
 * and TLS session parsed from kdig's default output (so do not pass +short).
 */
export async function kdig(target: KdigTarget, ...args: string[]): Promise<KdigResult> {
  const tls = target.pin !== undefined ? `+tls-pin=${target.pin}` : '+tls';
  const r = await tryRun('kdig', [`@${target.address ?? '127.0.0.1'}`, '-p', String(target.port), tls, ...args], { timeoutMs: target.timeoutMs ?? 15_000 });
  return { ...r, ...parseKdig(r.stdout) };
}

/** The status, answer section and TLS session of kdig's default output. */
export function parseKdig(stdout: string): Pick<KdigResult, 'status' | 'answers' | 'tlsSession'> {
  const status = /->>HEADER<<- opcode: [A-Z]+; status: ([A-Z]+);/.exec(stdout)?.[1];
  const tlsSession = /^;; TLS session (.+)$/m.exec(stdout)?.[1]?.trim();
  const answers: KdigRecord[] = [];
  let inAnswer = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(';; ')) {
      inAnswer = line.startsWith(';; ANSWER SECTION:');
      continue;
    }
    if (!inAnswer || line.trim() === '') continue;
    const [name, ttl, klass, type, ...data] = line.trim().split(/\s+/);
    if (name === undefined || type === undefined || klass !== 'IN') continue;
    answers.push({ name, ttl: Number(ttl), type, data: data.join(' ') });
  }
  return { status, answers, tlsSession };
}
