import { InvalidDnsName, NameOutsideZone } from './errors';

/** Longest name in presentation form without the final dot: 255 octets on the wire (RFC 1035 §2.3.4). */
export const MAX_NAME_LENGTH = 253;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_LENGTH = 63;

// A host-name label (letters, digits, inner hyphens: RFC 1123 §2.1), or one that starts with an
// underscore as SRV and TLSA owner names do (`_http._tcp`, RFC 2782).
const LABEL = /^_?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Why `label` is not a label we accept, or undefined when it is one. */
export function labelProblem(label: string): string | undefined {
  if (label.length === 0) return 'it has an empty label (two dots in a row, or a leading dot)';
  if (label.length > MAX_LABEL_LENGTH) return `label "${label}" has ${label.length} characters, at most ${MAX_LABEL_LENGTH} are allowed`;
  if (LABEL.test(label)) return undefined;
  if (label.startsWith('-') || label.endsWith('-')) return `label "${label}" starts or ends with a hyphen`;
  if (label === '_' || /^_[-]/.test(label)) return `label "${label}" has nothing but an underscore before its first letter or digit`;
  const bad = [...label].find((c, i) => !/[a-z0-9-]/.test(c) && !(c === '_' && i === 0));
  if (bad !== undefined) return `label "${label}" holds ${JSON.stringify(bad)}: labels hold letters, digits and inner hyphens only (an underscore may only start one)`;
  return `label "${label}" is not a valid DNS label`;
}

/** Whether `label` is a label {@link absoluteName} accepts (case-insensitive). */
export function isValidLabel(label: string): boolean {
  return labelProblem(label.toLowerCase()) === undefined;
}

/**
 * `name` in the form PowerDNS wants: lower case, absolute (with the trailing dot). Accepts it with
 * or without that dot. Refuses, with an {@link InvalidDnsName} naming `where`, anything but
 * host-name labels (and underscore labels), names that are too long, and the root.
 */
export function absoluteName(name: string, where: string): string {
  if (typeof name !== 'string') throw new InvalidDnsName(String(name), where, `expected a string, got ${typeof name}`);
  if (name === '' || name === '.') throw new InvalidDnsName(name, where, name === '' ? 'it is empty' : 'the root is not a name we manage');
  const lower = name.toLowerCase();
  const bare = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  for (const label of bare.split('.')) {
    const problem = labelProblem(label);
    if (problem !== undefined) throw new InvalidDnsName(name, where, problem);
  }
  if (bare.length > MAX_NAME_LENGTH) {
    throw new InvalidDnsName(name, where, `it has ${bare.length} characters without the final dot, at most ${MAX_NAME_LENGTH} are allowed`);
  }
  return `${bare}.`;
}

/** Whether absolute `name` is `zone` itself or below it (both normalised by {@link absoluteName}). */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** Normalises `name` and refuses it with {@link NameOutsideZone} unless it is in `zone` (already absolute). */
export function nameInZone(name: string, zone: string, where: string): string {
  const n = absoluteName(name, where);
  if (!isInZone(n, zone)) throw new NameOutsideZone(n, zone, where);
  return n;
}
