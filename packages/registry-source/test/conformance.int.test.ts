import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConformance, type SourceFixture, sourceConformance } from '@gitops-kit/core/conformance';
import { OCISource } from '@gitops-kit/registry-source';
import { testenv } from '@gitops-kit/testenv';
import { describe, it } from 'vitest';
import { fluxArtifact } from './support/flux-artifact.js';
import { RegistryPusher } from './support/registry-push.js';

// OCISource against the real registry (TLS, basic auth) passes the Source kit.
async function ociFixture(): Promise<SourceFixture & { cleanup: () => Promise<void> }> {
  const registry = await testenv.registry();
  const pusher = new RegistryPusher(registry);
  const repo = `conformance/app-${randomBytes(4).toString('hex')}`;
  const web = (name: string) => ({
    'apps/web.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`,
  });
  await pusher.artifact(repo, 'v1', fluxArtifact(web('web')));
  const cacheDir = await mkdtemp(join(tmpdir(), 'oci-conformance-'));
  const options = {
    credentials: { username: registry.username ?? '', password: registry.password ?? '' },
    caPem: registry.caPem,
  };
  const good = new OCISource({
    ...options,
    url: `oci://${registry.host}/${repo}:v1`,
    cacheDir: join(cacheDir, 'good'),
  });
  const broken = new OCISource({
    ...options,
    url: `oci://${registry.host}/${repo}:missing`,
    cacheDir: join(cacheDir, 'broken'),
  });
  return {
    source: good,
    change: async () => {
      await pusher.artifact(repo, 'v1', fluxArtifact(web('web2')));
    },
    broken,
    cleanup: async () => {
      good.destroy();
      broken.destroy();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

describeConformance({ describe, it }, sourceConformance, ociFixture, {
  name: 'OCISource passes the Source kit',
});
