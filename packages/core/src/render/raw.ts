import { readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { ErrorCodes, RenderError } from '../errors.js';
import { createIgnoreMatcher } from '../source/ignore.js';
import { throwIfAborted, walkFiles } from '../source/walk.js';
import type { Artifact, Manifest, Renderer, RenderOptions } from '../types.js';
import { assertNoDuplicates } from './duplicates.js';
import { type ParseManifestsOptions, parseManifests } from './parse.js';
import { ParsedFiles } from './parsed-files.js';

/** The default largest manifest file read (4 MiB): larger files are refused, not truncated. */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;
/** The default largest total of manifest bytes read for one render (128 MiB). */
export const DEFAULT_MAX_TOTAL_BYTES = 128 * 1024 * 1024;
/** The file extensions the raw renderer reads. */
export const MANIFEST_EXTENSIONS: readonly string[] = Object.freeze(['.yaml', '.yml', '.json']);

/** Limits and YAML options shared by every reader of manifest files. */
export interface ManifestReadOptions extends ParseManifestsOptions {
  /** Largest file read, in bytes (default {@link DEFAULT_MAX_FILE_BYTES}). */
  readonly maxFileBytes?: number;
}

/** Options for {@link RawRenderer}. */
export interface RawRendererOptions extends ManifestReadOptions {
  /** Sub-folder of the artifact to read (default: the whole artifact). */
  readonly path?: string;
  /** Read sub-folders too (default true). */
  readonly recursive?: boolean;
  /** Extensions to read, with the dot (default `.yaml`, `.yml`, `.json`). */
  readonly extensions?: readonly string[];
  /** Largest total of bytes read for one render (default {@link DEFAULT_MAX_TOTAL_BYTES}). */
  readonly maxTotalBytes?: number;
  /** Refuse more files than this (default 10,000). */
  readonly maxFiles?: number;
  /** Files read at once (default 16). */
  readonly concurrency?: number;
  /**
   * Files and folders to leave out, in `.gitignore` syntax relative to `path` (as Argo CD's
   * `directory.exclude`), for example `['kustomization.yaml', 'drafts/']`.
   */
  readonly exclude?: readonly string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a manifest file's bytes, refusing binary content (a NUL byte, as git decides, or bytes
 * that are not UTF-8) with a typed error rather than a confusing YAML message.
 */
export function decodeManifestText(bytes: Uint8Array, file: string): string {
  const where = { location: { file, line: 1 } };
  if (bytes.includes(0)) {
    throw new RenderError(
      ErrorCodes.RenderBinaryFile,
      'file is binary (contains NUL bytes), not YAML or JSON',
      where,
    );
  }
  try {
    // The decoder drops a UTF-8 byte order mark, as kubectl does.
    return utf8.decode(bytes);
  } catch (error) {
    throw new RenderError(ErrorCodes.RenderBinaryFile, 'file is not UTF-8 text', { ...where, cause: error });
  }
}

/**
 * Reads one manifest file from disk with the size limit, the binary check and kubectl's YAML
 * reading. `file` is the path reported in origins and errors (relative to the artifact root).
 * `size`, when the caller already has it (from a folder walk), saves a `stat` of the file.
 */
export async function readManifestFile(
  absolute: string,
  file: string,
  options: ManifestReadOptions = {},
  size?: number,
  parsed?: ParsedFiles,
): Promise<Manifest[]> {
  const limit = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const known = size ?? (await stat(absolute)).size;
  if (known > limit) {
    throw new RenderError(
      ErrorCodes.RenderFileTooLarge,
      `file is ${known} bytes, over the limit of ${limit} bytes`,
      { location: { file } },
    );
  }
  const bytes = await readFile(absolute);
  // The file may have grown between stat and read.
  if (bytes.length > limit) {
    throw new RenderError(ErrorCodes.RenderFileTooLarge, `file is over the limit of ${limit} bytes`, {
      location: { file },
    });
  }
  const key = parsed?.keyOf(file, bytes);
  const reused = key === undefined ? undefined : parsed?.get(key);
  if (reused) return reused;
  const manifests = parseManifests(decodeManifestText(bytes, file), file, options);
  if (key !== undefined) parsed?.set(key, manifests, bytes.length);
  return manifests;
}

/** Resolves a sub-path of an artifact, refusing one that climbs out of it. */
export function resolveInside(root: string, path: string | undefined): { abs: string; rel: string } {
  const base = resolve(root);
  const abs = resolve(base, path ?? '.');
  if (abs !== base && !abs.startsWith(base + sep)) {
    throw new RenderError(ErrorCodes.RenderPathNotFound, `path "${path}" leads outside the artifact`);
  }
  return {
    abs,
    rel:
      abs === base
        ? ''
        : abs
            .slice(base.length + 1)
            .split(sep)
            .join('/'),
  };
}

/**
 * The raw renderer: every `.yaml`, `.yml` and `.json` file of a folder (recursively, in path order),
 * multi-document, `kind: List` flattened, empty documents skipped, read as kubectl reads YAML. An
 * object defined twice is an error naming both places; every error names file, document and line.
 */
export class RawRenderer implements Renderer {
  /** `raw`. */
  readonly name = 'raw';
  readonly #options: RawRendererOptions;
  /** Files parsed by earlier renders: an unchanged file is not parsed again. */
  readonly #parsed = new ParsedFiles();

  /** @param options sub-path, recursion, extensions, limits. */
  constructor(options: RawRendererOptions = {}) {
    this.#options = { ...options };
  }

  /** Renders the artifact's folder (or sub-path) into manifests. */
  async render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]> {
    const o = this.#options;
    const { abs, rel } = resolveInside(artifact.dir, o.path);
    const info = await stat(abs).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new RenderError(
        ErrorCodes.RenderPathNotFound,
        `folder "${rel || '.'}" not found in the artifact`,
        {
          location: { file: rel || '.' },
        },
      );
    }
    const extensions = (o.extensions ?? MANIFEST_EXTENSIONS).map((e) => e.toLowerCase());
    const prefix = rel ? `${rel}/` : '';
    const files = await walkFiles(abs, {
      ...(o.exclude?.length
        ? { matcher: createIgnoreMatcher({ defaults: false, patterns: o.exclude }), ignoreFile: false }
        : {}),
      recursive: o.recursive ?? true,
      maxFiles: o.maxFiles ?? 10_000,
      signal: options.signal,
      include: (p) => extensions.some((e) => p.toLowerCase().endsWith(e)),
      onError: (code, path, message) =>
        new RenderError(
          code === 'unsafe-link'
            ? ErrorCodes.RenderUnsafePath
            : code === 'too-many-files'
              ? ErrorCodes.RenderTooManyFiles
              : ErrorCodes.RenderUnreadable,
          message,
          {
            location: { file: prefix + path },
          },
        ),
    });
    const maxTotal = o.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
    const total = files.reduce((sum, f) => sum + f.size, 0);
    if (total > maxTotal) {
      throw new RenderError(
        ErrorCodes.RenderFileTooLarge,
        `manifests total ${total} bytes, over the limit of ${maxTotal} bytes`,
        { location: { file: rel || '.' } },
      );
    }
    const results: Manifest[][] = new Array(files.length);
    const concurrency = Math.max(1, o.concurrency ?? 16);
    let next = 0;
    // A small pool: reads overlap, parsing stays in file order for the result.
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const i = next++;
        throwIfAborted(options.signal);
        const f = files[i]!;
        results[i] = await readManifestFile(f.absolute, prefix + f.path, o, f.size, this.#parsed);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
    const manifests = results.flat();
    assertNoDuplicates(manifests);
    return manifests;
  }

  /** The renderer's options as a cache key (the raw renderer runs no tool, so it has no version). */
  async cacheKey(): Promise<string> {
    return `raw:${JSON.stringify(this.#options)}`;
  }
}
