import { join } from 'node:path';
import { FleetError, FleetErrorCodes } from '../errors.js';
import { parse } from '../lazy-yaml.js';
import {
  type ClusterDefinition,
  type ClusterGenerator,
  type ClusterValues,
  defineCluster,
  type FleetCluster,
  type LabelSelector,
  matchesSelector,
} from './cluster.js';

/**
 * Generators as plain TypeScript, after Argo CD ApplicationSet's list and cluster generators: each
 * produces the clusters of a fleet now; the fleet calls it again to see clusters come and go.
 */

/** Options shared by the generators: a post-selector on labels (ApplicationSet's `selector`). */
export interface GeneratorSelectorOptions {
  /** Keep only clusters whose labels match. */
  readonly selector?: LabelSelector;
}

/**
 * The list generator: the clusters given, checked once. Pass a function to list clusters that
 * change (it is called on every sync).
 */
export function listGenerator<C>(
  elements: readonly ClusterDefinition<C>[] | (() => readonly ClusterDefinition<C>[]),
  options: GeneratorSelectorOptions = {},
): ClusterGenerator<C> {
  const fixed = typeof elements === 'function' ? undefined : checkedAll(elements);
  return {
    description: 'list',
    async list() {
      const clusters = fixed ?? checkedAll((elements as () => readonly ClusterDefinition<C>[])());
      return select(clusters, options.selector);
    },
  };
}

function checkedAll<C>(elements: readonly ClusterDefinition<C>[]): FleetCluster<C>[] {
  const clusters = elements.map((e) => defineCluster(e));
  assertUnique(clusters, 'list');
  return clusters;
}

/** Refuses two clusters of one name: their reconcilers would fight over one state. */
export function assertUnique(clusters: readonly FleetCluster[], where: string): void {
  const seen = new Set<string>();
  for (const { name } of clusters) {
    if (seen.has(name)) {
      throw new FleetError(FleetErrorCodes.DuplicateCluster, `${where}: two clusters are named ${name}`);
    }
    seen.add(name);
  }
}

function select<C>(
  clusters: readonly FleetCluster<C>[],
  selector: LabelSelector | undefined,
): FleetCluster<C>[] {
  return selector ? clusters.filter((c) => matchesSelector(c.labels, selector)) : [...clusters];
}

/** The file system calls the folder generator makes (node:fs/promises fits; tests pass a map). */
export interface FolderFs {
  /** Names of the entries of a folder. */
  readdir(path: string): Promise<readonly string[]>;
  /** A file's text. */
  readFile(path: string, encoding: 'utf8'): Promise<string>;
}

/** How a cluster of a kubeconfig folder is reached: the kubeconfig's text and where it was read. */
export interface KubeconfigConnection {
  /** The kubeconfig as read (YAML or JSON). Holds credentials: never log it. */
  readonly kubeconfig: string;
  /** The file it came from. */
  readonly path: string;
}

/** Options of {@link kubeconfigFolderGenerator}. */
export interface KubeconfigFolderOptions extends GeneratorSelectorOptions {
  /** The folder: one `<cluster>.kubeconfig` per cluster, and optionally `<cluster>.values.yaml`. */
  readonly dir: string;
  /** The file system (default: node:fs/promises). */
  readonly fs?: FolderFs;
}

/** What a `<cluster>.values.yaml` may hold. */
interface ValuesFile {
  labels?: Record<string, string>;
  variables?: Record<string, string>;
  helmValues?: Record<string, unknown>;
}

const KUBECONFIG = /^(.+)\.kubeconfig$/;

/**
 * One cluster per `<name>.kubeconfig` file of a folder (the name is the file's), with labels,
 * substitution variables and Helm values from `<name>.values.yaml` beside it when present:
 *
 * ```yaml
 * labels: { env: prod, region: eu }
 * variables: { CLUSTER_REGION: eu-west-1 }
 * helmValues: { replicas: 3 }
 * ```
 *
 * The variable `CLUSTER_NAME` is set to the name unless the file sets it. A file that cannot be
 * read or parsed fails the listing with a {@link FleetError} naming the file (never its content),
 * so a half-written folder never looks like removed clusters.
 */
export function kubeconfigFolderGenerator(
  options: KubeconfigFolderOptions,
): ClusterGenerator<KubeconfigConnection> {
  const { dir } = options;
  const fsPromise: Promise<FolderFs> = options.fs
    ? Promise.resolve(options.fs)
    : (import('node:fs/promises') as Promise<FolderFs>);
  return {
    description: `folder ${dir}`,
    async list() {
      const fs = await fsPromise;
      let entries: readonly string[];
      try {
        entries = await fs.readdir(dir);
      } catch (error) {
        throw new FleetError(
          FleetErrorCodes.GeneratorFailed,
          `folder ${dir} cannot be read: ${codeOf(error)}`,
        );
      }
      const names = entries
        .map((entry) => KUBECONFIG.exec(entry)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
      const clusters: FleetCluster<KubeconfigConnection>[] = [];
      for (const name of names) {
        const path = join(dir, `${name}.kubeconfig`);
        const kubeconfig = await readText(fs, path);
        const valuesName = `${name}.values.yaml`;
        const file = entries.includes(valuesName) ? await readValues(fs, join(dir, valuesName)) : {};
        const values: ClusterValues = {
          variables: { CLUSTER_NAME: name, ...(file.variables ?? {}) },
          ...(file.helmValues ? { helmValues: file.helmValues } : {}),
        };
        clusters.push(
          defineCluster({ name, labels: file.labels ?? {}, values, connection: { kubeconfig, path } }),
        );
      }
      return select(clusters, options.selector);
    },
  };
}

async function readText(fs: FolderFs, path: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (error) {
    throw new FleetError(FleetErrorCodes.GeneratorFailed, `${path} cannot be read: ${codeOf(error)}`);
  }
}

async function readValues(fs: FolderFs, path: string): Promise<ValuesFile> {
  const text = await readText(fs, path);
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new FleetError(
      FleetErrorCodes.InvalidCluster,
      `${path}${line === undefined ? '' : `:${line}`}: not valid YAML`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new FleetError(
      FleetErrorCodes.InvalidCluster,
      `${path}: expected a mapping with labels, variables, helmValues`,
    );
  }
  const file = parsed as Record<string, unknown>;
  for (const key of ['labels', 'variables'] as const) {
    const value = file[key];
    if (value === undefined) continue;
    const ok =
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === 'string');
    if (!ok)
      throw new FleetError(FleetErrorCodes.InvalidCluster, `${path}: ${key} must map names to strings`);
  }
  const helm = file.helmValues;
  if (helm !== undefined && (helm === null || typeof helm !== 'object' || Array.isArray(helm))) {
    throw new FleetError(FleetErrorCodes.InvalidCluster, `${path}: helmValues must be a mapping`);
  }
  return file as ValuesFile;
}

/** An fs error's code (`ENOENT`), never its message (which may quote paths only, but stay terse). */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unreadable';
}
