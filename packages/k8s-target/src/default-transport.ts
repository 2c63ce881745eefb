import { loadDefaultCredentials } from './default-credentials.js';
import { type KubeClientOptions, kubeConfigTransport, type Transport } from './kube-client.js';

/**
 * The transport of a target built without a KubeConfig: the default credentials are read on the
 * first request (the constructor stays synchronous and loads nothing), then every request goes
 * through the transport built from them. A failed read fails that request and is tried again by
 * the next one (a kubeconfig being written, a token not mounted yet).
 */
export function defaultCredentialsTransport(options: KubeClientOptions): Transport {
  let ready: Promise<Transport> | undefined;
  return async (request) => {
    ready ??= loadDefaultCredentials().then((credentials) => kubeConfigTransport(credentials, options));
    let transport: Transport;
    try {
      transport = await ready;
    } catch (error) {
      ready = undefined;
      throw error;
    }
    return transport(request);
  };
}
