import { joinPointer, splitPointer } from '../diff/pointer.js';
import { isRecord, type JsonRecord } from '../diff/values.js';
import { OptionError } from '../errors.js';
import { type LabelSelector, matchesSelector } from '../fleet/cluster.js';
import { groupOf } from '../refs.js';
import type { KubeObject } from '../types.js';

/**
 * Ignore rules: fields of desired objects that gitops-kit leaves to someone else (an HPA owns
 * `spec.replicas`, cert-manager fills a webhook's `caBundle`). One definition read identically by
 * the plan (an ignored field is no change and no drift), the printed diff (not shown) and the
 * apply (not sent, so its other owner keeps it). Pure data and pure functions: targets resolve
 * the rules against their desired and live objects with {@link resolveIgnored}.
 *
 * A rule names fields by RFC 6901 JSON pointer (`/spec/replicas`, as Flux's `.spec.ignore` and
 * Argo CD's `jsonPointers`) or by field manager (every field those managers own, read from
 * `metadata.managedFields`, as Argo CD's `managedFieldsManagers`), for the objects its target
 * selects.
 */

/** Which objects a rule is for; every field set must match (an empty target selects everything). */
export interface IgnoreTarget {
  /** API group (`apps`; the core group is `''`). */
  readonly group?: string | undefined;
  /** API version without the group (`v1`). */
  readonly version?: string | undefined;
  /** Kind (`Deployment`). */
  readonly kind?: string | undefined;
  /** Object name. */
  readonly name?: string | undefined;
  /** Namespace (namespaced objects only). */
  readonly namespace?: string | undefined;
  /** Labels of the desired object, as a selector string (`app=web,tier in (a,b)`) or object. */
  readonly labelSelector?: string | LabelSelector | undefined;
  /** Annotations of the desired object, in the same forms. */
  readonly annotationSelector?: string | LabelSelector | undefined;
}

/** One ignore rule. */
export interface IgnoreRule {
  /** RFC 6901 JSON pointers of fields to leave alone (`/spec/replicas`, `/metadata/annotations/a~1b`). */
  readonly paths?: readonly string[] | undefined;
  /** Field managers (`kube-controller-manager`, `hpa-controller`) whose fields are left alone. */
  readonly managers?: readonly string[] | undefined;
  /** The objects it applies to (default: all). */
  readonly target?: IgnoreTarget | undefined;
}

/** A rule that matched no field of any object, as a plan reports it. */
export interface UnusedIgnoreRule {
  /** Its position in the list of rules. */
  readonly index: number;
  /** The rule in words: `ignore[0] /spec/replicas of apps/Deployment`. */
  readonly description: string;
}

/** What the rules leave alone in one object, as JSON pointers into each side. */
export interface IgnoredFields {
  /** Pointers into the desired object (list items at their desired index). */
  readonly desired: readonly string[];
  /** Pointers into the live object (list items at their live index). */
  readonly live: readonly string[];
  /** Indexes of the rules that named at least one field of this object. */
  readonly used: readonly number[];
}

/** A path segment: a field, a list position, a list item by its key fields, or a set item by value. */
type Segment =
  | { readonly field: string }
  | { readonly index: number }
  | { readonly key: JsonRecord }
  | { readonly value: unknown };

/**
 * Checks rules once, when they are given: every pointer is a valid RFC 6901 pointer into an object
 * (starts with `/`, `~` only as `~0` or `~1`), every rule names a path or a manager, selectors parse.
 * Throws an `OptionError` naming the rule.
 */
export function checkIgnoreRules(rules: readonly IgnoreRule[], option = 'ignore'): void {
  rules.forEach((rule, index) => {
    const where = `${option}[${index}]`;
    if ((rule.paths?.length ?? 0) === 0 && (rule.managers?.length ?? 0) === 0) {
      throw new OptionError([where], `${where} names no paths and no managers: it would ignore nothing`);
    }
    for (const path of rule.paths ?? []) {
      if (!/^(\/([^~/]|~[01])*)+$/.test(path)) {
        throw new OptionError(
          [where],
          `${where} path ${JSON.stringify(path)} is not an RFC 6901 JSON pointer (like /spec/replicas; escape / as ~1 and ~ as ~0)`,
        );
      }
    }
    for (const selector of [rule.target?.labelSelector, rule.target?.annotationSelector]) {
      if (typeof selector === 'string') parseSelector(selector, where);
    }
  });
}

/** The rule in words, for plans and errors: `ignore[0] /spec/replicas of apps/Deployment`. */
export function describeIgnoreRule(rule: IgnoreRule, index: number): string {
  const what = [...(rule.paths ?? []), ...(rule.managers ?? []).map((m) => `fields of manager ${m}`)];
  const t = rule.target ?? {};
  const kind = t.kind === undefined && t.group === undefined ? '' : `${t.group ?? '*'}/${t.kind ?? '*'}`;
  const scope = [
    kind,
    t.namespace === undefined ? '' : `in ${t.namespace}`,
    t.name === undefined ? '' : `named ${t.name}`,
    selectorText(t.labelSelector, 'labels'),
    selectorText(t.annotationSelector, 'annotations'),
  ].filter((s) => s !== '');
  return `ignore[${index}] ${what.join(', ')} of ${scope.length > 0 ? scope.join(' ') : 'every object'}`;
}

function selectorText(selector: string | LabelSelector | undefined, what: string): string {
  if (selector === undefined) return '';
  return `with ${what} ${typeof selector === 'string' ? selector : JSON.stringify(selector)}`;
}

/** Whether a rule's target selects an object (read from the desired object, namespace defaulted). */
export function matchesIgnoreTarget(target: IgnoreTarget | undefined, object: KubeObject): boolean {
  if (!target) return true;
  const slash = object.apiVersion.indexOf('/');
  const version = slash < 0 ? object.apiVersion : object.apiVersion.slice(slash + 1);
  if (target.group !== undefined && target.group !== groupOf(object.apiVersion)) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.kind !== undefined && target.kind !== object.kind) return false;
  if (target.name !== undefined && target.name !== object.metadata.name) return false;
  if (target.namespace !== undefined && target.namespace !== object.metadata.namespace) return false;
  if (!selects(target.labelSelector, object.metadata.labels)) return false;
  return selects(target.annotationSelector, object.metadata.annotations);
}

function selects(selector: string | LabelSelector | undefined, values: Record<string, string> | undefined) {
  if (selector === undefined) return true;
  const parsed = typeof selector === 'string' ? parseSelector(selector, 'selector') : selector;
  return matchesSelector(values ?? {}, parsed);
}

/**
 * A label selector string as Kubernetes writes it (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`, joined by commas) as a {@link LabelSelector}.
 */
export function parseSelector(text: string, where = 'selector'): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: NonNullable<LabelSelector['matchExpressions']>[number][] = [];
  // Commas inside `( … )` belong to a set, so split on the others only.
  const parts = text.split(/,(?![^(]*\))/).map((p) => p.trim());
  for (const part of parts) {
    if (part === '') continue;
    let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = (m[3] as string).split(',').map((v) => v.trim());
      matchExpressions.push({ key: m[1] as string, operator: m[2] === 'in' ? 'In' : 'NotIn', values });
      continue;
    }
    m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part);
    if (m) {
      if (m[2] === '!=')
        matchExpressions.push({ key: m[1] as string, operator: 'NotIn', values: [m[3] as string] });
      else matchLabels[m[1] as string] = m[3] as string;
      continue;
    }
    m = /^(!?)([\w./-]+)$/.exec(part);
    if (m) {
      matchExpressions.push({ key: m[2] as string, operator: m[1] ? 'DoesNotExist' : 'Exists' });
      continue;
    }
    throw new OptionError(
      [where],
      `${where}: cannot read the selector ${JSON.stringify(text)} at ${JSON.stringify(part)}`,
    );
  }
  return { matchLabels, matchExpressions };
}

/**
 * The fields the rules leave alone in one object: each selecting rule's pointers that exist in the
 * desired or the live object, and every field its managers own in the live object (from
 * `metadata.managedFields`; `status` subresource entries are skipped). Pointers are given
 * into both sides, list items at each side's own position. `desired` is the object as it will be
 * sent (namespace defaulted), `live` the object read from the cluster, if any.
 */
export function resolveIgnored(
  rules: readonly IgnoreRule[],
  desired: KubeObject,
  live: KubeObject | undefined,
): IgnoredFields {
  const desiredPointers = new Set<string>();
  const livePointers = new Set<string>();
  const used: number[] = [];
  rules.forEach((rule, index) => {
    if (!matchesIgnoreTarget(rule.target, desired)) return;
    let hit = false;
    for (const path of rule.paths ?? []) {
      const segments = splitPointer(path).map((s): Segment => ({ field: s }));
      const inDesired = resolvePath(desired, segments);
      const inLive = live ? resolvePath(live, segments) : undefined;
      if (inDesired !== undefined) desiredPointers.add(inDesired);
      if (inLive !== undefined) livePointers.add(inLive);
      hit ||= inDesired !== undefined || inLive !== undefined;
    }
    if (live && (rule.managers?.length ?? 0) > 0) {
      for (const owned of managerFields(live, new Set(rule.managers))) {
        const inLive = resolvePath(live, owned);
        if (inLive === undefined) continue;
        hit = true;
        livePointers.add(inLive);
        const inDesired = resolvePath(desired, owned);
        if (inDesired !== undefined) desiredPointers.add(inDesired);
      }
    }
    if (hit) used.push(index);
  });
  return { desired: [...desiredPointers], live: [...livePointers], used };
}

/** The rules no object used, given the indexes each object's {@link resolveIgnored} reported. */
export function unusedIgnoreRules(rules: readonly IgnoreRule[], used: Iterable<number>): UnusedIgnoreRule[] {
  const seen = new Set(used);
  return rules.flatMap((rule, index) =>
    seen.has(index) ? [] : [{ index, description: describeIgnoreRule(rule, index) }],
  );
}

/** Whether `pointer` is one of `ignored` or lies under one of them. */
export function isIgnoredPointer(ignored: readonly string[], pointer: string): boolean {
  return ignored.some((p) => pointer === p || pointer.startsWith(`${p}/`));
}

/** A copy of `object` without the values at `pointers` (pointers that lead nowhere are skipped). */
export function withoutPointers<T>(object: T, pointers: readonly string[]): T {
  if (pointers.length === 0) return object;
  let out: unknown = object;
  // Deepest first, so removing a list item never shifts the position of another pointer's item.
  for (const pointer of [...pointers].sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))) {
    out = removeAt(out, splitPointer(pointer));
  }
  return out as T;
}

/** The value at a pointer, or undefined. */
export function valueAt(object: unknown, pointer: string): unknown {
  let current = object;
  for (const segment of splitPointer(pointer)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isRecord(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** A copy of `object` with `value` at `pointer` (its parents exist: it is taken from a live object). */
export function withValueAt<T>(object: T, pointer: string, value: unknown): T {
  return setAt(object, splitPointer(pointer), value) as T;
}

function removeAt(value: unknown, segments: readonly string[]): unknown {
  const [first, ...rest] = segments;
  if (first === undefined) return value;
  if (Array.isArray(value)) {
    const i = Number(first);
    if (!Number.isInteger(i) || i < 0 || i >= value.length) return value;
    return rest.length === 0
      ? value.filter((_, j) => j !== i)
      : value.map((item, j) => (j === i ? removeAt(item, rest) : item));
  }
  if (!isRecord(value) || !Object.hasOwn(value, first)) return value;
  const copy: JsonRecord = { ...value };
  if (rest.length === 0) delete copy[first];
  else copy[first] = removeAt(value[first], rest);
  return copy;
}

function setAt(value: unknown, segments: readonly string[], next: unknown): unknown {
  const [first, ...rest] = segments;
  if (first === undefined) return next;
  if (Array.isArray(value)) {
    const i = Number(first);
    return value.map((item, j) => (j === i ? setAt(item, rest, next) : item));
  }
  const record: JsonRecord = isRecord(value) ? value : {};
  return { ...record, [first]: setAt(record[first], rest, next) };
}

/**
 * Where a path leads in an object, as a pointer with list items at their position there, or
 * undefined when it leads nowhere. A field segment on a list is read as a position (RFC 6901).
 */
function resolvePath(object: unknown, segments: readonly Segment[]): string | undefined {
  let current = object;
  let pointer = '';
  for (const segment of segments) {
    if ('field' in segment) {
      if (Array.isArray(current)) {
        const i = /^(0|[1-9]\d*)$/.test(segment.field) ? Number(segment.field) : -1;
        if (i < 0 || i >= current.length) return undefined;
        current = current[i];
        pointer = joinPointer(pointer, i);
      } else if (isRecord(current) && Object.hasOwn(current, segment.field)) {
        current = current[segment.field];
        pointer = joinPointer(pointer, segment.field);
      } else return undefined;
      continue;
    }
    if (!Array.isArray(current)) return undefined;
    const list: readonly unknown[] = current;
    const i =
      'index' in segment
        ? segment.index < list.length
          ? segment.index
          : -1
        : 'key' in segment
          ? list.findIndex((item) => matchesKeyFields(item, segment.key))
          : list.findIndex((item) => JSON.stringify(item) === JSON.stringify(segment.value));
    if (i < 0) return undefined;
    current = list[i];
    pointer = joinPointer(pointer, i);
  }
  return pointer;
}

/**
 * Whether a list item has the key fields of a managed-fields `k:` member. A key field the item
 * leaves out may be one the server defaulted (a port's `protocol: TCP`), so only the fields it
 * sets must match, and it must set one.
 */
function matchesKeyFields(item: unknown, key: JsonRecord): boolean {
  if (!isRecord(item)) return false;
  const declared = Object.entries(key).filter(([field]) => item[field] !== undefined);
  return declared.length > 0 && declared.every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v));
}

/**
 * The leaves the given managers own in an object, from its `metadata.managedFields` (any
 * operation; `status` subresource entries skipped): each a path of segments, a `.` member making its node
 * a leaf of its own.
 */
function managerFields(object: KubeObject, managers: ReadonlySet<string>): Segment[][] {
  const entries = object.metadata.managedFields;
  if (!Array.isArray(entries)) return [];
  const out: Segment[][] = [];
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry.manager !== 'string' || !managers.has(entry.manager)) continue;
    // `status` is not ours to apply; a `scale` entry (an HPA, `kubectl scale`) owns `spec.replicas`.
    if (entry.subresource === 'status') continue;
    if (isRecord(entry.fieldsV1)) collectLeaves(entry.fieldsV1, [], out);
  }
  return out;
}

function collectLeaves(node: JsonRecord, path: Segment[], out: Segment[][]): void {
  const members = Object.keys(node).filter((m) => m !== '.');
  if (members.length === 0 || Object.hasOwn(node, '.')) {
    if (path.length > 0) out.push(path);
    if (members.length === 0) return;
  }
  for (const member of members) {
    const child = node[member];
    const segment = segmentOf(member);
    if (!segment) continue;
    const next = [...path, segment];
    if (isRecord(child)) collectLeaves(child, next, out);
    else out.push(next);
  }
}

/** A fieldsV1 member as a path segment: `f:<field>`, `k:<json>`, `v:<json>`, `i:<n>`. */
function segmentOf(member: string): Segment | undefined {
  const body = member.slice(2);
  try {
    if (member.startsWith('f:')) return { field: body };
    if (member.startsWith('i:')) return { index: Number(body) };
    if (member.startsWith('k:')) {
      const key: unknown = JSON.parse(body);
      return isRecord(key) ? { key } : undefined;
    }
    if (member.startsWith('v:')) return { value: JSON.parse(body) };
  } catch {
    return undefined;
  }
  return undefined;
}
