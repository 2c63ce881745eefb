import type { ClusterCapabilities } from '@gitops-kit/core';
import type { KubeClient } from './kube-client.js';

/** Aggregated discovery (`apidiscovery.k8s.io/v2`, GA in Kubernetes 1.30), then the plain lists. */
const AGGREGATED =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

interface DiscoveryList {
  kind?: string;
  /** Aggregated: every group with its versions and resources. */
  items?: {
    metadata?: { name?: string };
    versions?: { version?: string; resources?: { responseKind?: { kind?: string } }[] }[];
  }[];
  /** Plain `/apis`: groups with their versions. */
  groups?: { versions?: { groupVersion?: string }[] }[];
  /** Plain `/api`: the core versions. */
  versions?: string[];
}

function apiVersionsOf(list: DiscoveryList, core: boolean): string[] {
  const out: string[] = [];
  if (Array.isArray(list.items)) {
    for (const group of list.items) {
      const name = core ? '' : (group.metadata?.name ?? '');
      for (const version of group.versions ?? []) {
        if (!version.version) continue;
        const groupVersion = name ? `${name}/${version.version}` : version.version;
        out.push(groupVersion);
        for (const resource of version.resources ?? []) {
          const kind = resource.responseKind?.kind;
          if (kind) out.push(`${groupVersion}/${kind}`);
        }
      }
    }
    return out;
  }
  if (core) return list.versions ?? [];
  return (list.groups ?? []).flatMap((g) =>
    (g.versions ?? []).flatMap((v) => (v.groupVersion ? [v.groupVersion] : [])),
  );
}

/**
 * The server's version and every served `group/version` and `group/version/Kind`, as Argo CD
 * passes them to Helm (`--kube-version`, `--api-versions`): three requests (`/version`, `/api`,
 * `/apis`) with aggregated discovery; without it, group-versions only.
 */
export async function readCapabilities(
  client: KubeClient,
  signal: AbortSignal,
): Promise<ClusterCapabilities> {
  const [version, core, groups] = await Promise.all([
    client.request<{ gitVersion?: string }>({ method: 'GET', path: '/version', signal }),
    client.request<DiscoveryList>({ method: 'GET', path: '/api', accept: AGGREGATED, signal }),
    client.request<DiscoveryList>({ method: 'GET', path: '/apis', accept: AGGREGATED, signal }),
  ]);
  const apiVersions = [...new Set([...apiVersionsOf(core, true), ...apiVersionsOf(groups, false)])].sort();
  return { kubeVersion: version.gitVersion ?? '', apiVersions };
}

/** Capabilities read at most once per `ttlMs` (CRDs come and go; versions rarely change). */
export class CapabilitiesCache {
  readonly #client: KubeClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #cached: { at: number; value: Promise<ClusterCapabilities> } | undefined;

  constructor(client: KubeClient, ttlMs: number, now: () => number) {
    this.#client = client;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The cached capabilities, or a new reading when they are older than the TTL (failures are not kept). */
  get(signal: AbortSignal): Promise<ClusterCapabilities> {
    const now = this.#now();
    if (this.#cached && now - this.#cached.at < this.#ttlMs) return this.#cached.value;
    const value = readCapabilities(this.#client, signal);
    this.#cached = { at: now, value };
    value.catch(() => {
      if (this.#cached?.value === value) this.#cached = undefined;
    });
    return value;
  }
}
