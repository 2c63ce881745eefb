import { readFile, stat } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { GitOpsError } from '@gitops-kit/core';
import { kubeConfigClass } from './client-node.js';
import { K8sErrorCodes } from './errors.js';

/**
 * The default credentials of a KubernetesTarget built without a KubeConfig, read the way kubectl
 * reads them (`$KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account), without
 * loading @kubernetes/client-node when they are plain: a server, a CA, a client certificate, a
 * token or token file, a user name and password. Anything else (exec and auth-provider plugins,
 * proxies, impersonation in the file, several files to merge) is left to client-node's own loader,
 * so every kubeconfig works as before; only the cheap cases are read here.
 */

/** What the HTTP transport needs of a KubeConfig; client-node's KubeConfig has both methods. */
export interface KubeCredentials {
  /** The current cluster: its server URL and proxy, or null when there is none. */
  getCurrentCluster(): { readonly server: string; readonly proxyUrl?: string | undefined } | null;
  /** Sets TLS material and authentication headers of one request. */
  applyToHTTPSOptions(options: RequestOptions): Promise<void>;
}

/** Where the default credentials come from, injected in tests. */
export interface CredentialsEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  readonly serviceAccountDir: string;
  readonly now: () => number;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Token files (projected service-account tokens) are rotated by the kubelet: read again this often. */
const TOKEN_FILE_TTL_MS = 60_000;

const CLUSTER_KEYS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);
const USER_KEYS = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
  'username',
  'password',
  'extensions',
]);

/** The default credentials: read here when plain, else by client-node's `loadFromDefault`. */
export async function loadDefaultCredentials(
  environment: CredentialsEnvironment = {
    env: process.env,
    home: homedir(),
    serviceAccountDir: SERVICE_ACCOUNT_DIR,
    now: Date.now,
  },
): Promise<KubeCredentials> {
  const plain = await plainCredentials(environment);
  if (plain) return plain;
  const kubeConfig = new (kubeConfigClass())();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}

/** The credentials when they can be read without client-node, else undefined. */
export async function plainCredentials(
  environment: CredentialsEnvironment,
): Promise<KubeCredentials | undefined> {
  const listed = environment.env.KUBECONFIG;
  if (listed !== undefined && listed !== '') {
    const paths = listed.split(delimiter).filter(Boolean);
    return paths.length === 1 ? fromFile(paths[0] as string, environment) : undefined;
  }
  const home = join(environment.home, '.kube', 'config');
  if (await exists(home)) return fromFile(home, environment);
  return inCluster(environment);
}

interface Material {
  readonly server: string;
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly insecure: boolean;
  readonly serverName?: string | undefined;
  readonly token?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly basic?: string | undefined;
}

async function fromFile(
  path: string,
  environment: CredentialsEnvironment,
): Promise<KubeCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw invalid(`the kubeconfig ${path} cannot be read: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    // testenv and many tools write JSON; YAML is loaded only for a YAML file.
    config = text.trimStart().startsWith('{') ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch {
    throw invalid(`the kubeconfig ${path} is neither JSON nor YAML`);
  }
  const current = record(config)?.['current-context'];
  if (typeof current !== 'string' || !current) return undefined;
  const context = named(config, 'contexts', current, 'context');
  if (!context) return undefined;
  const cluster = named(config, 'clusters', context.cluster, 'cluster');
  const user = context.user === undefined ? {} : named(config, 'users', context.user, 'user');
  if (!cluster || !user || typeof cluster.server !== 'string') return undefined;
  if (Object.keys(cluster).some((k) => !CLUSTER_KEYS.has(k))) return undefined;
  if (Object.keys(user).some((k) => !USER_KEYS.has(k))) return undefined;
  const base = dirname(path);
  const file = async (name: unknown, data: unknown): Promise<Buffer | undefined> => {
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
    if (typeof name !== 'string' || !name) return undefined;
    const at = isAbsolute(name) ? name : join(base, name);
    try {
      return await readFile(at);
    } catch (error) {
      throw invalid(`the kubeconfig ${path} names ${at}, which cannot be read: ${(error as Error).message}`);
    }
  };
  const tokenFile = typeof user.tokenFile === 'string' && user.tokenFile ? user.tokenFile : undefined;
  return credentials(
    {
      server: cluster.server,
      ca: await file(cluster['certificate-authority'], cluster['certificate-authority-data']),
      cert: await file(user['client-certificate'], user['client-certificate-data']),
      key: await file(user['client-key'], user['client-key-data']),
      insecure: cluster['insecure-skip-tls-verify'] === true,
      serverName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
      token: typeof user.token === 'string' && user.token ? user.token : undefined,
      tokenFile: tokenFile && !isAbsolute(tokenFile) ? join(base, tokenFile) : tokenFile,
      basic:
        typeof user.username === 'string' && user.username
          ? `${user.username}:${typeof user.password === 'string' ? user.password : ''}`
          : undefined,
    },
    environment,
  );
}

async function inCluster(environment: CredentialsEnvironment): Promise<KubeCredentials | undefined> {
  const host = environment.env.KUBERNETES_SERVICE_HOST;
  const port = environment.env.KUBERNETES_SERVICE_PORT;
  const tokenFile = join(environment.serviceAccountDir, 'token');
  if (!host || !port || !(await exists(tokenFile))) return undefined;
  const caFile = join(environment.serviceAccountDir, 'ca.crt');
  return credentials(
    {
      server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
      ca: (await exists(caFile)) ? await readFile(caFile) : undefined,
      insecure: false,
      tokenFile,
    },
    environment,
  );
}

function credentials(material: Material, environment: CredentialsEnvironment): KubeCredentials {
  let token: { value: string; readAt: number } | undefined;
  const bearer = async (): Promise<string | undefined> => {
    if (material.token) return material.token;
    if (!material.tokenFile) return undefined;
    if (!token || environment.now() - token.readAt >= TOKEN_FILE_TTL_MS) {
      try {
        token = { value: (await readFile(material.tokenFile, 'utf8')).trim(), readAt: environment.now() };
      } catch (error) {
        throw invalid(`the token file ${material.tokenFile} cannot be read: ${(error as Error).message}`);
      }
    }
    return token.value;
  };
  return {
    getCurrentCluster: () => ({ server: material.server }),
    async applyToHTTPSOptions(options) {
      if (material.ca) options.ca = material.ca;
      if (material.cert) options.cert = material.cert;
      if (material.key) options.key = material.key;
      if (material.insecure) options.rejectUnauthorized = false;
      if (material.serverName) options.servername = material.serverName;
      if (material.basic) options.auth = material.basic;
      const value = await bearer();
      if (value) options.headers = { ...options.headers, Authorization: `Bearer ${value}` };
    },
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `config[list]` entry named `name`, its `field` object. */
function named(
  config: unknown,
  list: string,
  name: unknown,
  field: string,
): Record<string, unknown> | undefined {
  const entries = record(config)?.[list];
  if (!Array.isArray(entries) || typeof name !== 'string') return undefined;
  const entry = entries.map(record).find((e) => e?.name === name);
  return record(entry?.[field]);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function invalid(message: string): GitOpsError {
  return new GitOpsError('apply', K8sErrorCodes.InvalidKubeConfig, message);
}
