import { modulesOf as from, modulesLoadedByImport } from '@gitops-kit/testenv';
import { describe, expect, it } from 'vitest';

describe('git-source loads isomorphic-git and openpgp only when used', () => {
  it('importing the package and building a source load neither', async () => {
    const urls = await modulesLoadedByImport(
      ['@gitops-kit/git-source'],
      "new m0.GitSource({ url: 'https://127.0.0.1:1/repo.git', cacheDir: '/tmp/gitops-kit-lazy-engines' });",
    );
    expect(from(urls, 'isomorphic-git')).toEqual([]);
    expect(from(urls, 'openpgp')).toEqual([]);
  }, 60_000);

  it('the isomorphic-git engine loads isomorphic-git on its first call', async () => {
    const urls = await modulesLoadedByImport(
      ['@gitops-kit/git-source'],
      "await new m0.IsomorphicGitEngine().hasObject('/nonexistent/gitops-kit', '0'.repeat(40));",
    );
    expect(from(urls, 'isomorphic-git').length).toBeGreaterThan(0);
  }, 60_000);
});
