import {
  type ApplyPolicy,
  applyPolicyOf,
  type IgnoredFields,
  type KubeObject,
  type PlannedObject,
  resolveIgnored,
  valueAt,
  withoutPointers,
  withValueAt,
} from '@gitops-kit/core';
import { isRecord, type JsonRecord, splitPointer } from '@gitops-kit/core/internal';
import type { TargetContext } from './context.js';
import type { Prepared } from './prepare.js';

/**
 * What the ignore rules and the object's apply policy leave alone in one object, and the body the
 * apply sends for it: core's one definition (`resolveIgnored`, `applyPolicyOf`) read for the
 * plan (the compared body), the printed diff (the pointers) and the apply (the sent body) alike.
 */

/** One desired object as the drift rules see it against its live object. */
export interface DriftView {
  /** The object's apply policy (`Override` unless annotated). */
  readonly policy: ApplyPolicy;
  /** The fields left alone, as pointers into each side, and the rules that named one. */
  readonly ignored: IgnoredFields;
  /** The desired body without the ignored fields: what the plan compares with the live object. */
  readonly compared: KubeObject;
}

const NOTHING: IgnoredFields = { desired: [], live: [], used: [] };

/** The drift view of a prepared object against its live object (absent when it does not exist yet). */
export function driftView(context: TargetContext, item: Prepared, live: KubeObject | undefined): DriftView {
  const policy = applyPolicyOf(item.body);
  const byRules = context.ignore.length > 0 ? resolveIgnored(context.ignore, item.body, live) : NOTHING;
  // Merge: the fields every other manager owns are theirs (Flux's "preserve fields set by others").
  const others = policy === 'Merge' && live ? otherManagers(live, context.fieldManager) : [];
  const byPolicy = others.length > 0 ? resolveIgnored([{ managers: others }], item.body, live) : NOTHING;
  const ignored: IgnoredFields = {
    desired: union(byRules.desired, byPolicy.desired),
    live: union(byRules.live, byPolicy.live),
    used: byRules.used,
  };
  return { policy, ignored, compared: withoutPointers(item.body, ignored.desired) };
}

/**
 * The body to send for an object that exists: without its ignored fields, so their other owner
 * keeps them. Server-side apply removes a field its only owner stops sending, so an ignored field
 * we alone own (nobody else has written it since we created the object) is sent with its live
 * value instead: nothing changes, and the first other writer takes it over. A create sends the
 * whole body: nobody else owns anything yet.
 */
export function applyBody(
  context: TargetContext,
  item: Prepared,
  live: KubeObject | undefined,
  view: DriftView,
): KubeObject {
  if (!live) return item.body;
  // `Replace=true` sends a PUT, which removes whatever the body leaves out, owner or not: every
  // ignored field is sent at its live value (as Argo CD's RespectIgnoreDifferences does), those
  // of ignored managers included.
  if (item.writeOptions?.replace) return replaceBody(item.body, live, view);
  if (view.ignored.desired.length === 0) return item.body;
  let body = withoutPointers(item.body, view.ignored.desired);
  for (const pointer of view.ignored.desired) {
    // Only a pointer that reads the same on both sides is pinned (list items may sit elsewhere live).
    if (!view.ignored.live.includes(pointer)) continue;
    const value = valueAt(live, pointer);
    if (value === undefined || !soleOwner(live, pointer, context.fieldManager)) continue;
    body = withValueAt(body, pointer, value);
  }
  return body;
}

/**
 * A replace body: the desired object with the live value at every ignored pointer. A pointer
 * through a list index is pinned only where it reads the same on both sides (the item may sit
 * elsewhere live).
 */
function replaceBody(desired: KubeObject, live: KubeObject, view: DriftView): KubeObject {
  const pointers = new Set([...view.ignored.desired, ...view.ignored.live]);
  if (pointers.size === 0) return desired;
  let body = desired;
  for (const pointer of pointers) {
    const throughList = splitPointer(pointer).some((segment) => /^\d+$/.test(segment));
    if (throughList && !(view.ignored.desired.includes(pointer) && view.ignored.live.includes(pointer)))
      continue;
    const value = valueAt(live, pointer);
    body = value === undefined ? withoutPointers(body, [pointer]) : withValueAt(body, pointer, value);
  }
  return body;
}

/** The prepared objects as declared, behind the ones {@link withApplyBody} made. */
const declared = new WeakMap<Prepared, Prepared>();

/** The prepared object with the body the apply (and its dry-run) sends, the digest unchanged. */
export function withApplyBody(
  context: TargetContext,
  item: Prepared,
  live: KubeObject | undefined,
  view: DriftView = driftView(context, item, live),
): Prepared {
  const body = applyBody(context, item, live, view);
  if (body === item.body) return item;
  const sent = { ...item, body };
  declared.set(sent, item);
  return sent;
}

/**
 * The prepared object as declared, before {@link withApplyBody} left fields out for a live object:
 * what a later write (a repair, a creation after a deletion) starts from.
 */
export function declaredOf(item: Prepared): Prepared {
  return declared.get(item) ?? item;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return b.length === 0 ? [...a] : [...new Set([...a, ...b])];
}

/** The field managers of an object other than `ours` (`status` entries left out: status is not applied). */
function otherManagers(live: KubeObject, ours: string): string[] {
  const entries = live.metadata.managedFields;
  if (!Array.isArray(entries)) return [];
  const names = new Set<string>();
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry.manager !== 'string' || entry.manager === ours) continue;
    if (entry.subresource === 'status') continue;
    names.add(entry.manager);
  }
  return [...names];
}

/** Whether `ours` is the only manager owning the field at `pointer` of the live object. */
function soleOwner(live: KubeObject, pointer: string, ours: string): boolean {
  const entries = live.metadata.managedFields;
  if (!Array.isArray(entries)) return false;
  let mine = false;
  for (const entry of entries) {
    // Every entry counts, subresources too: a `scale` entry owns `spec.replicas`.
    if (!isRecord(entry) || !isRecord(entry.fieldsV1)) continue;
    if (!owns(entry.fieldsV1, live, splitPointer(pointer))) continue;
    if (entry.manager === ours) mine = true;
    else return false;
  }
  return mine;
}

/** Whether a fieldsV1 tree owns the field the segments lead to in `value`. */
function owns(node: JsonRecord, value: unknown, segments: readonly string[]): boolean {
  const [first, ...rest] = segments;
  if (first === undefined) return true;
  let child: unknown;
  let next: unknown;
  if (Array.isArray(value)) {
    const item: unknown = value[Number(first)];
    next = item;
    child = Object.entries(node).find(([member]) => memberSelects(member, item, Number(first)))?.[1];
  } else if (isRecord(value)) {
    next = value[first];
    child = node[`f:${first}`];
  }
  if (!isRecord(child)) return false;
  return owns(child, next, rest);
}

/** Whether a list member of fieldsV1 (`k:`, `v:`, `i:`) selects the item at `index`. */
function memberSelects(member: string, item: unknown, index: number): boolean {
  if (member === `i:${index}`) return true;
  try {
    if (member.startsWith('v:')) return JSON.stringify(JSON.parse(member.slice(2))) === JSON.stringify(item);
    if (!member.startsWith('k:') || !isRecord(item)) return false;
    const key: unknown = JSON.parse(member.slice(2));
    return (
      isRecord(key) && Object.entries(key).every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v))
    );
  } catch {
    return false;
  }
}

/** The `ignored` field of a planned object, when anything is left alone. */
export function ignoredField(view: DriftView): Pick<PlannedObject, 'ignored'> {
  const { desired, live } = view.ignored;
  return desired.length + live.length > 0 ? { ignored: { desired, live } } : {};
}

/**
 * The planned object an apply policy decides alone: `Ignore` is never written (it stays in the
 * inventory and prune leaves it, see `keptByApplyPolicy`), `IfNotPresent` is left as it is once
 * it exists. Undefined for everything else, planned by comparison.
 */
export function plannedByPolicy(
  view: DriftView,
  base: Pick<PlannedObject, 'ref' | 'manifest' | 'digest' | 'ignored'>,
  live: KubeObject | undefined,
): PlannedObject | undefined {
  if (view.policy === 'Ignore' || (view.policy === 'IfNotPresent' && live)) {
    return { ...base, action: 'unchanged', drifted: false, changes: [], ...(live ? { live } : {}) };
  }
  return undefined;
}
