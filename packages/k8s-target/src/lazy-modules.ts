import { createRequire } from 'node:module';
import type * as Diff from 'diff';
import type * as Yaml from 'yaml';

/**
 * `diff` and `yaml`'s `stringify`, which only diff printing uses, loaded on the first call rather
 * than when the package is imported. `yaml` resolves to its CommonJS build under Node for `import`
 * and `require` alike; `diff` has a CommonJS build of its own, whose functions are pure, so which
 * build runs does not matter.
 */
const require = createRequire(import.meta.url);

/** `diff`'s `structuredPatch`. */
export const structuredPatch = ((...args: Parameters<typeof Diff.structuredPatch>) =>
  (require('diff') as typeof Diff).structuredPatch(...args)) as typeof Diff.structuredPatch;

/** `yaml`'s `stringify`. */
export const stringify = ((...args: Parameters<typeof Yaml.stringify>) =>
  (require('yaml') as typeof Yaml).stringify(...args)) as typeof Yaml.stringify;
