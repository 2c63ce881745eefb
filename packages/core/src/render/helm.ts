import { mkdir, realpath, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCodes, type ErrorLocation, RenderError } from '../errors.js';
import type { Artifact, ClusterCapabilities, Manifest, Renderer, RenderOptions } from '../types.js';
import { assertNoDuplicates } from './duplicates.js';
import {
  type ChartDependencyResolver,
  chartDependencyInfo,
  missingDependenciesError,
  writeChartOverlay,
} from './helm-dependencies.js';
import { rememberUnlessRejected } from './memo.js';
import { messageWithoutLocation, type ParseManifestsOptions, parseManifests } from './parse.js';
import { findExecutable } from './process.js';
import { resolveInside } from './raw.js';
import { runTool, type ToolRendererOptions, withTempDir } from './tool.js';

/** Options for {@link HelmRenderer}. */
export interface HelmRendererOptions extends ToolRendererOptions, ParseManifestsOptions {
  /** Chart folder inside the artifact (default: the artifact root). */
  readonly path?: string;
  /** The release name (`.Release.Name`). */
  readonly releaseName: string;
  /** The release namespace (`.Release.Namespace`, `--namespace`). */
  readonly namespace?: string;
  /** Values files, relative to the chart folder, applied in order (they must stay inside the artifact). */
  readonly valuesFiles?: readonly string[];
  /** Inline values, applied after the files. */
  readonly values?: Readonly<Record<string, unknown>>;
  /** Render the chart's `crds/` folder too (default true). */
  readonly includeCrds?: boolean;
  /** Leave out `helm.sh/hook: test` objects (default true: tests are not desired state). */
  readonly skipTests?: boolean;
  /** `.Capabilities.KubeVersion` (`--kube-version`), e.g. `1.32.0`. */
  readonly kubeVersion?: string;
  /** Extra `.Capabilities.APIVersions` (`--api-versions`), e.g. `monitoring.coreos.com/v1`. */
  readonly apiVersions?: readonly string[];
  /**
   * Fetches the dependencies `Chart.yaml` declares and `charts/` lacks (see the README's "Chart
   * dependencies"); the chart is then rendered from a copy, never changed in the artifact. Without
   * one, such a chart fails with `RENDER_HELM_DEPENDENCY_MISSING`.
   */
  readonly dependencies?: ChartDependencyResolver | undefined;
  /**
   * Use the cluster's version and API versions when the reconciler passes them
   * (`RenderOptions.capabilities`, from a target with `capabilities()`), for `kubeVersion` and
   * `apiVersions` not set here. Default true.
   */
  readonly clusterCapabilities?: boolean | undefined;
}

const MISSING_HINT =
  'install Helm 3 (https://helm.sh/docs/intro/install/) and put `helm` on PATH, or pass `binary: "/path/to/helm"`';

/** Marks the start of each template's output in `helm template`. */
const SOURCE_COMMENT = /^# Source: (.+)$/;

/**
 * Renders a chart folder with the real `helm template`: release name, namespace, values files and
 * inline values, CRDs included by default, kube version and API versions. Dependencies vendored in
 * `charts/` work offline: Helm runs with private, empty config, cache and data folders, so it never
 * reads the user's repositories or registry credentials. Each object's origin is the template that
 * produced it (from Helm's `# Source:` comments), mapped into the artifact.
 */
export class HelmRenderer implements Renderer {
  /** `helm`. */
  readonly name = 'helm';
  readonly #options: HelmRendererOptions;
  /** The helm binary: the option, else `helm` on PATH. */
  readonly #binary = rememberUnlessRejected(async (): Promise<string> => {
    const explicit = this.#options.binary;
    // A bare name is looked up on this process's PATH: the tool itself runs with a fixed one.
    if (explicit) return explicit.includes('/') ? explicit : ((await findExecutable(explicit)) ?? explicit);
    const found = await findExecutable('helm');
    if (found) return found;
    throw new RenderError(ErrorCodes.RenderToolMissing, `helm was not found on PATH: ${MISSING_HINT}`);
  });
  /** `helm version`. */
  readonly #version = rememberUnlessRejected(async (signal?: AbortSignal): Promise<string> => {
    const binary = await this.binary();
    return withTempDir('gitops-kit-helm-', async (home) => {
      const out = await runTool(
        { tool: 'helm', missingHint: MISSING_HINT, location: {} },
        {
          command: binary,
          args: ['version', '--template', '{{.Version}}'],
          home,
          env: helmEnv(home),
          ...(signal ? { signal } : {}),
        },
        this.#options,
      );
      return out.trim();
    });
  });

  /** @param options chart path, release, values, capabilities, binary, timeout, run function. */
  constructor(options: HelmRendererOptions) {
    if (!options.releaseName) throw new TypeError('HelmRenderer needs a releaseName');
    this.#options = { ...options };
  }

  /** Whether the cluster's capabilities would be used: on, and not both pinned by the options. */
  get usesClusterCapabilities(): boolean {
    const o = this.#options;
    return (o.clusterCapabilities ?? true) && !(o.kubeVersion !== undefined && o.apiVersions !== undefined);
  }

  /** The helm binary: the option, else `helm` on PATH; resolved once. */
  binary(): Promise<string> {
    return this.#binary();
  }

  /** `helm version` (`v3.22.0`), asked once. */
  version(signal?: AbortSignal): Promise<string> {
    return this.#version(signal);
  }

  /** Binary, version and options: with the artifact digest, the render cache key. */
  async cacheKey(options?: RenderOptions): Promise<string> {
    const binary = await this.binary();
    const version = await this.version(options?.signal);
    const { run: _run, dependencies, ...rest } = this.#options;
    const capabilities = this.#capabilities(options?.capabilities);
    const resolver = dependencies ? `deps:${dependencies.cacheKey ?? 'resolver'}` : '';
    return `helm:${binary}:${version}:${JSON.stringify(rest)}:${resolver}:${JSON.stringify(capabilities ?? null)}`;
  }

  /**
   * The `helm template` arguments for a chart folder, values files (absolute) and an optional file of
   * inline values. Exported for tests and for people reading logs.
   */
  templateArgs(
    chartDir: string,
    valuesFiles: readonly string[],
    inlineValuesFile?: string,
    cluster?: ClusterCapabilities,
  ): string[] {
    const o = this.#options;
    const capabilities = this.#capabilities(cluster);
    const args = ['template', o.releaseName, chartDir];
    if (o.namespace) args.push('--namespace', o.namespace);
    if (o.includeCrds ?? true) args.push('--include-crds');
    if (o.skipTests ?? true) args.push('--skip-tests');
    for (const file of valuesFiles) args.push('--values', file);
    if (inlineValuesFile) args.push('--values', inlineValuesFile);
    if (capabilities?.kubeVersion) args.push('--kube-version', capabilities.kubeVersion);
    for (const api of capabilities?.apiVersions ?? []) args.push('--api-versions', api);
    return args;
  }

  /** Kube version and API versions: the options', else the cluster's (unless turned off). */
  #capabilities(cluster: ClusterCapabilities | undefined): Partial<ClusterCapabilities> | undefined {
    const o = this.#options;
    const useCluster = (o.clusterCapabilities ?? true) && cluster !== undefined;
    const kubeVersion = o.kubeVersion ?? (useCluster ? cluster?.kubeVersion : undefined);
    const apiVersions = o.apiVersions ?? (useCluster ? cluster?.apiVersions : undefined);
    if (kubeVersion === undefined && apiVersions === undefined) return undefined;
    return { ...(kubeVersion ? { kubeVersion } : {}), ...(apiVersions ? { apiVersions } : {}) };
  }

  /** Runs `helm template` and returns the manifests with the templates they came from. */
  async render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]> {
    const root = await realpath(artifact.dir).catch(() => resolve(artifact.dir));
    const chart = resolveInside(root, this.#options.path);
    const chartYaml = await stat(join(chart.abs, 'Chart.yaml')).catch(() => undefined);
    if (!chartYaml?.isFile()) {
      throw new RenderError(ErrorCodes.RenderPathNotFound, `no Chart.yaml in folder "${chart.rel || '.'}"`, {
        location: { file: chart.rel || '.' },
      });
    }
    const valuesFiles = await Promise.all(
      (this.#options.valuesFiles ?? []).map(async (file) => {
        const inChart = chart.rel ? `${chart.rel}/${file}` : file;
        const resolved = resolveInside(root, inChart);
        const info = await stat(resolved.abs).catch(() => undefined);
        if (!info?.isFile()) {
          throw new RenderError(
            ErrorCodes.RenderPathNotFound,
            `values file "${resolved.rel}" not found in the artifact`,
            {
              location: { file: resolved.rel },
            },
          );
        }
        return resolved.abs;
      }),
    );
    const binary = await this.binary();
    const chartFile = chart.rel ? `${chart.rel}/Chart.yaml` : 'Chart.yaml';
    const deps = await chartDependencyInfo(root, chart.abs, chartFile);
    const resolver = this.#options.dependencies;
    if (deps.missing.length > 0 && !resolver) throw missingDependenciesError(deps, chartFile);
    return withTempDir('gitops-kit-helm-', async (tmp) => {
      const home = join(tmp, 'home');
      await mkdir(home);
      // Dependencies to bring: render a copy with a completed charts/ folder, never the artifact.
      let chartDir = chart.abs;
      if (deps.missing.length > 0 || deps.local.length > 0) {
        const resolved =
          deps.missing.length > 0 && resolver
            ? await resolver.resolve({
                chart: deps.chart,
                chartFile,
                dependencies: deps.dependencies,
                missing: deps.missing,
                lock: deps.lock,
                signal: options.signal,
              })
            : [];
        chartDir = join(tmp, 'chart');
        await writeChartOverlay(chart.abs, chartDir, resolved, deps.local);
      }
      let inline: string | undefined;
      if (this.#options.values && Object.keys(this.#options.values).length > 0) {
        inline = join(tmp, 'values.json');
        // JSON is YAML: no YAML 1.1 surprises in values we were given as data.
        await writeFile(inline, JSON.stringify(this.#options.values));
      }
      const stdout = await runTool(
        {
          tool: 'helm template',
          missingHint: MISSING_HINT,
          location: { file: chartFile },
          replacements: [
            [`${chartDir}/`, chart.rel ? `${chart.rel}/` : ''],
            [`${root}/`, ''],
            [tmp, '<tmp>'],
            [/\s*Use --debug flag to render out invalid YAML\s*$/, ''],
          ],
          locate: (message) => templateLocation(message, chart.rel),
        },
        {
          command: binary,
          args: this.templateArgs(chartDir, valuesFiles, inline, options.capabilities),
          cwd: tmp,
          home,
          env: helmEnv(home),
          signal: options.signal,
        },
        this.#options,
      );
      const manifests = helmOutputManifests(stdout, chart.rel, chartFile, this.#options);
      assertNoDuplicates(manifests);
      return manifests;
    });
  }
}

/**
 * The template, line and column of a Helm template error (`template: webapp/templates/x.yaml:4:65:`),
 * mapped into the artifact (the chart name is replaced by the chart's folder).
 */
export function templateLocation(message: string, chartRel: string): ErrorLocation | undefined {
  const match = /template: ([^\s:]+):(\d+):(\d+)/.exec(message);
  if (!match?.[1]) return undefined;
  const slash = match[1].indexOf('/');
  const inChart = slash < 0 ? match[1] : match[1].slice(slash + 1);
  return {
    file: chartRel ? `${chartRel}/${inChart}` : inChart,
    line: Number(match[2]),
    column: Number(match[3]),
  };
}

/** Helm's own folders, all private to one run, so nothing of the user's Helm setup is read. */
function helmEnv(home: string): Record<string, string> {
  return {
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    HELM_PLUGINS: join(home, 'plugins'),
    HELM_REGISTRY_CONFIG: join(home, 'registry.json'),
    HELM_REPOSITORY_CACHE: join(home, 'repository'),
    HELM_REPOSITORY_CONFIG: join(home, 'repositories.yaml'),
  };
}

/** The last `# Source:` entry at or before `line` (entries are in line order): a binary search. */
function sourceAt<T extends { line: number }>(sources: readonly T[], line: number): T | undefined {
  let lo = 0;
  let hi = sources.length - 1;
  let found: T | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const entry = sources[mid]!;
    if (entry.line <= line) {
      found = entry;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/**
 * Parses `helm template` output. Each template's output starts with `# Source: <chart>/<path>`; the
 * chart name is replaced by the chart's folder in the artifact, so origins point at real files
 * (`app/templates/deployment.yaml`, `app/charts/db/templates/svc.yaml`). The document index counts
 * documents within that template's output; the line is 1, as rendered lines do not map to template
 * lines.
 */
export function helmOutputManifests(
  stdout: string,
  chartRel: string,
  fallbackFile: string,
  options: ParseManifestsOptions = {},
): Manifest[] {
  const lines = stdout.split('\n');
  // Which template each output line belongs to.
  const sources: { line: number; file: string }[] = [];
  lines.forEach((text, i) => {
    const match = SOURCE_COMMENT.exec(text);
    if (match?.[1]) {
      const path = match[1].trim();
      const slash = path.indexOf('/');
      const inChart = slash < 0 ? path : path.slice(slash + 1);
      sources.push({ line: i + 1, file: chartRel ? `${chartRel}/${inChart}` : inChart });
    }
  });
  let parsed: Manifest[];
  try {
    parsed = parseManifests(stdout, fallbackFile, options);
  } catch (error) {
    // Point a YAML error at the template that produced the bad text.
    if (error instanceof RenderError && error.location?.line !== undefined) {
      const line = error.location.line;
      const source = sourceAt(sources, line);
      if (source) {
        const message = messageWithoutLocation(error);
        throw new RenderError(error.code, `${message} (in the output of this template)`, {
          location: { file: source.file },
          cause: error,
        });
      }
    }
    throw error;
  }
  const perFile = new Map<string, number>();
  return parsed.map((manifest) => {
    const source = sourceAt(sources, manifest.origin.line);
    if (!source) return manifest;
    const index = perFile.get(source.file) ?? 0;
    perFile.set(source.file, index + 1);
    return { object: manifest.object, origin: { file: source.file, documentIndex: index, line: 1 } };
  });
}
