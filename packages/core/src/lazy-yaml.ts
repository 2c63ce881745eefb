import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * The functions of `yaml` that core uses, the module loaded on the first call rather than when the
 * package is imported (a program pays for it on its first render, not for importing core). Under
 * Node the package resolves to its CommonJS build for `import` and `require` alike, so this is the
 * module an `import` would give; the wrappers keep the names and types of the originals, so a file
 * only changes where it imports them from.
 */
const require = createRequire(import.meta.url);
let loaded: typeof Yaml | undefined;

function yaml(): typeof Yaml {
  loaded ??= require('yaml') as typeof Yaml;
  return loaded;
}

export type { Document, Node, ParseOptions, SchemaOptions, Tags } from 'yaml';

/** `yaml`'s `parse`. */
export const parse = ((...args: Parameters<typeof Yaml.parse>) => yaml().parse(...args)) as typeof Yaml.parse;
/** `yaml`'s `parseDocument`. */
export const parseDocument = ((...args: Parameters<typeof Yaml.parseDocument>) =>
  yaml().parseDocument(...args)) as typeof Yaml.parseDocument;
/** `yaml`'s `parseAllDocuments`. */
export const parseAllDocuments = ((...args: Parameters<typeof Yaml.parseAllDocuments>) =>
  yaml().parseAllDocuments(...args)) as typeof Yaml.parseAllDocuments;
/** `yaml`'s `isMap`. */
export const isMap = ((node: unknown) => yaml().isMap(node)) as typeof Yaml.isMap;
/** `yaml`'s `isPair`. */
export const isPair = ((node: unknown) => yaml().isPair(node)) as typeof Yaml.isPair;
/** `yaml`'s `isScalar`. */
export const isScalar = ((node: unknown) => yaml().isScalar(node)) as typeof Yaml.isScalar;
/** `yaml`'s `isSeq`. */
export const isSeq = ((node: unknown) => yaml().isSeq(node)) as typeof Yaml.isSeq;
/** `yaml`'s `LineCounter` (`new LineCounter()` builds the real one). */
export type LineCounter = Yaml.LineCounter;
export const LineCounter = function LineCounter() {
  return new (yaml().LineCounter)();
} as unknown as typeof Yaml.LineCounter;
