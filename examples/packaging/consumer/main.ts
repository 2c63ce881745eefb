// The same first script in strict TypeScript, type-checked against the installed declarations.
import { readFile } from 'node:fs/promises';
import {
  type Manifest,
  RawRenderer,
  type ReconcileResult,
  Reconciler,
  type Renderer,
} from '@gitops-kit/core';
import { FakeCluster, MemorySource } from '@gitops-kit/core/testing';
import { GitSource, type GitSourceOptions } from '@gitops-kit/git-source';
import { KubernetesTarget, type KubernetesTargetOptions } from '@gitops-kit/k8s-target';
import { S3Source, type S3SourceOptions } from '@gitops-kit/s3-source';

// The desired state a repository would hold (read from the working folder).
const configMap = await readFile('config.yaml', 'utf8');

/** A renderer of one's own, wrapping the raw one: the contract is part of the public types. */
class LabellingRenderer implements Renderer {
  readonly name = 'labelling';
  readonly #inner = new RawRenderer({ path: 'app' });
  async render(...args: Parameters<Renderer['render']>): Promise<Manifest[]> {
    const manifests = await this.#inner.render(...args);
    for (const manifest of manifests) {
      manifest.object.metadata.labels = { ...manifest.object.metadata.labels, team: 'platform' };
    }
    return manifests;
  }
}

const source = new MemorySource({ files: { 'app/config.yaml': configMap } });
const cluster = new FakeCluster();
const reconciler = new Reconciler({
  name: 'packaging-ts',
  source,
  renderer: new LabellingRenderer(),
  target: cluster,
});
// Option types of the adapters resolve from their installed declarations.
const gitOptions: Pick<GitSourceOptions, 'url'> = { url: 'https://git.example.com/org/repo.git' };
const targetOptions: Pick<KubernetesTargetOptions, 'name'> = { name: 'packaging' };
const s3Options: Partial<S3SourceOptions> = {};
try {
  const result: ReconcileResult = await reconciler.reconcile();
  const live = cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'hello' });
  const data = live?.data as Record<string, string> | undefined;
  console.log(
    JSON.stringify({
      outcome: result.outcome,
      writes: result.writes,
      greeting: data?.greeting,
      team: live?.metadata.labels?.team,
      adapters: [GitSource, S3Source, KubernetesTarget].map((adapter) => typeof adapter),
      options: [gitOptions.url, targetOptions.name, Object.keys(s3Options).length],
    }),
  );
} finally {
  await reconciler.stop();
  await source.cleanup();
}
