import { type Connection, lazyConnection } from './connection.js';
import { loadDefaultCredentials } from './default-credentials.js';
import { connectionTransport, type KubeClientOptions, type Transport } from './kube-client.js';

/**
 * The connection of a target built without a KubeConfig: the default credentials are read on the
 * first request (the constructor stays synchronous and loads nothing), and read again by the next
 * request when that failed.
 */
export function defaultCredentialsConnection(options: KubeClientOptions): Connection {
  return lazyConnection(() => loadDefaultCredentials(), options);
}

/** The transport of a target built without a KubeConfig, over {@link defaultCredentialsConnection}. */
export function defaultCredentialsTransport(options: KubeClientOptions): Transport {
  return connectionTransport(defaultCredentialsConnection(options), options);
}
