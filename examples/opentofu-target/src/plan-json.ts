import { diffValues, type FieldChange, MASKED_CHANGED_VALUE, MASKED_VALUE } from '@gitops-kit/core';

/**
 * The parts of OpenTofu's JSON output (`tofu show -json`) the target reads, and how a resource
 * change becomes gitops-kit field changes.
 */

/** One `resource_changes` (or `resource_drift`) entry of a plan. */
export interface TofuResourceChange {
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly mode: 'managed' | 'data';
  readonly change: {
    readonly actions: readonly ('no-op' | 'create' | 'read' | 'update' | 'delete' | 'forget')[];
    readonly before: unknown;
    readonly after: unknown;
    readonly after_unknown?: unknown;
    readonly before_sensitive?: unknown;
    readonly after_sensitive?: unknown;
    readonly replace_paths?: readonly (readonly (string | number)[])[];
  };
}

/** A check block's result. */
export interface TofuCheck {
  readonly address: { readonly to_display: string };
  readonly status: 'pass' | 'fail' | 'error' | 'unknown';
  readonly instances?: readonly {
    readonly status: string;
    readonly problems?: readonly { readonly message: string }[];
  }[];
}

/** `tofu show -json <planfile>`. */
export interface TofuPlanJson {
  readonly resource_changes?: readonly TofuResourceChange[];
  readonly resource_drift?: readonly TofuResourceChange[];
  readonly output_changes?: Readonly<Record<string, TofuResourceChange['change']>>;
  readonly checks?: readonly TofuCheck[];
  readonly errored?: boolean;
}

/** One resource of the state. */
export interface TofuStateResource {
  readonly address: string;
  readonly mode: 'managed' | 'data';
  readonly type: string;
  readonly name: string;
  readonly values?: unknown;
  readonly depends_on?: readonly string[];
}

/** `tofu show -json` of the state (absent values when there is no state yet). */
export interface TofuStateJson {
  readonly values?: {
    readonly outputs?: Readonly<Record<string, { readonly value: unknown; readonly sensitive: boolean }>>;
    readonly root_module?: { readonly resources?: readonly TofuStateResource[] };
  };
  readonly checks?: readonly TofuCheck[];
}

/** What gitops-kit calls the change: tofu's actions folded into create / update / unchanged, and whether it is a replace or a delete. */
export type TofuAction = 'create' | 'update' | 'replace' | 'delete' | 'no-op';

/** Folds tofu's action list (`["delete","create"]` is a replace). */
export function actionOf(actions: readonly string[]): TofuAction {
  if (actions.includes('create') && actions.includes('delete')) return 'replace';
  if (actions.includes('create')) return 'create';
  if (actions.includes('update')) return 'update';
  if (actions.includes('delete') || actions.includes('forget')) return 'delete';
  return 'no-op';
}

/** Whether the path (pointer segments) is at or under a leaf tofu marks sensitive. */
function sensitiveAt(marks: unknown, segments: readonly string[]): boolean {
  let node = marks;
  for (const segment of segments) {
    if (node === true) return true;
    if (!node || typeof node !== 'object') return false;
    node = (node as Record<string, unknown>)[segment];
  }
  return (
    node === true || (node !== null && typeof node === 'object' && JSON.stringify(node).includes('true'))
  );
}

function segmentsOf(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Marks values known only after apply. */
function unknowns(value: unknown, unknown: unknown): unknown {
  if (unknown === true) return '(known after apply)';
  if (!unknown || typeof unknown !== 'object') return value;
  const base = (value && typeof value === 'object' ? value : Array.isArray(unknown) ? [] : {}) as Record<
    string,
    unknown
  >;
  const out: Record<string, unknown> | unknown[] = Array.isArray(base) ? [...base] : { ...base };
  for (const [key, u] of Object.entries(unknown))
    (out as Record<string, unknown>)[key] = unknowns(base[key], u);
  return out;
}

/** The field changes of one resource change: unknowns marked, sensitive values masked (a changed one reads `*** (changed)`), replace paths named. */
export function fieldChanges(change: TofuResourceChange['change']): FieldChange[] {
  const after = unknowns(change.after ?? undefined, change.after_unknown);
  const changes = diffValues(change.before ?? undefined, after ?? undefined).map((c): FieldChange => {
    const segments = segmentsOf(c.path);
    if (!sensitiveAt(change.before_sensitive, segments) && !sensitiveAt(change.after_sensitive, segments))
      return c;
    return {
      path: c.path,
      ...(c.before === undefined ? {} : { before: MASKED_VALUE }),
      ...(c.after === undefined ? {} : { after: MASKED_CHANGED_VALUE }),
    };
  });
  const forcing = (change.replace_paths ?? []).map((p) => `/${p.join('/')}`);
  return forcing.length === 0
    ? changes
    : [...changes, { path: '(replace)', before: 'forces replacement:', after: forcing.join(', ') }];
}
