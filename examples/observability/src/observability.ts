import { basename } from 'node:path';
import { DirectorySource, type Logger, Manager, RawRenderer, Reconciler } from '@gitops-kit/core';
import { KubernetesTarget } from '@gitops-kit/k8s-target';
import { type MetricsServer, ReconcilerMetrics, serveMetrics, traceManager } from '@gitops-kit/metrics';
import type { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';

/** Options of {@link startObservability}. */
export interface ObservabilityOptions {
  /** The cluster to reconcile. */
  readonly kubeConfig: KubeConfig;
  /** Folders of raw YAML, one reconciler each, named after the folder. */
  readonly apps: readonly string[];
  /** Namespace of the state ConfigMaps (they carry the Kubernetes Events). Must exist. */
  readonly stateNamespace: string;
  /** Port of the `/metrics` server (default 0: any free port). */
  readonly port?: number;
  /** Address of the `/metrics` server (default 127.0.0.1). */
  readonly host?: string;
  /** Structured logs of every reconciler (default: none). */
  readonly logger?: Logger;
  /** Time between passes in milliseconds (default 30 s). */
  readonly interval?: number;
}

/** A running program. */
export interface Observability {
  /** The URL to scrape. */
  readonly url: string;
  readonly manager: Manager;
  readonly metrics: ReconcilerMetrics;
  readonly target: KubernetesTarget;
  readonly server: MetricsServer;
  /** Stops the reconcilers and the server. */
  stop(): Promise<void>;
}

/**
 * Runs one reconciler per folder against the cluster with everything observability offers: metrics
 * on a registry of our own (Flux's `gotk_*` and gitops-kit's `gitops_kit_*`, served on `/metrics`),
 * Kubernetes Events regarding each reconciler's state object (KubernetesTarget's default), logs
 * through `logger`, and OpenTelemetry spans (no-op until an SDK is installed). The reconcilers
 * start at once.
 */
export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  const registry = new Registry();
  const metrics = new ReconcilerMetrics({ registry, namespace: options.stateNamespace });
  const target = new KubernetesTarget({ name: 'observability', kubeConfig: options.kubeConfig });
  target.onApiRequest(metrics.kubernetesRequests(target.name));
  const manager = new Manager({ concurrency: 2 });
  metrics.observeManager(manager);
  traceManager(manager);
  const sources: DirectorySource[] = [];
  for (const dir of options.apps) {
    const source = new DirectorySource({ path: dir });
    sources.push(source);
    manager.add(
      new Reconciler({
        name: basename(dir),
        source,
        renderer: new RawRenderer(),
        target,
        stateStore: target.stateStore({ namespace: options.stateNamespace }),
        interval: options.interval ?? 30_000,
        wait: true,
        rollback: true,
        healthTimeout: 60_000,
        ...(options.logger ? { logger: options.logger } : {}),
      }),
    );
  }
  const server = await serveMetrics({
    registry,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
  });
  manager.start();
  return {
    url: server.url,
    manager,
    metrics,
    target,
    server,
    async stop() {
      await manager.stop();
      await target.events?.flush();
      await server.close();
      await Promise.all(sources.map((s) => s.dispose?.()));
    },
  };
}
