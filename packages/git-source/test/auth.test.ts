import { Redactor } from '@gitops-kit/core';
import { normaliseRepoUrl } from '@gitops-kit/git-source';
import { describe, expect, it } from 'vitest';
import { authHeaders, splitUrlCredentials } from '../src/auth.js';

describe('credentials', () => {
  it('builds headers and never lets secrets through the redactor', () => {
    expect(authHeaders({ bearerToken: 'tok' })).toEqual({ Authorization: 'Bearer tok' });
    const basic = authHeaders({ basic: { username: 'u', password: 'p@ss' }, headers: { 'X-Extra': 'v' } });
    expect(basic).toEqual({
      'X-Extra': 'v',
      Authorization: `Basic ${Buffer.from('u:p@ss').toString('base64')}`,
    });
    const redactor = new Redactor(['s3cret-token']);
    expect(redactor.redact('GET https://user:pw@host/x failed with s3cret-token')).toBe(
      'GET https://host/x failed with ***',
    );
  });
  it('moves credentials out of URLs and normalises URLs for matching', () => {
    expect(splitUrlCredentials('https://me:p%40ss@git.example.com/o/r.git')).toEqual({
      url: 'https://git.example.com/o/r.git',
      basic: { username: 'me', password: 'p@ss' },
    });
    const same = [
      'https://git.example.com/o/r.git',
      'http://Git.Example.com/o/r/',
      'git@git.example.com:o/r.git',
      'ssh://git@git.example.com/o/r',
    ];
    expect(new Set(same.map(normaliseRepoUrl)).size).toBe(1);
    expect(normaliseRepoUrl('https://git.example.com/o/other.git')).not.toBe(
      normaliseRepoUrl(same[0] as string),
    );
  });
});
