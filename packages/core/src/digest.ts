import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal values give equal text whatever the key
 * order of the YAML they came from.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/** `sha256:<hex>` of the canonical JSON of a value: the digest stored per inventory entry. */
export function digestObject(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}
