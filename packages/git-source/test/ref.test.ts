import type { RemoteRef } from '@gitops-kit/git-source';
import { describe, expect, it } from 'vitest';
import { resolveRef } from '../src/ref.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('resolveRef', () => {
  const remote: RemoteRef[] = [
    { name: 'refs/heads/main', oid: A },
    { name: 'refs/tags/v1.0.0', oid: B },
    { name: 'refs/tags/v1.2.0', oid: C, peeled: A },
    { name: 'refs/tags/v1.3.0-rc.1', oid: B },
    { name: 'refs/tags/2.0.0', oid: B },
    { name: 'refs/tags/not-semver', oid: C },
  ];
  it('resolves branches and tags, peeling annotated tags', () => {
    expect(resolveRef({ branch: 'main' }, remote)).toMatchObject({ revisionName: 'main', commit: A });
    expect(resolveRef({ branch: 'refs/heads/main' }, remote)).toMatchObject({
      revisionName: 'refs/heads/main',
    });
    expect(resolveRef({ tag: 'v1.2.0' }, remote)).toEqual({
      revisionName: 'v1.2.0',
      fullName: 'refs/tags/v1.2.0',
      commit: A,
      tagObject: C,
    });
    expect(resolveRef({ branch: 'gone' }, remote)).toBeUndefined();
  });
  it('picks the highest tag in a semver range, without pre-releases', () => {
    expect(resolveRef({ semver: '^1.0.0' }, remote)).toMatchObject({ revisionName: 'v1.2.0', commit: A });
    expect(resolveRef({ semver: '*' }, remote)).toMatchObject({ revisionName: '2.0.0', commit: B });
    expect(resolveRef({ semver: '>=3' }, remote)).toBeUndefined();
  });
  it('passes a pinned commit through', () => {
    expect(resolveRef({ commit: A.toUpperCase() }, [])).toMatchObject({ revisionName: undefined, commit: A });
  });
});
