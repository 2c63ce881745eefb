import { createHash } from 'node:crypto';
import {
  FORCE_ANNOTATION,
  type KubeObject,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  readSyncOptions,
} from '@gitops-kit/core';

/**
 * The marks gitops-kit puts on every object it applies (their names live in core's Kubernetes
 * conventions, shared with FakeCluster). The label makes "our objects of a kind" one cheap list
 * request; the annotation keeps the owner's full name, which a label value may be too short to
 * hold. Prune deletes an object only when the label still names us and the annotation, where
 * present, does not name another owner (see {@link isOwnedBy}).
 */

/**
 * A label value for a name: kept when it already is one (≤ 63 characters of `[A-Za-z0-9._-]`,
 * alphanumeric at both ends), otherwise a readable prefix and a hash of the full name, so two
 * different names never share a value.
 */
export function ownerLabelValue(name: string): string {
  if (/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const prefix = name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 52)
    .replace(/[^A-Za-z0-9]+$/, '');
  return prefix ? `${prefix}-${hash}` : hash;
}

/** Whether a live object carries the ownership marks of `ownerName`. */
export function isOwnedBy(object: KubeObject, ownerName: string): boolean {
  const labels = object.metadata.labels ?? {};
  if (labels[OWNER_LABEL] !== ownerLabelValue(ownerName)) return false;
  const annotated = object.metadata.annotations?.[OWNER_ANNOTATION];
  return annotated === undefined || annotated === ownerName;
}

/**
 * Whether an object may be deleted and created again when a change is refused as immutable: its
 * annotation decides when present (ours, or Argo CD's `argocd.argoproj.io/sync-options: Force=true`,
 * which means the same there), otherwise the target's option.
 */
export function recreateAllowed(object: KubeObject, targetDefault: boolean): boolean {
  const value = object.metadata.annotations?.[FORCE_ANNOTATION]?.toLowerCase();
  if (value === 'enabled' || value === 'true') return true;
  if (value === 'disabled' || value === 'false') return false;
  if (argoForce(object)) return true;
  return targetDefault;
}

/** `argocd.argoproj.io/sync-options: Force=true` (the renderer already refused a malformed value). */
function argoForce(object: KubeObject): boolean {
  try {
    return readSyncOptions(object.metadata.annotations ?? {}, {}).force;
  } catch {
    return false;
  }
}
