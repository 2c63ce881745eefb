import { createIgnoreMatcher, DEFAULT_IGNORE_PATTERNS } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';

describe('createIgnoreMatcher', () => {
  it('applies Flux defaults', () => {
    const m = createIgnoreMatcher();
    expect(m.ignores('.git', true)).toBe(true);
    expect(m.ignores('.git/config', false)).toBe(true);
    expect(m.ignores('sub/.github/workflows/ci.yaml', false)).toBe(true);
    expect(m.ignores('logo.png', false)).toBe(true);
    expect(m.ignores('a/b/bundle.tar.gz', false)).toBe(true);
    expect(m.ignores('.sops.yaml', false)).toBe(true);
    expect(m.ignores('.gitlab-ci.yml', false)).toBe(true);
    expect(m.ignores('deploy/app.yaml', false)).toBe(false);
    expect(DEFAULT_IGNORE_PATTERNS).toContain('.gitmodules');
    for (const path of [
      'appveyor.yml',
      'ci/.drone.yml',
      'cloudbuild.yaml',
      'a/.goreleaser.yml',
      'b/.flux.yaml',
    ]) {
      expect(m.ignores(path, false)).toBe(true);
    }
  });

  it('matches folder-only patterns only against folders', () => {
    const m = createIgnoreMatcher();
    expect(m.ignores('.github', true)).toBe(true);
    expect(m.ignores('.github', false)).toBe(false);
  });

  it('can turn the defaults off or replace them', () => {
    expect(createIgnoreMatcher({ defaults: false }).ignores('logo.png', false)).toBe(false);
    const custom = createIgnoreMatcher({ defaults: ['*.md'] });
    expect(custom.ignores('README.md', false)).toBe(true);
    expect(custom.ignores('logo.png', false)).toBe(false);
  });

  it('scopes .sourceignore rules to the folder they are in', () => {
    const m = createIgnoreMatcher();
    m.add('apps', 'secret.yaml\n/top.yaml\n');
    expect(m.ignores('apps/secret.yaml', false)).toBe(true);
    expect(m.ignores('apps/nested/secret.yaml', false)).toBe(true);
    expect(m.ignores('secret.yaml', false)).toBe(false);
    expect(m.ignores('apps/top.yaml', false)).toBe(true);
    expect(m.ignores('apps/nested/top.yaml', false)).toBe(false);
  });

  it('lets deeper files override shallower ones and re-include defaults', () => {
    const m = createIgnoreMatcher();
    m.add('', '*.yaml\n');
    m.add('keep', '!*.yaml\n!diagram.png\n');
    expect(m.ignores('a.yaml', false)).toBe(true);
    expect(m.ignores('keep/a.yaml', false)).toBe(false);
    expect(m.ignores('keep/diagram.png', false)).toBe(false);
    expect(m.ignores('other/diagram.png', false)).toBe(true);
  });

  it('never re-includes a path inside an ignored folder', () => {
    const m = createIgnoreMatcher();
    m.add('', 'drafts/\n');
    m.add('drafts', '!*.yaml\n');
    expect(m.ignores('drafts', true)).toBe(true);
    expect(m.ignores('drafts/a.yaml', false)).toBe(true);
  });

  it('evaluates extra patterns last, so they overrule every file', () => {
    const m = createIgnoreMatcher({ patterns: ['!*.png', 'tmp/'] });
    m.add('', 'ok.yaml\n');
    m.add('x', 'tmp2/\n');
    expect(m.ignores('logo.png', false)).toBe(false);
    expect(m.ignores('x/tmp/a.yaml', false)).toBe(true);
    expect(m.ignores('ok.yaml', false)).toBe(true);
    const s = createIgnoreMatcher({ patterns: 'a.yaml\n# comment\n' });
    expect(s.ignores('a.yaml', false)).toBe(true);
  });

  it('accepts ./ and trailing slashes and changes its fingerprint when rules change', () => {
    const m = createIgnoreMatcher();
    const before = m.fingerprint;
    m.add('./apps/', 'x.yaml');
    expect(m.fingerprint).not.toBe(before);
    expect(m.ignores('./apps/x.yaml', false)).toBe(true);
    expect(m.ignores('', true)).toBe(false);
  });
});
