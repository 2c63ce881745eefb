import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  decodeStoredState,
  GitOpsError,
  type ObjectRef,
  type StateStore,
  type StateStoreOptions,
  type StoredState,
} from '@gitops-kit/core';
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
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** Asks the apiserver for an object's metadata only (no data), for the cheap {@link ConfigMapStateStore.unchanged}. */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

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
  /** The resourceVersion of each key's object as last loaded or saved, for {@link unchanged}. */
  readonly #versions = new Map<string, string>();
  /** JSON of a save whose answer never came: it may have landed (see {@link unchanged}). */
  readonly #unconfirmed = new Map<string, string>();

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

  /** The state object of `key`: what the target's Kubernetes Events regard. */
  objectRef(key: string): ObjectRef {
    return { apiVersion: 'v1', kind: this.#kind, namespace: this.#namespace, name: stateObjectName(key) };
  }

  /** `ConfigMap ns/gitops-kit-<key>`: how every state error names the object. */
  describe(key: string): string {
    return `${this.#kind} ${this.#namespace}/${stateObjectName(key)}`;
  }

  /**
   * Reads the state of `key`, or undefined when none was saved (no object, no state key, or
   * `null`). A state that is not JSON or not of the right shape is a `RECONCILE_STATE_INVALID`
   * error naming the object and key; a failed read names the object too.
   */
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
        this.#versions.delete(key);
        return undefined;
      }
      throw this.#readFailure(key, error);
    }
    const version = object.metadata?.resourceVersion;
    if (version === undefined) this.#versions.delete(key);
    else this.#versions.set(key, version);
    this.#known.delete(key);
    const decoded = this.#decode(object, key);
    if (decoded === undefined) return undefined;
    const state = decodeStoredState(decoded.text, `${this.describe(key)} key ${decoded.key}`);
    if (state !== undefined) this.#known.set(key, decoded.text);
    return state;
  }

  /**
   * Whether the object of `key` is still the one last loaded or saved here, read as metadata only
   * (one small GET): false when it was deleted or written by someone else since.
   */
  async unchanged(key: string, options: StateStoreOptions = {}): Promise<boolean> {
    const known = this.#versions.get(key);
    try {
      const meta = await this.#client.request<StateObject>({
        method: 'GET',
        path: this.#path(key),
        accept: METADATA_ONLY,
        signal: options.signal,
      });
      const version = meta.metadata?.resourceVersion;
      if (known !== undefined && version === known) return true;
      // Another version: someone else wrote it — or our own save landed although its answer was
      // lost. Read it once: the same content as we last saved is ours, not a replacement.
      return await this.#sameAsKnown(key, options);
    } catch (error) {
      if (isStatus(error, 404)) return known === undefined;
      throw this.#readFailure(key, error);
    }
  }

  /**
   * Whether the stored object holds the JSON this store last saved or loaded, or that of a save
   * whose answer was lost; then that is what is known to be stored, at the version read.
   */
  async #sameAsKnown(key: string, options: StateStoreOptions): Promise<boolean> {
    const ours = [this.#known.get(key), this.#unconfirmed.get(key)].filter((t) => t !== undefined);
    if (ours.length === 0) return false;
    const object = await this.#client.request<StateObject>({
      method: 'GET',
      path: this.#path(key),
      signal: options.signal,
    });
    let decoded: { text: string } | undefined;
    try {
      decoded = this.#decode(object, key);
    } catch {
      return false; // not gzip: certainly not what we wrote
    }
    if (decoded === undefined || !ours.includes(decoded.text)) return false;
    this.#known.set(key, decoded.text);
    this.#unconfirmed.delete(key);
    const version = object.metadata?.resourceVersion;
    if (version !== undefined) this.#versions.set(key, version);
    return true;
  }

  /** A failed read of the state object as a typed error naming it (other errors pass through). */
  #readFailure(key: string, error: unknown): unknown {
    if (!(error instanceof KubeApiError)) return error;
    return new GitOpsError(
      'reconcile',
      K8sErrorCodes.StateLoadFailed,
      `Could not read ${this.describe(key)}: ${error.message}`,
      { cause: error },
    );
  }

  /** Saves the state of `key` with one server-side apply, or nothing when it is already stored. */
  async save(key: string, state: StoredState, options: StateStoreOptions = {}): Promise<void> {
    const text = JSON.stringify(state);
    if (this.#known.get(key) === text) return;
    const encoded = this.#encode(text, key);
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
    let saved: StateObject | undefined;
    try {
      saved = await this.#client.request<StateObject>({
        method: 'PATCH',
        path: this.#path(key),
        query: { fieldManager: this.#fieldManager, force: 'true' },
        body,
        contentType: 'application/apply-patch+yaml',
        signal: options.signal,
      });
    } catch (error) {
      this.#unconfirmed.set(key, text);
      if (error instanceof KubeApiError) {
        throw new GitOpsError(
          'reconcile',
          K8sErrorCodes.StateSaveFailed,
          `Could not write ${this.describe(key)}: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    this.#known.set(key, text);
    this.#unconfirmed.delete(key);
    const version = saved?.metadata?.resourceVersion;
    if (version === undefined) this.#versions.delete(key);
    else this.#versions.set(key, version);
  }

  #encode(text: string, key: string): Record<string, Record<string, string>> {
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
        `the state is too large to store in ${this.describe(key)} (${gz.length} bytes gzipped and base64-encoded)`,
      );
    }
    return secret ? { data: { [GZIP_KEY]: gz } } : { binaryData: { [GZIP_KEY]: gz } };
  }

  /** The stored JSON text and the data key it came from, or undefined when neither key is there. */
  #decode(object: StateObject, key: string): { text: string; key: string } | undefined {
    const secret = this.#kind === 'Secret';
    const plain = object.data?.[PLAIN_KEY];
    if (plain !== undefined) {
      return { text: secret ? Buffer.from(plain, 'base64').toString('utf8') : plain, key: PLAIN_KEY };
    }
    const gz = secret ? object.data?.[GZIP_KEY] : object.binaryData?.[GZIP_KEY];
    if (gz === undefined) return undefined;
    try {
      return { text: gunzipSync(Buffer.from(gz, 'base64')).toString('utf8'), key: GZIP_KEY };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new GitOpsError(
        'reconcile',
        K8sErrorCodes.StateInvalid,
        `The state in ${this.describe(key)} key ${GZIP_KEY} is not a gitops-kit state: it is not gzip (${why})`,
      );
    }
  }
}
