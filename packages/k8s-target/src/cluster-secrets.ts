import {
  type ClusterGenerator,
  type ClusterValues,
  defineCluster,
  type FleetCluster,
  FleetError,
  FleetErrorCodes,
  type LabelSelector,
  selectorQuery,
} from '@gitops-kit/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigClass } from './client-node.js';
import { describeApiError } from './errors.js';
import type { KubeClient } from './kube-client.js';
import type { Restrictions } from './restrictions.js';

/**
 * Argo CD's cluster Secrets, read as they are, as a fleet generator: the Secrets labelled
 * `argocd.argoproj.io/secret-type: cluster` in a namespace of a management cluster, each with the
 * data keys `name`, `server`, `config` (JSON: `bearerToken`, `username`/`password`,
 * `tlsClientConfig` with base64 `caData`/`certData`/`keyData`, `insecure`, `serverName`,
 * `execProviderConfig`, `proxyUrl`), `namespaces` (comma-separated) and `clusterResources`.
 *
 * Credentials go into a KubeConfig and nowhere else: errors name the Secret and the key at fault,
 * never a value, and the fleet's status never shows a connection.
 */

/** The label that marks a cluster Secret, and its value. */
export const CLUSTER_SECRET_TYPE_LABEL = 'argocd.argoproj.io/secret-type';
/** The value of {@link CLUSTER_SECRET_TYPE_LABEL} for clusters. */
export const CLUSTER_SECRET_TYPE = 'cluster';

/** How a cluster from a Secret is reached, and what it may be written to. */
export interface ClusterSecretConnection {
  /** Credentials and server, ready for a `KubernetesTarget`. Never log it. */
  readonly kubeConfig: KubeConfig;
  /** The API server URL. */
  readonly server: string;
  /** `namespace/name` of the Secret it came from. */
  readonly secret: string;
  /** The Argo CD project the cluster is scoped to, when set. */
  readonly project: string | undefined;
  /**
   * Restrictions from `namespaces` and `clusterResources`: with namespaces, only those may be
   * written, and cluster-scoped objects only with `clusterResources: "true"` (Argo CD's rule).
   */
  readonly restrictions: Restrictions | undefined;
}

/** The Secret fields this module reads. */
export interface ClusterSecretObject {
  /** Name, namespace, uid, resourceVersion and labels (the cluster's labels). */
  readonly metadata?: ClusterSecretMetadata;
  /** Base64 values, as the API returns them. */
  readonly data?: Readonly<Record<string, string>>;
  /** Plain values (a Secret written with `stringData` and not yet read back). */
  readonly stringData?: Readonly<Record<string, string>>;
}

/** The metadata of a cluster Secret this module reads. */
export interface ClusterSecretMetadata {
  /** The Secret's name (the cluster's name when `data.name` is empty). */
  readonly name?: string;
  /** Its namespace. */
  readonly namespace?: string;
  /** With the resourceVersion, what tells a changed Secret apart. */
  readonly uid?: string;
  /** Changes with every write: a rotated token rebuilds the cluster's member. */
  readonly resourceVersion?: string;
  /** The cluster's labels. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Not read; kept for callers that pass whole Secrets. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Options of {@link parseClusterSecret}. */
export interface ParseClusterSecretOptions {
  /**
   * Whether `execProviderConfig` may run a command on this machine: false (the default: a Secret
   * that can name a command is code execution for whoever can write it), true, or the commands
   * allowed (`['aws', 'argocd-k8s-auth']`).
   */
  readonly allowExec?: boolean | readonly string[];
  /** Per-cluster values from what the Secret says (default: `CLUSTER_NAME` and `CLUSTER_SERVER`). */
  readonly values?: (cluster: {
    name: string;
    server: string;
    labels: Readonly<Record<string, string>>;
  }) => ClusterValues;
}

interface ArgoClusterConfig {
  bearerToken?: unknown;
  username?: unknown;
  password?: unknown;
  tlsClientConfig?: {
    insecure?: unknown;
    caData?: unknown;
    certData?: unknown;
    keyData?: unknown;
    serverName?: unknown;
  };
  execProviderConfig?: {
    command?: unknown;
    args?: unknown;
    env?: unknown;
    apiVersion?: unknown;
    installHint?: unknown;
  };
  awsAuthConfig?: unknown;
  proxyUrl?: unknown;
}

/** Argo CD's `nameNormalized`: lower case letters, digits, `-` and `.`. */
export function normalizeClusterName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 253);
}

/**
 * Turns one Argo CD cluster Secret into a fleet cluster whose connection holds a KubeConfig. The
 * fleet name is the normalized `name` (the Secret's name when `name` is empty); labels are the
 * Secret's. Throws a {@link FleetError} `FLEET_INVALID_CLUSTER` naming the Secret and the key at
 * fault (never a value).
 */
export function parseClusterSecret(
  secret: ClusterSecretObject,
  options: ParseClusterSecretOptions = {},
): FleetCluster<ClusterSecretConnection> {
  const where = `Secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? '?'}`;
  const invalid = (message: string): never => {
    throw new FleetError(FleetErrorCodes.InvalidCluster, `${where}: ${message}`);
  };
  const field = (key: string): string | undefined => {
    const plain = secret.stringData?.[key];
    if (plain !== undefined) return plain;
    const encoded = secret.data?.[key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  };
  const server = field('server')?.trim();
  if (!server) invalid('data.server is missing');
  let url: URL | undefined;
  try {
    url = new URL(server as string);
  } catch {
    invalid('data.server is not a URL');
  }
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') invalid('data.server must be an http(s) URL');
  const displayName = field('name')?.trim() || secret.metadata?.name || '';
  const name = normalizeClusterName(displayName);
  if (!name) invalid('data.name normalizes to nothing');
  const configText = field('config');
  let config: ArgoClusterConfig = {};
  if (configText?.trim()) {
    try {
      const parsed: unknown = JSON.parse(configText);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        invalid('data.config is not a JSON object');
      config = parsed as ArgoClusterConfig;
    } catch (error) {
      if (error instanceof FleetError) throw error;
      invalid('data.config is not valid JSON');
    }
  }
  const str = (value: unknown, key: string): string | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') invalid(`config.${key} must be a string`);
    return value as string;
  };
  if (config.awsAuthConfig !== undefined) {
    invalid('config.awsAuthConfig is not supported; use execProviderConfig with the aws CLI instead');
  }
  const tls = config.tlsClientConfig ?? {};
  const insecure = tls.insecure === true || tls.insecure === 'true';
  const caData = str(tls.caData, 'tlsClientConfig.caData');
  const certData = str(tls.certData, 'tlsClientConfig.certData');
  const keyData = str(tls.keyData, 'tlsClientConfig.keyData');
  if ((certData === undefined) !== (keyData === undefined)) {
    invalid('config.tlsClientConfig needs both certData and keyData, or neither');
  }
  const serverName = str(tls.serverName, 'tlsClientConfig.serverName');
  const proxyUrl = str(config.proxyUrl, 'proxyUrl');
  const token = str(config.bearerToken, 'bearerToken');
  const username = str(config.username, 'username');
  const password = str(config.password, 'password');
  const exec = config.execProviderConfig
    ? execOf(config.execProviderConfig, options.allowExec ?? false, invalid)
    : undefined;

  const kubeConfig = new (kubeConfigClass())();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name,
        server: server as string,
        skipTLSVerify: insecure,
        ...(caData ? { caData } : {}),
        ...(serverName ? { tlsServerName: serverName } : {}),
        ...(proxyUrl ? { proxyUrl } : {}),
      },
    ],
    users: [
      {
        name,
        // As Argo CD: a bearer token is used only when there is no client certificate.
        ...(token && !certData ? { token } : {}),
        ...(certData && keyData ? { certData, keyData } : {}),
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        ...(exec ? { exec } : {}),
      },
    ],
    contexts: [{ name, cluster: name, user: name }],
    currentContext: name,
  });

  const namespaces = (field('namespaces') ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const clusterResources = field('clusterResources')?.trim() === 'true';
  const restrictions: Restrictions | undefined =
    namespaces.length > 0
      ? { allowedNamespaces: namespaces, allowClusterScoped: clusterResources }
      : undefined;
  const labels = { ...(secret.metadata?.labels ?? {}) };
  const values = options.values?.({ name: displayName, server: server as string, labels }) ?? {
    variables: { CLUSTER_NAME: displayName, CLUSTER_SERVER: server as string },
  };
  return defineCluster({
    name,
    labels,
    values,
    connection: {
      kubeConfig,
      server: server as string,
      secret: `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`,
      project: field('project')?.trim() || undefined,
      restrictions,
    },
    // A new resourceVersion (a rotated token, a new server) rebuilds the member; the digest never
    // sees a credential.
    fingerprint: `${secret.metadata?.uid ?? ''}/${secret.metadata?.resourceVersion ?? ''}/${JSON.stringify(values)}`,
  });
}

function execOf(
  exec: NonNullable<ArgoClusterConfig['execProviderConfig']>,
  allow: boolean | readonly string[],
  invalid: (message: string) => never,
): Record<string, unknown> {
  const command = exec.command;
  if (typeof command !== 'string' || !command) invalid('config.execProviderConfig.command is missing');
  const allowed = allow === true || (Array.isArray(allow) && allow.includes(command as string));
  if (!allowed) {
    invalid(
      `config.execProviderConfig runs ${JSON.stringify(command)}, which is not allowed here (allowExec); ` +
        'a cluster Secret that names a command runs it on this machine',
    );
  }
  const args = exec.args === undefined ? [] : exec.args;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    invalid('config.execProviderConfig.args must be a list of strings');
  }
  const env = exec.env ?? {};
  if (
    typeof env !== 'object' ||
    Array.isArray(env) ||
    !Object.values(env).every((v) => typeof v === 'string')
  ) {
    invalid('config.execProviderConfig.env must map names to strings');
  }
  return {
    command,
    args,
    env: Object.entries(env as Record<string, string>).map(([name, value]) => ({ name, value })),
    apiVersion:
      typeof exec.apiVersion === 'string' ? exec.apiVersion : 'client.authentication.k8s.io/v1beta1',
    interactiveMode: 'Never',
  };
}

/** Options of {@link ClusterSecretGenerator}. */
export interface ClusterSecretGeneratorOptions extends ParseClusterSecretOptions {
  /** A client of the management cluster (it needs `list` on Secrets in `namespace`). */
  readonly client: KubeClient;
  /** Where the cluster Secrets are (default `argocd`). */
  readonly namespace?: string;
  /** More labels to select Secrets by, ANDed with the cluster type label. */
  readonly selector?: LabelSelector;
  /** How often {@link ClusterSecretGenerator.watch} polls by default, in milliseconds (default 10 s). */
  readonly pollIntervalMs?: number;
  /** Told about each Secret that cannot be used (it is left out of the fleet). */
  readonly onInvalid?: (secret: string, error: FleetError) => void;
}

interface SecretList {
  readonly items?: readonly ClusterSecretObject[];
}

/**
 * Lists Argo CD cluster Secrets of a management cluster as fleet clusters, one label-selected list
 * request per call. A Secret that cannot be used is left out and reported to `onInvalid` (its
 * reconciler goes, without pruning); a list that fails fails the fleet's sync, which then changes
 * nothing. {@link watch} polls for changes.
 */
export class ClusterSecretGenerator implements ClusterGenerator<ClusterSecretConnection> {
  readonly description: string;
  readonly #options: ClusterSecretGeneratorOptions;
  readonly #namespace: string;

  /** @param options the management cluster's client, the namespace, a selector, exec policy. */
  constructor(options: ClusterSecretGeneratorOptions) {
    this.#options = options;
    this.#namespace = options.namespace ?? 'argocd';
    this.description = `cluster Secrets in ${this.#namespace}`;
  }

  /** The label selector sent with the list. */
  get labelSelector(): string {
    const selector: LabelSelector = {
      matchLabels: {
        ...(this.#options.selector?.matchLabels ?? {}),
        [CLUSTER_SECRET_TYPE_LABEL]: CLUSTER_SECRET_TYPE,
      },
      ...(this.#options.selector?.matchExpressions
        ? { matchExpressions: this.#options.selector.matchExpressions }
        : {}),
    };
    return selectorQuery(selector);
  }

  /** The Secrets now, as clusters (the unusable ones left out and reported). */
  async list(signal: AbortSignal): Promise<FleetCluster<ClusterSecretConnection>[]> {
    const secrets = await this.#secrets(signal);
    const out: FleetCluster<ClusterSecretConnection>[] = [];
    for (const secret of secrets) {
      try {
        out.push(parseClusterSecret(secret, this.#options));
      } catch (error) {
        if (!(error instanceof FleetError)) throw error;
        this.#options.onInvalid?.(`${this.#namespace}/${secret.metadata?.name ?? '?'}`, error);
      }
    }
    return out;
  }

  /**
   * Polls every `intervalMs` (default 10 s) and calls `onChange` when a Secret was added, removed
   * or changed (by name and resourceVersion). Returns the function that stops it.
   */
  watch(
    onChange: () => void,
    options: { readonly intervalMs?: number; readonly onError?: (error: unknown) => void } = {},
  ): () => void {
    let last: string | undefined;
    let stopped = false;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const tick = async (): Promise<void> => {
      try {
        const secrets = await this.#secrets(controller.signal);
        const key = secrets
          .map((s) => `${s.metadata?.name ?? ''}@${s.metadata?.resourceVersion ?? ''}`)
          .sort()
          .join(',');
        if (last !== undefined && key !== last) onChange();
        last = key;
      } catch (error) {
        if (!stopped) options.onError?.(error);
      }
      if (!stopped)
        timer = setTimeout(() => void tick(), options.intervalMs ?? this.#options.pollIntervalMs ?? 10_000);
    };
    void tick();
    return () => {
      stopped = true;
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }

  async #secrets(signal: AbortSignal): Promise<readonly ClusterSecretObject[]> {
    try {
      const list = await this.#options.client.request<SecretList>({
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/secrets`,
        query: { labelSelector: this.labelSelector },
        signal,
      });
      return list.items ?? [];
    } catch (error) {
      if (signal.aborted) throw error;
      throw new FleetError(
        FleetErrorCodes.GeneratorFailed,
        `cannot list cluster Secrets in ${this.#namespace}: ${describeApiError(error)}`,
      );
    }
  }
}
