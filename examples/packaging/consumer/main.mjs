// A user's first script, in plain ESM JavaScript, against the packages as npm installs them.
import { readFile } from 'node:fs/promises';
import { RawRenderer, Reconciler } from '@gitops-kit/core';
import { FakeCluster, MemorySource } from '@gitops-kit/core/testing';
import { GitSource } from '@gitops-kit/git-source';
import { KubernetesTarget } from '@gitops-kit/k8s-target';
import { S3Source } from '@gitops-kit/s3-source';

// The desired state a repository would hold (read from the working folder).
const configMap = await readFile('config.yaml', 'utf8');

const source = new MemorySource({ files: { 'app/config.yaml': configMap } });
const cluster = new FakeCluster();
const reconciler = new Reconciler({
  name: 'packaging-js',
  source,
  renderer: new RawRenderer({ path: 'app' }),
  target: cluster,
});
try {
  const result = await reconciler.reconcile();
  const live = cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'hello' });
  console.log(
    JSON.stringify({
      outcome: result.outcome,
      writes: result.writes,
      greeting: live?.data?.greeting,
      adapters: [GitSource, S3Source, KubernetesTarget].map((adapter) => typeof adapter),
    }),
  );
} finally {
  await reconciler.stop();
  await source.cleanup();
}
