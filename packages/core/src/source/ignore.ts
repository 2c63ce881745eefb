import { createRequire } from 'node:module';
import type { Ignore, Options } from 'ignore';

// `ignore` is loaded by the first rule set, not when core is imported (it is CommonJS: require
// gives the module an import would).
const require = createRequire(import.meta.url);
let ignoreModule: ((options?: Options) => Ignore) | undefined;
function ignore(): Ignore {
  ignoreModule ??= require('ignore') as (options?: Options) => Ignore;
  return ignoreModule();
}

/**
 * Ignore rules shared by every source, in the `.sourceignore` format of Flux (gitignore syntax).
 * Rules come in layers, evaluated in order with the last matching rule winning, as in git:
 *   1. the defaults (VCS files, images and archives, CI files, `.goreleaser.yml`, `.sops.yaml`, `.flux.yaml`);
 *   2. `.sourceignore` files, each scoped to the folder it sits in, shallower before deeper;
 *   3. extra patterns from the caller (like Flux's `spec.ignore`), which overrule everything.
 * A path inside an ignored folder is ignored whatever deeper rules say, as git never looks inside
 * an excluded folder.
 */

/** The name of the per-folder ignore file. */
export const SOURCE_IGNORE_FILE = '.sourceignore';

/** Flux's default exclusions (fluxcd/pkg sourceignore): VCS metadata, images and archives, CI configuration, release, SOPS and Flux config files. */
export const DEFAULT_IGNORE_PATTERNS: readonly string[] = Object.freeze([
  '.git/',
  '.gitignore',
  '.gitmodules',
  '.gitattributes',
  '*.jpg',
  '*.jpeg',
  '*.gif',
  '*.png',
  '*.wmv',
  '*.flv',
  '*.tar.gz',
  '*.zip',
  '.github/',
  '.circleci/',
  '.travis.yml',
  '.gitlab-ci.yml',
  'appveyor.yml',
  '.drone.yml',
  'cloudbuild.yaml',
  'codeship-services.yml',
  'codeship-steps.yml',
  '.goreleaser.yml',
  '.sops.yaml',
  '.flux.yaml',
]);

/** Options for {@link createIgnoreMatcher}. */
export interface IgnoreMatcherOptions {
  /**
   * Extra patterns in `.sourceignore` syntax, relative to the root. They are evaluated last, so
   * they can re-include (`!pattern`) what the defaults or `.sourceignore` files exclude.
   */
  readonly patterns?: readonly string[] | string;
  /**
   * The default exclusions: `true` (the default) for {@link DEFAULT_IGNORE_PATTERNS}, `false` for
   * none, or a list of your own.
   */
  readonly defaults?: boolean | readonly string[];
}

/** Decides which paths of a folder tree a source leaves out. */
export interface IgnoreMatcher {
  /**
   * Adds the rules of an ignore file found in `dir` (relative to the root, `''` or `.` for the root,
   * `/` separators). They apply to paths under `dir` only, relative to it.
   */
  add(dir: string, text: string): void;
  /** Whether `relPath` (relative to the root, `/` separators) is left out. */
  ignores(relPath: string, isDir: boolean): boolean;
  /** A key that changes whenever the rules change (for "nothing changed" shortcuts of sources). */
  readonly fingerprint: string;
}

interface Layer {
  /** The folder the rules are relative to, without a trailing slash; `''` for the root. */
  readonly base: string;
  readonly rules: Ignore;
  readonly text: string;
}

/** Normalises a relative path: `/` separators, no leading `./` or `/`, no trailing `/`. */
function normalise(path: string): string {
  let p = path.replace(/\\/g, '/');
  while (p.startsWith('./')) p = p.slice(2);
  p = p.replace(/^\/+/, '').replace(/\/+$/, '');
  return p === '.' ? '' : p;
}

function toText(patterns: readonly string[] | string | undefined): string {
  if (patterns === undefined) return '';
  return typeof patterns === 'string' ? patterns : patterns.join('\n');
}

class LayeredIgnoreMatcher implements IgnoreMatcher {
  readonly #head: Layer | undefined;
  readonly #tail: Layer | undefined;
  /** `.sourceignore` layers, kept sorted by depth so deeper files override shallower ones. */
  #scoped: Layer[] = [];
  /** Results for folders, since every file below a folder asks about it again. */
  readonly #dirCache = new Map<string, boolean>();

  constructor(options: IgnoreMatcherOptions) {
    const defaults =
      options.defaults === false
        ? []
        : options.defaults === true || !options.defaults
          ? DEFAULT_IGNORE_PATTERNS
          : options.defaults;
    const headText = toText(defaults);
    this.#head = headText.trim() ? { base: '', rules: ignore().add(headText), text: headText } : undefined;
    const tailText = toText(options.patterns);
    this.#tail = tailText.trim() ? { base: '', rules: ignore().add(tailText), text: tailText } : undefined;
  }

  get fingerprint(): string {
    return JSON.stringify([
      this.#head?.text ?? '',
      this.#scoped.map((l) => [l.base, l.text]),
      this.#tail?.text ?? '',
    ]);
  }

  add(dir: string, text: string): void {
    if (!text.trim()) return;
    const base = normalise(dir);
    this.#scoped.push({ base, rules: ignore().add(text), text });
    const depth = (p: string): number => (p === '' ? 0 : p.split('/').length);
    // A stable sort keeps files of equal depth in the order they were added.
    this.#scoped.sort((a, b) => depth(a.base) - depth(b.base));
    this.#dirCache.clear();
  }

  ignores(relPath: string, isDir: boolean): boolean {
    const path = normalise(relPath);
    if (path === '') return false;
    const slash = path.lastIndexOf('/');
    if (slash > 0 && this.#dirIgnored(path.slice(0, slash))) return true;
    return this.#own(path, isDir);
  }

  #dirIgnored(dir: string): boolean {
    const cached = this.#dirCache.get(dir);
    if (cached !== undefined) return cached;
    const result = this.ignores(dir, true);
    this.#dirCache.set(dir, result);
    return result;
  }

  /** The verdict of the rules on the path itself, ignoring whether a parent folder is excluded. */
  #own(path: string, isDir: boolean): boolean {
    let ignored = false;
    const layers = [this.#head, ...this.#scoped, this.#tail];
    for (const layer of layers) {
      if (!layer) continue;
      let rel: string;
      if (layer.base === '') rel = path;
      else if (path.startsWith(`${layer.base}/`)) rel = path.slice(layer.base.length + 1);
      else continue;
      const result = layer.rules.test(isDir ? `${rel}/` : rel);
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  }
}

/**
 * Creates an ignore matcher with Flux's defaults (unless turned off) and optional extra patterns.
 * Sources call {@link IgnoreMatcher.add} for every `.sourceignore` they find while walking a tree,
 * before asking about the paths below it.
 */
export function createIgnoreMatcher(options: IgnoreMatcherOptions = {}): IgnoreMatcher {
  return new LayeredIgnoreMatcher(options);
}
