import type { TestProject } from 'vitest/node';
import { SERVER_NAMES, type ServerName, startControlServer } from './control.js';
import { PROVIDED_KEY } from './provided.js';

/**
 * Vitest global setup of the `integration` project. It starts a small control server; each real
 * server (kube-apiserver + etcd, MinIO, git) is started the first time a test asks for it, once
 * for the whole run, so a run of Git tests never pays for the control plane. GITOPS_KIT_TESTENV
 * (e.g. `kube,s3,git`) starts the listed ones up front, in parallel. Teardown stops them all.
 * Vitest calls the named `setup` export and uses the function it returns as the teardown.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const control = await startControlServer((line) => console.log(`[testenv] ${line}`));
  const eager = (process.env.GITOPS_KIT_TESTENV ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name): name is ServerName => (SERVER_NAMES as readonly string[]).includes(name));
  try {
    await Promise.all(eager.map((name) => control.ensure(name)));
  } catch (error) {
    await control.stop();
    throw error;
  }
  project.provide(PROVIDED_KEY, control.info);
  return () => control.stop();
}
