import type { KubeObject } from '@gitops-kit/core';

/**
 * Prepares a live and a desired object for a line diff people can read. A live object carries much
 * nobody declared (server defaults, status, bookkeeping) and keys in the server's order, so it is
 * cut down to the fields the desired object sets plus the fields our field manager owns (so a field
 * removed from Git shows as removed), with keys in the desired object's order. Secret values are
 * replaced by markers that say only whether a value changed.
 */

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Metadata fields the server sets on every object: never worth a diff line. */
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'selfLink',
] as const;

/** A copy without server-set bookkeeping (metadata noise and `status`). */
export function stripServerFields(object: KubeObject): KubeObject {
  const { status: _status, ...rest } = object;
  const metadata: Json = { ...object.metadata };
  for (const field of SERVER_METADATA) delete metadata[field];
  return { ...rest, metadata: metadata as KubeObject['metadata'] };
}

/**
 * The `fieldsV1` tree of what `fieldManager` applied to `object`, from `metadata.managedFields`
 * (several Apply entries, one per subresource, are merged), or undefined when it owns nothing.
 */
export function ownedFields(object: KubeObject, fieldManager: string): Json | undefined {
  const entries = object.metadata.managedFields;
  if (!Array.isArray(entries)) return undefined;
  let owned: Json | undefined;
  for (const entry of entries) {
    if (!isRecord(entry) || entry.manager !== fieldManager || entry.operation !== 'Apply') continue;
    if (entry.subresource !== undefined && entry.subresource !== '') continue;
    if (!isRecord(entry.fieldsV1)) continue;
    owned = owned ? mergeTrees(owned, entry.fieldsV1) : entry.fieldsV1;
  }
  return owned;
}

function mergeTrees(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = out[key];
    out[key] = isRecord(existing) && isRecord(value) ? mergeTrees(existing, value) : value;
  }
  return out;
}

/** Whether a fieldsV1 node owns a value as a whole (no children listed). */
function ownsWhole(node: Json): boolean {
  return Object.keys(node).every((key) => key === '.');
}

/** Whether a `k:{"name":"app"}` key selects this list item (every key field equal). */
function keySelects(key: string, item: unknown): boolean {
  if (!key.startsWith('k:') || !isRecord(item)) return false;
  try {
    const fields: unknown = JSON.parse(key.slice(2));
    if (!isRecord(fields)) return false;
    return Object.entries(fields).every(
      ([field, value]) => JSON.stringify(item[field]) === JSON.stringify(value),
    );
  } catch {
    return false;
  }
}

/** The fieldsV1 node owning one list item (by key, value or index), if any. */
function ownedItem(owned: Json | undefined, item: unknown, index: number): Json | undefined {
  if (!owned) return undefined;
  for (const [key, node] of Object.entries(owned)) {
    if (!isRecord(node)) continue;
    if (keySelects(key, item)) return node;
    if (key === `i:${index}`) return node;
    if (key.startsWith('v:') && key.slice(2) === JSON.stringify(item)) return node;
  }
  return undefined;
}

/** The desired list item a live item corresponds to: same `name` when items have one, else same index. */
function desiredItem(desired: readonly unknown[], item: unknown, index: number): unknown {
  if (isRecord(item) && typeof item.name === 'string') {
    const named = desired.find((d) => isRecord(d) && d.name === item.name);
    if (named !== undefined) return named;
    if (desired.some((d) => isRecord(d) && typeof d.name === 'string')) return undefined;
  }
  return desired[index];
}

/**
 * The part of `live` that `desired` declares or `owned` (a fieldsV1 node) claims, with map keys in
 * the desired order. Lists of scalars are atomic and kept whole.
 */
export function projectLive(live: unknown, desired: unknown, owned: Json | undefined): unknown {
  if (isRecord(live)) {
    if (desired !== undefined && !isRecord(desired)) return live;
    if (desired === undefined && owned !== undefined && ownsWhole(owned)) return live;
    const out: Json = {};
    const keys = [
      ...Object.keys(isRecord(desired) ? desired : {}),
      ...Object.keys(live).filter((key) => !isRecord(desired) || !(key in desired)),
    ];
    for (const key of keys) {
      if (!(key in live)) continue;
      const d = isRecord(desired) ? desired[key] : undefined;
      const o = owned?.[`f:${key}`];
      const ownedChild = isRecord(o) ? o : undefined;
      if (d === undefined && ownedChild === undefined) continue;
      out[key] = projectLive(live[key], d, ownedChild);
    }
    return out;
  }
  if (Array.isArray(live)) {
    if (desired !== undefined && !Array.isArray(desired)) return live;
    if (!live.some(isRecord)) return live;
    if (desired === undefined && owned !== undefined && ownsWhole(owned)) return live;
    const wanted = Array.isArray(desired) ? desired : [];
    const out: unknown[] = [];
    live.forEach((item, index) => {
      const d = desiredItem(wanted, item, index);
      const o = ownedItem(owned, item, index);
      if (d === undefined && o === undefined) return;
      out.push(projectLive(item, d, o));
    });
    return out;
  }
  return live;
}

/** The marker shown instead of a secret value. */
export const SECRET_MASK = '***';
/** The marker shown on the desired side for a secret value that changes. */
export const SECRET_MASK_CHANGED = '*** (changed)';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function isSecret(object: KubeObject | undefined): boolean {
  return object?.apiVersion === 'v1' && object.kind === 'Secret';
}

/** A Secret's values as the server stores them: `stringData` folded into base64 `data`. */
function storedSecretData(object: KubeObject): Record<string, unknown> {
  const data: Record<string, unknown> = isRecord(object.data) ? { ...object.data } : {};
  if (isRecord(object.stringData)) {
    for (const [key, value] of Object.entries(object.stringData)) {
      data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    }
  }
  return data;
}

function maskAnnotation(object: KubeObject): KubeObject['metadata'] {
  const annotations = object.metadata.annotations;
  if (!annotations || !(LAST_APPLIED in annotations)) return object.metadata;
  return { ...object.metadata, annotations: { ...annotations, [LAST_APPLIED]: SECRET_MASK } };
}

/**
 * Secret values replaced by markers: unchanged values read `***` on both sides, a changed value
 * reads `***` live and `*** (changed)` desired, so the diff shows which keys change and nothing
 * else. Desired `stringData` is folded into `data` first, as the server stores it, so a value
 * written as plain text compares equal to the same value stored in base64. Other kinds pass through.
 */
export function maskSecrets(
  live: KubeObject | undefined,
  desired: KubeObject,
): { live: KubeObject | undefined; desired: KubeObject } {
  if (!isSecret(desired) && !isSecret(live)) return { live, desired };
  const desiredData = storedSecretData(desired);
  const liveData = live ? storedSecretData(live) : {};
  const maskedDesired: Record<string, string> = {};
  for (const [key, value] of Object.entries(desiredData)) {
    const changed = live !== undefined && key in liveData && liveData[key] !== value;
    maskedDesired[key] = changed ? SECRET_MASK_CHANGED : SECRET_MASK;
  }
  const { stringData: _desiredStringData, data: _desiredData, ...desiredRest } = desired;
  const nextDesired: KubeObject = { ...desiredRest, metadata: maskAnnotation(desired) };
  if (Object.keys(maskedDesired).length > 0) nextDesired.data = maskedDesired;
  if (!live) return { live, desired: nextDesired };
  const { stringData: _liveStringData, data: _liveData, ...liveRest } = live;
  const nextLive: KubeObject = { ...liveRest, metadata: maskAnnotation(live) };
  const liveKeys = Object.keys(liveData);
  if (liveKeys.length > 0) nextLive.data = Object.fromEntries(liveKeys.map((key) => [key, SECRET_MASK]));
  return { live: nextLive, desired: nextDesired };
}
