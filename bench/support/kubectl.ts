import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findAsset } from '@gitops-kit/testenv';

const run = promisify(execFile);

/**
 * `kubectl apply --server-side` of every file in `dir` (field manager `bench`), its cache in `work`
 * so nothing is written under `~/.kube`. Resolves with the wall time in milliseconds.
 */
export async function kubectlServerSideApply(
  kubeconfigPath: string,
  dir: string,
  work: string,
): Promise<number> {
  const started = performance.now();
  await run(
    findAsset('kubectl'),
    [
      'apply',
      '--server-side',
      '--field-manager=bench',
      '-f',
      dir,
      '--kubeconfig',
      kubeconfigPath,
      '--cache-dir',
      join(work, 'kubectl-cache'),
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  return performance.now() - started;
}
