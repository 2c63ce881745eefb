import type { KubeRequest } from './kube-client.js';

/** One request the client sent and how it ended, for metrics (`KubernetesTarget.onApiRequest`). */
export interface ApiRequestRecord {
  /** The HTTP method. */
  readonly method: KubeRequest['method'];
  /** The Kubernetes verb: get, list, watch, create, update, patch, apply, delete. */
  readonly verb: ApiVerb;
  /** The HTTP status code, 0 when no answer came (network error, timeout, abort). */
  readonly code: number;
  /** How long it took, in milliseconds of the wall clock. */
  readonly durationMs: number;
  /** True for a `dryRun=All` request. */
  readonly dryRun: boolean;
}

/** The verbs the apiserver's own `apiserver_request_total` distinguishes, lower-cased. */
export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete';

/** Receives a record after every request. It must not throw (a throw is ignored). */
export type ApiRequestListener = (record: ApiRequestRecord) => void;

/**
 * The Kubernetes verb of a request: the method, and for a GET whether the path names one object
 * (get) or a collection (list), or asks to watch; a server-side apply is `apply`, not `patch`.
 */
export function verbOf(request: KubeRequest): ApiVerb {
  switch (request.method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
    case 'PATCH':
      return request.contentType === 'application/apply-patch+yaml' ? 'apply' : 'patch';
    default:
      if (request.query?.watch === 'true' || request.query?.watch === '1') return 'watch';
      return namesOneObject(request.path) ? 'get' : 'list';
  }
}

/** Whether an API path names one object (`…/namespaces/ns/configmaps/x`) rather than a collection. */
function namesOneObject(path: string): boolean {
  const parts = path.split('/').filter(Boolean);
  // `/api/v1/...` or `/apis/<group>/<version>/...`; discovery paths (`/api`, `/apis/g/v`) are reads of one document.
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest.length === 0) return true;
  if (rest[0] === 'namespaces') return rest.length === 2 || rest.length >= 4;
  return rest.length >= 2;
}

/** The listeners of one client; each gets every record, a throwing one is ignored. */
export class RequestListeners {
  readonly #listeners = new Set<ApiRequestListener>();

  /** Adds a listener; returns the function that removes it. */
  add(listener: ApiRequestListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener how a request ended. */
  notify(request: KubeRequest, code: number, startedAt: number): void {
    if (this.#listeners.size === 0) return;
    const record: ApiRequestRecord = {
      method: request.method,
      verb: verbOf(request),
      code,
      durationMs: Date.now() - startedAt,
      dryRun: Boolean(request.query?.dryRun),
    };
    for (const listener of this.#listeners) {
      try {
        listener(record);
      } catch {
        // A metrics listener must never fail a request.
      }
    }
  }
}
