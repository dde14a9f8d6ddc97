// Task results have no schema of their own (only payloads do), so the SDK checks each field it
// hands out as a typed value, saying which service sent what.

export function resultField<T>(service: string, r: Record<string, unknown> | undefined, k: string, ok: (v: unknown) => v is T): T {
  const v = r?.[k];
  if (!ok(v)) throw new Error(`${service}'s result has no valid "${k}": ${JSON.stringify(r)}`);
  return v;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
