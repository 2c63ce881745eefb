import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { UsageError } from './args.js';

/**
 * The plan's settings as a file (`--config plan.yaml`), so CI plans with the renderer settings the
 * reconciler uses. Every field is optional; flags given on the command line win.
 *
 * ```yaml
 * folder: deploy/shop        # relative to this file
 * name: shop-prod            # the reconciler's name (its stored inventory)
 * namespace: shop
 * stateNamespace: gitops
 * renderer: helm             # auto | helm | kustomize | raw
 * path: chart                # inside the folder
 * helm:
 *   releaseName: shop
 *   valuesFiles: [values-prod.yaml]
 *   values: { replicas: 3 }
 *   kubeVersion: 1.32.0      # default: the cluster's
 *   dependencyCache: .cache/charts   # fetch dependencies missing from charts/
 * ```
 */
export interface PlanConfig {
  readonly folder?: string;
  readonly kubeconfig?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly stateNamespace?: string;
  readonly context?: number;
  readonly renderer?: string;
  readonly path?: string;
  readonly helm?: {
    readonly releaseName?: string;
    readonly valuesFiles?: readonly string[];
    readonly values?: Readonly<Record<string, unknown>>;
    readonly kubeVersion?: string;
    readonly apiVersions?: readonly string[];
    readonly includeCrds?: boolean;
    readonly skipTests?: boolean;
    readonly dependencyCache?: string;
  };
  readonly kustomize?: Readonly<Record<string, unknown>>;
  readonly raw?: Readonly<Record<string, unknown>>;
}

const KEYS = new Set([
  'folder',
  'kubeconfig',
  'name',
  'namespace',
  'stateNamespace',
  'context',
  'renderer',
  'path',
  'helm',
  'kustomize',
  'raw',
]);
const HELM_KEYS = new Set([
  'releaseName',
  'valuesFiles',
  'values',
  'kubeVersion',
  'apiVersions',
  'includeCrds',
  'skipTests',
  'dependencyCache',
]);

/** Reads and checks a config file (YAML or JSON); a mistake is a {@link UsageError} naming the file and key. */
export async function loadPlanConfig(path: string): Promise<PlanConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read --config ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`${path}: expected a mapping of settings`);
  for (const key of Object.keys(doc))
    if (!KEYS.has(key)) throw new UsageError(`${path}: unknown setting "${key}"`);
  const helm = (doc as { helm?: unknown }).helm;
  if (helm !== undefined) {
    if (!helm || typeof helm !== 'object') throw new UsageError(`${path}: "helm" must be a mapping`);
    for (const key of Object.keys(helm))
      if (!HELM_KEYS.has(key)) throw new UsageError(`${path}: unknown setting "helm.${key}"`);
  }
  return doc as PlanConfig;
}
