import { isRecord } from '../diff/values.js';
import { ErrorCodes, type ErrorLocation, formatLocation, type GitOpsError, RenderError } from '../errors.js';
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type ParseOptions,
  parseAllDocuments,
  type SchemaOptions,
  type Tags,
} from '../lazy-yaml.js';
import { LifecycleAnnotations } from '../lifecycle/annotations.js';
import { LifecycleErrorCodes } from '../lifecycle/codes.js';
import type { KubeObject, Manifest } from '../types.js';

/**
 * YAML text to manifests, read the way kubectl reads it. kubectl decodes with go-yaml v2, which is
 * YAML 1.1: `0644` is an octal number and `yes`/`on`/`y` are booleans. Unlike full YAML 1.1 it
 * keeps timestamps as strings and has no base-60 numbers, so those tags are removed here. Tags that
 * do not map to JSON (`!!binary`, `!!set`, `!!omap`, `!!pairs`) are removed too, so such values stay
 * the strings or collections they are written as.
 */

/** The default cap on alias expansion per document (as the `yaml` package's own default). */
export const DEFAULT_MAX_ALIAS_COUNT = 100;

/** Options for {@link parseManifests}. */
export interface ParseManifestsOptions {
  /**
   * How many times aliases may be expanded in one document before it counts as an alias bomb
   * (`-1` turns the check off). Default {@link DEFAULT_MAX_ALIAS_COUNT}.
   */
  readonly maxAliasCount?: number;
  /** Flatten `kind: List` documents into their items (default true, as kubectl does). */
  readonly flattenLists?: boolean;
}

const DROPPED_TAGS = new Set([
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:set',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
]);

/** Keeps the YAML 1.1 tags kubectl honours: no timestamps, no base-60 (`format: 'TIME'`) numbers. */
function kubectlTags(tags: Tags): Tags {
  return tags.filter((tag) => {
    if (typeof tag === 'string') return true;
    return !DROPPED_TAGS.has(tag.tag) && tag.format !== 'TIME';
  });
}

/** The parse options that make the `yaml` package read like kubectl. Exported for tools that emit YAML. */
export const KUBECTL_YAML_OPTIONS: ParseOptions & SchemaOptions & { version: '1.1' } = Object.freeze({
  version: '1.1',
  customTags: kubectlTags,
  prettyErrors: false,
  uniqueKeys: true,
  merge: true,
});

/** What a YAML error reports, reduced to its one-based position. */
function positionOf(lines: LineCounter, offset: number | undefined): { line: number; column: number } {
  const pos = lines.linePos(Math.max(0, offset ?? 0));
  return { line: pos.line, column: pos.col };
}

/** A short description of a JSON value's type, for messages (never the value itself). */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/** A JSON path inside an object: keys and list indexes. */
export type ValuePath = readonly (string | number)[];

/** How the strings that mention `${` were written in the YAML an object was read from. */
export interface SubstitutionHints {
  /** Plain (unquoted) scalars: read again after substitution (`replicas: ${N}` becomes a number). */
  readonly plain: readonly ValuePath[];
  /** Quoted or block scalars: stay strings after substitution (`PORT: "${PORT}"`). */
  readonly quoted: readonly ValuePath[];
}

/**
 * Substitution hints per parsed object, kept beside the object rather than in it, and only for
 * objects whose text mentions a variable. They let substitution give the result of substituting
 * in the YAML text (as Flux does) while working on objects.
 */
const hintsByObject = new WeakMap<object, SubstitutionHints>();

/** The substitution hints of an object read by {@link parseManifests} (empty when it has none). */
export function substitutionHints(object: object): SubstitutionHints {
  return hintsByObject.get(object) ?? { plain: [], quoted: [] };
}

/** Sets an object's substitution hints (renderers that know better, such as Kustomize, use it). */
export function setSubstitutionHints(object: object, hints: SubstitutionHints): void {
  if (hints.plain.length + hints.quoted.length > 0) hintsByObject.set(object, hints);
  else hintsByObject.delete(object);
}

/** Copies the substitution hints of one object to a copy of it (the render cache does this). */
export function copySubstitutionHints(from: object, to: object): void {
  const hints = hintsByObject.get(from);
  if (hints) hintsByObject.set(to, hints);
}

/** Collects the paths of string scalars containing `${` below a node, by how they are written. */
function collectVariables(
  node: unknown,
  path: (string | number)[],
  out: { plain: ValuePath[]; quoted: ValuePath[] },
): void {
  if (isScalar(node)) {
    if (typeof node.value === 'string' && node.value.includes('${')) {
      (node.type === 'PLAIN' ? out.plain : out.quoted).push([...path]);
    }
    return;
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      path.push(key);
      collectVariables(pair.value, path, out);
      path.pop();
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      path.push(i);
      collectVariables(item, path, out);
      path.pop();
    });
  }
}

/** Records substitution hints for an object made from `node`, when its text mentions a variable. */
function recordHints(
  object: object,
  node: unknown,
  text: string,
  range: readonly number[] | undefined,
): void {
  if (!range || !text.slice(range[0], range[2] ?? range[1]).includes('${')) return;
  const out = { plain: [] as ValuePath[], quoted: [] as ValuePath[] };
  collectVariables(node, [], out);
  setSubstitutionHints(object, out);
}

/**
 * Checks the fields every object needs and that gitops-kit reads, so a bad manifest fails at render
 * time with its place rather than later at the target. Messages name fields, never values.
 */
export function checkManifestObject(value: unknown, where: ErrorLocation): KubeObject {
  if (!isRecord(value)) {
    throw new RenderError(
      ErrorCodes.RenderInvalidObject,
      `expected a mapping (an object), found ${typeName(value)}`,
      {
        location: where,
      },
    );
  }
  const missing = (field: string): RenderError =>
    new RenderError(ErrorCodes.RenderMissingField, `object has no ${field}`, { location: where });
  const notString = (field: string, found: unknown): RenderError =>
    new RenderError(ErrorCodes.RenderInvalidObject, `${field} must be a string, found ${typeName(found)}`, {
      location: where,
    });
  const { apiVersion, kind, metadata } = value;
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') throw missing('apiVersion');
  if (typeof apiVersion !== 'string') throw notString('apiVersion', apiVersion);
  if (kind === undefined || kind === null || kind === '') throw missing('kind');
  if (typeof kind !== 'string') throw notString('kind', kind);
  const object = `${apiVersion} ${kind}`;
  const named = { ...where, object };
  if (metadata === undefined || metadata === null) {
    throw new RenderError(ErrorCodes.RenderMissingField, 'object has no metadata.name', { location: named });
  }
  if (!isRecord(metadata)) {
    throw new RenderError(
      ErrorCodes.RenderInvalidObject,
      `metadata must be a mapping, found ${typeName(metadata)}`,
      {
        location: named,
      },
    );
  }
  const { name, namespace } = metadata;
  const generated = name === undefined || name === null || name === '' ? generatedName(metadata) : undefined;
  if (generated === undefined && (name === undefined || name === null || name === '')) {
    throw new RenderError(ErrorCodes.RenderMissingField, 'object has no metadata.name', { location: named });
  }
  if (generated === undefined && typeof name !== 'string') {
    throw new RenderError(
      ErrorCodes.RenderInvalidObject,
      `metadata.name must be a string, found ${typeName(name)}`,
      {
        location: named,
      },
    );
  }
  const full = {
    ...where,
    object: `${object} ${typeof namespace === 'string' && namespace ? `${namespace}/` : ''}${generated === undefined ? String(name) : `${generated}*`}`,
  };
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') {
    throw new RenderError(
      ErrorCodes.RenderInvalidObject,
      `metadata.namespace must be a string, found ${typeName(namespace)}`,
      { location: full },
    );
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isRecord(map)) {
      throw new RenderError(
        ErrorCodes.RenderInvalidObject,
        `metadata.${field} must be a mapping, found ${typeName(map)}`,
        { location: full },
      );
    }
    for (const [key, v] of Object.entries(map)) {
      // The API server refuses non-string label and annotation values (`true`, `1`): say so here.
      if (typeof v !== 'string') {
        throw new RenderError(
          ErrorCodes.RenderInvalidObject,
          `metadata.${field}["${key}"] must be a string, found ${typeName(v)} (quote it)`,
          { location: full },
        );
      }
    }
  }
  if (generated !== undefined && !isHook(metadata)) {
    throw new RenderError(
      LifecycleErrorCodes.GenerateNameNotHook,
      `metadata.generateName ${JSON.stringify(generated)} without metadata.name is allowed only on hooks: ` +
        'an ordinary object needs a stable name to be tracked, updated and pruned (each pass would create ' +
        'another copy); set metadata.name, or make it a hook with argocd.argoproj.io/hook or helm.sh/hook',
      { location: full },
    );
  }
  if (namespace === null || namespace === '') delete metadata.namespace;
  if (generated !== undefined) delete metadata.name;
  return value as KubeObject;
}

/** `metadata.generateName` when it is a non-empty string. */
function generatedName(metadata: Record<string, unknown>): string | undefined {
  const { generateName } = metadata;
  return typeof generateName === 'string' && generateName !== '' ? generateName : undefined;
}

/**
 * Whether the object is a hook (Argo CD or Helm), the only objects that may be named by the server:
 * each run creates a new one, and the names created are recorded for their delete policies.
 */
function isHook(metadata: Record<string, unknown>): boolean {
  const annotations = metadata.annotations;
  if (!isRecord(annotations)) return false;
  const argo = annotations[LifecycleAnnotations.argoHook];
  const helm = annotations[LifecycleAnnotations.helmHook];
  const argoHook = typeof argo === 'string' && argo.trim() !== '' && argo.trim() !== 'Skip';
  return argoHook || (typeof helm === 'string' && helm.trim() !== '');
}

/** The one-based line where a node's content starts. */
function lineOfNode(lines: LineCounter, node: Node | null | undefined, fallback: number): number {
  const start = node?.range?.[0];
  return start === undefined ? fallback : positionOf(lines, start).line;
}

/** Turns one parsed document into zero (empty document), one, or many (`kind: List`) manifests. */
function documentManifests(
  text: string,
  doc: Document.Parsed,
  index: number,
  file: string,
  lines: LineCounter,
  options: ParseManifestsOptions,
  out: Manifest[],
): void {
  const contents = doc.contents;
  // A document of only comments, or an empty one between two `---`, has no contents.
  if (contents === null) return;
  const line = lineOfNode(lines, contents, positionOf(lines, doc.range[0]).line);
  const where = { file, documentIndex: index, line };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: options.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new RenderError(
        ErrorCodes.RenderAliasLimit,
        `too many YAML alias expansions (limit ${options.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT}): refusing a possible alias bomb`,
        { location: where, cause: error },
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new RenderError(ErrorCodes.RenderYamlInvalid, message, { location: where, cause: error });
  }
  // `null`, `~` or an empty scalar: kubectl skips these documents too.
  if (value === null || value === undefined) return;
  if ((options.flattenLists ?? true) && isListObject(value)) {
    flattenList(text, value, contents, where, lines, out);
    return;
  }
  const object = checkManifestObject(value, where);
  recordHints(object, contents, text, contents.range);
  out.push({ object, origin: { file, documentIndex: index, line } });
}

/**
 * Whether a document is a list wrapper: `kind: List`, or any `…List` kind with an `items` list
 * (`ConfigMapList`, as `kubectl get -o yaml` writes). kubectl applies the items one by one.
 */
function isListObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string')
    return false;
  if (value.kind === 'List') return true;
  return value.kind.endsWith('List') && Array.isArray(value.items);
}

/** Adds the items of a `kind: List`, each with its own line. */
function flattenList(
  text: string,
  list: Record<string, unknown>,
  contents: Node,
  where: ErrorLocation & { file: string; documentIndex: number; line: number },
  lines: LineCounter,
  out: Manifest[],
): void {
  const items = list.items;
  if (items === null || items === undefined) return;
  if (!Array.isArray(items)) {
    throw new RenderError(
      ErrorCodes.RenderInvalidObject,
      `List items must be a list, found ${typeName(items)}`,
      {
        location: { ...where, object: `${String(list.apiVersion)} ${String(list.kind)}` },
      },
    );
  }
  const itemsNode = isMap(contents) ? contents.get('items', true) : undefined;
  const itemNodes = isSeq(itemsNode) ? itemsNode.items : [];
  items.forEach((item: unknown, i: number) => {
    if (item === null || item === undefined) return;
    const line = lineOfNode(lines, itemNodes[i] as Node | undefined, where.line);
    const at = { file: where.file, documentIndex: where.documentIndex, line };
    const object = checkManifestObject(item, at);
    const node = itemNodes[i] as Node | undefined;
    recordHints(object, node, text, node?.range ?? undefined);
    out.push({ object, origin: at });
  });
}

/**
 * Parses YAML (or JSON) text into manifests, each with its origin (file, document index, line).
 * Multi-document streams are split; empty and comment-only documents are skipped; `kind: List` is
 * flattened. Throws a {@link RenderError} naming the file, document and line for malformed YAML, an
 * alias bomb, or an object without `apiVersion`, `kind` or `metadata.name`.
 *
 * `kind: List` needs `metadata.name` only on its items: a List is a wrapper, not an object.
 */
export function parseManifests(text: string, file: string, options: ParseManifestsOptions = {}): Manifest[] {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { ...KUBECTL_YAML_OPTIONS, lineCounter: lines });
  const docs = Array.isArray(parsed) ? parsed : [];
  // Report the first syntax error of the file before reading any document.
  for (const [index, doc] of docs.entries()) {
    const error = doc.errors[0];
    if (!error) continue;
    const { line, column } = positionOf(lines, error.pos[0]);
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more in this document)` : '';
    throw new RenderError(ErrorCodes.RenderYamlInvalid, `invalid YAML: ${error.message}${more}`, {
      location: { file, documentIndex: index, line, column },
      cause: error,
    });
  }
  const out: Manifest[] = [];
  for (const [index, doc] of docs.entries()) documentManifests(text, doc, index, file, lines, options, out);
  return out;
}

/** An error's message without the `file:line (document N) object: ` prefix its location added. */
export function messageWithoutLocation(error: GitOpsError): string {
  const prefix = `${formatLocation(error.location)}: `;
  return prefix.length > 2 && error.message.startsWith(prefix)
    ? error.message.slice(prefix.length)
    : error.message;
}
