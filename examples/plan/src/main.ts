#!/usr/bin/env node
/**
 * gitops-kit-plan: prints what a folder of manifests would change in a cluster, for review in a
 * pull request. Renders the folder, plans against the live cluster and the reconciler's stored
 * inventory, prints a diff, and exits 0 (no changes), 2 (changes) or 1 (error). Writes nothing.
 */
import { dirname } from 'node:path';
import { DirectorySource, GitOpsError } from '@gitops-kit/core';
import { KubernetesTarget } from '@gitops-kit/k8s-target';
import { KubeConfig } from '@kubernetes/client-node';
import { configPathOf, parsePlanArgs, USAGE, UsageError } from './args.js';
import { loadPlanConfig } from './config.js';
import { planFolder } from './plan-folder.js';
import { rendererFor } from './renderer-settings.js';

async function main(argv: readonly string[]): Promise<number> {
  const configPath = configPathOf(argv);
  const config = configPath ? await loadPlanConfig(configPath) : {};
  const options = parsePlanArgs(argv, config, configPath ? dirname(configPath) : undefined);
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();

  const target = new KubernetesTarget({ name: options.name, kubeConfig, targetNamespace: options.namespace });
  const stateStore = target.stateStore({ namespace: options.stateNamespace });
  const source = new DirectorySource({ path: options.folder });
  const controller = new AbortController();
  const stop = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const artifact = await source.fetch({ signal: controller.signal });
    const result = await planFolder({
      artifact,
      target,
      stateStore,
      name: options.name,
      // The reconciler's renderer settings; `auto` detects as Argo CD: Chart.yaml, kustomization.yaml, else files.
      renderer: rendererFor(options.render, options.namespace),
      signal: controller.signal,
      format: { color: options.color ?? process.stdout.isTTY === true, context: options.context },
    });
    process.stdout.write(result.text);
    return result.exitCode;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await source.dispose();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`gitops-kit-plan: ${error.message}\n\n${USAGE}\n`);
    } else if (error instanceof GitOpsError) {
      process.stderr.write(`gitops-kit-plan: ${error.code}: ${error.message}\n`);
    } else {
      process.stderr.write(`gitops-kit-plan: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
