import * as http from 'node:http';
import * as https from 'node:https';
import { GitOpsError } from '@gitops-kit/core';
import type { KubeCredentials } from './default-credentials.js';
import { K8sErrorCodes } from './errors.js';
import type { Impersonation } from './kube-client.js';

/**
 * How one request reaches the apiserver: its server, TLS material, authentication headers,
 * impersonation and a keep-alive agent, all from a KubeConfig. The request transport and the
 * watch stream both go through a connection, so a watch acts as the same (impersonated) user as
 * the lists and applies beside it.
 */

/** Options of a {@link kubeConnection}. */
export interface ConnectionOptions {
  /** Act as another user (`Impersonate-User`, `Impersonate-Group`). */
  readonly impersonate?: Impersonation | undefined;
  /** Concurrent connections of the agent (default 16; a watch stream's agent has no limit). */
  readonly maxSockets?: number | undefined;
}

/** A request ready to send with `send(options, onResponse)`. */
export interface PreparedRequest {
  readonly send: typeof http.request;
  readonly options: https.RequestOptions;
}

/** Prepares a request of `method` to `pathAndQuery` (after the server's own path) with `headers`. */
export type Connection = (
  method: string,
  pathAndQuery: string,
  headers: Readonly<Record<string, string>>,
) => Promise<PreparedRequest>;

/** A connection with the KubeConfig's current context; the agent is built on the first request. */
export function kubeConnection(kubeConfig: KubeCredentials, options: ConnectionOptions): Connection {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    throw new GitOpsError('apply', K8sErrorCodes.InvalidKubeConfig, 'the KubeConfig has no current cluster');
  }
  const base = new URL(cluster.server);
  const basePath = base.pathname.replace(/\/+$/, '');
  const secure = base.protocol === 'https:';
  const maxSockets = options.maxSockets ?? 16;
  let agent: http.Agent | undefined;

  const impersonation: Record<string, string | string[]> = {};
  if (options.impersonate) {
    impersonation['Impersonate-User'] = options.impersonate.user;
    if (options.impersonate.groups?.length)
      impersonation['Impersonate-Group'] = [...options.impersonate.groups];
  }

  return async (method, pathAndQuery, extraHeaders) => {
    // Asked on every request: exec and OIDC plugins refresh tokens, which the KubeConfig caches.
    const opts: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    if (!agent) {
      // A proxy agent from the KubeConfig is kept as is; otherwise our own agent with keep-alive.
      agent = cluster.proxyUrl
        ? (opts.agent as http.Agent)
        : secure
          ? new https.Agent({
              keepAlive: true,
              maxSockets,
              ca: opts.ca,
              cert: opts.cert,
              key: opts.key,
              pfx: opts.pfx,
              passphrase: opts.passphrase,
              servername: opts.servername,
              ...(opts.rejectUnauthorized === undefined
                ? {}
                : { rejectUnauthorized: opts.rejectUnauthorized }),
            })
          : new http.Agent({ keepAlive: true, maxSockets });
    }
    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(opts.headers ?? {})) {
      if (typeof value === 'string' || typeof value === 'number') headers[key] = String(value);
      else if (Array.isArray(value)) headers[key] = value;
    }
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    Object.assign(headers, impersonation, extraHeaders);
    return {
      send: secure ? https.request : http.request,
      options: {
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || (secure ? 443 : 80),
        method,
        path: `${basePath}${pathAndQuery}`,
        headers,
        agent,
      },
    };
  };
}

/**
 * A connection over the credentials `load` reads on the first request (so a constructor stays
 * synchronous and loads nothing). A failed read fails that request and is tried again by the
 * next one (a kubeconfig being written, a token not mounted yet).
 */
export function lazyConnection(load: () => Promise<KubeCredentials>, options: ConnectionOptions): Connection {
  let ready: Promise<Connection> | undefined;
  return async (method, pathAndQuery, headers) => {
    ready ??= load().then((credentials) => kubeConnection(credentials, options));
    let connection: Connection;
    try {
      connection = await ready;
    } catch (error) {
      ready = undefined;
      throw error;
    }
    return connection(method, pathAndQuery, headers);
  };
}
