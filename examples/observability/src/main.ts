#!/usr/bin/env node
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { jsonLogger } from './json-logger.js';
import { startObservability } from './observability.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    apps: { type: 'string', default: fileURLToPath(new URL('../app', import.meta.url)) },
    namespace: { type: 'string', default: 'default' },
    port: { type: 'string', default: '9464' },
    host: { type: 'string', default: '127.0.0.1' },
    debug: { type: 'boolean', default: false },
  },
});

const kubeConfig = new KubeConfig();
if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
else kubeConfig.loadFromDefault();
const appsDir = resolve(values.apps);
const apps = readdirSync(appsDir)
  .map((entry) => join(appsDir, entry))
  .filter((path) => statSync(path).isDirectory());

const program = await startObservability({
  kubeConfig,
  apps,
  stateNamespace: values.namespace,
  port: Number(values.port),
  host: values.host,
  logger: jsonLogger({ debug: values.debug }),
});
process.stderr.write(
  `gitops-kit observability: ${apps.length} reconcilers; scrape metrics at ${program.url}\n` +
    `events: kubectl events -n ${values.namespace} --for configmap/gitops-kit-<app>\n`,
);
const stop = async (): Promise<void> => {
  await program.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
