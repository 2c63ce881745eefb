import { commitOfRevision, formatRevision } from '@gitops-kit/git-source';
import { describe, expect, it } from 'vitest';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('revisions', () => {
  it('formats and parses Flux revisions', () => {
    expect(formatRevision('main', A)).toBe(`main@sha1:${A}`);
    expect(formatRevision(undefined, A)).toBe(`sha1:${A}`);
    expect(commitOfRevision(`v1.2.0@sha1:${B}`)).toBe(B);
    expect(commitOfRevision(`sha1:${B}`)).toBe(B);
    expect(commitOfRevision('sha256:abc')).toBeUndefined();
  });
});
