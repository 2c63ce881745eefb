import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { PlanConfig } from './config.js';

/** How the folder is rendered: the settings a reconciler gives its renderer. */
export interface RenderSettings {
  /** Which renderer: detected as Argo CD does (`auto`, the default), or named. */
  readonly renderer: 'auto' | 'helm' | 'kustomize' | 'raw';
  /** Folder inside `<folder>` that holds the chart, kustomization or manifests (default: the folder itself). */
  readonly path?: string | undefined;
  /** The Helm settings (used when the folder is a chart). */
  readonly helm: {
    /** The release name (default: the reconciler's name). */
    readonly releaseName: string;
    /** Values files relative to the chart, applied in order. */
    readonly valuesFiles: readonly string[];
    /** Inline values, applied after the files. */
    readonly values: Readonly<Record<string, unknown>>;
    /** `--kube-version`; default the cluster's. */
    readonly kubeVersion?: string | undefined;
    /** `--api-versions`; default the cluster's. */
    readonly apiVersions?: readonly string[] | undefined;
    /** Render `crds/` (default true). */
    readonly includeCrds?: boolean | undefined;
    /** Leave out test hooks (default true). */
    readonly skipTests?: boolean | undefined;
    /**
     * Fetch the dependencies `Chart.yaml` declares and `charts/` lacks into this cache folder (public
     * repositories; as `helm dependency build`, `Chart.lock` honoured). Unset: such a chart fails.
     */
    readonly dependencyCache?: string | undefined;
  };
  /** KustomizeRenderer options, as in the SDK (config file only). */
  readonly kustomize?: Readonly<Record<string, unknown>> | undefined;
  /** RawRenderer options, as in the SDK (config file only). */
  readonly raw?: Readonly<Record<string, unknown>> | undefined;
}

/** What the command line (and the config file) asked for. */
export interface PlanCliOptions {
  /** Absolute path of the folder of manifests. */
  readonly folder: string;
  /** Kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config`, then in-cluster. */
  readonly kubeconfig?: string | undefined;
  /** Namespace of namespaced objects that set none (and the Helm release namespace). */
  readonly namespace: string;
  /** Namespace the reconciler keeps its inventory in (default: `namespace`). */
  readonly stateNamespace: string;
  /** The reconciler's name: its inventory is the one compared against (default: the folder's name). */
  readonly name: string;
  /** Colored output: forced on or off, or undefined to color only a terminal. */
  readonly color?: boolean | undefined;
  /** Lines of context around each change. */
  readonly context: number;
  /** How the folder is rendered. */
  readonly render: RenderSettings;
}

/** The help text. */
export const USAGE = `Usage: gitops-kit-plan <folder> [options]

Renders the manifests in <folder> as the reconciler does, compares them with the cluster and the
reconciler's stored inventory, and prints what a reconcile would create, update and prune.
Writes nothing.

Options:
  --kubeconfig <path>        kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --namespace <ns>           namespace for objects that set none (default: default)
  --state-namespace <ns>     where the reconciler stores its inventory (default: --namespace)
  --name <name>              the reconciler's name (default: the folder's name)
  --config <file>            read these settings from a YAML or JSON file (flags win over it)
  --renderer <kind>          auto (default: Chart.yaml, kustomization.yaml, else raw), helm, kustomize, raw
  --path <dir>               folder inside <folder> to render (default: <folder> itself)
  --release-name <name>      Helm release name (default: --name)
  --values <file>            Helm values file, relative to the chart (repeatable, in order)
  --set <key=value>          Helm inline value, dotted key (repeatable, after the files)
  --kube-version <version>   Helm --kube-version (default: the cluster's)
  --api-versions <gv>        Helm --api-versions (repeatable; default: the cluster's)
  --dependency-cache <dir>   fetch chart dependencies missing from charts/ into <dir> (public repositories)
  --context <lines>          lines of context around changes (default: 3)
  --color / --no-color       force colors on or off (default: on for a terminal)
  -h, --help                 show this help

Exit status: 0 no changes, 2 changes, 1 error (like terraform plan -detailed-exitcode).`;

/** A command line that cannot be run; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const RENDERERS = ['auto', 'helm', 'kustomize', 'raw'] as const;

/** The `--config` file named on the command line, if any (read before the rest is parsed). */
export function configPathOf(argv: readonly string[]): string | undefined {
  try {
    const path = parse(argv).values.config;
    return path === undefined ? undefined : resolve(path);
  } catch {
    return undefined; // parsePlanArgs reports the mistake.
  }
}

/** A `--set` value as Helm reads it: booleans, numbers and `null`, else the string. */
function scalar(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(text) && Number.isFinite(Number(text))) return Number(text);
  return text;
}

/** `a.b=c` pairs as nested values, merged into `base`. */
function setValues(
  base: Readonly<Record<string, unknown>>,
  pairs: readonly string[],
): Record<string, unknown> {
  const out = structuredClone(base) as Record<string, unknown>;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set needs key=value, got "${pair}"`);
    const keys = pair.slice(0, eq).split('.');
    let node = out;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      node[key] = next && typeof next === 'object' && !Array.isArray(next) ? next : {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1] as string] = scalar(pair.slice(eq + 1));
  }
  return out;
}

/**
 * Parses the arguments after `node main.js`, over the settings of a config file when one was read
 * (flags win); returns `'help'` when help was asked for.
 */
export function parsePlanArgs(
  argv: readonly string[],
  config: PlanConfig = {},
  configDir?: string,
): PlanCliOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError('only one folder may be given');
  const fromConfig =
    config.folder === undefined
      ? undefined
      : resolve(configDir ?? dirname(values.config ?? '.'), config.folder);
  const given = positionals[0] === undefined ? fromConfig : resolve(positionals[0]);
  if (given === undefined) throw new UsageError('a folder is required');
  const folder = given;
  const contextText = values.context ?? (config.context === undefined ? undefined : String(config.context));
  const context = contextText === undefined ? 3 : Number(contextText);
  if (!Number.isInteger(context) || context < 0) {
    throw new UsageError(`--context must be a whole number, got "${contextText}"`);
  }
  const renderer = values.renderer ?? config.renderer ?? 'auto';
  if (!(RENDERERS as readonly string[]).includes(renderer)) {
    throw new UsageError(`--renderer must be one of ${RENDERERS.join(', ')}, got "${renderer}"`);
  }
  const namespace = values.namespace ?? config.namespace ?? 'default';
  const name = values.name ?? config.name ?? basename(folder);
  const helm = config.helm ?? {};
  const apiVersions = values['api-versions'] ?? helm.apiVersions;
  return {
    folder,
    kubeconfig: values.kubeconfig ?? config.kubeconfig,
    namespace,
    stateNamespace: values['state-namespace'] ?? config.stateNamespace ?? namespace,
    name,
    color: values['no-color'] ? false : values.color ? true : undefined,
    context,
    render: {
      renderer: renderer as RenderSettings['renderer'],
      path: values.path ?? config.path,
      helm: {
        releaseName: values['release-name'] ?? helm.releaseName ?? name,
        valuesFiles: values.values ?? helm.valuesFiles ?? [],
        values: setValues(helm.values ?? {}, values.set ?? []),
        kubeVersion: values['kube-version'] ?? helm.kubeVersion,
        apiVersions,
        includeCrds: helm.includeCrds,
        skipTests: helm.skipTests,
        dependencyCache:
          values['dependency-cache'] !== undefined
            ? resolve(values['dependency-cache'])
            : helm.dependencyCache !== undefined
              ? resolve(configDir ?? '.', helm.dependencyCache)
              : undefined,
      },
      kustomize: config.kustomize,
      raw: config.raw,
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'state-namespace': { type: 'string' },
      name: { type: 'string' },
      config: { type: 'string' },
      renderer: { type: 'string' },
      path: { type: 'string' },
      'release-name': { type: 'string' },
      values: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      'kube-version': { type: 'string' },
      'api-versions': { type: 'string', multiple: true },
      'dependency-cache': { type: 'string' },
      context: { type: 'string' },
      color: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
