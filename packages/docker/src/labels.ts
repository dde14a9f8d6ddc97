import { InvalidArgument, InvalidContainerSpec } from './errors';

/** Every container SDMI creates carries this label with value "true"; nothing else does. */
export const MANAGED_LABEL = 'sdmi.managed';
export const MANAGED_VALUE = 'true';

/** Labels the scheduler and node-agent put on containers (conventions, not enforced here). */
export const Labels = {
  Managed: MANAGED_LABEL,
  Service: 'sdmi.service',
  Replica: 'sdmi.replica',
  Revision: 'sdmi.revision',
  Tenant: 'sdmi.tenant',
} as const;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

// A key with "=" could not be filtered on (Docker splits label filters at the first "="), and
// whitespace or control characters in keys are always a mistake.
const LABEL_KEY = /^[^\s=\p{Cc}]{1,255}$/u;

/** Validates the caller's labels of a container spec; refuses the reserved sdmi.managed. */
export function checkSpecLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (!isPlainObject(labels)) throw new InvalidContainerSpec('/labels', 'labels-object', labels, 'must be an object of label names to string values');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const path = `/labels/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (!LABEL_KEY.test(k)) throw new InvalidContainerSpec(path, 'label-key', k, 'is not a valid label name (1 to 255 characters, no whitespace, "=" or control characters)');
    if (k === MANAGED_LABEL) {
      throw new InvalidContainerSpec(path, 'label-reserved', v, `sets the reserved label ${MANAGED_LABEL}: SDMI sets it on every container it creates, callers may not`);
    }
    if (typeof v !== 'string') throw new InvalidContainerSpec(path, 'label-value', v, 'must be a string');
    out[k] = v;
  }
  return out;
}

/** Validates a label filter (`true` means: has the label, any value). */
export function checkLabelFilter(operation: string, path: string, labels: unknown): Record<string, string | true> {
  if (labels === undefined) return {};
  if (!isPlainObject(labels)) throw new InvalidArgument(operation, path, 'labels-object', labels, 'must be an object of label names to string values (or true)');
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) throw new InvalidArgument(operation, `${path}/${k}`, 'label-key', k, 'is not a valid label name (1 to 255 characters, no whitespace, "=" or control characters)');
    if (typeof v !== 'string' && v !== true) throw new InvalidArgument(operation, `${path}/${k}`, 'label-value', v, 'must be a string, or true for any value');
  }
  return labels as Record<string, string | true>;
}

/** Docker's `label` filter values. */
export function labelFilters(labels: Record<string, string | true>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === true ? k : `${k}=${v}`));
}

export { isPlainObject };
