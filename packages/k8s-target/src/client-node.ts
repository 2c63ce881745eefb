import { createRequire } from 'node:module';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * @kubernetes/client-node, loaded the first time a KubeConfig has to be built here rather than when
 * the package is imported: the module loads all its generated API models, some 70 MiB of RSS and
 * 1.5–2.5 s, although this package uses it only for KubeConfig (credentials, exec plugins). A
 * caller that passes its own KubeConfig has loaded it already; the default credentials are read
 * without it when they are plain (see `default-credentials.ts`). It is an ES module: `require`
 * gives the very classes an `import` does (Node's require of ES modules, on by default since
 * Node 20.19 and 22.12).
 */
const require = createRequire(import.meta.url);

/** client-node's KubeConfig class, loaded on first use. */
export function kubeConfigClass(): typeof KubeConfig {
  return (require('@kubernetes/client-node') as { KubeConfig: typeof KubeConfig }).KubeConfig;
}
