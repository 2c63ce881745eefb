import { mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { isRecord } from '../diff/values.js';
import { ErrorCodes, RenderError } from '../errors.js';
import { parse as parseYaml } from '../lazy-yaml.js';
import type { Artifact, KubeObject, Manifest, Renderer, RenderOptions } from '../types.js';
import { assertNoDuplicates } from './duplicates.js';
import { assertNoRemoteResources } from './kustomize-remote.js';
import { rememberUnlessRejected } from './memo.js';
import {
  type ParseManifestsOptions,
  parseManifests,
  setSubstitutionHints,
  substitutionHints,
} from './parse.js';
import { findExecutable } from './process.js';
import { resolveInside } from './raw.js';
import { valuePathKey } from './substitute.js';
import { runTool, type ToolRendererOptions, withTempDir } from './tool.js';

/** The file names kustomize accepts for a kustomization, in its order of preference. */
export const KUSTOMIZATION_FILES: readonly string[] = Object.freeze([
  'kustomization.yaml',
  'kustomization.yml',
  'Kustomization',
]);

/** The annotation kustomize's `buildMetadata: [originAnnotations]` writes. */
export const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';

/** Options for {@link KustomizeRenderer}. */
export interface KustomizeRendererOptions extends ToolRendererOptions, ParseManifestsOptions {
  /** Folder of the kustomization inside the artifact (default: the artifact root). */
  readonly path?: string;
  /**
   * `rootOnly` (kustomize's default) keeps file loads inside each kustomization's folder; `none`
   * lets a kustomization read files from anywhere (still inside what the tool can see).
   */
  readonly loadRestrictor?: 'rootOnly' | 'none';
  /** Let kustomize inflate `helmCharts` (off by default, as it runs another tool). */
  readonly enableHelm?: boolean;
  /** The helm binary kustomize runs when `enableHelm` is set. */
  readonly helmCommand?: string;
  /**
   * Name the source file of each object from kustomize's build metadata (default true). The
   * kustomization is wrapped in a temporary one that asks for `originAnnotations`; the annotation is
   * removed from the output.
   */
  readonly origins?: boolean;
  /**
   * Hosts a kustomization may fetch from (`github.com`, or `*.example.com` for its subdomains).
   * Default none: a remote resource, base, component, file or Helm chart repository anywhere in the
   * kustomization tree is refused with `RENDER_REMOTE_RESOURCE` before kustomize runs, so content of
   * the source never makes the reconciler open connections.
   */
  readonly allowRemoteHosts?: readonly string[];
}

/**
 * kustomize's message prefix for a failure inside the wrapped kustomization: it tried the folder as
 * a file first, then failed inside it (`recursed accumulation of path`) or could not read its
 * kustomization (`couldn't make target for path`).
 */
const WRAPPER_NOISE =
  /^accumulating resources: accumulation err='accumulating resources from '[^']*': '[^']*' must resolve to a file': (?:recursed accumulation of path|couldn't make target for path) '[^']*': /;

/** How the kustomize binary is run: `kustomize build` or `kubectl kustomize`. */
interface ResolvedBinary {
  readonly path: string;
  readonly flavour: 'kustomize' | 'kubectl';
}

const MISSING_HINT =
  'install kustomize (or kubectl, which embeds it) on PATH, or pass `binary: "/path/to/kustomize"`';

/**
 * Replacements that turn the artifact folder, as kustomize may print it (absolute, or relative to
 * the wrapper or working folder: `../../gitops-kit-dir-x/<digest>/apps`), into artifact-relative
 * paths. Longest first, so a relative spelling is not half-replaced by a shorter one.
 */
function pathSpellings(root: string, from: readonly string[]): [string, string][] {
  const spellings = [root, ...from.map((dir) => relative(dir, root))].filter((s) => s && s !== '.');
  const unique = [...new Set(spellings)].sort((a, b) => b.length - a.length);
  return [
    ...unique.map((s): [string, string] => [`${s}${sep}`, '']),
    ...unique.map((s): [string, string] => [s, '.']),
  ];
}

/** Finds the kustomization file in a folder, if any. */
async function kustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) return name;
  }
  return undefined;
}

/**
 * Renders a kustomization with the real kustomize (`kustomize build`, or `kubectl kustomize` when
 * no kustomize binary is found). No shell, a scrubbed environment, a timeout and an abort signal.
 * Each object's origin names the file it came from (from kustomize's origin annotation); a
 * kustomize failure is a `RenderError` `RENDER_TOOL_FAILED` carrying kustomize's own message.
 * Remote resources are refused before kustomize runs unless their host is allowed
 * (`allowRemoteHosts`).
 */
export class KustomizeRenderer implements Renderer {
  /** `kustomize`. */
  readonly name = 'kustomize';
  readonly #options: KustomizeRendererOptions;
  /** Which binary runs: the option, else `kustomize` on PATH, else `kubectl`. */
  readonly #binary = rememberUnlessRejected(async (): Promise<ResolvedBinary> => {
    const explicit = this.#options.binary;
    if (explicit) {
      // A bare name is looked up on this process's PATH: the tool itself runs with a fixed one.
      const path = explicit.includes('/') ? explicit : ((await findExecutable(explicit)) ?? explicit);
      return { path, flavour: basename(explicit).startsWith('kubectl') ? 'kubectl' : 'kustomize' };
    }
    const kustomize = await findExecutable('kustomize');
    if (kustomize) return { path: kustomize, flavour: 'kustomize' };
    const kubectl = await findExecutable('kubectl');
    if (kubectl) return { path: kubectl, flavour: 'kubectl' };
    throw new RenderError(
      ErrorCodes.RenderToolMissing,
      `no kustomize or kubectl found on PATH: ${MISSING_HINT}`,
    );
  });
  /** The tool's version. */
  readonly #version = rememberUnlessRejected(async (signal?: AbortSignal): Promise<string> => {
    const binary = await this.binary();
    return withTempDir('gitops-kit-kustomize-', async (home) => {
      const call = { tool: binary.flavour, missingHint: MISSING_HINT, location: {} };
      if (binary.flavour === 'kubectl') {
        const out = await runTool(
          call,
          {
            command: binary.path,
            args: ['version', '--client', '-o', 'json'],
            home,
            ...(signal ? { signal } : {}),
          },
          this.#options,
        );
        const info: unknown = JSON.parse(out);
        const client =
          isRecord(info) && isRecord(info.clientVersion) ? info.clientVersion.gitVersion : undefined;
        const kustomize = isRecord(info) ? info.kustomizeVersion : undefined;
        return `kubectl ${String(client)} kustomize ${String(kustomize)}`;
      }
      const out = await runTool(
        call,
        { command: binary.path, args: ['version'], home, ...(signal ? { signal } : {}) },
        this.#options,
      );
      return `kustomize ${/v\d+\.\d+\.\d+[^\s}]*/.exec(out)?.[0] ?? out.trim()}`;
    });
  });

  /** @param options sub-path, binary, build options, timeout, environment, run function. */
  constructor(options: KustomizeRendererOptions = {}) {
    this.#options = { ...options };
  }

  /** Which binary runs, resolved once: the option, else `kustomize` on PATH, else `kubectl`. */
  binary(): Promise<ResolvedBinary> {
    return this.#binary();
  }

  /** The tool's version (`kustomize v5.8.2`, `kubectl v1.32.4 kustomize v5.5.0`), asked once. */
  version(signal?: AbortSignal): Promise<string> {
    return this.#version(signal);
  }

  /** Binary, version and build options: with the artifact digest, the render cache key. */
  async cacheKey(options?: RenderOptions): Promise<string> {
    const binary = await this.binary();
    const version = await this.version(options?.signal);
    const { run: _run, ...rest } = this.#options;
    return `kustomize:${binary.path}:${version}:${JSON.stringify(rest)}`;
  }

  /** The build arguments for a kustomization folder (exported for tests and for people reading logs). */
  async buildArgs(target: string): Promise<string[]> {
    const binary = await this.binary();
    const o = this.#options;
    const args = binary.flavour === 'kubectl' ? ['kustomize', target] : ['build', target];
    args.push(
      '--load-restrictor',
      o.loadRestrictor === 'none' ? 'LoadRestrictionsNone' : 'LoadRestrictionsRootOnly',
    );
    if (o.enableHelm) {
      args.push('--enable-helm');
      if (o.helmCommand) args.push('--helm-command', o.helmCommand);
    }
    return args;
  }

  /** Runs the build and returns the manifests with their origins. */
  async render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]> {
    const root = await realpath(artifact.dir).catch(() => resolve(artifact.dir));
    const { abs, rel } = resolveInside(root, this.#options.path);
    const info = await stat(abs).catch(() => undefined);
    const file = info?.isDirectory() ? await kustomizationFile(abs) : undefined;
    if (!file) {
      throw new RenderError(
        ErrorCodes.RenderPathNotFound,
        `no kustomization.yaml in folder "${rel || '.'}"`,
        {
          location: { file: rel || '.' },
        },
      );
    }
    const kustomizationRel = rel ? `${rel}/${file}` : file;
    await assertNoRemoteResources(root, abs, this.#options.allowRemoteHosts);
    const binary = await this.binary();
    const useOrigins = this.#options.origins ?? true;
    return withTempDir('gitops-kit-kustomize-', async (tmp) => {
      const home = join(tmp, 'home');
      await mkdir(home);
      let target = abs;
      if (useOrigins) {
        // A wrapper kustomization asks for origin annotations without touching the artifact.
        target = join(tmp, 'wrap');
        await mkdir(target);
        const resource = relative(target, abs).split(sep).join('/');
        await writeFile(
          join(target, 'kustomization.yaml'),
          `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${JSON.stringify(resource)}\nbuildMetadata: [originAnnotations]\n`,
        );
      }
      const stdout = await runTool(
        {
          tool: binary.flavour === 'kubectl' ? 'kubectl kustomize' : 'kustomize build',
          missingHint: MISSING_HINT,
          location: { file: kustomizationRel },
          replacements: [
            // The wrapper's own layer of kustomize's message says nothing useful: drop it.
            [WRAPPER_NOISE, ''],
            // Then every spelling of the artifact folder (absolute, or relative to the wrapper and
            // to the working folder, as kustomize prints it) becomes artifact-relative.
            ...pathSpellings(root, [target, tmp]),
            [target, '.'],
            [tmp, '<tmp>'],
          ],
        },
        { command: binary.path, args: await this.buildArgs(target), cwd: tmp, home, signal: options.signal },
        this.#options,
      );
      const parsed = parseManifests(stdout, kustomizationRel, this.#options);
      const manifests = useOrigins ? await this.#withOrigins(parsed, root, target, kustomizationRel) : parsed;
      assertNoDuplicates(manifests);
      return manifests;
    });
  }

  /** Replaces each manifest's origin with the file kustomize says it came from, and strips the annotation. */
  async #withOrigins(
    parsed: Manifest[],
    root: string,
    wrapDir: string,
    fallback: string,
  ): Promise<Manifest[]> {
    const files = new Map<string, Promise<SourceIndex | undefined>>();
    const sourceOf = (rel: string): Promise<SourceIndex | undefined> => {
      let entry = files.get(rel);
      if (!entry) {
        entry = readFile(join(root, rel), 'utf8')
          .then((text) => indexByKind(parseManifests(text, rel, this.#options)))
          .catch(() => undefined);
        files.set(rel, entry);
      }
      return entry;
    };
    return Promise.all(
      parsed.map(async (manifest) => {
        const object = manifest.object;
        const annotations = object.metadata.annotations;
        const raw = annotations?.[ORIGIN_ANNOTATION];
        if (annotations && raw !== undefined) {
          delete annotations[ORIGIN_ANNOTATION];
          if (Object.keys(annotations).length === 0) delete object.metadata.annotations;
        }
        const origin = raw === undefined ? undefined : originPath(raw, root, wrapDir);
        if (!origin) return { object, origin: { file: fallback, documentIndex: 0, line: 1 } };
        if (origin.generated || origin.file.startsWith('..')) {
          return { object, origin: { file: origin.file, documentIndex: 0, line: 1 } };
        }
        const located = locate(await sourceOf(origin.file), object);
        if (located) keepSourceQuoting(object, located.object);
        return {
          object,
          origin: {
            file: origin.file,
            documentIndex: located?.origin.documentIndex ?? 0,
            line: located?.origin.line ?? 1,
          },
        };
      }),
    );
  }
}

/**
 * The top-level fields of an origin annotation. kustomize writes plain `key: value` lines; those are
 * read directly (a full YAML parse per object costs more than the rest of the lookup), anything
 * else (quoted values) through the YAML parser.
 */
function readOriginAnnotation(raw: string): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  for (const line of raw.split('\n')) {
    if (line === '' || line.startsWith(' ')) continue;
    const match = /^([A-Za-z]+): (.*)$/.exec(line);
    const value = match?.[2];
    if (!match?.[1] || value === undefined) continue;
    if (/^["'{[&*!|>]/.test(value)) {
      try {
        const parsed: unknown = parseYaml(raw);
        return isRecord(parsed) ? parsed : undefined;
      } catch {
        return undefined;
      }
    }
    fields[match[1]] = value;
  }
  return fields;
}

/** Reads kustomize's origin annotation: the resource file, or the kustomization that generated it. */
function originPath(
  raw: string,
  root: string,
  wrapDir: string,
): { file: string; generated: boolean } | undefined {
  const value = readOriginAnnotation(raw);
  if (!isRecord(value)) return undefined;
  const path = typeof value.path === 'string' ? value.path : undefined;
  const configuredIn = typeof value.configuredIn === 'string' ? value.configuredIn : undefined;
  const chosen = path ?? configuredIn;
  if (!chosen) return undefined;
  // A resource from a remote base: keep kustomize's own description of it.
  if (typeof value.repo === 'string')
    return { file: `${value.repo}//${chosen}`, generated: path === undefined };
  const file = relative(root, resolve(wrapDir, chosen)).split(sep).join('/');
  return { file, generated: path === undefined };
}

/** The objects of a source file by kind. */
type SourceIndex = ReadonlyMap<string, readonly Manifest[]>;

function indexByKind(manifests: readonly Manifest[]): SourceIndex {
  const index = new Map<string, Manifest[]>();
  for (const m of manifests) {
    const list = index.get(m.object.kind);
    if (list) list.push(m);
    else index.set(m.object.kind, [m]);
  }
  return index;
}

/**
 * Finds the document an output object came from inside its source file, so the origin has a line:
 * the only object of its kind there, else the one with the same name, else the one whose name the
 * output name contains (`namePrefix`, `nameSuffix`, hashes), longest first.
 */
function locate(source: SourceIndex | undefined, object: KubeObject): Manifest | undefined {
  if (!source) return undefined;
  const sameKind = source.get(object.kind) ?? [];
  if (sameKind.length === 1) return sameKind[0];
  const exact = sameKind.find((m) => m.object.metadata.name === object.metadata.name);
  if (exact) return exact;
  const contained = sameKind
    .filter((m) => object.metadata.name.includes(m.object.metadata.name))
    .sort((a, b) => b.object.metadata.name.length - a.object.metadata.name.length);
  return contained[0];
}

/**
 * kustomize writes `PORT: "${PORT}"` back as `PORT: ${PORT}`, losing the quotes that say the value
 * must stay a string. Where the source file quoted a value that the output has plain, the source
 * wins, so substitution keeps it a string (Flux loses it and turns it into a number).
 */
function keepSourceQuoting(output: KubeObject, source: KubeObject): void {
  const hints = substitutionHints(output);
  if (hints.plain.length === 0) return;
  const quotedInSource = new Set(substitutionHints(source).quoted.map(valuePathKey));
  if (quotedInSource.size === 0) return;
  const plain = hints.plain.filter((p) => !quotedInSource.has(valuePathKey(p)));
  const moved = hints.plain.filter((p) => quotedInSource.has(valuePathKey(p)));
  setSubstitutionHints(output, { plain, quoted: [...hints.quoted, ...moved] });
}
