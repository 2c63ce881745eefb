import type { TestProject } from 'vitest/node';
import { type StartOptions, startTestenv } from './env.js';
import { PROVIDED_KEY } from './provided.js';

/**
 * Which servers to start: all, unless GITOPS_KIT_TESTENV lists some (e.g. `git,s3`) so a
 * run that needs only those does not pay for the control plane.
 */
function selection(): StartOptions {
  const list = process.env.GITOPS_KIT_TESTENV;
  if (!list) return {};
  const names = new Set(list.split(',').map((name) => name.trim()));
  return { kube: names.has('kube'), s3: names.has('s3'), git: names.has('git'), tools: true };
}

/**
 * Vitest global setup of the `integration` project: starts the real servers once for the
 * run, hands their connection facts to the workers, and stops them all afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const env = await startTestenv(selection());
  const { info } = env;
  const parts = [
    info.kube &&
      (info.kube.existingCluster
        ? `existing cluster ${info.kube.server} (${info.kube.version})`
        : `kube-apiserver ${info.kube.version} + etcd ${info.kube.etcdVersion} ready in ${(info.kube.startupMs / 1000).toFixed(1)} s`),
    info.s3 && `minio ${info.s3.version}`,
    info.git && `git ${info.git.version}`,
    info.tools &&
      Object.entries(info.tools.versions)
        .map(([name, version]) => `${name} ${version}`)
        .join(', '),
  ].filter(Boolean);
  console.log(`[testenv] started in ${((Date.now() - started) / 1000).toFixed(1)} s: ${parts.join('; ')}`);
  if (info.toolsError) console.warn(`[testenv] ${info.toolsError}`);
  project.provide(PROVIDED_KEY, info);
  return async () => {
    await env.stop();
  };
}
