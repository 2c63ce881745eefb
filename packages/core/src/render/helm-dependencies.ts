import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { ErrorCodes, RenderError } from '../errors.js';
import { parse as parseYaml } from '../lazy-yaml.js';
import { linkOrCopy } from '../source/artifact-links.js';

/** One dependency as a chart's `Chart.yaml` declares it. */
export interface ChartDependency {
  /** The dependency chart's name. */
  readonly name: string;
  /** An exact version or a semver range (Helm's constraint syntax). */
  readonly version?: string | undefined;
  /** `https://…`, `oci://…`, `file://…`, or a repository name (`@stable`, `alias:stable`). */
  readonly repository?: string | undefined;
  /** The name it is rendered under, when it differs. */
  readonly alias?: string | undefined;
  /** The values path that enables it (`redis.enabled`). */
  readonly condition?: string | undefined;
  /** Tags that enable it together with others. */
  readonly tags?: readonly string[] | undefined;
  /** `enabled`, when `Chart.yaml` sets it. */
  readonly enabled?: boolean | undefined;
  /** `import-values`, as written. */
  readonly importValues?: readonly unknown[] | undefined;
}

/** One entry of `Chart.lock`: the exact version `helm dependency update` chose. */
export interface ChartLockEntry {
  /** The dependency chart's name. */
  readonly name: string;
  /** The exact version. */
  readonly version: string;
  /** Its repository, as in `Chart.yaml`. */
  readonly repository: string;
}

/** A chart's `Chart.lock`. */
export interface ChartLock {
  /** `sha256:<hex>` over `Chart.yaml`'s dependencies and the locked ones (Helm's check that the lock is current). */
  readonly digest: string;
  /** The locked dependencies. */
  readonly dependencies: readonly ChartLockEntry[];
}

/** What a {@link ChartDependencyResolver} is asked. */
export interface ChartDependencyRequest {
  /** The chart's own name and version, for messages. */
  readonly chart: {
    /** `name` of `Chart.yaml`. */
    readonly name: string;
    /** `version` of `Chart.yaml`. */
    readonly version: string;
  };
  /** `Chart.yaml` relative to the artifact root, for error locations. */
  readonly chartFile: string;
  /** Every dependency `Chart.yaml` declares (Helm checks the lock against all of them). */
  readonly dependencies: readonly ChartDependency[];
  /** Those that are neither vendored in `charts/` nor `file://` paths: the ones to fetch. */
  readonly missing: readonly ChartDependency[];
  /** `Chart.lock`, when the chart has one: the versions to fetch. */
  readonly lock?: ChartLock | undefined;
  /** Aborts the resolution. */
  readonly signal: AbortSignal;
}

/** A dependency made available by a resolver. */
export interface ResolvedChartDependency {
  /** The dependency's chart name. */
  readonly name: string;
  /** The exact version resolved. */
  readonly version: string;
  /** Absolute path of the packaged chart (`.tgz`) in the resolver's cache; read, never moved or changed. */
  readonly archive: string;
}

/**
 * Brings the dependencies of a chart that are not vendored: the way `helm dependency build` does
 * (`Chart.lock` first), but into a cache of its own, never into the artifact. Core never talks to a
 * repository: `@gitops-kit/registry-source`'s `HelmDependencyResolver` implements this over HTTP(S)
 * chart repositories and OCI registries.
 */
export interface ChartDependencyResolver {
  /** The packaged charts of `request.missing`. Throws a `RenderError` naming the dependency and its repository. */
  resolve(request: ChartDependencyRequest): Promise<readonly ResolvedChartDependency[]>;
  /** Settings that change what `resolve` returns, for the render cache key. */
  readonly cacheKey?: string | undefined;
}

/** What `Chart.yaml` and `Chart.lock` of a chart folder say about dependencies. Internal. */
export interface ChartDependencyInfo {
  readonly chart: { readonly name: string; readonly version: string };
  readonly dependencies: readonly ChartDependency[];
  readonly missing: readonly ChartDependency[];
  /** `file://` dependencies not vendored, with their folders resolved. */
  readonly local: readonly { readonly dependency: ChartDependency; readonly dir: string }[];
  readonly lock?: ChartLock | undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

async function readYaml(path: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new RenderError(
      ErrorCodes.RenderYamlInvalid,
      (error as Error).message.split('\n')[0] ?? 'invalid YAML',
      {
        location: { file },
      },
    );
  }
}

/** The chart names vendored in `charts/`: folders with a `Chart.yaml` and `<name>-<version>.tgz` archives. */
async function vendoredNames(chartDir: string): Promise<Set<string>> {
  const names = new Set<string>();
  const entries = await readdir(join(chartDir, 'charts'), { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) {
      const meta = (await readYaml(join(chartDir, 'charts', entry.name, 'Chart.yaml'), entry.name).catch(
        () => undefined,
      )) as { name?: unknown } | undefined;
      names.add(asString(meta?.name) ?? entry.name);
    } else {
      const archive = /^(.+)-v?\d+\.\d+\.\d+[^/]*\.tgz$/.exec(entry.name);
      if (archive?.[1]) names.add(archive[1]);
    }
  }
  return names;
}

/**
 * Reads the dependencies of the chart in `chartDir` and which of them `charts/` lacks. `file://`
 * dependencies are resolved inside the artifact (`root`): a path that leaves it is refused.
 */
export async function chartDependencyInfo(
  root: string,
  chartDir: string,
  chartFile: string,
): Promise<ChartDependencyInfo> {
  const meta = ((await readYaml(join(chartDir, 'Chart.yaml'), chartFile)) ?? {}) as Record<string, unknown>;
  const chart = { name: asString(meta.name) ?? '', version: asString(meta.version) ?? '' };
  const raw = Array.isArray(meta.dependencies) ? meta.dependencies : [];
  const dependencies: ChartDependency[] = raw
    .filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
    .map((d) => ({
      name: asString(d.name) ?? '',
      version: asString(d.version),
      repository: asString(d.repository),
      alias: asString(d.alias),
      condition: asString(d.condition),
      tags: Array.isArray(d.tags) ? d.tags.map(String) : undefined,
      enabled: typeof d.enabled === 'boolean' ? d.enabled : undefined,
      importValues: Array.isArray(d['import-values']) ? (d['import-values'] as unknown[]) : undefined,
    }))
    .filter((d) => d.name !== '');
  if (dependencies.length === 0) return { chart, dependencies, missing: [], local: [] };
  const vendored = await vendoredNames(chartDir);
  const missing: ChartDependency[] = [];
  const local: { dependency: ChartDependency; dir: string }[] = [];
  for (const dependency of dependencies) {
    if (vendored.has(dependency.name)) continue;
    if (dependency.repository?.startsWith('file://')) {
      const dir = resolve(chartDir, dependency.repository.slice('file://'.length));
      if (dir !== root && !dir.startsWith(`${root}${sep}`)) {
        throw new RenderError(
          ErrorCodes.RenderUnsafePath,
          `dependency "${dependency.name}" (${dependency.repository}) leads outside the artifact`,
          { location: { file: chartFile } },
        );
      }
      local.push({ dependency, dir });
      continue;
    }
    missing.push(dependency);
  }
  const lockFile = join(chartDir, 'Chart.lock');
  const lockYaml = (await readYaml(lockFile, relative(root, lockFile).split(sep).join('/'))) as
    | Record<string, unknown>
    | undefined;
  let lock: ChartLock | undefined;
  if (lockYaml && Array.isArray(lockYaml.dependencies)) {
    lock = {
      digest: asString(lockYaml.digest) ?? '',
      dependencies: lockYaml.dependencies
        .filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
        .map((d) => ({
          name: asString(d.name) ?? '',
          version: asString(d.version) ?? '',
          repository: asString(d.repository) ?? '',
        })),
    };
  }
  return { chart, dependencies, missing, local, ...(lock ? { lock } : {}) };
}

/** The advice when a chart needs dependencies and no resolver is configured. */
export function missingDependenciesError(info: ChartDependencyInfo, chartFile: string): RenderError {
  const listed = info.missing
    .slice(0, 5)
    .map((d) => `${d.name} ${d.version ?? '*'} from ${d.repository ?? '(no repository)'}`)
    .join(', ');
  return new RenderError(
    ErrorCodes.RenderHelmDependencyMissing,
    `chart "${info.chart.name}" depends on charts that are not in its charts/ folder: ${listed}${info.missing.length > 5 ? ', …' : ''}. ` +
      'Vendor them (run `helm dependency build` and commit charts/), or give HelmRenderer a `dependencies` resolver ' +
      '(HelmDependencyResolver of @gitops-kit/registry-source) to fetch them into its cache',
    { location: { file: chartFile } },
  );
}

/**
 * Copies the chart to `overlay` (the artifact stays untouched) and completes its `charts/` folder
 * with the resolved archives and the `file://` dependencies, as `helm dependency build` would.
 */
export async function writeChartOverlay(
  chartDir: string,
  overlay: string,
  resolved: readonly ResolvedChartDependency[],
  local: ChartDependencyInfo['local'],
): Promise<void> {
  await cp(chartDir, overlay, { recursive: true, dereference: true });
  const charts = join(overlay, 'charts');
  await mkdir(charts, { recursive: true });
  for (const dependency of resolved) {
    await linkOrCopy(dependency.archive, join(charts, `${dependency.name}-${dependency.version}.tgz`));
  }
  for (const { dependency, dir } of local) {
    const info = await stat(join(dir, 'Chart.yaml')).catch(() => undefined);
    if (!info?.isFile()) {
      throw new RenderError(
        ErrorCodes.RenderPathNotFound,
        `dependency "${dependency.name}" (${dependency.repository}) has no Chart.yaml`,
      );
    }
    await cp(dir, join(charts, dependency.name), { recursive: true, dereference: true });
  }
}
