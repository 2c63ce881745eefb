export { type DiffOptions, diffObjects, diffValues } from './diff.js';
export { type FormatPlanOptions, formatChanges, formatPlan, formatPlanSummary } from './format.js';
export {
  isSecret,
  MASKED_CHANGED_VALUE,
  MASKED_VALUE,
  type MaskPredicate,
  maskFor,
  maskNothing,
  maskSecretValues,
  storedSecretData,
} from './mask.js';
export { maskPlanSecrets } from './mask-plan.js';
export { escapePointerSegment, joinPointer, splitPointer } from './pointer.js';
export { projectOnto, unionShape } from './project.js';
export { isRecord, type JsonRecord, jsonEqual } from './values.js';
