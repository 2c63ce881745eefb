/**
 * Reading a stored state defensively: a state store holds text that people and other programs can
 * edit, so what comes back is checked before the reconciler trusts it with pruning.
 */
import { ErrorCodes, ReconcileError } from '../errors.js';
import type { InventoryEntry, StoredState } from '../types.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEntry(value: unknown): value is InventoryEntry {
  if (!isRecord(value) || typeof value.digest !== 'string' || !isRecord(value.ref)) return false;
  const ref = value.ref;
  return (
    typeof ref.apiVersion === 'string' &&
    typeof ref.kind === 'string' &&
    typeof ref.name === 'string' &&
    (ref.namespace === undefined || typeof ref.namespace === 'string')
  );
}

function invalid(where: string, why: string): never {
  throw new ReconcileError(
    ErrorCodes.StateInvalid,
    `The state in ${where} is not a gitops-kit state: ${why}`,
  );
}

/**
 * Checks a parsed state value. `null` and `undefined` mean "no state" and give undefined; anything
 * else must be a state with an inventory of well-formed entries, or a `ReconcileError` with code
 * `RECONCILE_STATE_INVALID` naming `where` (for example `ConfigMap flux-system/gitops-kit-shop key
 * state.json`) is thrown.
 */
export function checkStoredState(value: unknown, where: string): StoredState | undefined {
  if (value === null || value === undefined) return undefined;
  if (!isRecord(value)) return invalid(where, `expected an object, found ${describe(value)}`);
  const inventory = value.inventory;
  if (!isRecord(inventory) || !Array.isArray(inventory.entries)) {
    return invalid(where, 'it has no inventory.entries list');
  }
  const bad = inventory.entries.findIndex((entry) => !isEntry(entry));
  if (bad >= 0) return invalid(where, `inventory entry ${bad} is not a reference with a digest`);
  for (const key of ['lastAppliedRevision', 'lastHealthyRevision'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') {
      return invalid(where, `${key} is not a string`);
    }
  }
  if (value.history !== undefined && !Array.isArray(value.history)) {
    return invalid(where, 'history is not a list');
  }
  return value as unknown as StoredState;
}

/** Parses a state stored as JSON text, then checks it (see {@link checkStoredState}). */
export function decodeStoredState(text: string, where: string): StoredState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    invalid(where, `it is not JSON (${why})`);
  }
  return checkStoredState(value, where);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'a list' : typeof value;
}
