/**
 * An OCI artifact, pushed in Flux's format to the real registry and signed by the real cosign,
 * reconciled into the living cluster by a Reconciler with a KubernetesTarget: a verified first
 * revision is applied, a new signed revision under the same tag replaces it (and prunes what left),
 * and an unsigned one is refused without touching what is applied.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawRenderer, Reconciler } from '@gitops-kit/core';
import { KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { OCISource, RegistryErrorCodes } from '@gitops-kit/registry-source';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, describe, expect, it } from 'vitest';
import { Cosign } from './support/cosign.js';
import { fluxArtifact } from './support/flux-artifact.js';
import { RegistryPusher } from './support/registry-push.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const configMap = (ns: string, name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n  value: "${value}"\n`;

describe('an OCI artifact reconciled into the living cluster', () => {
  it('applies a verified artifact, follows its tag to a new signed revision, and refuses an unsigned one', async () => {
    const registry = await testenv.registry();
    const kube = await testenv.kube();
    const dir = await mkdtemp(join(tmpdir(), 'oci-reconcile-'));
    dirs.push(dir);
    const suffix = randomBytes(3).toString('hex');
    const ns = `oci-${suffix}`;
    const repo = `deploy/shop-${suffix}`;
    const pusher = new RegistryPusher(registry);
    const cosign = await Cosign.create(join(dir, 'cosign'), registry);
    const key = await cosign.generateKeyPair('ci');

    const namespace = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`;
    const v1 = await pusher.artifact(
      repo,
      'production',
      fluxArtifact(
        {
          'namespace.yaml': namespace,
          'web.yaml': configMap(ns, 'web', 'one'),
          'old.yaml': configMap(ns, 'old', 'x'),
        },
        {
          'org.opencontainers.image.source': 'https://git.test/shop.git',
          'org.opencontainers.image.revision': 'main@sha1:1111',
        },
      ),
    );
    await cosign.sign(key, repo, v1);

    const source = new OCISource({
      url: `oci://${registry.host}/${repo}`,
      ref: { tag: 'production' },
      credentials: { username: registry.username ?? '', password: registry.password ?? '' },
      caPem: registry.caPem,
      verify: { keys: [{ name: 'ci', pem: key.publicKey }] },
      cacheDir: join(dir, 'cache'),
    });
    const target = new KubernetesTarget({ name: `oci-${suffix}`, kubeConfig: kube.kubeConfig() });
    const reconciler = new Reconciler({
      name: `oci-${suffix}`,
      source,
      renderer: new RawRenderer(),
      target,
      prune: true,
    });
    const admin = KubeClient.fromKubeConfig(kube.kubeConfig());
    const get = (name: string) =>
      admin
        .request<{ data?: Record<string, string> }>({
          method: 'GET',
          path: `/api/v1/namespaces/${ns}/configmaps/${name}`,
        })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode === 404) return undefined;
          throw error;
        });
    try {
      const first = await reconciler.reconcile();
      expect(first.outcome, first.message).toBe('succeeded');
      expect(reconciler.status.lastAppliedRevision).toBe(`production@${v1}`);
      expect((await get('web'))?.data).toEqual({ value: 'one' });
      expect(await get('old')).toBeDefined();

      const v2 = await pusher.artifact(
        repo,
        'production',
        fluxArtifact({ 'namespace.yaml': namespace, 'web.yaml': configMap(ns, 'web', 'two') }),
      );
      await cosign.sign(key, repo, v2);
      const second = await reconciler.reconcile();
      expect(second.outcome).toBe('succeeded');
      expect(reconciler.status.lastAppliedRevision).toBe(`production@${v2}`);
      expect((await get('web'))?.data).toEqual({ value: 'two' });
      expect(await get('old')).toBeUndefined();

      await pusher.artifact(
        repo,
        'production',
        fluxArtifact({ 'namespace.yaml': namespace, 'web.yaml': configMap(ns, 'web', 'unsigned') }),
      );
      const third = await reconciler.reconcile();
      expect(third.outcome).toBe('failed');
      expect(third.error?.code, third.message).toBe(RegistryErrorCodes.Unsigned);
      expect(third.message).toContain('no cosign signature');
      expect(reconciler.status.lastAppliedRevision).toBe(`production@${v2}`);
      expect((await get('web'))?.data).toEqual({ value: 'two' });
    } finally {
      source.destroy();
      await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
    }
  });
});
