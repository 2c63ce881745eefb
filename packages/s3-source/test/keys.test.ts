import { ErrorCodes, SourceError } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { checkLayout, normalisePrefix, relativePathOf } from '../src/keys.js';

describe('normalisePrefix', () => {
  it('makes a folder of the prefix', () => {
    expect(normalisePrefix(undefined)).toBe('');
    expect(normalisePrefix('')).toBe('');
    expect(normalisePrefix('/')).toBe('');
    expect(normalisePrefix('apps/prod')).toBe('apps/prod/');
    expect(normalisePrefix('/apps/prod/')).toBe('apps/prod/');
  });

  it('refuses an unsafe prefix', () => {
    expect(() => normalisePrefix('apps/../secrets')).toThrow(/"\.\." segment/);
    expect(() => normalisePrefix('apps\\prod')).toThrow(/backslash/);
  });
});

describe('relativePathOf', () => {
  it('strips the prefix and keeps ordinary names, dots inside names included', () => {
    expect(relativePathOf('apps/prod/web/deploy.yaml', 'apps/prod/')).toBe('web/deploy.yaml');
    expect(relativePathOf('a..b/c...yaml', '')).toBe('a..b/c...yaml');
  });

  const bad: [string, RegExp][] = [
    ['../etc/passwd', /"\.\." segment/],
    ['apps/../../x', /"\.\." segment/],
    ['/etc/passwd', /absolute path/],
    ['apps\\..\\x', /backslash/],
    ['a//b', /empty segment/],
    ['./a', /"\." segment/],
    ['C:/windows', /drive letter/],
    ['a\u0000b', /NUL/],
  ];
  for (const [key, reason] of bad) {
    it(`refuses ${JSON.stringify(key)} with SOURCE_UNSAFE_PATH naming the key`, () => {
      let caught: unknown;
      try {
        relativePathOf(key, '');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SourceError);
      expect((caught as SourceError).code).toBe(ErrorCodes.SourceUnsafePath);
      expect((caught as SourceError).message).toContain(JSON.stringify(key));
      expect((caught as SourceError).message).toMatch(reason);
    });
  }
});

describe('checkLayout', () => {
  it('accepts files in folders', () => {
    expect(() => checkLayout(['a/b', 'a/c', 'd'])).not.toThrow();
  });

  it('refuses a file that is also a folder of another file', () => {
    expect(() => checkLayout(['a/b/c', 'a/b'])).toThrow(/"a\/b" is also a folder of "a\/b\/c"/);
  });
});
