export { type DiffOptions, diffObjects, diffValues } from './diff.js';
export { type FormatPlanOptions, formatChanges, formatPlan, summarizePlan } from './format.js';
export { MASKED_VALUE, type MaskPredicate, maskFor, maskNothing } from './mask.js';
export { escapePointerSegment, joinPointer, splitPointer } from './pointer.js';
export { projectOnto, unionShape } from './project.js';
