import { KubeApiError, UnknownKindError } from './errors.js';
import type { KubeClient } from './kube-client.js';

/** Where the API serves a kind: its resource name (plural) and whether it is namespaced. */
export interface ResourceInfo {
  /** The API group (`apps`; empty for the core group of `v1` kinds). */
  readonly group: string;
  /** The API version within the group (`v1`, `v1beta1`). */
  readonly version: string;
  /** The kind, as in manifests (`Deployment`). */
  readonly kind: string;
  /** The plural resource name used in paths (`deployments`). */
  readonly resource: string;
  /** True for kinds that live in a namespace, false for cluster-scoped ones (`Namespace`, `ClusterRole`). */
  readonly namespaced: boolean;
  /** Whether the resource can be listed (false when discovery says its verbs lack `list`). */
  readonly listable?: boolean | undefined;
}

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
}

interface ApiGroupList {
  groups?: { name: string; preferredVersion?: { groupVersion?: string } }[];
}

/**
 * Discovery with a cache: one request per group-version (`/api/v1`, `/apis/apps/v1`), made the
 * first time a kind of that group-version is needed and kept until {@link invalidate}. No group
 * list is read: the manifests name their group-versions, so each costs exactly one request.
 */
export class Discovery {
  readonly #client: KubeClient;
  readonly #cache = new Map<string, Promise<Map<string, ResourceInfo> | undefined>>();

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /**
   * The resource serving `kind` in `apiVersion`. When the cached list lacks the kind it is read
   * again once (a CRD may have been installed by someone else since). Throws {@link UnknownKindError}.
   */
  async resolve(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo> {
    const found = await this.lookup(apiVersion, kind, signal);
    if (found) return found;
    this.invalidate(apiVersion);
    const again = await this.lookup(apiVersion, kind, signal);
    if (again) return again;
    const served = await this.#load(apiVersion, signal);
    throw new UnknownKindError(
      apiVersion,
      kind,
      served ? `${apiVersion} is served but has no such kind` : `${apiVersion} is not served`,
    );
  }

  /** The resource serving `kind` from the cache (loading the group-version once), or undefined. */
  async lookup(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo | undefined> {
    return (await this.#load(apiVersion, signal))?.get(kind);
  }

  /**
   * Every resource the server serves in the core group-version `v1` and in each group's preferred
   * version: one request for the group list, then one per group-version not cached yet. Costly
   * compared with {@link lookup}; used when the kinds are not known in advance (recovering what we
   * own after a lost state).
   */
  async servedResources(signal?: AbortSignal): Promise<ResourceInfo[]> {
    const groups = await this.#client.request<ApiGroupList>({ method: 'GET', path: '/apis', signal });
    const versions = ['v1'];
    for (const group of groups.groups ?? []) {
      const groupVersion = group.preferredVersion?.groupVersion;
      if (groupVersion) versions.push(groupVersion);
    }
    const lists = await Promise.all(versions.map((apiVersion) => this.#load(apiVersion, signal)));
    return lists.flatMap((byKind) => (byKind ? [...byKind.values()] : []));
  }

  /** Forgets a group-version, so the next lookup reads it again (after a CRD defining it is applied). */
  invalidate(apiVersion: string): void {
    this.#cache.delete(apiVersion);
  }

  #load(apiVersion: string, signal?: AbortSignal): Promise<Map<string, ResourceInfo> | undefined> {
    let entry = this.#cache.get(apiVersion);
    if (!entry) {
      entry = this.#fetch(apiVersion, signal);
      this.#cache.set(apiVersion, entry);
      // A failure other than "not served" is not cached: the next call tries again.
      entry.catch(() => {
        if (this.#cache.get(apiVersion) === entry) this.#cache.delete(apiVersion);
      });
    }
    return entry;
  }

  async #fetch(apiVersion: string, signal?: AbortSignal): Promise<Map<string, ResourceInfo> | undefined> {
    const slash = apiVersion.indexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    let list: ApiResourceList;
    try {
      list = await this.#client.request<ApiResourceList>({ method: 'GET', path, signal });
    } catch (error) {
      if (error instanceof KubeApiError && (error.statusCode === 404 || error.statusCode === 503)) {
        return undefined;
      }
      throw error;
    }
    const byKind = new Map<string, ResourceInfo>();
    for (const resource of list.resources ?? []) {
      if (resource.name.includes('/')) continue; // subresources (deployments/status)
      if (!byKind.has(resource.kind)) {
        byKind.set(resource.kind, {
          group,
          version,
          kind: resource.kind,
          resource: resource.name,
          namespaced: resource.namespaced,
          ...(resource.verbs ? { listable: resource.verbs.includes('list') } : {}),
        });
      }
    }
    return byKind;
  }
}

/** The path of a resource collection, or of one object when `name` is given. */
export function resourcePath(info: ResourceInfo, namespace: string | undefined, name?: string): string {
  const prefix = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const tail = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${prefix}${ns}/${info.resource}${tail}`;
}
