import {
  type FieldChange,
  formatChanges,
  formatRef,
  type InventoryEntry,
  type KubeObject,
  maskSecretValues,
  type Plan,
  type PlannedObject,
  withoutPointers,
} from '@gitops-kit/core';
import { alignDesired } from './compare.js';
import { projectLive, stripServerFields } from './diff-projection.js';
import { stringify, structuredPatch } from './lazy-modules.js';
import { ownedFields } from './managed-fields.js';

/** Options for {@link formatPlanDiff}. */
export interface FormatPlanDiffOptions {
  /** ANSI colors (red removals, green additions, cyan hunk headers). Default false. */
  readonly color?: boolean | undefined;
  /** Unchanged lines shown around each change. Default 3. */
  readonly context?: number | undefined;
  /** List unchanged objects too (one line each). Default false. */
  readonly showUnchanged?: boolean | undefined;
  /**
   * The field manager the target applies with (default `gitops-kit`): live fields it owns are
   * shown even when the desired object no longer sets them, so removals appear in the diff.
   */
  readonly fieldManager?: string | undefined;
  /**
   * Label and annotation prefixes the target adds itself (default `gitops-kit.dev/`): left out of
   * both sides so bookkeeping marks do not read as changes.
   */
  readonly ignorePrefixes?: readonly string[] | undefined;
}

const ANSI = {
  red: '\u001b[31m',
  green: '\u001b[32m',
  cyan: '\u001b[36m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
};

type Paint = (text: string, color: keyof typeof ANSI) => string;

function painter(enabled: boolean): Paint {
  return enabled ? (text, color) => `${ANSI[color]}${text}${ANSI.reset}` : (text) => text;
}

/**
 * One line counting what a plan does: `Plan: 1 to create, 2 to update, 0 to prune, 1 drifted, 5 unchanged`.
 * The header of {@link formatPlanDiff}; core's `summarizePlan` (the header of `formatPlan`) words
 * the same counts differently (`… 2 to update (1 drifted), 5 unchanged, 0 to prune`), and both
 * wordings are relied on by readers of their output, so each keeps its own.
 */
export function planSummaryLine(plan: Plan): string {
  return (
    `Plan: ${plan.create.length} to create, ${plan.update.length} to update, ` +
    `${plan.prune.length} to prune, ${plan.drifted.length} drifted, ${plan.unchanged.length} unchanged`
  );
}

/**
 * Objects as YAML 1.1 (so strings like `on` and `yes` stay quoted, as kubectl reads them), one key
 * per line and no folding, so a line diff lines up.
 */
export function toDiffYaml(object: unknown): string {
  return stringify(object, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}

function withoutPrefixed(
  values: Record<string, string> | undefined,
  prefixes: readonly string[],
): Record<string, string> | undefined {
  if (!values) return values;
  const kept = Object.entries(values).filter(([key]) => !prefixes.some((prefix) => key.startsWith(prefix)));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/** The object without the target's own labels and annotations. */
function withoutMarks(object: KubeObject, prefixes: readonly string[]): KubeObject {
  if (prefixes.length === 0) return object;
  const { labels, annotations, ...metadata } = object.metadata;
  const keptLabels = withoutPrefixed(labels, prefixes);
  const keptAnnotations = withoutPrefixed(annotations, prefixes);
  return {
    ...object,
    metadata: {
      ...metadata,
      ...(keptLabels ? { labels: keptLabels } : {}),
      ...(keptAnnotations ? { annotations: keptAnnotations } : {}),
    },
  };
}

/** The two YAML texts to compare for one planned object: live (empty when absent) and desired. */
export function diffTexts(
  object: PlannedObject,
  options: Pick<FormatPlanDiffOptions, 'fieldManager' | 'ignorePrefixes'> = {},
): { live: string; desired: string } {
  const prefixes = options.ignorePrefixes ?? ['gitops-kit.dev/'];
  const owned = object.live ? ownedFields(object.live, options.fieldManager ?? 'gitops-kit') : undefined;
  // Fields the ignore rules or the apply policy leave to others are shown on neither side.
  const liveClean = object.live
    ? withoutMarks(stripServerFields(withoutPointers(object.live, object.ignored?.live ?? [])), prefixes)
    : undefined;
  const desiredMarked = withoutMarks(
    stripServerFields(withoutPointers(object.manifest.object, object.ignored?.desired ?? [])),
    prefixes,
  );
  // The planner's tolerances, so a quantity or a `null` it rightly took as equal prints as equal.
  const desiredClean = alignDesired(desiredMarked, liveClean);
  const masked = maskSecretValues(liveClean, desiredClean);
  const live = masked.live ? projectLive(masked.live, masked.desired, owned) : undefined;
  return { live: live === undefined ? '' : toDiffYaml(live), desired: toDiffYaml(masked.desired) };
}

/** A unified diff of two texts (`--- live` / `+++ desired`), or no lines when they are equal. */
function unifiedDiff(live: string, desired: string, context: number, paint: Paint): string[] {
  const patch = structuredPatch('live', 'desired', live, desired, undefined, undefined, { context });
  if (patch.hunks.length === 0) return [];
  const lines = [paint('--- live', 'red'), paint('+++ desired', 'green')];
  for (const hunk of patch.hunks) {
    // As in GNU diff, an empty range starts at the line before it (`-0,0` for a new file).
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
    lines.push(paint(`@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`, 'cyan'));
    for (const line of hunk.lines) {
      if (line.startsWith('\\')) continue;
      if (line.startsWith('-')) lines.push(paint(line, 'red'));
      else if (line.startsWith('+')) lines.push(paint(line, 'green'));
      else lines.push(line);
    }
  }
  return lines;
}

/**
 * Field changes as lines, for updates whose live object the target did not keep: core's
 * `formatChanges` with nothing cut (a review wants every change), painted by kind.
 */
function changeLines(changes: readonly FieldChange[], paint: Paint): string[] {
  const lines = formatChanges(changes, {
    maxChanges: Number.POSITIVE_INFINITY,
    maxValueLength: Number.POSITIVE_INFINITY,
  });
  return lines.map((line, i) => {
    const change = changes[i];
    if (change?.before === undefined) return paint(`  ${line}`, 'green');
    if (change.after === undefined) return paint(`  ${line}`, 'red');
    return `  ${line}`;
  });
}

function originText(object: PlannedObject): string {
  const { file, line } = object.manifest.origin;
  return file ? `  (${file}:${line})` : '';
}

/**
 * Where the object runs in the pass, when the reconciler planned it: `[PreSync wave -1, hook]`,
 * `[Sync wave 2]`, `[not run: Helm pre-delete hook: runs on uninstall]`. Plans made by a target
 * alone have no lifecycle and print as before.
 */
function lifecycleText(object: PlannedObject): string {
  const lifecycle = object.lifecycle;
  if (!lifecycle) return '';
  if (lifecycle.phase === undefined) return `  [not run: ${lifecycle.notRun ?? 'not in this operation'}]`;
  const marks = [
    `${lifecycle.phase} wave ${lifecycle.wave}`,
    ...(lifecycle.hook ? ['hook'] : []),
    ...(lifecycle.generatedName ? ['name generated per sync'] : []),
  ];
  return `  [${marks.join(', ')}]`;
}

function objectSection(object: PlannedObject, options: FormatPlanDiffOptions, paint: Paint): string[] {
  const ref = formatRef(object.ref);
  const where = lifecycleText(object);
  if (object.action === 'unchanged') return [`  unchanged ${ref}${where}`];
  const drift = object.drifted ? ' (drifted: changed outside gitops-kit)' : '';
  const header =
    object.action === 'create'
      ? paint(`+ create ${ref}${drift}${originText(object)}${where}`, 'bold')
      : paint(`~ update ${ref}${drift}${originText(object)}${where}`, 'bold');
  if (object.action === 'update' && !object.live) {
    return [header, ...changeLines(object.changes, paint)];
  }
  const texts = diffTexts(object, options);
  const diff = unifiedDiff(texts.live, texts.desired, options.context ?? 3, paint);
  // An update can be invisible in the projection (say, a field another manager owns moves back):
  // the field changes still say what the target saw.
  if (diff.length === 0) return [header, ...changeLines(object.changes, paint)];
  return [header, ...diff];
}

function pruneLine(entry: InventoryEntry, paint: Paint): string {
  return paint(`- prune ${formatRef(entry.ref)}`, 'red');
}

/**
 * A plan as a pull-request reviewer reads it: the summary line, then a unified YAML diff per
 * object to create or update (live on the `---` side, desired on the `+++` side, without server
 * bookkeeping, Secret values masked), then the objects to prune.
 *
 * Unlike core's `formatPlan`, which prints one line per changed field from the plan's `changes`
 * and works for any target, this renders whole objects from the live and desired YAML the
 * Kubernetes target keeps on each planned object (field lines only when it kept no live object),
 * and it has its own summary line ({@link planSummaryLine}).
 */
export function formatPlanDiff(plan: Plan, options: FormatPlanDiffOptions = {}): string {
  const paint = painter(options.color ?? false);
  const sections: string[][] = [[paint(planSummaryLine(plan), 'bold')]];
  for (const object of plan.objects) {
    if (object.action === 'unchanged' && !options.showUnchanged) continue;
    sections.push(objectSection(object, options, paint));
  }
  if (plan.prune.length > 0) sections.push(plan.prune.map((entry) => pruneLine(entry, paint)));
  const unused = plan.unusedIgnoreRules ?? [];
  if (unused.length > 0)
    sections.push(unused.map((rule) => `! unused ${rule.description}: it matched nothing`));
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}
