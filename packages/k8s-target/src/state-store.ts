import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GitOpsError, type StateStore, type StateStoreOptions, type StoredState } from '@gitops-kit/core';
import { isStatus, K8sErrorCodes, KubeApiError } from './errors.js';
import type { KubeClient } from './kube-client.js';

/** Options for {@link ConfigMapStateStore}. */
export interface ConfigMapStateStoreOptions {
  /** The namespace the state objects live in (it must exist). */
  readonly namespace: string;
  /** Keep the state in a `ConfigMap` (default) or a `Secret` (when RBAC hides Secrets from readers). */
  readonly kind?: 'ConfigMap' | 'Secret' | undefined;
  /** Field manager of the writes (default `gitops-kit`). */
  readonly fieldManager?: string | undefined;
  /** Above this many bytes of JSON the state is stored gzipped (default 256 KiB; objects are limited to 1 MiB). */
  readonly compressAbove?: number | undefined;
}

const PLAIN_KEY = 'state.json';
const GZIP_KEY = 'state.json.gz';
/** The size limit of an object in etcd, less room for metadata. */
const MAX_STORED_BYTES = 1_000_000;

/** The object name for a state key: `gitops-kit-<key>`, made a valid DNS subdomain. */
export function stateObjectName(key: string): string {
  const cleaned = key
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  const name = `gitops-kit-${cleaned}`;
  if (cleaned === key && name.length <= 253) return name;
  // The key was changed to fit: add a hash so two keys never share an object.
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return `${name.slice(0, 230).replace(/[^a-z0-9]+$/, '')}-${hash}`;
}

interface StateObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/**
 * A core {@link StateStore} kept in the cluster, one ConfigMap (or Secret) per key, named
 * `gitops-kit-<key>` and holding the StoredState as JSON (gzipped when large). A save that would
 * write what is already stored sends nothing, so a reconcile where nothing changed writes nothing.
 */
export class ConfigMapStateStore implements StateStore {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #kind: 'ConfigMap' | 'Secret';
  readonly #fieldManager: string;
  readonly #compressAbove: number;
  /** What is stored per key as far as this process knows (the JSON text), to skip useless writes. */
  readonly #known = new Map<string, string>();

  constructor(client: KubeClient, options: ConfigMapStateStoreOptions) {
    this.#client = client;
    this.#namespace = options.namespace;
    this.#kind = options.kind ?? 'ConfigMap';
    this.#fieldManager = options.fieldManager ?? 'gitops-kit';
    this.#compressAbove = options.compressAbove ?? 256 * 1024;
  }

  #path(key: string): string {
    const resource = this.#kind === 'Secret' ? 'secrets' : 'configmaps';
    return `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/${resource}/${stateObjectName(key)}`;
  }

  /** Reads the state of `key`, or undefined when none was saved. */
  async load(key: string, options: StateStoreOptions = {}): Promise<StoredState | undefined> {
    let object: StateObject;
    try {
      object = await this.#client.request<StateObject>({
        method: 'GET',
        path: this.#path(key),
        signal: options.signal,
      });
    } catch (error) {
      if (isStatus(error, 404)) {
        this.#known.delete(key);
        return undefined;
      }
      if (error instanceof KubeApiError) {
        throw new GitOpsError('reconcile', K8sErrorCodes.StateLoadFailed, error.message, { cause: error });
      }
      throw error;
    }
    const text = this.#decode(object);
    if (text === undefined) return undefined;
    this.#known.set(key, text);
    return JSON.parse(text) as StoredState;
  }

  /** Saves the state of `key` with one server-side apply, or nothing when it is already stored. */
  async save(key: string, state: StoredState, options: StateStoreOptions = {}): Promise<void> {
    const text = JSON.stringify(state);
    if (this.#known.get(key) === text) return;
    const encoded = this.#encode(text);
    const body: Record<string, unknown> = {
      apiVersion: 'v1',
      kind: this.#kind,
      metadata: {
        name: stateObjectName(key),
        namespace: this.#namespace,
        labels: { 'app.kubernetes.io/managed-by': 'gitops-kit' },
        annotations: { 'gitops-kit.dev/state-key': key },
      },
      ...encoded,
    };
    if (this.#kind === 'Secret') body.type = 'Opaque';
    await this.#client.request({
      method: 'PATCH',
      path: this.#path(key),
      query: { fieldManager: this.#fieldManager, force: 'true' },
      body,
      contentType: 'application/apply-patch+yaml',
      signal: options.signal,
    });
    this.#known.set(key, text);
  }

  #encode(text: string): Record<string, Record<string, string>> {
    const bytes = Buffer.byteLength(text);
    const secret = this.#kind === 'Secret';
    if (bytes <= this.#compressAbove) {
      // A Secret's data is base64; setting both keys to the full set also removes the other key.
      return secret
        ? { data: { [PLAIN_KEY]: Buffer.from(text).toString('base64') } }
        : { data: { [PLAIN_KEY]: text } };
    }
    const gz = gzipSync(text).toString('base64');
    if (gz.length > MAX_STORED_BYTES) {
      throw new GitOpsError(
        'reconcile',
        K8sErrorCodes.StateTooLarge,
        `the state is too large to store in a ${this.#kind} (${gz.length} bytes gzipped and base64-encoded)`,
      );
    }
    return secret ? { data: { [GZIP_KEY]: gz } } : { binaryData: { [GZIP_KEY]: gz } };
  }

  #decode(object: StateObject): string | undefined {
    const secret = this.#kind === 'Secret';
    const plain = object.data?.[PLAIN_KEY];
    if (plain !== undefined) return secret ? Buffer.from(plain, 'base64').toString('utf8') : plain;
    const gz = secret ? object.data?.[GZIP_KEY] : object.binaryData?.[GZIP_KEY];
    if (gz !== undefined) return gunzipSync(Buffer.from(gz, 'base64')).toString('utf8');
    return undefined;
  }
}
