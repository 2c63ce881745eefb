import { findSecrets, SourceError } from '@gitops-kit/core';
import { type EngineName, GitErrorCodes, GitSource, type GitSourceOptions } from '@gitops-kit/git-source';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  closeEndpoints,
  httpEndpoint,
  hungEndpoint,
  leaksOfFailedPass,
  timed,
} from '../../core/test/support/endpoints.js';
import { removeTempDirs, tempDir } from './support/helpers.js';

/** Real sockets on 127.0.0.1 (see core's test support): a hung endpoint accepts and never answers. */

afterAll(removeTempDirs);
afterEach(closeEndpoints);

const repo = async (): Promise<{ url: string; connections: () => number }> => {
  const hung = await hungEndpoint();
  return { url: `${hung.url}/org/repo.git`, connections: hung.connections };
};

async function source(url: string, options: Partial<GitSourceOptions> = {}): Promise<GitSource> {
  return new GitSource({ url, cacheDir: await tempDir('git-hung'), ...options });
}

const httpRepo = async (handler: Parameters<typeof httpEndpoint>[0]): Promise<string> =>
  `${await httpEndpoint(handler)}/org/repo.git`;
const signal = (): AbortSignal => new AbortController().signal;
const PINNED = 'a'.repeat(40);

describe.each<EngineName>(['isomorphic-git', 'native'])(
  'GitSource (%s) against a hung endpoint',
  (engine) => {
    it('fails with SOURCE_GIT_TIMEOUT within timeoutMs while listing refs', async () => {
      const hung = await repo();
      const s = await source(hung.url, { engine, timeoutMs: 500 });
      const { error, ms } = await timed(s.fetch({ signal: signal() }));
      expect(error).toBeInstanceOf(SourceError);
      expect((error as SourceError).code).toBe(GitErrorCodes.Timeout);
      expect((error as SourceError).message).toContain(hung.url);
      expect(hung.connections()).toBeGreaterThan(0);
      expect(ms).toBeLessThan(4000);
    });

    it('fails with SOURCE_GIT_TIMEOUT within timeoutMs while fetching a pinned commit', async () => {
      const hung = await repo();
      const s = await source(hung.url, { engine, timeoutMs: 1000, ref: { commit: PINNED } });
      const { error, ms } = await timed(s.fetch({ signal: signal() }));
      expect((error as SourceError).code).toBe(GitErrorCodes.Timeout);
      expect(hung.connections()).toBeGreaterThan(0);
      expect(ms).toBeLessThan(5000);
    });

    it('ends at the caller’s abort long before the timeout', async () => {
      const hung = await repo();
      const s = await source(hung.url, { engine, timeoutMs: 60_000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stop now')), 200);
      const { error, ms } = await timed(s.fetch({ signal: controller.signal }));
      expect((error as SourceError).code).toBe(GitErrorCodes.Aborted);
      expect(ms).toBeLessThan(3000);
    });
  },
);

describe('GitSource (native) against a hung SSH endpoint', () => {
  it('fails with SOURCE_GIT_TIMEOUT within timeoutMs while the server never sends its banner', async () => {
    const hung = await hungEndpoint();
    const url = `ssh://git@${hung.url.slice('http://'.length)}/org/repo.git`;
    const s = await source(url, { engine: 'native', timeoutMs: 1000 });
    const { error, ms } = await timed(s.fetch({ signal: signal() }));
    expect((error as SourceError).code).toBe(GitErrorCodes.Timeout);
    expect(hung.connections()).toBeGreaterThan(0);
    expect(ms).toBeLessThan(5000);
  });
});

describe('GitSource options', () => {
  it('refuses a timeout that is not a positive number', async () => {
    await expect(source('https://git.example.com/o/r.git', { timeoutMs: 0 })).rejects.toMatchObject({
      code: GitErrorCodes.InvalidOptions,
    });
  });
});

describe.each<EngineName>(['isomorphic-git', 'native'])(
  'GitSource (%s) errors carry no credentials',
  (engine) => {
    const password = 'pw-0f1e2d3c4b5a';
    const token = 'tok-9a8b7c6d5e4f3a2b1c';
    const basic = Buffer.from(`deploy:${password}`).toString('base64');

    const seen: string[] = [];
    /** A server that echoes the request's authorization and URL back in an error page. */
    const echoing = (status: number) =>
      httpRepo((req, res) => {
        seen.push(req.headers.authorization ?? '');
        req.resume();
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(`refused ${req.headers.authorization ?? ''} for ${req.url}`);
      });

    it.each([
      [
        'basic credentials in the URL',
        (url: string) => ({ url: url.replace('://', `://deploy:${password}@`) }),
      ],
      ['basic auth', (url: string) => ({ url, auth: { basic: { username: 'deploy', password } } })],
      ['a bearer token', (url: string) => ({ url, auth: { bearerToken: token } })],
    ])('with %s, neither on a refusal nor on a server error', async (_name, options) => {
      seen.length = 0;
      for (const status of [401, 500]) {
        const url = await echoing(status);
        const s = await source(url, { engine, timeoutMs: 5000, ...options(url) });
        const { error } = await timed(s.fetch({ signal: signal() }));
        expect(error).toBeInstanceOf(SourceError);
        expect(findSecrets(error, [password, token, basic])).toEqual([]);
      }
      // Nor does the Reconciler's `failed` event, result or status.
      const url = await echoing(500);
      expect(
        await leaksOfFailedPass(await source(url, { engine, timeoutMs: 5000, ...options(url) }), [
          password,
          token,
          basic,
        ]),
      ).toEqual([]);
      // The credentials did travel (so the error could have echoed them).
      expect(seen.some((value) => value.includes(basic) || value.includes(token))).toBe(true);
    });
  },
);
