import { summarizePlan } from '../plan.js';
import { formatRef } from '../refs.js';
import type { FieldChange, Plan, PlannedObject } from '../types.js';
import { MASKED_VALUE } from './mask.js';

/** Options for {@link formatPlan}. */
export interface FormatPlanOptions {
  /** List unchanged objects too. Default false. */
  readonly showUnchanged?: boolean;
  /** Field changes shown per updated object before `… and N more`. Default 12. */
  readonly maxChanges?: number;
  /** Longest value shown before it is cut with `…`. Default 60 characters. */
  readonly maxValueLength?: number;
  /** Indent of every line. Default two spaces. */
  readonly indent?: string;
}

/**
 * A plan as people read it, one line per object and one per changed field:
 *
 * ```
 * Plan: 1 to create, 1 to update (1 drifted), 2 unchanged, 1 to prune
 *   + create  v1 ConfigMap shop/extra
 *   ~ update  apps/v1 Deployment shop/web
 *       /spec/replicas: 2 → 3
 *   - prune   v1 ConfigMap shop/old
 * ```
 *
 * Values come from the plan's `changes`, which targets mask for secrets, so nothing secret prints.
 * It needs nothing but the plan, so it serves every target; for Kubernetes, `formatPlanDiff` in
 * `@gitops-kit/k8s-target` prints a unified YAML diff of whole objects (live versus desired)
 * instead of field lines.
 */
export function formatPlan(plan: Plan, options: FormatPlanOptions = {}): string {
  const indent = options.indent ?? '  ';
  const lines = [`${indent.slice(2)}${formatPlanSummary(plan)}`];
  for (const object of plan.objects) {
    if (object.action === 'unchanged' && !options.showUnchanged) continue;
    lines.push(`${indent}${objectLine(object)}`);
    if (object.action === 'update') {
      for (const line of formatChanges(object.changes, options)) lines.push(`${indent}    ${line}`);
    }
  }
  for (const entry of plan.prune) lines.push(`${indent}- prune   ${formatRef(entry.ref)}`);
  for (const rule of plan.unusedIgnoreRules ?? []) lines.push(`${indent}! unused  ${rule.description}`);
  return lines.join('\n');
}

/**
 * One line counting what a plan does: `Plan: 1 to create, 0 to update, 3 unchanged, 0 to prune`
 * (the header of {@link formatPlan}; k8s-target's `planSummaryLine` heads `formatPlanDiff`). The
 * counts are `summarizePlan`'s, the one place a plan is counted.
 */
export function formatPlanSummary(plan: Plan): string {
  const counts = summarizePlan(plan);
  const drift = counts.drifted > 0 ? ` (${counts.drifted} drifted)` : '';
  return (
    `Plan: ${counts.create} to create, ${counts.update} to update${drift}, ` +
    `${counts.unchanged} unchanged, ${counts.prune} to prune`
  );
}

/** Field changes as lines: `/spec/replicas: 2 → 3`, `/data/b: + "x"`, `/data/a: - "y"`. */
export function formatChanges(changes: readonly FieldChange[], options: FormatPlanOptions = {}): string[] {
  const max = options.maxChanges ?? 12;
  const width = options.maxValueLength ?? 60;
  const lines = changes.slice(0, max).map((change) => {
    if (change.before === undefined) return `${change.path}: + ${formatValue(change.after, width)}`;
    if (change.after === undefined) return `${change.path}: - ${formatValue(change.before, width)}`;
    return `${change.path}: ${formatValue(change.before, width)} → ${formatValue(change.after, width)}`;
  });
  if (changes.length > max) lines.push(`… and ${changes.length - max} more`);
  return lines;
}

function objectLine(object: PlannedObject): string {
  const ref = formatRef(object.ref);
  if (object.action === 'create') return `+ create  ${ref}${object.drifted ? '  (deleted by hand)' : ''}`;
  if (object.action === 'unchanged') return `  same    ${ref}`;
  return `~ update  ${ref}${object.drifted ? '  (drift: changed outside gitops-kit)' : ''}`;
}

function formatValue(value: unknown, width: number): string {
  const text = value === MASKED_VALUE ? value : (JSON.stringify(value) ?? 'undefined');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
