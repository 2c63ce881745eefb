import type { KubeObject } from '@gitops-kit/core';
import { KubeClient, type KubeRequest, type Transport } from '@gitops-kit/k8s-target';

/**
 * A scripted apiserver behind `KubeClient`'s `Transport` seam, for unit tests of KubernetesTarget.
 * It answers discovery from a table, keeps the objects a test seeds or applies by path, filters
 * lists by one `key=value` label selector, honours `dryRun` and delete preconditions, answers PUT
 * (409 on a stale resourceVersion) and POST (409 when the object exists) as replace and create, and records
 * every request in order. Failures and delays are scripted per request. It does not validate,
 * merge or default anything: tests say what the server answers.
 */

/** A resource served by discovery. */
export interface ServedResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** A scripted answer: a `Status` failure with this HTTP status, reason and message. */
export interface ScriptedFailure {
  readonly status: number;
  readonly reason: string;
  readonly message: string;
}

/** What a request did, recorded in order. */
export interface RecordedRequest {
  readonly method: KubeRequest['method'];
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
  readonly dryRun: boolean;
}

/** The discovery documents every test server serves unless told otherwise. */
export const DEFAULT_DISCOVERY: Readonly<Record<string, readonly ServedResource[]>> = {
  '/api/v1': [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'pods', kind: 'Pod', namespaced: true },
  ],
  '/apis/apps/v1': [
    { name: 'deployments', kind: 'Deployment', namespaced: true },
    { name: 'deployments/status', kind: 'Deployment', namespaced: true },
  ],
  '/apis/rbac.authorization.k8s.io/v1': [{ name: 'clusterroles', kind: 'ClusterRole', namespaced: false }],
  '/apis/storage.k8s.io/v1': [{ name: 'storageclasses', kind: 'StorageClass', namespaced: false }],
  '/apis/apiextensions.k8s.io/v1': [
    { name: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false },
  ],
};

function status(failure: ScriptedFailure): { statusCode: number; text: string } {
  return {
    statusCode: failure.status,
    text: JSON.stringify({ kind: 'Status', reason: failure.reason, message: failure.message }),
  };
}

const notFound = (what: string) => status({ status: 404, reason: 'NotFound', message: `${what} not found` });

/** Splits an object or collection path into its collection prefix, namespace and name. */
function parsePath(path: string): { collection: string; namespace?: string; name?: string } {
  const match = /^(\/api\/[^/]+|\/apis\/[^/]+\/[^/]+)(\/.*)?$/.exec(path);
  if (!match) throw new Error(`scripted apiserver: unexpected path ${path}`);
  const prefix = match[1] as string;
  const segments = (match[2] ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  let namespace: string | undefined;
  let rest = segments;
  if (segments[0] === 'namespaces' && segments.length >= 3) {
    namespace = segments[1];
    rest = segments.slice(2);
  }
  const [resource, name] = rest;
  return {
    collection: `${prefix}/${resource}`,
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
  };
}

/** A scripted apiserver and a `KubeClient` talking to it. */
export class ScriptedApiServer {
  /** Every request the client sent, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Discovery documents by path (`/api/v1`, `/apis/apps/v1`); change them to serve new kinds. */
  readonly discovery: Record<string, ServedResource[]>;
  readonly client: KubeClient;
  /** Requests being answered right now, and the most at once so far. */
  inFlight = 0;
  maxInFlight = 0;

  readonly #objects = new Map<string, { collection: string; namespace?: string; object: KubeObject }>();
  readonly #scripts: {
    matches: (request: RecordedRequest) => boolean;
    answer: (request: RecordedRequest) => ScriptedFailure | KubeObject | undefined;
    times: number;
  }[] = [];
  #delay: (request: RecordedRequest) => number = () => 0;
  #uid = 0;
  #version = 0;

  constructor(discovery: Record<string, readonly ServedResource[]> = DEFAULT_DISCOVERY) {
    this.discovery = Object.fromEntries(Object.entries(discovery).map(([k, v]) => [k, [...v]]));
    this.client = new KubeClient(this.#transport);
  }

  /** The transport behind {@link client}, for tests that wrap it (fault injection). */
  get transport(): Transport {
    return this.#transport;
  }

  /** Stores an object as the server would hold it (uid and resourceVersion filled in). */
  seed(path: string, object: KubeObject): KubeObject {
    const { collection, namespace } = parsePath(path);
    const stored = structuredClone(object);
    stored.metadata.uid ??= `uid-${++this.#uid}`;
    stored.metadata.resourceVersion = String(++this.#version);
    this.#objects.set(path, {
      collection,
      ...(namespace === undefined ? {} : { namespace }),
      object: stored,
    });
    return structuredClone(stored);
  }

  /** The stored object at `path`, or undefined. */
  get(path: string): KubeObject | undefined {
    const entry = this.#objects.get(path);
    return entry && structuredClone(entry.object);
  }

  /** Removes the object at `path`. */
  remove(path: string): void {
    this.#objects.delete(path);
  }

  /**
   * Answers requests matching `matches` with `answer` (a failure, an object to return as is, or
   * undefined to fall through to the default handling), at most `times` times (default always).
   */
  script(
    matches: (request: RecordedRequest) => boolean,
    answer: (request: RecordedRequest) => ScriptedFailure | KubeObject | undefined,
    times = Number.POSITIVE_INFINITY,
  ): void {
    this.#scripts.push({ matches, answer, times });
  }

  /** Makes requests matching `matches` fail with `failure`. */
  fail(matches: (request: RecordedRequest) => boolean, failure: ScriptedFailure, times?: number): void {
    this.script(matches, () => failure, times);
  }

  /** Delays answers by the returned milliseconds (real time). */
  delay(by: (request: RecordedRequest) => number): void {
    this.#delay = by;
  }

  /** The writes (not dry-runs, not reads) in order, as `METHOD path`. */
  writes(): string[] {
    return this.requests.filter((r) => r.method !== 'GET' && !r.dryRun).map((r) => `${r.method} ${r.path}`);
  }

  /** The dry-runs in order, as paths. */
  dryRuns(): string[] {
    return this.requests.filter((r) => r.dryRun).map((r) => r.path);
  }

  readonly #transport: Transport = async (request) => {
    const recorded: RecordedRequest = {
      method: request.method,
      path: request.path,
      query: { ...(request.query ?? {}) },
      body: request.body === undefined ? undefined : structuredClone(request.body),
      dryRun: request.query?.dryRun !== undefined,
    };
    this.requests.push(recorded);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const ms = this.#delay(recorded);
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      for (const script of this.#scripts) {
        if (script.times <= 0 || !script.matches(recorded)) continue;
        const answer = script.answer(recorded);
        if (answer === undefined) continue;
        script.times--;
        if ('status' in answer && typeof answer.status === 'number' && 'reason' in answer) {
          return status(answer as ScriptedFailure);
        }
        return { statusCode: 200, text: JSON.stringify(answer) };
      }
      return this.#answer(recorded);
    } finally {
      this.inFlight--;
    }
  };

  #answer(request: RecordedRequest): { statusCode: number; text: string } {
    const served = this.discovery[request.path];
    if (request.method === 'GET' && served) {
      return { statusCode: 200, text: JSON.stringify({ kind: 'APIResourceList', resources: served }) };
    }
    if (request.method === 'GET' && /^(\/api\/[^/]+|\/apis\/[^/]+\/[^/]+)$/.test(request.path)) {
      return notFound(request.path);
    }
    const { collection, namespace, name } = parsePath(request.path);
    if (request.method === 'GET' && name === undefined) {
      const [key, value] = (request.query.labelSelector ?? '').split('=');
      const items = [...this.#objects.values()]
        .filter((e) => e.collection === collection && (namespace === undefined || e.namespace === namespace))
        .map((e) => e.object)
        .filter((o) => key === undefined || key === '' || o.metadata.labels?.[key] === value)
        // A list returns items without apiVersion and kind, as the apiserver does.
        .map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
      return { statusCode: 200, text: JSON.stringify({ kind: 'List', items, metadata: {} }) };
    }
    const existing = this.#objects.get(request.path);
    if (request.method === 'GET') {
      return existing ? { statusCode: 200, text: JSON.stringify(existing.object) } : notFound(request.path);
    }
    if (request.method === 'PATCH') {
      const body = structuredClone(request.body) as KubeObject;
      body.metadata.uid = existing?.object.metadata.uid ?? `uid-${++this.#uid}`;
      body.metadata.resourceVersion = String(request.dryRun ? this.#version : ++this.#version);
      if (existing?.object.status !== undefined) body.status = existing.object.status;
      if (!request.dryRun) {
        this.#objects.set(request.path, {
          collection,
          ...(namespace === undefined ? {} : { namespace }),
          object: body,
        });
      }
      return { statusCode: 200, text: JSON.stringify(body) };
    }
    if (request.method === 'PUT' || request.method === 'POST') {
      const body = structuredClone(request.body) as KubeObject;
      const path = request.method === 'POST' ? `${request.path}/${body.metadata.name}` : request.path;
      const current = this.#objects.get(path);
      if (request.method === 'POST' && current) {
        return status({ status: 409, reason: 'AlreadyExists', message: `${path} already exists` });
      }
      if (request.method === 'PUT') {
        if (!current) return notFound(path);
        if (body.metadata.resourceVersion !== current.object.metadata.resourceVersion) {
          return status({ status: 409, reason: 'Conflict', message: 'the object has been modified' });
        }
      }
      body.metadata.uid = current?.object.metadata.uid ?? `uid-${++this.#uid}`;
      body.metadata.resourceVersion = String(request.dryRun ? this.#version : ++this.#version);
      if (!request.dryRun) {
        this.#objects.set(path, {
          collection,
          ...(namespace === undefined ? {} : { namespace }),
          object: body,
        });
      }
      return { statusCode: request.method === 'POST' ? 201 : 200, text: JSON.stringify(body) };
    }
    if (request.method === 'DELETE') {
      if (!existing) return notFound(request.path);
      const uid = (request.body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid;
      if (uid !== undefined && uid !== existing.object.metadata.uid) {
        return status({
          status: 409,
          reason: 'Conflict',
          message: `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${existing.object.metadata.uid}`,
        });
      }
      this.#objects.delete(request.path);
      return { statusCode: 200, text: JSON.stringify({ kind: 'Status', status: 'Success' }) };
    }
    throw new Error(`scripted apiserver: unexpected ${request.method} ${request.path}`);
  }
}
