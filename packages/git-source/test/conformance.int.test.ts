import type { SourceFixture } from '@gitops-kit/core/conformance';
import { describeConformance, sourceConformance } from '@gitops-kit/core/conformance';
import { type EngineName, GitSource } from '@gitops-kit/git-source';
import { type GitEnv, testenv } from '@gitops-kit/testenv';
import { afterAll, describe, it } from 'vitest';
import { removeTempDirs, tempDir, WorkClone } from './support/helpers.js';

// GitSource against the real git http-backend passes the Source kit, with either engine.
afterAll(removeTempDirs);

let counter = 0;

async function gitFixture(engine: EngineName): Promise<SourceFixture> {
  const git: GitEnv = await testenv.git();
  const { url } = await git.createRepo(`conformance-${process.pid}-${++counter}`);
  const work = await WorkClone.create(url, git.username, git.password);
  await work.write('apps/web.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n');
  await work.commit('first commit');
  await work.push('main');
  const auth = { basic: { username: git.username, password: git.password } };
  return {
    source: new GitSource({ url, cacheDir: await tempDir('conformance'), auth, engine }),
    change: async () => {
      await work.write('apps/web.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web2\n');
      await work.commit('second commit');
      await work.push('main');
    },
    broken: new GitSource({
      url,
      ref: { branch: 'no-such-branch' },
      cacheDir: await tempDir('conformance'),
      auth,
      engine,
    }),
  };
}

for (const engine of ['isomorphic-git', 'native'] as const) {
  describeConformance({ describe, it }, sourceConformance, () => gitFixture(engine), {
    name: `GitSource (${engine}) passes the Source kit`,
  });
}
